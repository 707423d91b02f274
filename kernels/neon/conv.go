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
	H, W := p.H, p.W
	perImage := H * W * Cin
	zp := int8(p.InZP)
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		xn := x[n*perImage : (n+1)*perImage]
		ih0 := oh*p.StrideH - p.PadTop
		for ow0 := 0; ow0 < OW; ow0 += px {
			cnt := min(px, OW-ow0)
			for i := 0; i < cnt; i++ {
				row := buf[i*K : (i+1)*K]
				iw0 := (ow0+i)*p.StrideW - p.PadLeft
				wide := p.DilationW == 1 && iw0 >= 0 && iw0+p.KW <= W
				seg := p.KW * Cin
				for kh := 0; kh < p.KH; kh++ {
					dst := row[kh*seg : (kh+1)*seg]
					ih := ih0 + kh*p.DilationH
					if ih < 0 || ih >= H {
						fill(dst, zp)
						continue
					}
					xrow := xn[ih*W*Cin : (ih+1)*W*Cin]
					if wide {
						copy(dst, xrow[iw0*Cin:(iw0+p.KW)*Cin])
						continue
					}
					for kw := 0; kw < p.KW; kw++ {
						iw := iw0 + kw*p.DilationW
						d := dst[kw*Cin : (kw+1)*Cin]
						if iw < 0 || iw >= W {
							fill(d, zp)
						} else {
							copy(d, xrow[iw*Cin:(iw+1)*Cin])
						}
					}
				}
			}
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
