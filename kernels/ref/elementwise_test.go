package ref

// Shared helpers of the elementwise, normalization, softmax, data-movement
// and quantize tests. Names carry an "ew" prefix so that they cannot clash
// with helpers of the other kernels' tests in this package.

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/edgeinfer/edgeinfer/quant"
)

func ewRand(t *testing.T, seed uint64) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

// ewIters returns n, or a tenth of it (at least 1) under -short.
func ewIters(n int) int {
	if testing.Short() {
		return max(n/10, 1)
	}
	return n
}

func ewInt8s(r *rand.Rand, n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(r.IntN(256) - 128)
	}
	return s
}

func ewFloats(r *rand.Rand, n int, lo, hi float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return s
}

// ewScale returns a log-uniform scale in [lo, hi].
func ewScale(r *rand.Rand, lo, hi float64) float32 {
	return float32(math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*r.Float64()))
}

func ewParams(r *rand.Rand, lo, hi float64) quant.Params {
	return quant.Params{Scale: ewScale(r, lo, hi), ZeroPoint: int32(r.IntN(256) - 128)}
}

func ewCount(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ewUnravel writes the row-major multi-index of flat in shape into idx.
func ewUnravel(shape []int, flat int, idx []int) {
	for i := len(shape) - 1; i >= 0; i-- {
		idx[i] = flat % shape[i]
		flat /= shape[i]
	}
}

// ewRavel returns the row-major flat index of idx in shape.
func ewRavel(shape []int, idx []int) int {
	f := 0
	for i, d := range shape {
		f = f*d + idx[i]
	}
	return f
}

// ewApplyExact is an independent statement of quant's RoundSingle: the
// exact rational x·M·2^(Shift−31), rounded half toward +∞ with big
// integers, saturated to int32.
func ewApplyExact(m quant.Multiplier, x int32) int32 {
	t := 31 - int(m.Shift)
	p := new(big.Int).Mul(big.NewInt(int64(x)), big.NewInt(int64(m.M)))
	var v *big.Int
	if t <= 0 {
		v = p.Lsh(p, uint(-t))
	} else {
		// floor((2p + 2^t) / 2^(t+1)); big.Int.Div is Euclidean (floor
		// for a positive divisor).
		num := new(big.Int).Add(new(big.Int).Lsh(p, 1), new(big.Int).Lsh(big.NewInt(1), uint(t)))
		v = num.Div(num, new(big.Int).Lsh(big.NewInt(1), uint(t+1)))
	}
	if v.Cmp(big.NewInt(math.MaxInt32)) > 0 {
		return math.MaxInt32
	}
	if v.Cmp(big.NewInt(math.MinInt32)) < 0 {
		return math.MinInt32
	}
	return int32(v.Int64())
}

// ewApply applies m in rounding mode r: the exact reference for
// RoundSingle, quant's gemmlowp statement for RoundDouble.
func ewApply(m quant.Multiplier, x int32, r quant.Rounding) int32 {
	if r == quant.RoundDouble {
		return m.ApplyDouble(x)
	}
	return ewApplyExact(m, x)
}

func ewClamp(v int64, lo, hi int32) int8 {
	return int8(min(max(v, int64(lo)), int64(hi)))
}

// ewRoundAway rounds half away from zero (math.Round), the rule of every
// float → int8 step in the contract.
func ewRoundAway(x float64) float64 { return math.Round(x) }

func ewAllocs(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(20, f); n != 0 {
		t.Errorf("%s: %v allocations per run, want 0", name, n)
	}
}

func TestEwApplyExactAgreesWithQuant(t *testing.T) {
	// The reference above must agree with quant's own Apply; if it did not,
	// every exact comparison below would be testing the wrong thing.
	r := ewRand(t, 1)
	for range ewIters(2000) {
		m := quant.MustMultiplier(math.Ldexp(1+r.Float64(), r.IntN(50)-40))
		x := int32(r.Uint32())
		if r.IntN(2) == 0 {
			x >>= r.IntN(31)
		}
		if got, want := m.Apply(x), ewApplyExact(m, x); got != want {
			t.Fatalf("%+v.Apply(%d) = %d, exact %d", m, x, got, want)
		}
	}
}
