package neon

import (
	"github.com/edgeinfer/edgeinfer/kernels"
)

// maxIm2colK bounds the reduction length of a convolution that goes
// through the im2col buffer on the stack.
const (
	maxIm2colK = 4096
	im2colBuf  = 32 << 10
)

// Conv2DInt8 is ref.Conv2DInt8 with weights packed by PackConv(…, p, w).
// A 1×1 convolution with unit strides and no padding is one GEMM over the
// pixels of rows [RowLo, RowHi); any other runs as a GEMM over im2col rows
// built a few pixels at a time on the stack, padding taps holding the input
// zero point (whose products the folded bias cancels, as ref skips them).
func Conv2DInt8(p *kernels.ConvParams, x []int8, w *Packed, out []int8) {
	g := gemmArgs{w: w, b: w.b, cd: w.cd, unpaired: w.unpaired, fastReq: w.fastReq, os: &p.Out}
	Cin, Cout, OW := p.Cin, p.Cout, p.OW
	if p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 &&
		p.OH == p.H && p.OW == p.W {
		lo, hi := p.RowLo*OW, p.RowHi*OW
		g.run(x[lo*Cin:hi*Cin], Cin, hi-lo, out[lo*Cout:hi*Cout], nil, Cout)
		return
	}
	K := w.k
	var buf [im2colBuf]int8
	px := min(im2colBuf/K, 64) // pixels per batch; PackConv keeps K ≤ maxIm2colK
	for r := p.RowLo; r < p.RowHi; r++ {
		for ow0 := 0; ow0 < OW; ow0 += px {
			cnt := min(px, OW-ow0)
			kernels.Im2col(p, x, r, ow0, cnt, buf[:cnt*K])
			o := (r*OW + ow0) * Cout
			g.run(buf[:cnt*K], K, cnt, out[o:o+cnt*Cout], nil, Cout)
		}
	}
}

func fill(d []int8, v int8) {
	for i := range d {
		d[i] = v
	}
}
