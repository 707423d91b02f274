package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// poolWindow returns the in-bounds filter taps [lo, hi) of one output position
// along one axis: the taps f with 0 ≤ start+f < size, f < filter.
func poolWindow(start, filter, size int) (lo, hi int) {
	lo = max(0, -start)
	hi = min(filter, size-start)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// AveragePool2DInt8 averages x [N,H,W,C] over FH×FW windows into
// out [N,OH,OW,C]. Input and output share their quantization, so the
// average is taken over the stored integers:
//
//	out[n,oh,ow,c] = clamp(round(Σ_taps x[n,ih,iw,c] / count), ActMin, ActMax)
//
// with ih = oh·StrideH − PadTop + fh, iw = ow·StrideW − PadLeft + fw, the
// sum and count over in-bounds taps only (padding is excluded from the
// count), and round half away from zero (half toward +∞ with
// RoundHalfUp, which is how uint8 arithmetic rounds the same average). A
// window entirely in the padding (which the verifier should reject) gives
// clamp(0, ActMin, ActMax).
func AveragePool2DInt8(p *kernels.PoolParams, x, out []int8) {
	H, W, C := p.H, p.W, p.C
	x = x[:p.N*H*W*C]
	out = out[:p.N*p.OH*p.OW*C]
	for r := 0; r < p.N*p.OH; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		fhLo, fhHi := poolWindow(ih0, p.FH, H)
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			fwLo, fwHi := poolWindow(iw0, p.FW, W)
			count := int32((fhHi - fhLo) * (fwHi - fwLo))
			op := out[(r*p.OW+ow)*C : (r*p.OW+ow+1)*C]
			for c0 := 0; c0 < C; c0 += accTile {
				var sumBuf [accTile]int32
				sum := sumBuf[:min(accTile, C-c0)]
				for ih := ih0 + fhLo; ih < ih0+fhHi; ih++ {
					for iw := iw0 + fwLo; iw < iw0+fwHi; iw++ {
						px := x[((n*H+ih)*W+iw)*C+c0:]
						px = px[:len(sum)]
						for j := range sum {
							sum[j] += int32(px[j])
						}
					}
				}
				for j, s := range sum {
					v := divRoundAway(s, count)
					if p.RoundHalfUp {
						v = divRoundUp(s, count)
					}
					op[c0+j] = int8(quant.Clamp(v, p.ActMin, p.ActMax))
				}
			}
		}
	}
}

// divRoundAway returns s/count rounded half away from zero; 0 when
// count is 0.
func divRoundAway(s, count int32) int32 {
	if count == 0 {
		return 0
	}
	if s >= 0 {
		return (s + count/2) / count
	}
	return (s - count/2) / count
}

// divRoundUp returns s/count rounded half toward +∞ (floor((2s + count) /
// 2count)); 0 when count is 0.
func divRoundUp(s, count int32) int32 {
	if count == 0 {
		return 0
	}
	n, d := 2*int64(s)+int64(count), 2*int64(count)
	q := n / d
	if n%d != 0 && n < 0 {
		q-- // floor, not truncation
	}
	return int32(q)
}

// AveragePool2DFloat is AveragePool2DInt8 in float32:
//
//	out[n,oh,ow,c] = clamp(Σ_taps x[n,ih,iw,c] / count, ActMinF, ActMaxF)
//
// over in-bounds taps. An empty window gives clamp(0, ActMinF, ActMaxF).
func AveragePool2DFloat(p *kernels.PoolParams, x, out []float32) {
	H, W, C := p.H, p.W, p.C
	x = x[:p.N*H*W*C]
	out = out[:p.N*p.OH*p.OW*C]
	for r := 0; r < p.N*p.OH; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		fhLo, fhHi := poolWindow(ih0, p.FH, H)
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			fwLo, fwHi := poolWindow(iw0, p.FW, W)
			count := float32((fhHi - fhLo) * (fwHi - fwLo))
			op := out[(r*p.OW+ow)*C : (r*p.OW+ow+1)*C]
			for c0 := 0; c0 < C; c0 += accTile {
				var sumBuf [accTile]float32
				sum := sumBuf[:min(accTile, C-c0)]
				for ih := ih0 + fhLo; ih < ih0+fhHi; ih++ {
					for iw := iw0 + fwLo; iw < iw0+fwHi; iw++ {
						px := x[((n*H+ih)*W+iw)*C+c0:]
						px = px[:len(sum)]
						for j := range sum {
							sum[j] += px[j]
						}
					}
				}
				for j, s := range sum {
					if count > 0 {
						s /= count
					}
					op[c0+j] = clampF(s, p.ActMinF, p.ActMaxF)
				}
			}
		}
	}
}

// MaxPool2DInt8 takes the maximum of x [N,H,W,C] over FH×FW windows into
// out [N,OH,OW,C]:
//
//	out[n,oh,ow,c] = clamp(max_taps x[n,ih,iw,c], ActMin, ActMax)
//
// over in-bounds taps only (padding never wins), with ih and iw as in
// AveragePool2DInt8. An empty window gives ActMin.
func MaxPool2DInt8(p *kernels.PoolParams, x, out []int8) {
	H, W, C := p.H, p.W, p.C
	x = x[:p.N*H*W*C]
	out = out[:p.N*p.OH*p.OW*C]
	for r := 0; r < p.N*p.OH; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		fhLo, fhHi := poolWindow(ih0, p.FH, H)
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			fwLo, fwHi := poolWindow(iw0, p.FW, W)
			op := out[(r*p.OW+ow)*C : (r*p.OW+ow+1)*C]
			for i := range op {
				op[i] = math.MinInt8
			}
			for ih := ih0 + fhLo; ih < ih0+fhHi; ih++ {
				for iw := iw0 + fwLo; iw < iw0+fwHi; iw++ {
					px := x[((n*H+ih)*W+iw)*C:]
					px = px[:len(op)]
					for j, v := range px {
						op[j] = max(op[j], v)
					}
				}
			}
			for j, v := range op {
				op[j] = int8(quant.Clamp(int32(v), p.ActMin, p.ActMax))
			}
		}
	}
}

// MaxPool2DFloat is MaxPool2DInt8 in float32:
//
//	out[n,oh,ow,c] = clamp(max_taps x[n,ih,iw,c], ActMinF, ActMaxF)
//
// NaN taps are ignored. An empty window gives clamp(−Inf, ActMinF, ActMaxF).
func MaxPool2DFloat(p *kernels.PoolParams, x, out []float32) {
	H, W, C := p.H, p.W, p.C
	x = x[:p.N*H*W*C]
	out = out[:p.N*p.OH*p.OW*C]
	negInf := float32(math.Inf(-1))
	for r := 0; r < p.N*p.OH; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		fhLo, fhHi := poolWindow(ih0, p.FH, H)
		for ow := 0; ow < p.OW; ow++ {
			iw0 := ow*p.StrideW - p.PadLeft
			fwLo, fwHi := poolWindow(iw0, p.FW, W)
			op := out[(r*p.OW+ow)*C : (r*p.OW+ow+1)*C]
			for i := range op {
				op[i] = negInf
			}
			for ih := ih0 + fhLo; ih < ih0+fhHi; ih++ {
				for iw := iw0 + fwLo; iw < iw0+fwHi; iw++ {
					px := x[((n*H+ih)*W+iw)*C:]
					px = px[:len(op)]
					for j, v := range px {
						if v > op[j] {
							op[j] = v
						}
					}
				}
			}
			for j, v := range op {
				op[j] = clampF(v, p.ActMinF, p.ActMaxF)
			}
		}
	}
}
