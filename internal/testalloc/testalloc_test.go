package testalloc

import "testing"

var sink []byte

func TestPerRunCountsARealAllocation(t *testing.T) {
	if n := PerRun(10, func() { sink = make([]byte, 64) }); n != 1 {
		t.Errorf("one allocation a call measured as %v", n)
	}
	buf := make([]byte, 64)
	if n := PerRun(10, func() { sink = buf[:32] }); n != 0 {
		t.Errorf("no allocation measured as %v", n)
	}
}

// A burst that does not repeat (here: allocations in the first
// measurement's calls only, after the warm-up) is not the function's.
func TestPerRunIgnoresAOneOffBurst(t *testing.T) {
	calls := 0
	n := PerRun(4, func() {
		calls++
		if calls <= 5 { // the first measurement (AllocsPerRun's warm call + 4 runs)
			sink = make([]byte, 64)
		}
	})
	if n != 0 {
		t.Errorf("a one-off burst measured as %v allocations a call", n)
	}
}
