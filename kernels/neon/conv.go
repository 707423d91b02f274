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

// PackConv packs Conv2D weights w [Cout,KH,KW,Cin/Groups] for path (nil
// when the micro-kernels do not apply: K = KH·KW·Cin/Groups > maxIm2colK,
// or WZP ≠ 0 with several groups or with K < 16). A grouped convolution
// packs each group's Cout/Groups rows as its own operand, and so does one
// of K < 16 as a single group; a reduction shorter than 16 is padded with
// zero weights to 16.
func PackConv(path Path, p *kernels.ConvParams, w []int8) *Packed {
	G := max(p.Groups, 1)
	k := p.KH * p.KW * p.Cin / G
	// Fewer than 16 taps (a one-channel image's first layer) pack as one
	// group, whose weights GroupWeights pads with zero columns to 16.
	short := G == 1 && k < 16
	if k > maxIm2colK || ((G > 1 || short) && p.WZP != 0) {
		return nil
	}
	if G == 1 && !short {
		return pack(path, p.Cout, k, w, p.InZP, p.WZP, p.Bias, &p.Out)
	}
	ng, kp := p.Cout/G, max(k, 16)
	parts := make([]*Packed, G)
	var nb, nc int
	for g := range parts {
		var bias []int32
		if p.Bias != nil {
			bias = p.Bias[g*ng : (g+1)*ng]
		}
		os := kernels.GroupStage(&p.Out, g, ng)
		parts[g] = pack(path, ng, kp, kernels.GroupWeights(p, w, g, kp), p.InZP, 0, bias, &os)
		if parts[g] == nil {
			return nil
		}
		nb, nc = nb+len(parts[g].b), nc+len(parts[g].cd)
	}
	pk := &Packed{path: path, n: p.Cout, k: kp, b: make([]int8, 0, nb), cd: make([]int32, 0, nc),
		rounding: p.Out.Rounding, groups: make([]Packed, G)}
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
// built a few pixels at a time on the stack, padding taps holding the input
// zero point (whose products the folded bias cancels, as ref skips them;
// with a weight zero point the row bias −WZP·Σ x counts them as InZP,
// which the column bias's K·InZP·WZP cancels). A grouped convolution runs
// one such GEMM per group on the group's input channels into its output
// channels: pointwise straight over the input (the group's channels at the
// full channel stride), else over the group's block of im2col rows
// (kernels.Im2colGroups builds as many groups' as the buffer holds in one
// pass, over pixels that may span output rows).
func Conv2DInt8(p *kernels.ConvParams, x []int8, w *Packed, out []int8) {
	if w.groups != nil {
		conv2DGrouped(p, x, w, out)
		return
	}
	g := gemmArgs{w: w, b: w.b, cd: w.cd, unpaired: w.unpaired, fastReq: w.fastReq, os: &p.Out, bzp: w.wzp}
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

// conv2DGrouped is Conv2DInt8 for the operands of a grouped convolution.
func conv2DGrouped(p *kernels.ConvParams, x []int8, w *Packed, out []int8) {
	G := len(w.groups)
	Cin, Cout, OW := p.Cin, p.Cout, p.OW
	cg, ng, K := Cin/G, Cout/G, w.k
	if p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 &&
		p.OH == p.H && p.OW == p.W && cg == K {
		lo, hi := p.RowLo*OW, p.RowHi*OW
		if hi <= lo {
			return
		}
		for gi := range w.groups {
			gw := &w.groups[gi]
			os := kernels.GroupStage(&p.Out, gi, ng)
			g := gemmArgs{w: gw, b: gw.b, cd: gw.cd, unpaired: gw.unpaired, fastReq: gw.fastReq, os: &os}
			g.run(x[lo*Cin+gi*cg:hi*Cin], Cin, hi-lo, out[lo*Cout+gi*ng:hi*Cout], nil, Cout)
		}
		return
	}
	var buf [im2colBuf]int8
	px, gn := kernels.GroupBatch(im2colBuf, G, K, 16, 64)
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
				g := gemmArgs{w: gw, b: gw.b, cd: gw.cd, unpaired: gw.unpaired, fastReq: gw.fastReq, os: &os}
				a := buf[(gi-g0)*cnt*K : (gi-g0+1)*cnt*K]
				g.run(a, K, cnt, out[o+gi*ng:o+cnt*Cout], nil, Cout)
			}
		}
	}
}
