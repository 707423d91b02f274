package ref_test

// Helpers shared by the tests of the GEMM-like kernels (FC, MatMul, Conv,
// Pool, Mean): deterministic random data, random output stages, and the
// requantization rule computed from its definition with math/big, so that
// the naive models below never call quant.Multiplier.Apply.

import (
	"hash/fnv"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// kgen is a deterministic source of test data, seeded from the test name.
type kgen struct{ *rand.Rand }

func newKgen(t testing.TB) kgen {
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return kgen{rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))}
}

// between returns a uniform int in [lo, hi].
func (g kgen) between(lo, hi int) int { return lo + g.IntN(hi-lo+1) }

// i8 returns n activations uniform over [−128, 127].
func (g kgen) i8(n int) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(g.IntN(256) - 128)
	}
	return v
}

// w8 returns n symmetric weights uniform over [−127, 127], with the
// extremes made likely.
func (g kgen) w8(n int) []int8 {
	v := make([]int8, n)
	for i := range v {
		switch g.IntN(16) {
		case 0:
			v[i] = 127
		case 1:
			v[i] = -127
		default:
			v[i] = int8(g.IntN(255) - 127)
		}
	}
	return v
}

// f32 returns n floats uniform over [−1, 1).
func (g kgen) f32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*g.Float64() - 1)
	}
	return v
}

// bias returns n int32 biases of magnitude up to mag, or nil one time in
// four.
func (g kgen) bias(n int, mag int) []int32 {
	if g.IntN(4) == 0 {
		return nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(g.between(-mag, mag))
	}
	return v
}

// stage returns a random output stage for channels output channels whose
// accumulators have a typical magnitude accMag. Multipliers scatter around
// 40/accMag (so outputs use the int8 range and some clamp), with per-channel
// multipliers half of the time and a few factors ≥ 1. Zero points, fused
// clamps and the rounding mode are random.
func (g kgen) stage(channels int, accMag float64) kernels.OutputStage {
	n := 1
	if channels > 1 && g.IntN(2) == 0 {
		n = channels
	}
	s := kernels.OutputStage{
		Mult:   make([]quant.Multiplier, n),
		OutZP:  int32(g.between(-128, 127)),
		ActMin: -128,
		ActMax: 127,
	}
	for i := range s.Mult {
		real := 40 / max(accMag, 1) * math.Exp2(4*g.Float64()-2)
		if g.IntN(8) == 0 {
			real = math.Exp2(g.Float64() * 20) // ≥ 1, often saturating int32
		}
		s.Mult[i] = quant.MustMultiplier(real)
	}
	if g.IntN(3) == 0 {
		s.ActMin = int32(g.between(-128, 0))
		s.ActMax = int32(g.between(int(s.ActMin), 127))
	}
	if g.IntN(2) == 0 {
		s.Rounding = quant.RoundDouble
	}
	return s
}

// exApply is Multiplier.ApplyMode computed from its definition in exact
// arithmetic: RoundSingle rounds x·M/2^(31−Shift) half toward +∞;
// RoundDouble is gemmlowp's SaturatingRoundingDoublingHighMul of the exact
// x·2^max(Shift,0) and M (over 2^31, half toward +∞, saturated) followed by
// RoundingDivideByPOT(max(−Shift,0)) (half away from zero). Both saturate
// to int32.
func exApply(x int64, m quant.Multiplier, r quant.Rounding) int64 {
	v := &exScratch.v
	if r == quant.RoundDouble {
		// High multiply of the exact x·2^left, half toward +∞, saturated.
		left, right := max(int64(m.Shift), 0), max(-int64(m.Shift), 0)
		v.SetInt64(x)
		v.Lsh(v, uint(left))
		v.Mul(v, exScratch.m.SetInt64(int64(m.M)))
		hm := exSat32(exRoundHalfUp(v, 31))
		if right == 0 {
			return hm
		}
		// Half away from zero: sign · floor(|hm|/2^right + 1/2).
		q := exRoundHalfUp(v.SetInt64(hm).Abs(v), uint(right)).Int64()
		if hm < 0 {
			q = -q
		}
		return q
	}
	v.SetInt64(x)
	v.Mul(v, exScratch.m.SetInt64(int64(m.M)))
	sh := 31 - int(m.Shift)
	if sh <= 0 {
		return exSat32(v.Lsh(v, uint(-sh)))
	}
	return exSat32(exRoundHalfUp(v, uint(sh)))
}

