package kernels

// Im2col writes the receptive fields of cnt neighbouring output pixels of
// a convolution — output row r = n·OH + oh, columns ow0 … ow0+cnt−1 — into
// buf, one row of KH·KW·Cin values per pixel in the weights' [KH,KW,Cin]
// order. Taps in the padding hold the input zero point (0 for float), so
// that with the zero point folded into the bias they count as ref's
// skipped taps. The accelerated convolutions run their GEMM over these
// rows.
func Im2col[T int8 | float32](p *ConvParams, x []T, r, ow0, cnt int, buf []T) {
	H, W, Cin := p.H, p.W, p.Cin
	K := p.KH * p.KW * Cin
	n, oh := r/p.OH, r%p.OH
	perImage := H * W * Cin
	xn := x[n*perImage : (n+1)*perImage]
	ih0 := oh*p.StrideH - p.PadTop
	zp := T(p.InZP)
	seg := p.KW * Cin
	for i := 0; i < cnt; i++ {
		row := buf[i*K : (i+1)*K]
		iw0 := (ow0+i)*p.StrideW - p.PadLeft
		wide := p.DilationW == 1 && iw0 >= 0 && iw0+p.KW <= W
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
}

func fill[T int8 | float32](d []T, v T) {
	for i := range d {
		d[i] = v
	}
}

// Im2colGroup is Im2col for the input channels [c0, c0+cg) of one group
// of a grouped convolution: rows of kp ≥ KH·KW·cg values in the order of
// the group's weights [KH,KW,cg], zero after KH·KW·cg (the padding of a
// reduction shorter than a micro-kernel takes, whose weights are zero).
// The input keeps its full channel stride Cin.
func Im2colGroup[T int8 | float32](p *ConvParams, x []T, r, ow0, cnt, c0, cg, kp int, buf []T) {
	H, W, Cin := p.H, p.W, p.Cin
	k := p.KH * p.KW * cg
	n, oh := r/p.OH, r%p.OH
	perImage := H * W * Cin
	xn := x[n*perImage : (n+1)*perImage]
	ih0 := oh*p.StrideH - p.PadTop
	zp := T(p.InZP)
	seg := p.KW * cg
	for i := 0; i < cnt; i++ {
		row := buf[i*kp : (i+1)*kp]
		clear(row[k:])
		iw0 := (ow0+i)*p.StrideW - p.PadLeft
		for kh := 0; kh < p.KH; kh++ {
			dst := row[kh*seg : (kh+1)*seg]
			ih := ih0 + kh*p.DilationH
			if ih < 0 || ih >= H {
				fill(dst, zp)
				continue
			}
			xrow := xn[ih*W*Cin+c0 : (ih+1)*W*Cin]
			for kw := 0; kw < p.KW; kw++ {
				iw := iw0 + kw*p.DilationW
				d := dst[kw*cg : (kw+1)*cg]
				if iw < 0 || iw >= W {
					fill(d, zp)
				} else {
					copy(d, xrow[iw*Cin:iw*Cin+cg])
				}
			}
		}
	}
}

// GroupWeights returns the weights of group g of a grouped Conv2D's w
// [Cout,KH,KW,Cin/Groups]: Cout/Groups rows of kp ≥ KH·KW·Cin/Groups
// values, zero after KH·KW·Cin/Groups. Without padding (kp equal to the
// reduction) it is a sub-slice of w; else a new slice.
func GroupWeights[T int8 | float32](p *ConvParams, w []T, g, kp int) []T {
	ng := p.Cout / p.Groups
	k := p.KH * p.KW * (p.Cin / p.Groups)
	src := w[g*ng*k : (g+1)*ng*k]
	if kp == k {
		return src
	}
	d := make([]T, ng*kp)
	for n := 0; n < ng; n++ {
		copy(d[n*kp:], src[n*k:(n+1)*k])
	}
	return d
}

// GroupStage returns the output stage of group g's ng output channels:
// s itself when it has one multiplier (or scale), else a copy whose Mult
// (and Scale) are the group's sub-slices.
func GroupStage(s *OutputStage, g, ng int) OutputStage {
	gs := *s
	if len(s.Mult) > 1 {
		gs.Mult = s.Mult[g*ng : (g+1)*ng]
	}
	if len(s.Scale) > 1 {
		gs.Scale = s.Scale[g*ng : (g+1)*ng]
	}
	return gs
}
