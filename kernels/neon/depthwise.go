package neon

import (
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// dwRowBuf bounds W·C for the row of zero points that stands in for the
// rows above and below the image.
const dwRowBuf = 16 << 10

// PackedDW is a 3×3 depthwise convolution's weights in dwConv3x3's layout:
// per 16-channel group (the last group ends at channel C, overlapping the
// one before), 9 taps × 16 bytes, and the group's column data (bias folded
// with the input zero point over all 9 taps, multipliers, shifts).
type PackedDW struct {
	c  int
	w  []int8
	cd []int32
	// raw weights and bias, for the border pixels and fallbacks.
	raw []int8
}

// Bytes returns the memory the packed weights hold.
func (w *PackedDW) Bytes() int { return len(w.w) + 4*len(w.cd) }

// PackDepthwise packs 3×3 depthwise weights w [1,3,3,C] (depth multiplier
// 1, at least 16 channels, symmetric weights in [−127, 127], RoundSingle);
// it returns nil for any other convolution, which stays with kernels/ref.
func PackDepthwise(p *kernels.ConvParams, w []int8) *PackedDW {
	C := p.Cout
	if p.KH != 3 || p.KW != 3 || p.DepthMultiplier > 1 || p.Cin != C || C < 16 ||
		p.Out.Rounding != quant.RoundSingle || p.WZP != 0 {
		return nil
	}
	w = w[:9*C]
	for _, v := range w {
		if v == -128 {
			return nil
		}
	}
	groups := (C + 15) / 16
	pk := &PackedDW{c: C, w: make([]int8, groups*9*16), cd: make([]int32, groups*64), raw: w}
	for g := 0; g < groups; g++ {
		c0 := min(16*g, C-16)
		for t := 0; t < 9; t++ {
			copy(pk.w[(g*9+t)*16:(g*9+t+1)*16], w[t*C+c0:t*C+c0+16])
		}
		cd := pk.cd[g*64 : (g+1)*64]
		for j := 0; j < 16; j++ {
			c := c0 + j
			var sum int32
			for t := 0; t < 9; t++ {
				sum += int32(w[t*C+c])
			}
			var b int32
			if p.Bias != nil {
				b = p.Bias[c]
			}
			cd[j] = b - p.InZP*sum
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
// PackDepthwise(p, w). Output pixels whose 3×3 window lies inside the image
// horizontally run in the assembly kernel, 16 channels at a time (rows
// above or below the image read a row of zero points, which contributes
// nothing once the folded bias is applied); the few border pixels run in
// Go.
func DepthwiseConv2DInt8(p *kernels.ConvParams, x []int8, pk *PackedDW, out []int8) {
	C, W, H := pk.c, p.W, p.H
	if W*C > dwRowBuf {
		ref.DepthwiseConv2DInt8(p, x, pk.raw, out)
		return
	}
	var zrow [dwRowBuf]int8
	fill(zrow[:W*C], int8(p.InZP))
	sw, dw := p.StrideW, p.DilationW
	owLo := (p.PadLeft + sw - 1) / sw
	owHi := (W - 1 - 2*dw + p.PadLeft) / sw // last ow with the window inside
	if W-1-2*dw+p.PadLeft < 0 {
		owHi = -1
	}
	owHi = min(owHi, p.OW-1)
	groups := (C + 15) / 16
	perImage := H * W * C
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		var rows [3]*int8
		for kh := 0; kh < 3; kh++ {
			ih := ih0 + kh*p.DilationH
			if ih < 0 || ih >= H {
				rows[kh] = &zrow[0]
			} else {
				rows[kh] = &x[n*perImage+ih*W*C]
			}
		}
		if owHi >= owLo {
			iw0 := owLo*sw - p.PadLeft
			for g := 0; g < groups; g++ {
				c0 := min(16*g, C-16)
				var taps [9]*int8
				for t := range taps {
					taps[t] = (*int8)(unsafe.Add(unsafe.Pointer(rows[t/3]), (iw0+(t%3)*dw)*C+c0))
				}
				dwConv3x3(&taps, sw*C, owHi-owLo+1, &pk.w[g*9*16], &pk.cd[g*64],
					&out[(r*p.OW+owLo)*C+c0], C, int(p.Out.OutZP), int(p.Out.ActMin), int(p.Out.ActMax))
			}
		}
		for ow := 0; ow < p.OW; ow++ {
			if ow == owLo && owHi >= owLo {
				ow = owHi
				continue
			}
			dwPixel(p, x[n*perImage:(n+1)*perImage], pk.raw, out[(r*p.OW+ow)*C:(r*p.OW+ow+1)*C], ih0, ow*sw-p.PadLeft)
		}
	}
}

// dwPixel computes one output pixel in Go, skipping out-of-image taps as
// ref does.
func dwPixel(p *kernels.ConvParams, xn, w, out []int8, ih0, iw0 int) {
	C := p.Cout
	for c := range out {
		var acc int32
		if p.Bias != nil {
			acc = p.Bias[c]
		}
		for kh := 0; kh < 3; kh++ {
			ih := ih0 + kh*p.DilationH
			if ih < 0 || ih >= p.H {
				continue
			}
			for kw := 0; kw < 3; kw++ {
				iw := iw0 + kw*p.DilationW
				if iw < 0 || iw >= p.W {
					continue
				}
				acc += (int32(xn[(ih*p.W+iw)*C+c]) - p.InZP) * int32(w[(kh*3+kw)*C+c])
			}
		}
		out[c] = p.Out.Requantize(acc, c)
	}
}
