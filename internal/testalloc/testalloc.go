// Package testalloc measures, for tests, the heap allocations of a
// function that should make none (an Invoke, a kernel call).
//
// testing.AllocsPerRun counts every allocation in the process, the Go
// runtime's own included. Under load those come in bursts that belong to
// no call: a new OS thread when a pool worker wakes while every thread is
// busy, a collection's bookkeeping. A burst of a few within a short
// measurement reads as an allocating call (CI saw 4 within 4 Invokes). A
// function that allocates does so in every measurement; a burst does not
// repeat. PerRun therefore measures up to three times and reports the
// least, so a stray burst cannot fail a test and a real allocation still
// does.
package testalloc

import (
	"runtime"
	"testing"
)

// attempts is how many measurements PerRun makes at most.
const attempts = 3

// PerRun returns the average allocations per call of f over runs calls,
// the least of up to three measurements (it stops at the first that
// counts none), after a collection (one running during a measured call
// was seen counted as an allocation of it). Each measurement begins with
// a warm call (testing.AllocsPerRun's); a caller whose f allocates in its
// first calls by design (an interpreter times its first 4 Invokes) makes
// those calls first.
func PerRun(runs int, f func()) float64 {
	runtime.GC()
	least := testing.AllocsPerRun(runs, f)
	for i := 1; i < attempts && least > 0; i++ {
		least = min(least, testing.AllocsPerRun(runs, f))
	}
	return least
}
