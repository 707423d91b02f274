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
