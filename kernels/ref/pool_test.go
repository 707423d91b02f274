package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// poolTaps calls f with the input offset of channel 0 of every in-bounds
// tap of output (n, oh, ow).
func poolTaps(p *kernels.PoolParams, n, oh, ow int, f func(xoff int)) {
	for fh := 0; fh < p.FH; fh++ {
		for fw := 0; fw < p.FW; fw++ {
			ih := oh*p.StrideH - p.PadTop + fh
			iw := ow*p.StrideW - p.PadLeft + fw
			if ih >= 0 && ih < p.H && iw >= 0 && iw < p.W {
				f(((n*p.H+ih)*p.W + iw) * p.C)
			}
		}
	}
}

// naivePoolInt8 computes average (rounding the exact rational sum/count
// half away from zero) or max pooling from the definition.
func naivePoolInt8(p *kernels.PoolParams, avg bool, x []int8) []int8 {
	out := make([]int8, p.N*p.OH*p.OW*p.C)
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OH; oh++ {
			for ow := 0; ow < p.OW; ow++ {
				for c := 0; c < p.C; c++ {
					var sum, count int64
					best := int64(math.MinInt64)
					poolTaps(p, n, oh, ow, func(xoff int) {
						v := int64(x[xoff+c])
						sum += v
						count++
						best = max(best, v)
					})
					var v int64
					if avg {
						// round(sum/count), ties away from zero:
						// sign · floor(|sum|/count + 1/2) = sign · ⌊(2|sum| + count) / 2count⌋.
						v = (2*max(sum, -sum) + count) / (2 * count)
						if sum < 0 {
							v = -v
						}
					} else {
						v = best
					}
					v = max(int64(p.ActMin), min(int64(p.ActMax), v))
					out[((n*p.OH+oh)*p.OW+ow)*p.C+c] = int8(v)
				}
			}
		}
	}
	return out
}

func naivePoolFloat(p *kernels.PoolParams, avg bool, x []float32) (want, tol []float64) {
	size := p.N * p.OH * p.OW * p.C
	want, tol = make([]float64, size), make([]float64, size)
	for n := 0; n < p.N; n++ {
		for oh := 0; oh < p.OH; oh++ {
			for ow := 0; ow < p.OW; ow++ {
				for c := 0; c < p.C; c++ {
					var sum, abs float64
					count := 0
					best := math.Inf(-1)
					poolTaps(p, n, oh, ow, func(xoff int) {
						v := float64(x[xoff+c])
						sum, abs, count = sum+v, abs+math.Abs(v), count+1
						best = max(best, v)
					})
					i := ((n*p.OH+oh)*p.OW+ow)*p.C + c
					if avg {
						want[i] = clamp64(sum/float64(count), p.ActMinF, p.ActMaxF)
						tol[i] = sumTol(abs/float64(count), count)
					} else {
						want[i] = clamp64(best, p.ActMinF, p.ActMaxF)
					}
				}
			}
		}
	}
	return want, tol
}

// poolShape returns random pooling geometry whose every window has at
// least one in-bounds tap (padding smaller than the filter).
func (g kgen) poolShape() kernels.PoolParams {
	for {
		p := kernels.PoolParams{N: g.between(1, 2), H: g.between(1, 11), W: g.between(1, 11), C: g.between(1, 37),
			FH: g.between(1, 4), FW: g.between(1, 4), StrideH: g.between(1, 3), StrideW: g.between(1, 3),
			ActMin: -128, ActMax: 127, ActMinF: noAct[0], ActMaxF: noAct[1]}
		padBottom, padRight := 0, 0
		if g.IntN(2) == 0 {
			p.PadTop, padBottom = g.between(0, p.FH-1), g.between(0, p.FH-1)
			p.PadLeft, padRight = g.between(0, p.FW-1), g.between(0, p.FW-1)
		}
		if g.IntN(6) == 0 { // global pooling
			p.FH, p.FW, p.StrideH, p.StrideW = p.H, p.W, 1, 1
			p.PadTop, p.PadLeft, padBottom, padRight = 0, 0, 0, 0
		}
		if p.H+p.PadTop+padBottom < p.FH || p.W+p.PadLeft+padRight < p.FW {
			continue
		}
		p.OH = (p.H+p.PadTop+padBottom-p.FH)/p.StrideH + 1
		p.OW = (p.W+p.PadLeft+padRight-p.FW)/p.StrideW + 1
		if g.IntN(3) == 0 {
			p.ActMin = int32(g.between(-128, 0))
			p.ActMax = int32(g.between(int(p.ActMin), 127))
		}
		p.ActMinF, p.ActMaxF = g.floatAct()
		return p
	}
}

