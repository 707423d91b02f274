package runtime

import "sync"

// rowRunner is an op whose work splits into independent rows: running
// rows [lo, hi) on any worker gives the same bits as running them all on
// one, so results do not depend on the thread count.
type rowRunner interface {
	runRows(lo, hi int)
}

type poolTask struct {
	r      rowRunner
	lo, hi int
}

// pool is a fixed set of worker goroutines created at load. Dispatching
// work sends task values over a channel and waits on a WaitGroup: nothing
// is allocated per call, and idle workers sleep in the scheduler (nothing
// spins).
//
// The caller hands every chunk to a worker and sleeps, rather than running
// one chunk itself. A goroutine woken by a channel send waits in the
// sender's own run slot, which another CPU takes over only after a delay:
// with the caller busy on its chunk, the worker started 85 µs late on the
// 2-vCPU x86 host of this project (longer than most ops of a small ViT),
// and 2 threads ran DeiT-tiny slower than 1. With the caller asleep, the
// last chunk runs at once on the caller's CPU and the others are taken by
// idle CPUs as soon as they wake.
type pool struct {
	workers int // worker goroutines
	active  int // workers used by run, 1..workers
	tasks   chan poolTask
	wg      sync.WaitGroup
	once    sync.Once
}

func newPool(threads int) *pool {
	p := &pool{workers: threads, active: threads}
	if threads > 1 {
		p.tasks = make(chan poolTask, threads)
		for i := 0; i < threads; i++ {
			go p.work()
		}
	}
	return p
}

func (p *pool) work() {
	for t := range p.tasks {
		t.r.runRows(t.lo, t.hi)
		p.wg.Done()
	}
}

// run executes r over rows [0, rows), split into one contiguous chunk per
// active worker, and returns when all are done.
func (p *pool) run(r rowRunner, rows int) {
	n := min(p.active, rows)
	if n <= 1 {
		r.runRows(0, rows)
		return
	}
	chunk := (rows + n - 1) / n
	n = (rows + chunk - 1) / chunk // no empty chunks
	p.wg.Add(n)
	for i := 0; i < n; i++ {
		p.tasks <- poolTask{r: r, lo: i * chunk, hi: min(rows, (i+1)*chunk)}
	}
	p.wg.Wait()
}

// close stops the workers.
func (p *pool) close() {
	p.once.Do(func() {
		if p.tasks != nil {
			close(p.tasks)
		}
	})
}
