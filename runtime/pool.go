package runtime

import (
	"math/bits"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

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

// Worker states. A worker is parked (asleep on its channel) unless it has
// just run a task and spinFor > 0: then it spins, polling its state, and
// a dispatch hands it the next task by setting it to assigned; the worker
// sets running when it takes the task. A task still assigned when the
// caller has run its own chunk is taken back and run by the caller.
const (
	workerParked int32 = iota
	workerSpinning
	workerAssigned
	workerRunning
)

type poolWorker struct {
	tasks chan poolTask // a parked worker's next task
	state atomic.Int32
	task  poolTask // a spinning worker's next task, written before state becomes assigned
}

// pool is a fixed set of worker goroutines created at load. Nothing is
// allocated per call.
//
// Parked workers: waking a sleeping goroutine costs 10–90 µs on the
// 2-vCPU x86 host of this project, about as long as an op of a small ViT.
// A goroutine woken by a channel send waits in the sender's own run slot,
// which another CPU takes over only after a delay; so when any worker is
// asleep the caller hands every chunk to a worker and sleeps itself: the
// last chunk then runs at once on the caller's CPU and the others are
// taken by idle CPUs as soon as they wake.
//
// Spinning workers (spinFor > 0, amd64 only): after a task a worker polls
// for the next one for spinFor before parking, so the ops of one Invoke
// reach it without a wake-up; when every chunk but the first finds its
// worker spinning, the caller runs the first itself, then any chunk whose
// worker has not started it (another process holds that CPU: waiting for
// it cost 3.5 times the 1-thread time of DeiT-tiny), and polls for the
// others' completion. Worker 0 never spins: it stands in for the caller
// when the others sleep. Spinning is off on arm64, where the boards run
// on batteries and a spinning pool would also add instructions (issue 13:
// threads do not add work), and when GOMAXPROCS leaves no CPU to spin on.
type pool struct {
	workers int // worker goroutines
	active  int // workers used by run, 1..workers
	w       []poolWorker
	spin    bool         // workers spin between tasks
	pending atomic.Int32 // chunks of the current run not yet finished
	wg      sync.WaitGroup
	once    sync.Once
}

func newPool(threads int) *pool {
	p := &pool{workers: threads, active: threads}
	if threads > 1 {
		p.spin = spinFor > 0 && goruntime.GOMAXPROCS(0) >= threads
		p.w = make([]poolWorker, threads)
		for i := range p.w {
			p.w[i].tasks = make(chan poolTask, 1)
			go p.work(i)
		}
	}
	return p
}

func (p *pool) work(i int) {
	w := &p.w[i]
	for t := range w.tasks {
		for {
			t.r.runRows(t.lo, t.hi)
			if p.spin && i > 0 {
				w.state.Store(workerSpinning) // before pending falls: the caller may assign at once
			}
			p.pending.Add(-1)
			p.wg.Done()
			if !p.spin || i == 0 || !w.awaitTask() {
				break
			}
			t = w.task
		}
	}
}

// awaitTask spins for up to spinFor waiting to be assigned a task. It
// reports false when it parked instead (state set to parked, so the next
// dispatch sends on the channel).
func (w *poolWorker) awaitTask() bool {
	start := time.Now()
	for n := 1; ; n++ {
		switch w.state.Load() {
		case workerAssigned:
			if w.state.CompareAndSwap(workerAssigned, workerRunning) {
				return true
			} // else taken back by the caller: spin on
		case workerSpinning:
			// The CAS fails only when a task was assigned meanwhile.
			if n%64 == 0 && time.Since(start) > spinFor && w.state.CompareAndSwap(workerSpinning, workerParked) {
				return false
			}
		}
		if n%1024 == 0 {
			goruntime.Gosched() // let anything else runnable on this CPU go first
		}
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
	p.pending.Store(int32(n))
	p.wg.Add(n)
	allSpinning := p.spin
	for i := 1; i < n; i++ {
		t := poolTask{r: r, lo: i * chunk, hi: min(rows, (i+1)*chunk)}
		w := &p.w[i]
		if p.spin {
			w.task = t
			if w.state.CompareAndSwap(workerSpinning, workerAssigned) {
				continue
			}
			allSpinning = false
		}
		w.tasks <- t
	}
	first := poolTask{r: r, lo: 0, hi: min(rows, chunk)}
	if !allSpinning {
		p.w[0].tasks <- first
		p.wg.Wait()
		return
	}
	first.r.runRows(first.lo, first.hi)
	p.pending.Add(-1)
	p.wg.Done()
	// A worker that has not taken its task by now is not running (its CPU
	// is busy with another process): run the task here rather than wait
	// for the scheduler to bring the worker back.
	for i := 1; i < n; i++ {
		if w := &p.w[i]; w.state.CompareAndSwap(workerAssigned, workerSpinning) {
			w.task.r.runRows(w.task.lo, w.task.hi)
			p.pending.Add(-1)
			p.wg.Done()
		}
	}
	start := time.Now()
	for k := 1; p.pending.Load() != 0; k++ {
		if k%64 == 0 && time.Since(start) > spinFor {
			break
		}
	}
	p.wg.Wait()
}

// close stops the workers.
func (p *pool) close() {
	p.once.Do(func() {
		for i := range p.w {
			close(p.w[i].tasks)
		}
	})
}

// slots gives each concurrent runRows call of one op a value of its own
// (a scratch buffer, a sub-view): at most Options.Threads calls run at
// once (the caller's and the workers'), so that many values, made at
// load, suffice; a bit per value marks it free.
type slots[T any] struct {
	free atomic.Uint64
	vals []T
}

func newSlots[T any](threads int, newVal func() T) *slots[T] {
	threads = max(1, min(threads, 64))
	s := &slots[T]{vals: make([]T, threads)}
	for i := range s.vals {
		s.vals[i] = newVal()
	}
	s.free.Store(1<<threads - 1)
	return s
}

// get takes a free value's index.
func (s *slots[T]) get() int {
	for {
		f := s.free.Load()
		if f == 0 {
			goruntime.Gosched() // more callers than threads: cannot happen from Invoke
			continue
		}
		i := bits.TrailingZeros64(f)
		if s.free.CompareAndSwap(f, f&^(1<<i)) {
			return i
		}
	}
}

// put frees value i.
func (s *slots[T]) put(i int) { s.free.Or(1 << i) }