func TestPoolInt8Random(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(400); it++ {
		p := g.poolShape()
		x := g.i8(p.N * p.H * p.W * p.C)
		if g.IntN(4) == 0 { // small values make exact .5 averages common
			for i := range x {
				x[i] = int8(g.between(-3, 3))
			}
		}
		out := make([]int8, p.N*p.OH*p.OW*p.C)
		ref.AveragePool2DInt8(&p, x, out)
		diffInt8(t, "avg", out, naivePoolInt8(&p, true, x))
		ref.MaxPool2DInt8(&p, x, out)
		diffInt8(t, "max", out, naivePoolInt8(&p, false, x))
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestPoolFloatRandom(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(400); it++ {
		p := g.poolShape()
		x := g.f32(p.N * p.H * p.W * p.C)
		out := make([]float32, p.N*p.OH*p.OW*p.C)
		ref.AveragePool2DFloat(&p, x, out)
		want, tol := naivePoolFloat(&p, true, x)
		diffFloat(t, "avg", out, want, tol)
		ref.MaxPool2DFloat(&p, x, out)
		want, tol = naivePoolFloat(&p, false, x)
		diffFloat(t, "max", out, want, tol) // exact: tol is 0
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestPoolByHand(t *testing.T) {
	// One image 2×3, two channels, 2×2 windows, stride 2, one column of
	// padding on the left: windows cover columns {0} and {1,2}.
	// Channel 0: [[1 2 4] [−1 −2 −3]]; channel 1: [[1 −2 −3] [0 −1 −5]].
	x := []int8{1, 1, 2, -2, 4, -3, -1, 0, -2, -1, -3, -5}
	p := kernels.PoolParams{N: 1, H: 2, W: 3, C: 2, FH: 2, FW: 2, OH: 1, OW: 2,
		StrideH: 2, StrideW: 2, PadLeft: 1, ActMin: -128, ActMax: 127}
	out := make([]int8, 4)
	ref.AveragePool2DInt8(&p, x, out)
	// ch0: (1−1)/2 = 0, (2+4−2−3)/4 = 0.25 → 0; ch1: (1+0)/2 = 0.5 → 1,
	// (−2−3−1−5)/4 = −2.75 → −3.
	diffInt8(t, "avg", out, []int8{0, 1, 0, -3})
	ref.MaxPool2DInt8(&p, x, out)
	diffInt8(t, "max", out, []int8{1, 1, 4, -1})

	// Ties round away from zero in both directions: 1.5 → 2, −1.5 → −2.
	p = kernels.PoolParams{N: 1, H: 1, W: 2, C: 2, FH: 1, FW: 2, OH: 1, OW: 1, StrideH: 1, StrideW: 1,
		ActMin: -128, ActMax: 127}
	out = out[:2]
	ref.AveragePool2DInt8(&p, []int8{1, -1, 2, -2}, out)
	diffInt8(t, "ties", out, []int8{2, -2})
	// The fused clamp applies after the average.
	p.ActMin, p.ActMax = 0, 1
	ref.AveragePool2DInt8(&p, []int8{1, -1, 2, -2}, out)
	diffInt8(t, "clamped", out, []int8{1, 0})

	// A window entirely in the padding (the verifier rejects such models):
	// average gives clamp(0), max gives ActMin. Row 0 below is all padding.
	pe := kernels.PoolParams{N: 1, H: 1, W: 1, C: 1, FH: 1, FW: 1, OH: 2, OW: 1, StrideH: 1, StrideW: 1,
		PadTop: 1, ActMin: 2, ActMax: 127, ActMinF: -1, ActMaxF: 0.5}
	ref.AveragePool2DInt8(&pe, []int8{9}, out)
	diffInt8(t, "empty avg", out, []int8{2, 9})
	ref.MaxPool2DInt8(&pe, []int8{-9}, out)
	diffInt8(t, "empty max", out, []int8{2, 2})
	outf2 := make([]float32, 2)
	ref.AveragePool2DFloat(&pe, []float32{3}, outf2)
	if outf2[0] != 0 || outf2[1] != 0.5 {
		t.Errorf("empty float avg = %v, want [0 0.5]", outf2)
	}
	ref.MaxPool2DFloat(&pe, []float32{-3}, outf2)
	if outf2[0] != -1 || outf2[1] != -1 {
		t.Errorf("empty float max = %v, want [-1 -1]", outf2)
	}

	xf := []float32{1, 2, 3, 4}
	pf := kernels.PoolParams{N: 1, H: 2, W: 2, C: 1, FH: 2, FW: 2, OH: 1, OW: 1, StrideH: 1, StrideW: 1,
		ActMinF: noAct[0], ActMaxF: noAct[1]}
	outf := make([]float32, 1)
	ref.AveragePool2DFloat(&pf, xf, outf)
	if outf[0] != 2.5 {
		t.Errorf("float avg = %g, want 2.5", outf[0])
	}
	ref.MaxPool2DFloat(&pf, xf, outf)
	if outf[0] != 4 {
		t.Errorf("float max = %g, want 4", outf[0])
	}
}

func TestPoolAllocs(t *testing.T) {
	g := newKgen(t)
	p := g.poolShape()
	x, out := g.i8(p.N*p.H*p.W*p.C), make([]int8, p.N*p.OH*p.OW*p.C)
	xf, outf := g.f32(p.N*p.H*p.W*p.C), make([]float32, p.N*p.OH*p.OW*p.C)
	for name, f := range map[string]func(){
		"AveragePool2DInt8":  func() { ref.AveragePool2DInt8(&p, x, out) },
		"MaxPool2DInt8":      func() { ref.MaxPool2DInt8(&p, x, out) },
		"AveragePool2DFloat": func() { ref.AveragePool2DFloat(&p, xf, outf) },
		"MaxPool2DFloat":     func() { ref.MaxPool2DFloat(&p, xf, outf) },
	} {
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("%s: %v allocations per run", name, n)
		}
	}
}
