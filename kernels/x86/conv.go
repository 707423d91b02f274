package x86

import "github.com/edgeinfer/edgeinfer/kernels"

// The im2col buffer on the stack and the longest reduction that goes
// through it.
const (
	maxIm2colK = 4096
	im2colBuf  = 32 << 10
)

// PackConv packs Conv2D weights w [Cout,KH,KW,Cin] for path (nil when the
// micro-kernels do not apply: K = KH·KW·Cin < 4 or > 4096, K > 2048 on
// AVX2, WZP ≠ 0, an XNNPACK-style float stage, or a grouped convolution,
// which stays with kernels/ref).
func PackConv(path Path, p *kernels.ConvParams, w []int8) *Packed {
	k := p.KH * p.KW * p.Cin
	if k > maxIm2colK || p.Groups > 1 {
		return nil
	}
	fc := kernels.FCParams{N: p.Cout, K: k, InZP: p.InZP, WZP: p.WZP, Bias: p.Bias, Out: p.Out}
	return PackFC(path, &fc, w)
}

// Conv2DInt8 is ref.Conv2DInt8 with weights packed by PackConv(…, p, w).
// A 1×1 convolution with unit strides and no padding is one GEMM over the
// pixels of rows [RowLo, RowHi); any other runs as a GEMM over im2col rows
// (kernels.Im2col) built a few pixels at a time on the stack.
func Conv2DInt8(p *kernels.ConvParams, x []int8, w *Packed, out []int8) {
	g := gemm{path: w.path, n: w.n, k: w.k, b: w.b, cd: w.cd, fastReq: w.fastReq, os: &p.Out}
	Cin, Cout, OW := p.Cin, p.Cout, p.OW
	if p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 &&
		p.OH == p.H && p.OW == p.W {
		lo, hi := p.RowLo*OW, p.RowHi*OW
		if hi > lo {
			g.run(x[lo*Cin:hi*Cin], Cin, hi-lo, out[lo*Cout:hi*Cout], nil, Cout)
		}
		return
	}
	K := w.k
	var buf [im2colBuf]int8
	px := min(im2colBuf/K, 60) // pixels per batch, a multiple of the tile rows
	for r := p.RowLo; r < p.RowHi; r++ {
		for ow0 := 0; ow0 < OW; ow0 += px {
			cnt := min(px, OW-ow0)
			kernels.Im2col(p, x, r, ow0, cnt, buf[:cnt*K])
			o := (r*OW + ow0) * Cout
			g.run(buf[:cnt*K], K, cnt, out[o:o+cnt*Cout], nil, Cout)
		}
	}
}
