package ref

import (
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// MeanInt8 reduces x, viewed as [Outer, Reduce, Inner], over its middle
// axis into out [Outer, Inner]:
//
//	acc = Σ_r (x[(o·Reduce+r)·Inner+i] − InZP)
//	out[o·Inner+i] = clamp(OutZP + Mult.ApplyMode(acc, Rounding), −128, 127)
//
// where Mult = s_in/(s_out·Reduce) carries the division. acc fits int32 for
// Reduce < 2^31/255 ≈ 8.4 million.
func MeanInt8(p *kernels.MeanParams, x, out []int8) {
	R, I := p.Reduce, p.Inner
	x = x[:p.Outer*R*I]
	out = out[:p.Outer*I]
	for o := 0; o < p.Outer; o++ {
		xo := x[o*R*I : (o+1)*R*I]
		oo := out[o*I : (o+1)*I]
		for i0 := 0; i0 < I; i0 += accTile {
			var accBuf [accTile]int32
			acc := accBuf[:min(accTile, I-i0)]
			for r := 0; r < R; r++ {
				xs := xo[r*I+i0:]
				xs = xs[:len(acc)]
				for j := range acc {
					acc[j] += int32(xs[j]) - p.InZP
				}
			}
			for j, a := range acc {
				v := p.OutZP + p.Mult.ApplyMode(a, p.Rounding)
				oo[i0+j] = int8(quant.Clamp(v, quant.Int8Min, quant.Int8Max))
			}
		}
	}
}

// MeanFloat reduces x, viewed as [Outer, Reduce, Inner], over its middle
// axis into out [Outer, Inner] in float32:
//
//	out[o·Inner+i] = (Σ_r x[(o·Reduce+r)·Inner+i]) / Reduce
//
// The quantization fields of p are ignored.
func MeanFloat(p *kernels.MeanParams, x, out []float32) {
	R, I := p.Reduce, p.Inner
	x = x[:p.Outer*R*I]
	out = out[:p.Outer*I]
	div := float32(R)
	for o := 0; o < p.Outer; o++ {
		xo := x[o*R*I : (o+1)*R*I]
		oo := out[o*I : (o+1)*I]
		for i0 := 0; i0 < I; i0 += accTile {
			var accBuf [accTile]float32
			acc := accBuf[:min(accTile, I-i0)]
			for r := 0; r < R; r++ {
				xs := xo[r*I+i0:]
				xs = xs[:len(acc)]
				for j := range acc {
					acc[j] += xs[j]
				}
			}
			for j, a := range acc {
				oo[i0+j] = a / div
			}
		}
	}
}
