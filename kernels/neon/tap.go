package neon

import (
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// Bounds of TAPInt8's stack buffers: channels, and branches per cell.
const (
	tapMaxD = 2048
	tapMaxK = 8
)

// TAPInt8 is ref.TAPInt8 (TokenAwareAvgPool): identical results. Per grid
// cell, Go computes the branch weights w_k exactly as ref and tapCell does
// the channels, 16 at a time: with x' = x − InZP, ref's
// Σ_k w_k·branch_k is
//
//	c0·x_centre + Σ_{d_k>0} w_k·Σ_8 x_tap − InZP·(c0 + 8·Σ_{d_k>0} w_k),
//	c0 = Σ_{d_k=0} 9·w_k + Σ_{d_k>0} w_k,
//
// where a tap outside the grid reads a row of InZP (x' = 0, as ref skips
// it), all in int32 with wrap-around as ref; then the requantization of
// ref (SQDMULH + SRSHL, exact when Mult's Shift ≤ −1). Other parameters
// (RoundDouble, larger multipliers, D < 16, zero points outside int8)
// run kernels/ref.
func TAPInt8(p *kernels.TAPParams, x, logits []int8, w []int32, out []int8) {
	D, K := p.D, len(p.Dilations)
	if D < 16 || D > tapMaxD || K == 0 || K > tapMaxK || p.Rounding != quant.RoundSingle || !fastRequant(p.Mult) ||
		p.InZP < quant.Int8Min || p.InZP > quant.Int8Max || p.OutZP < quant.Int8Min || p.OutZP > quant.Int8Max {
		ref.TAPInt8(p, x, logits, w, out)
		return
	}
	for i, v := range x[:p.Prefix*D] {
		q := int64(p.OutZP) + int64(p.PassMult.ApplyMode(int32(v)-p.InZP, p.Rounding))
		out[i] = int8(max(quant.Int8Min, min(quant.Int8Max, q)))
	}
	cells := p.GridH * p.GridW
	g := x[p.Prefix*D : (p.Prefix+cells)*D]
	o := out[p.Prefix*D : (p.Prefix+cells)*D]
	logits, w = logits[:cells*K], w[:K]
	var zrow [tapMaxD]int8
	for i := range zrow[:D] {
		zrow[i] = int8(p.InZP)
	}
	var acc [tapMaxD]int32
	var taps, tail [1 + 8*tapMaxK]*int8
	var coef [1 + tapMaxK]int32
	q := [4]int32{0, p.Mult.M, p.Mult.Shift, p.OutZP}
	n16 := D / 16
	for h := 0; h < p.GridH; h++ {
		for c := 0; c < p.GridW; c++ {
			cell := h*p.GridW + c
			l := logits[cell*K : (cell+1)*K]
			mx := l[0]
			for _, v := range l {
				mx = max(mx, v)
			}
			var sum uint64
			for _, v := range l {
				sum += uint64(p.Exp[uint8(int(mx)-int(v))])
			}
			for k, v := range l {
				w[k] = int32((uint64(p.Exp[uint8(int(mx)-int(v))])<<15 + sum/2) / sum)
			}
			var c0, wsum int32
			nb := 0
			for k, d := range p.Dilations {
				if d == 0 {
					c0 += 9 * w[k]
					continue
				}
				c0 += w[k]
				wsum += w[k]
				coef[1+nb] = w[k]
				n := 1 + 8*nb
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						if dy == 0 && dx == 0 {
							continue
						}
						// taps is indexed, not sliced, so that zrow stays on
						// the stack.
						ih, iw := h+dy*d, c+dx*d
						if ih < 0 || ih >= p.GridH || iw < 0 || iw >= p.GridW {
							taps[n] = &zrow[0]
						} else {
							taps[n] = &g[(ih*p.GridW+iw)*D]
						}
						n++
					}
				}
				nb++
			}
			coef[0] = c0
			q[0] = -p.InZP * (c0 + 8*wsum)
			taps[0] = &g[cell*D]
			dst := o[cell*D : (cell+1)*D]
			tapCell(&taps[0], nb, &coef[0], n16, &acc[0], &dst[0], &q)
			if D%16 != 0 {
				// The last 16 channels again, overlapping: same values.
				for i := 0; i < 1+8*nb; i++ {
					tail[i] = (*int8)(unsafe.Add(unsafe.Pointer(taps[i]), D-16))
				}
				tapCell(&tail[0], nb, &coef[0], 1, &acc[0], &dst[D-16], &q)
			}
		}
	}
}
