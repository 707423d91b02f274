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
// with the input zero point over all 9 taps, multipliers, shifts).
type PackedDW struct {
	c  int
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
// 1, at least 16 channels; a RoundSingle Mult stage with every w − WZP in
// [−127, 127], or XNNPACK's float32 stage with every w − WZP in int16); it
// returns nil for any other convolution, which stays with kernels/ref. A
// weight zero point (legacy uint8 models) is folded into the packed
// weights, w − WZP: int8 for dwConv3x3, int16 for dwConv3x3Scale.
func PackDepthwise(p *kernels.ConvParams, w []int8) *PackedDW {
	C := p.Cout
	if p.KH != 3 || p.KW != 3 || p.DepthMultiplier > 1 || p.Cin != C || C < 16 ||
		(p.Out.Rounding != quant.RoundSingle && p.Out.Scale == nil) {
		return nil
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
	pk := &PackedDW{c: C, cd: make([]int32, groups*64), raw: w}
	if scale {
		pk.wq = make([]int16, groups*9*16)
	} else {
		pk.w = make([]int8, groups*9*16)
	}
	for g := 0; g < groups; g++ {
		c0 := min(16*g, C-16)
		for t := 0; t < 9; t++ {
			for j, v := range w[t*C+c0 : t*C+c0+16] {
				d := int32(v) - p.WZP // within ±lim: checked above
				if scale {
					pk.wq[(g*9+t)*16+j] = int16(d)
				} else {
					pk.w[(g*9+t)*16+j] = int8(d)
				}
			}
		}
		cd := pk.cd[g*64 : (g+1)*64]
		for j := 0; j < 16; j++ {
			c := c0 + j
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
// PackDepthwise(p, w). For each output row, the three input rows it reads
// are copied into buffers on the stack with the left and right padding
// filled with the input zero point (rows above or below the image are all
// zero point), which contributes nothing once the folded bias is applied;
// then every output pixel runs in the assembly kernel, 16 channels at a
// time (dwConv3x3, or dwConv3x3Scale for XNNPACK's float32 stage).
func DepthwiseConv2DInt8(p *kernels.ConvParams, x []int8, pk *PackedDW, out []int8) {
	C, W, H := pk.c, p.W, p.H
	sw, dw := p.StrideW, p.DilationW
	padL := p.PadLeft
	// Padded row: columns −padL … wp−padL−1 of the image.
	wp := max(W+padL, (p.OW-1)*sw+2*dw+1)
	if wp*C > dwRowBuf {
		ref.DepthwiseConv2DInt8(p, x, pk.raw, out)
		return
	}
	var buf [3 * dwRowBuf]int8
	zp := int8(p.InZP)
	groups := (C + 15) / 16
	perImage := H * W * C
	rowBytes := wp * C
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		var rows [3]*int8
		for kh := 0; kh < 3; kh++ {
			rb := buf[kh*rowBytes : (kh+1)*rowBytes]
			rows[kh] = &rb[0]
			ih := ih0 + kh*p.DilationH
			if ih < 0 || ih >= H {
				fill(rb, zp)
				continue
			}
			fill(rb[:padL*C], zp)
			copy(rb[padL*C:(padL+W)*C], x[n*perImage+ih*W*C:n*perImage+(ih+1)*W*C])
			fill(rb[(padL+W)*C:], zp)
		}
		for g := 0; g < groups; g++ {
			c0 := min(16*g, C-16)
			var taps [9]*int8
			for t := range taps {
				taps[t] = (*int8)(unsafe.Add(unsafe.Pointer(rows[t/3]), (t%3)*dw*C+c0))
			}
			if pk.wq != nil {
				dwConv3x3Scale(&taps, sw*C, p.OW, &pk.wq[g*9*16], &pk.cd[g*64],
					&out[r*p.OW*C+c0], C, int(p.Out.OutZP), int(p.Out.ActMin), int(p.Out.ActMax))
				continue
			}
			dwConv3x3(&taps, sw*C, p.OW, &pk.w[g*9*16], &pk.cd[g*64],
				&out[r*p.OW*C+c0], C, int(p.Out.OutZP), int(p.Out.ActMin), int(p.Out.ActMax))
		}
	}
}
