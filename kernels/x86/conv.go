package x86

import "github.com/edgeinfer/edgeinfer/kernels"

// The im2col buffer on the stack and the longest reduction that goes
// through it.
const (
	maxIm2colK = 4096
	im2colBuf  = 32 << 10
)

// PackConv packs Conv2D weights w [Cout,KH,KW,Cin/Groups] for path (nil
// when the micro-kernels do not apply: K = KH·KW·Cin/Groups > 4096, K >
// 2048 on AVX2, WZP ≠ 0 with several groups, or K < 4 with one
// group). A grouped convolution packs each group's Cout/Groups rows as its
// own operand, a reduction shorter than 4 padded with zero weights to 4.
func PackConv(path Path, p *kernels.ConvParams, w []int8) *Packed {
	G := max(p.Groups, 1)
	k := p.KH * p.KW * p.Cin / G
	if k > maxIm2colK || (G > 1 && p.WZP != 0) {
		return nil
	}
	if G == 1 {
		fc := kernels.FCParams{N: p.Cout, K: k, InZP: p.InZP, WZP: p.WZP, Bias: p.Bias, Out: p.Out}
		return PackFC(path, &fc, w)
	}
	ng, kp := p.Cout/G, max(k, minK)
	parts := make([]*Packed, G)
	var nb, nc int
	for g := range parts {
		fc := kernels.FCParams{N: ng, K: kp, InZP: p.InZP, WZP: p.WZP, Out: kernels.GroupStage(&p.Out, g, ng)}
		if p.Bias != nil {
			fc.Bias = p.Bias[g*ng : (g+1)*ng]
		}
		parts[g] = PackFC(path, &fc, kernels.GroupWeights(p, w, g, kp))
		if parts[g] == nil {
			return nil
		}
		nb, nc = nb+len(parts[g].b), nc+len(parts[g].cd)
	}
	pk := &Packed{path: path, n: p.Cout, k: kp, b: make([]int8, 0, nb), cd: make([]int32, 0, nc), groups: make([]Packed, G)}
	for g, q := range parts {
		b0, c0 := len(pk.b), len(pk.cd)
		pk.b, pk.cd = append(pk.b, q.b...), append(pk.cd, q.cd...)
		pk.groups[g] = *q
		pk.groups[g].b, pk.groups[g].cd = pk.b[b0:len(pk.b):len(pk.b)], pk.cd[c0:len(pk.cd):len(pk.cd)]
	}
	return pk
}

// Conv2DInt8 is ref.Conv2DInt8 with weights packed by PackConv(…, p, w).
// A 1×1 convolution with unit strides and no padding is one GEMM over the
// pixels of rows [RowLo, RowHi); any other runs as a GEMM over im2col rows
// (kernels.Im2col) built a few pixels at a time on the stack. A grouped
// convolution runs one such GEMM per group on the group's input channels
// into its output channels: pointwise straight over the input (the
// group's channels at the full channel stride), else over the group's
// block of im2col rows (kernels.Im2colGroups builds as many groups' as
// the buffer holds in one pass, over pixels that may span output rows).
func Conv2DInt8(p *kernels.ConvParams, x []int8, w *Packed, out []int8) {
	if w.groups != nil {
		conv2DGrouped(p, x, w, out)
		return
	}
	g := gemm{path: w.path, n: w.n, k: w.k, b: w.b, cd: w.cd, fastReq: w.fastReq, os: &p.Out, bzp: w.wzp}
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

// conv2DGrouped is Conv2DInt8 for the operands of a grouped convolution.
func conv2DGrouped(p *kernels.ConvParams, x []int8, w *Packed, out []int8) {
	G := len(w.groups)
	Cin, Cout, OW := p.Cin, p.Cout, p.OW
	cg, ng, K := Cin/G, Cout/G, w.k
	var wbuf []int16
	var wb [mr * maxAVX2K]int16
	if w.path == AVX2 {
		wbuf = wb[:]
	}
	if p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 &&
		p.OH == p.H && p.OW == p.W && cg == K {
		lo, hi := p.RowLo*OW, p.RowHi*OW
		if hi <= lo {
			return
		}
		for gi := range w.groups {
			gw := &w.groups[gi]
			os := kernels.GroupStage(&p.Out, gi, ng)
			g := gemm{path: gw.path, n: gw.n, k: gw.k, b: gw.b, cd: gw.cd, fastReq: gw.fastReq, os: &os}
			g.tiles(x[lo*Cin+gi*cg:hi*Cin], Cin, hi-lo, out[lo*Cout+gi*ng:hi*Cout], nil, Cout, wbuf)
		}
		return
	}
	var buf [im2colBuf]int8
	px, gn := kernels.GroupBatch(im2colBuf, G, K, 18, 60)
	lo, hi := p.RowLo*OW, p.RowHi*OW
	for pix0 := lo; pix0 < hi; pix0 += px {
		cnt := min(px, hi-pix0)
		o := pix0 * Cout
		for g0 := 0; g0 < G; g0 += gn {
			gc := min(gn, G-g0)
			kernels.Im2colGroups(p, x, pix0, cnt, g0, gc, G, K, buf[:gc*cnt*K])
			for gi := g0; gi < g0+gc; gi++ {
				gw := &w.groups[gi]
				os := kernels.GroupStage(&p.Out, gi, ng)
				g := gemm{path: gw.path, n: gw.n, k: gw.k, b: gw.b, cd: gw.cd, fastReq: gw.fastReq, os: &os}
				a := buf[(gi-g0)*cnt*K : (gi-g0+1)*cnt*K]
				g.tiles(a, K, cnt, out[o+gi*ng:o+cnt*Cout], nil, Cout, wbuf)
			}
		}
	}
}
