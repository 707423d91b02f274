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
// is allocated per call.
type pool struct {
	workers int // including the calling goroutine
	active  int // workers used by run, 1..workers
	tasks   chan poolTask
	wg      sync.WaitGroup
	once    sync.Once
}

func newPool(threads int) *pool {
	p := &pool{workers: threads, active: threads}
	if threads > 1 {
		p.tasks = make(chan poolTask, threads)
		for i := 1; i < threads; i++ {
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
// worker. The caller runs the first chunk itself.
func (p *pool) run(r rowRunner, rows int) {
	n := p.active
	if n > rows {
		n = rows
	}
	if n <= 1 {
		r.runRows(0, rows)
		return
	}
	chunk := (rows + n - 1) / n
	p.wg.Add(n - 1)
	for i := 1; i < n; i++ {
		lo := i * chunk
		hi := lo + chunk
		if hi > rows {
			hi = rows
		}
		if lo >= hi {
			p.wg.Done()
			continue
		}
		p.tasks <- poolTask{r: r, lo: lo, hi: hi}
	}
	hi := chunk
	if hi > rows {
		hi = rows
	}
	r.runRows(0, hi)
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
