package kernels

import (
	"encoding/binary"
	"unsafe"
)

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

// Im2colGroups is Im2col for groups [g0, g0+gn) of a grouped int8
// convolution of G groups, over cnt consecutive output pixels from pixel
// pix0 (pixel n·OH·OW + oh·OW + ow; a batch may span output rows and
// images, as the output stores them): it writes each group's receptive
// fields as its own block of cnt rows, group g's at buf[(g−g0)·cnt·kp:],
// a row holding kp ≥ KH·KW·Cin/G values in the order of the group's
// weights [KH,KW,Cin/G] and zero after KH·KW·Cin/G (the padding of a
// reduction shorter than a micro-kernel takes, whose weights are zero).
// One pass over the input scatters every tap's channels to the gn blocks;
// groups are narrow (RegNet's are 8 channels wide), so the channels move
// as 8-, 4- or 1-byte words rather than through copy.
func Im2colGroups(p *ConvParams, x []int8, pix0, cnt, g0, gn, G, kp int, buf []int8) {
	H, W, Cin := p.H, p.W, p.Cin
	cg := Cin / G
	k := p.KH * p.KW * cg
	stride := cnt * kp
	b := bytesOf(buf[:gn*stride])
	zp := byte(p.InZP)
	perImage := H * W * Cin
	n, oh, ow := pix0/(p.OH*p.OW), pix0/p.OW%p.OH, pix0%p.OW
	xn := bytesOf(x[n*perImage : (n+1)*perImage])
	for i := 0; i < cnt; i++ {
		if kp > k {
			for g := 0; g < gn; g++ {
				clear(b[g*stride+i*kp+k : g*stride+(i+1)*kp])
			}
		}
		ih0, iw0 := oh*p.StrideH-p.PadTop, ow*p.StrideW-p.PadLeft
		d := i * kp // the tap's first value in group g0's row
		for kh := 0; kh < p.KH; kh++ {
			ih := ih0 + kh*p.DilationH
			for kw := 0; kw < p.KW; kw++ {
				iw := iw0 + kw*p.DilationW
				if ih < 0 || ih >= H || iw < 0 || iw >= W {
					for g := 0; g < gn; g++ {
						o := g*stride + d
						for j := range b[o : o+cg] {
							b[o+j] = zp
						}
					}
					d += cg
					continue
				}
				c0 := (ih*W+iw)*Cin + g0*cg
				src := xn[c0 : c0+gn*cg]
				switch {
				case cg == 1: // a one-channel image's first layer
					for g, o := 0, d; g < gn; g, o = g+1, o+stride {
						b[o] = src[g]
					}
				case cg == 8:
					for g, o := 0, d; g < gn; g, o = g+1, o+stride {
						binary.LittleEndian.PutUint64(b[o:o+8], binary.LittleEndian.Uint64(src[8*g:8*g+8]))
					}
				case cg == 4:
					for g, o := 0, d; g < gn; g, o = g+1, o+stride {
						binary.LittleEndian.PutUint32(b[o:o+4], binary.LittleEndian.Uint32(src[4*g:4*g+4]))
					}
				default:
					for g, o := 0, d; g < gn; g, o = g+1, o+stride {
						copyNarrow(b[o:o+cg], src[g*cg:(g+1)*cg])
					}
				}
				d += cg
			}
		}
		if ow++; ow == p.OW {
			ow = 0
			if oh++; oh == p.OH && i+1 < cnt {
				oh, n = 0, n+1
				xn = bytesOf(x[n*perImage : (n+1)*perImage])
			}
		}
	}
}

// GroupBatch returns how many output pixels (px) and groups (gn) one
// Im2colGroups call covers in a buffer of buf values for G groups of
// reduction kp: all groups at once when that leaves at least minPx
// pixels, else minPx pixels (fewer when one group's rows would not fit)
// and as many groups as fit; never more than maxPx pixels.
func GroupBatch(buf, G, kp, minPx, maxPx int) (px, gn int) {
	px = max(1, min(maxPx, max(minPx, buf/(G*kp)), buf/kp))
	return px, max(1, min(G, buf/(px*kp)))
}

// bytesOf views v as bytes.
func bytesOf(v []int8) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v))
}

// copyNarrow copies s into d (equal lengths) 8 bytes at a time, then the
// tail byte by byte.
func copyNarrow(d, s []byte) {
	n := len(d)
	s = s[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(d[i:], binary.LittleEndian.Uint64(s[i:]))
	}
	for ; i < n; i++ {
		d[i] = s[i]
	}
}

// GroupWeights returns the weights of group g of a grouped Conv2D's w
// [Cout,KH,KW,Cin/Groups]: Cout/Groups rows of kp ≥ KH·KW·Cin/Groups
// values, zero after KH·KW·Cin/Groups. Without padding (kp equal to the
// reduction) it is a sub-slice of w; else a new slice.
func GroupWeights[T int8 | float32](p *ConvParams, w []T, g, kp int) []T {
	G := max(p.Groups, 1)
	ng := p.Cout / G
	k := p.KH * p.KW * (p.Cin / G)
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
