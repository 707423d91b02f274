package neon

import (
	"math"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// dwRowBuf bounds the bytes of one zero-point-padded input row
// ((W + padding)·C) that DepthwiseConv2DInt8 keeps on the stack.
const dwRowBuf = 12 << 10

// PackedDW is a 3×3 depthwise convolution's weights in dwConv3x3's layout:
// per 16-channel group (the last group ends at channel C, overlapping the
// one before), 9 taps × 16 bytes, and the group's column data (bias folded
// with the input zero point over all 9 taps, multipliers, shifts). A
// layer of C < 16 channels (C dividing 16, stride 1) has one group whose
// 16 lanes are px = 16/C neighbouring output pixels: their taps and
// outputs are contiguous, so the same kernels run them.
type PackedDW struct {
	c  int
	px int // output pixels per 16 lanes: 1, or 16/C for C < 16
	w  []int8
	cd []int32
	// raw weights and bias, for the border pixels and fallbacks.
	raw []int8
	// wq, for XNNPACK's float32 stage (dwConv3x3Scale), holds w − WZP in
	// int16 in w's layout (it need not fit int8); w is then unused, and
	// each group's column data holds the 16 scales (float32 bits) after
	// the folded bias instead of multipliers and shifts.
	wq []int16
}

// Bytes returns the memory the packed weights hold.
func (w *PackedDW) Bytes() int { return len(w.w) + 4*len(w.cd) + 2*len(w.wq) }

// PackDepthwise packs 3×3 depthwise weights w [1,3,3,C] (depth multiplier
// 1; at least 16 channels, or C dividing 16 with stride 1, at least 16/C
// output columns and a padded row within one stack buffer; a RoundSingle
// Mult stage with every w − WZP in [−127, 127], or XNNPACK's float32
// stage with every w − WZP in int16; either stage one that int8Epilogue
// accepts); it returns nil for any other
// convolution, which stays with kernels/ref. A weight zero point (legacy
// uint8 models) is folded into the packed weights, w − WZP: int8 for
// dwConv3x3, int16 for dwConv3x3Scale.
func PackDepthwise(p *kernels.ConvParams, w []int8) *PackedDW {
	C := p.Cout
	if p.KH != 3 || p.KW != 3 || p.DepthMultiplier > 1 || p.Cin != C || C < 1 ||
		(p.Out.Rounding != quant.RoundSingle && p.Out.Scale == nil) ||
		!int8Epilogue(&p.Out) {
		return nil
	}
	px := 1
	if C < 16 {
		if 16%C != 0 || p.StrideW != 1 || p.OW < 16/C || max(p.W+p.PadLeft, p.OW+2*p.DilationW)*C > dwRowBuf {
			return nil
		}
		px = 16 / C
	}
	w = w[:9*C]
	scale := p.Out.Scale != nil
	lim := int32(127)
	if scale {
		lim = math.MaxInt16
	}
	for _, v := range w {
		if d := int32(v) - p.WZP; d < -lim || d > lim {
			return nil
		}
	}
	groups := (C + 15) / 16
	pk := &PackedDW{c: C, px: px, cd: make([]int32, groups*64), raw: w}
	if scale {
		pk.wq = make([]int16, groups*9*16)
	} else {
		pk.w = make([]int8, groups*9*16)
	}
	for g := 0; g < groups; g++ {
		c0 := max(0, min(16*g, C-16))
		lane := func(j int) int { return c0 + j%C } // lane j's channel
		for t := 0; t < 9; t++ {
			for j := 0; j < 16; j++ {
				d := int32(w[t*C+lane(j)]) - p.WZP // within ±lim: checked above
				if scale {
					pk.wq[(g*9+t)*16+j] = int16(d)
				} else {
					pk.w[(g*9+t)*16+j] = int8(d)
				}
			}
		}
		cd := pk.cd[g*64 : (g+1)*64]
		for j := 0; j < 16; j++ {
			c := lane(j)
			var sum int32
			for t := 0; t < 9; t++ {
				sum += int32(w[t*C+c]) - p.WZP
			}
			var b int32
			if p.Bias != nil {
				b = p.Bias[c]
			}
			cd[j] = b - p.InZP*sum
			if scale {
				sc := p.Out.Scale[0]
				if len(p.Out.Scale) > 1 {
					sc = p.Out.Scale[c]
				}
				cd[16+j] = int32(math.Float32bits(sc))
				continue
			}
			m := p.Out.Mult[0]
			if len(p.Out.Mult) > 1 {
				m = p.Out.Mult[c]
			}
			q := cd[16+12*(j/4):]
			q[j%4] = m.M
			sh := int64(m.Shift) - 31
			q[4+2*(j%4)] = int32(sh)
			q[5+2*(j%4)] = int32(sh >> 32)
		}
	}
	return pk
}

// DepthwiseConv2DInt8 is ref.DepthwiseConv2DInt8 with weights packed by
// PackDepthwise(p, w). Each output row runs in chunks of output columns.
// Where a chunk's taps read only image pixels of a row, they point into x;
// otherwise the row's span is copied into a buffer on the stack, with the
// columns left and right of the image (and rows above or below it)
// filled with the input zero point, which contributes nothing once the
// folded bias is applied. The interior columns of a row whose three input
// rows are in the image are one chunk; the others are as wide as a buffer
// holds (a whole row, where it fits). Every output pixel runs in the assembly kernel, 16 channels at a
// time (dwConv3x3, or dwConv3x3Scale for XNNPACK's float32 stage).
func DepthwiseConv2DInt8(p *kernels.ConvParams, x []int8, pk *PackedDW, out []int8) {
	C, W, H := pk.c, p.W, p.H
	sw, dw, padL := p.StrideW, p.DilationW, p.PadLeft
	if dwRowBuf/C < 2*dw+1 {
		ref.DepthwiseConv2DInt8(p, x, pk.raw, out)
		return
	}
	// Output columns a buffered chunk holds at most.
	nmax := (dwRowBuf/C-2*dw-1)/sw + 1
	// Output columns oa … ob−1 read image columns only. When a whole
	// padded row fits in a buffer, every row is one buffered chunk: one
	// kernel call per group costs less than three (border, interior,
	// border) for the narrow rows of MoveNet's layers.
	oa := min(p.OW, (padL+sw-1)/sw)
	ob := oa
	if e := W - 1 - 2*dw + padL; e >= 0 {
		ob = max(oa, min(p.OW, e/sw+1))
	}
	if max(W+padL, (p.OW-1)*sw+2*dw+1)*C <= dwRowBuf {
		oa, ob = 0, 0
	}
	var buf [3 * dwRowBuf]int8
	zp := int8(p.InZP)
	groups := (C + 15) / 16
	perImage := H * W * C
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		inRows := ih0 >= 0 && ih0+2*p.DilationH < H
		for o0 := 0; o0 < p.OW; {
			var o1 int
			switch {
			case o0 < oa:
				o1 = min(oa, o0+nmax)
			case o0 < ob && inRows:
				o1 = ob
			case o0 < ob:
				o1 = min(ob, o0+nmax)
			default:
				o1 = min(p.OW, o0+nmax)
			}
			// Image columns iw0 … iw0+span−1 feed output columns o0 … o1−1.
			iw0 := o0*sw - padL
			span := (o1-o0-1)*sw + 2*dw + 1
			direct := o0 >= oa && o1 <= ob
			var rows [3]*int8
			for kh := 0; kh < 3; kh++ {
				ih := ih0 + kh*p.DilationH
				in := ih >= 0 && ih < H
				if direct && in {
					rows[kh] = &x[n*perImage+(ih*W+iw0)*C]
					continue
				}
				rb := buf[kh*dwRowBuf : kh*dwRowBuf+span*C]
				rows[kh] = &rb[0]
				if !in {
					fill(rb, zp)
					continue
				}
				lo := min(max(-iw0, 0), span)
				hi := min(max(W-iw0, lo), span)
				fill(rb[:lo*C], zp)
				row := x[n*perImage+ih*W*C:]
				copy(rb[lo*C:hi*C], row[(iw0+lo)*C:(iw0+hi)*C])
				fill(rb[hi*C:], zp)
			}
			// The kernels write within output pixels [o0, o1) of row r:
			// check its end here, as &out[…] checks only their starts.
			_ = out[(r*p.OW+o1)*C-1]
			for g := 0; g < groups; g++ {
				c0 := max(0, min(16*g, C-16))
				var taps [9]*int8
				for t := range taps {
					taps[t] = (*int8)(unsafe.Add(unsafe.Pointer(rows[t/3]), (t%3)*dw*C+c0))
				}
				if k := pk.px; k > 1 {
					// k pixels a step (stride 1: 16 bytes on); a last
					// n mod k pixels run as the last k, overlapping.
					n := o1 - o0 // the whole row, ≥ k (PackDepthwise)
					pk.run(p, g, &taps, 16, n/k, &out[(r*p.OW+o0)*C], 16)
					if n%k != 0 {
						for t := range taps {
							taps[t] = (*int8)(unsafe.Add(unsafe.Pointer(taps[t]), (n-k)*C))
						}
						pk.run(p, g, &taps, 16, 1, &out[(r*p.OW+o1-k)*C], 16)
					}
					continue
				}
				pk.run(p, g, &taps, sw*C, o1-o0, &out[(r*p.OW+o0)*C+c0], C)
			}
			o0 = o1
		}
	}
}

// run computes npix output pixels of group g (taps advancing by step
// bytes a pixel, outputs by ostride) in the kernel for the stage.
func (pk *PackedDW) run(p *kernels.ConvParams, g int, taps *[9]*int8, step, npix int, o *int8, ostride int) {
	zp, lo, hi := int(p.Out.OutZP), int(p.Out.ActMin), int(p.Out.ActMax)
	if pk.wq != nil {
		dwConv3x3Scale(taps, step, npix, &pk.wq[g*9*16], &pk.cd[g*64], o, ostride, zp, lo, hi)
		return
	}
	dwConv3x3(taps, step, npix, &pk.w[g*9*16], &pk.cd[g*64], o, ostride, zp, lo, hi)
}

// fill sets every byte of d to v: 16 bytes one by one, then copies that
// double the filled prefix (memmove, far fewer instructions per byte than
// a byte loop over a padding row of hundreds of channels).
func fill(d []int8, v int8) {
	n := min(len(d), 16)
	for i := range d[:n] {
		d[i] = v
	}
	for ; n < len(d); n *= 2 {
		copy(d[n:], d[:n])
	}
}
