package runtime

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

type countRows struct{ hits []atomic.Int32 }

func (c *countRows) runRows(lo, hi int) {
	for r := lo; r < hi; r++ {
		c.hits[r].Add(1)
	}
}

func TestPoolRunsEveryRowOnce(t *testing.T) {
	for threads := 1; threads <= 5; threads++ {
		p := newPool(threads)
		for _, rows := range []int{1, 2, 3, 7, 64, 197} {
			c := &countRows{hits: make([]atomic.Int32, rows)}
			const calls = 200
			for i := 0; i < calls; i++ {
				p.run(c, rows)
				if i%7 == 3 {
					// Long enough for spinning workers to park: the next
					// run meets workers parked or parking.
					time.Sleep(spinFor + time.Duration(i%3)*20*time.Microsecond)
				}
			}
			for r := range c.hits {
				if n := c.hits[r].Load(); n != calls {
					t.Fatalf("%d threads, %d rows: row %d ran %d times in %d calls", threads, rows, r, n, calls)
				}
			}
		}
		p.close()
	}
}

// rowsPerWorker records the largest share of rows one call gave a worker.
type rowsPerWorker struct{ most atomic.Int32 }

func (w *rowsPerWorker) runRows(lo, hi int) {
	for n := int32(hi - lo); ; {
		m := w.most.Load()
		if n <= m || w.most.CompareAndSwap(m, n) {
			return
		}
	}
}

// At 4 workers no worker gets more than 30% of an op's rows (issue 13),
// for the row counts of DeiT-tiny's ops (tokens, heads × tokens).
func TestPoolSplitsEvenly(t *testing.T) {
	p := newPool(4)
	defer p.close()
	for _, rows := range []int{197, 3 * 197, 14, 50, 1000} {
		w := &rowsPerWorker{}
		p.run(w, rows)
		if share := float64(w.most.Load()) / float64(rows); share > 0.30 {
			t.Errorf("%d rows: one worker got %d (%.0f%%)", rows, w.most.Load(), 100*share)
		}
	}
}

// Idle workers sleep: a pool of 4 that has just run work uses almost no
// CPU while nobody calls it (a spinning pool would burn ~3 CPUs here).
func TestPoolIdleWorkersSleep(t *testing.T) {
	p := newPool(4)
	defer p.close()
	c := &countRows{hits: make([]atomic.Int32, 64)}
	for i := 0; i < 100; i++ {
		p.run(c, 64)
	}
	goruntime.GC() // no collection of earlier tests' garbage while measuring
	before := cpuTime(t)
	time.Sleep(300 * time.Millisecond)
	if used := cpuTime(t) - before; used > 150*time.Millisecond {
		t.Fatalf("the process used %v of CPU in 300 ms with an idle pool of 4", used)
	}
}

func cpuTime(t *testing.T) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		t.Skip(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

func TestPoolCloseStopsWorkers(t *testing.T) {
	p := newPool(5)
	p.run(&countRows{hits: make([]atomic.Int32, 10)}, 10)
	for i := 0; i < 100 && poolWorkers(p) < 5; i++ { // a worker not yet scheduled shows no receiver
		time.Sleep(10 * time.Millisecond)
	}
	if n := poolWorkers(p); n != 5 {
		t.Fatalf("%d workers running after starting 5", n)
	}
	p.close()
	p.close() // twice is fine
	for i := 0; i < 100 && poolWorkers(p) > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := poolWorkers(p); n > 0 {
		t.Fatalf("%d workers still running after close", n)
	}
}

// poolWorkers counts the goroutines running p.work.
func poolWorkers(p *pool) int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:goruntime.Stack(buf, true)]), fmt.Sprintf("(*pool).work(%p", p))
}

type noRows struct{}

func (noRows) runRows(lo, hi int) {}

// BenchmarkPoolDispatch is the cost of handing out one op that does
// nothing, on 2 workers: on amd64 the workers spin between ops.
func BenchmarkPoolDispatch(b *testing.B) {
	p := newPool(2)
	defer p.close()
	for i := 0; i < b.N; i++ {
		p.run(noRows{}, 2)
	}
}
