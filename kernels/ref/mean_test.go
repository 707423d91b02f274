package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

func naiveMeanInt8(p *kernels.MeanParams, x []int8) []int8 {
	out := make([]int8, p.Outer*p.Inner)
	for o := 0; o < p.Outer; o++ {
		for i := 0; i < p.Inner; i++ {
			var acc int64
			for r := 0; r < p.Reduce; r++ {
				acc += int64(x[(o*p.Reduce+r)*p.Inner+i]) - int64(p.InZP)
			}
			v := int64(p.OutZP) + exApply(acc, p.Mult, p.Rounding)
			out[o*p.Inner+i] = int8(max(-128, min(127, v)))
		}
	}
	return out
}

func TestMeanInt8Random(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(400); it++ {
		p := kernels.MeanParams{Outer: g.between(1, 4), Reduce: g.between(1, 60), Inner: g.between(1, 40),
			InZP: int32(g.between(-128, 127)), OutZP: int32(g.between(-128, 127))}
		if g.IntN(5) == 0 {
			p.Inner = 1
		}
		if !small() && g.IntN(8) == 0 {
			p.Reduce = g.between(100, 3000)
		}
		// s_in/(s_out·Reduce) with s_in/s_out spread over [1/4, 4], and
		// sometimes ≥ 1 so that outputs saturate.
		real := math.Exp2(4*g.Float64()-2) / float64(p.Reduce)
		if g.IntN(8) == 0 {
			real = math.Exp2(20 * g.Float64())
		}
		p.Mult = quant.MustMultiplier(real)
		if g.IntN(2) == 0 {
			p.Rounding = quant.RoundDouble
		}
		x := g.i8(p.Outer * p.Reduce * p.Inner)
		out := make([]int8, p.Outer*p.Inner)
		ref.MeanInt8(&p, x, out)
		diffInt8(t, "mean", out, naiveMeanInt8(&p, x))
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestMeanFloatRandom(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(400); it++ {
		p := kernels.MeanParams{Outer: g.between(1, 4), Reduce: g.between(1, 60), Inner: g.between(1, 40)}
		x := g.f32(p.Outer * p.Reduce * p.Inner)
		out := make([]float32, p.Outer*p.Inner)
		ref.MeanFloat(&p, x, out)
		want, tol := make([]float64, len(out)), make([]float64, len(out))
		for o := 0; o < p.Outer; o++ {
			for i := 0; i < p.Inner; i++ {
				var sum, abs float64
				for r := 0; r < p.Reduce; r++ {
					v := float64(x[(o*p.Reduce+r)*p.Inner+i])
					sum, abs = sum+v, abs+math.Abs(v)
				}
				want[o*p.Inner+i] = sum / float64(p.Reduce)
				tol[o*p.Inner+i] = sumTol(abs/float64(p.Reduce), p.Reduce)
			}
		}
		diffFloat(t, "mean float", out, want, tol)
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestMeanByHand(t *testing.T) {
	// x [1,3,2] reduced over the middle axis, InZP 2:
	// column 0: (1−2)+(4−2)+(−6−2) = −7, column 1: (3−2)+(0−2)+(5−2) = 2.
	// Mult 1/3 (s_in = s_out): −7/3 = −2.33 → −2, 2/3 → 1; OutZP 10.
	x := []int8{1, 3, 4, 0, -6, 5}
	p := kernels.MeanParams{Outer: 1, Reduce: 3, Inner: 2, InZP: 2, OutZP: 10, Mult: quant.MustMultiplier(1.0 / 3)}
	out := make([]int8, 2)
	ref.MeanInt8(&p, x, out)
	diffInt8(t, "mean", out, []int8{8, 11})

	// Saturation: a large factor pushes both ends of the int8 range.
	p.Mult, p.OutZP = quant.MustMultiplier(100), 0
	ref.MeanInt8(&p, x, out)
	diffInt8(t, "saturated", out, []int8{-128, 127})

	xf := []float32{1, 3, 4, 0, -6, 5}
	outf := make([]float32, 2)
	ref.MeanFloat(&p, xf, outf)
	if outf[0] != -1.0/3 || outf[1] != 8.0/3 {
		t.Errorf("float mean = %v, want [%g %g]", outf, float32(-1.0/3), float32(8.0/3))
	}
}

func TestMeanAllocs(t *testing.T) {
	g := newKgen(t)
	p := kernels.MeanParams{Outer: 3, Reduce: 7, Inner: 19, InZP: 1, OutZP: -3, Mult: quant.MustMultiplier(0.1)}
	x, out := g.i8(3*7*19), make([]int8, 3*19)
	xf, outf := g.f32(3*7*19), make([]float32, 3*19)
	if n := testing.AllocsPerRun(20, func() { ref.MeanInt8(&p, x, out) }); n != 0 {
		t.Errorf("MeanInt8: %v allocations per run", n)
	}
	if n := testing.AllocsPerRun(20, func() { ref.MeanFloat(&p, xf, outf) }); n != 0 {
		t.Errorf("MeanFloat: %v allocations per run", n)
	}
}