// exScratch holds exApply's temporaries, so that the models do not
// allocate per element (the tests of this package do not run in parallel).
var exScratch struct{ v, m, h big.Int }

// exRoundHalfUp sets v to floor(v/2^sh + 1/2) and returns it (Rsh on a
// big.Int rounds toward −∞, also for negative values).
func exRoundHalfUp(v *big.Int, sh uint) *big.Int {
	half := exScratch.h.Lsh(exScratch.h.SetInt64(1), sh-1)
	return v.Rsh(v.Add(v, half), sh)
}

func exSat32(v *big.Int) int64 {
	if !v.IsInt64() || v.Int64() > math.MaxInt32 || v.Int64() < math.MinInt32 {
		if v.Sign() > 0 {
			return math.MaxInt32
		}
		return math.MinInt32
	}
	return v.Int64()
}

// exRequant is OutputStage.Requantize computed from its documented formula
// in exact arithmetic: clamp(OutZP + Mult[c](acc), ActMin, ActMax). acc is
// an exact int64 and must fit int32 (the kernels accumulate in int32).
func exRequant(t testing.TB, s *kernels.OutputStage, acc int64, ch int) int8 {
	if acc < math.MinInt32 || acc > math.MaxInt32 {
		t.Fatalf("test bug: exact accumulator %d overflows int32", acc)
	}
	m := s.Mult[0]
	if len(s.Mult) > 1 {
		m = s.Mult[ch]
	}
	v := int64(s.OutZP) + exApply(acc, m, s.Rounding)
	v = max(int64(s.ActMin), min(int64(s.ActMax), v))
	return int8(v)
}

// diffInt8 reports the first few mismatches between got and want.
func diffInt8(t testing.TB, what string, got, want []int8) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			if bad < 5 {
				t.Errorf("%s: [%d] = %d, want %d", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}

// diffFloat checks |got−want| ≤ tol[i] element by element, where tol is
// computed by the caller from the magnitude of the terms of each sum.
func diffFloat(t testing.TB, what string, got []float32, want, tol []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol[i]) {
			if bad < 5 {
				t.Errorf("%s: [%d] = %g, want %g (tolerance %g)", what, i, got[i], want[i], tol[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d elements differ", what, bad, len(got))
	}
}

// sumTol is the tolerance for a float32 sum whose terms have absolute sum
// abs and whose result is then clamped: a few ulps per term.
func sumTol(abs float64, terms int) float64 {
	return abs*float64(terms+2)*0x1p-23 + 1e-30
}

// clamp64 applies a float32 fused activation to an exact float64 value.
func clamp64(v float64, lo, hi float32) float64 {
	return max(float64(lo), min(float64(hi), v))
}

// noAct is the float clamp the runtime passes when there is no activation.
var noAct = [2]float32{float32(math.Inf(-1)), float32(math.Inf(1))}

// floatAct returns a random float fused clamp: none, ReLU, ReLU6-like or
// a narrow band.
func (g kgen) floatAct() (lo, hi float32) {
	switch g.IntN(4) {
	case 0:
		return 0, noAct[1]
	case 1:
		return -0.5, 0.5
	default:
		return noAct[0], noAct[1]
	}
}

// small reports whether the test runs in -short mode or under emulation
// (where the caller picks smaller sizes).
func small() bool { return testing.Short() }

// iters returns n, or n/4 (at least 1) in short mode.
func iters(n int) int {
	if small() {
		return max(n/4, 1)
	}
	return n
}
