package x86

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// dwRowBuf bounds the bytes of one zero-point-padded stretch of an input
// row that DepthwiseConv2DInt8 keeps on the stack (three of them).
const dwRowBuf = 8 << 10

// Sizes of one 16-channel group of PackedDW: 5 tap pairs of two vectors
// of 16 int16, and the column data (cdWords int32).
const (
	dwPairs  = 5
	dwGroupW = dwPairs * 2 * 16
)

// PackedDW is a 3×3 depthwise convolution's weights in dwConv3x3's layout,
// per 16-channel group (the last group ends at channel C, overlapping the
// one before).
//
// The kernel sign-extends the 16 input bytes of taps t and t+1 to int16
// (VPMOVSXBW) and interleaves them (VPUNPCKLWD, VPUNPCKHWD: within each
// 128-bit lane), so VPMADDWD with a vector of weight pairs gives per
// channel x_t·w_t + x_{t+1}·w_{t+1} in int32, exactly (|w − WZP| ≤ 255,
// |x| ≤ 128). The taps pair as (0,1) (2,3) (4,5) (6,7) (8,–), the missing
// tap's weights zero. The low vector of a pair holds channels 0–3 and 8–11,
// the high one 4–7 and 12–15, so are the two accumulators; VPACKSSDW of
// the two puts the channels back in order. w holds per pair the low and
// the high vector (int16 i of a vector: lane i/8, channel 8·(i/8) + 4·hi +
// (i%8)/2, tap i%2 of the pair); cd holds the column data in accumulator
// order (setColumn's layout: bias folded with the input zero point over
// all 9 taps, multiplier, shift), the multiplier words holding XNNPACK's
// float32 scale instead when scale is set.
//
// A layer of fewer than 16 channels (C = 1, 2, 4 or 8, stride 1 across)
// packs px = 16/C neighbouring output pixels into the 16 lanes: their
// taps and outputs are contiguous, so the kernel runs unchanged on
// "pixels" of 16 bytes, lane position q holding channel q mod C (the
// weights and column data repeat every C lanes).
type PackedDW struct {
	c     int
	px    int // output pixels a kernel pixel holds: 1, or 16/C
	w     []int16
	cd    []int32
	scale bool
	// raw weights, for a row too wide for the buffers.
	raw []int8
}

// Bytes returns the memory the packed weights hold.
func (w *PackedDW) Bytes() int { return 2*len(w.w) + 4*len(w.cd) }

// dwChannel returns the channel of accumulator lane k (0…15: the low
// accumulator's 8 lanes, then the high one's) within a group.
func dwChannel(k int) int { return 8*((k%8)/4) + 4*(k/8) + k%4 }

// PackDepthwise packs 3×3 depthwise weights w [1,3,3,C] (depth multiplier
// 1; at least 16 channels, or C dividing 16 with stride 1 across and at
// least 16/C output columns) whose output stage the kernel reproduces:
// RoundSingle with every multiplier below 1/2 (fastRequant), or XNNPACK's
// float32 stage with finite scales; with an int8 clamp and an output zero
// point within ±255. It returns nil for any other convolution, which stays
// with kernels/ref. A weight zero point (legacy uint8 models) is folded
// into the packed int16 weights, w − WZP.
func PackDepthwise(p *kernels.ConvParams, w []int8) *PackedDW {
	C := p.Cout
	if p.KH != 3 || p.KW != 3 || p.DepthMultiplier > 1 || p.Cin != C || C < 1 {
		return nil
	}
	px := 1
	if C < 16 {
		if 16%C != 0 || p.StrideW != 1 || p.OW < 16/C {
			return nil
		}
		px = 16 / C
	}
	os := &p.Out
	if !int8Epilogue(os) || os.OutZP < -255 || os.OutZP > 255 {
		return nil
	}
	scale := os.Scale != nil
	if scale {
		for _, s := range os.Scale {
			if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
				return nil
			}
		}
	} else {
		if os.Rounding != quant.RoundSingle {
			return nil
		}
		for _, m := range os.Mult {
			if !fastRequant(m) {
				return nil
			}
		}
	}
	w = w[:9*C]
	groups := (C + 15) / 16
	pk := &PackedDW{c: C, px: px, w: make([]int16, groups*dwGroupW), cd: make([]int32, groups*cdWords), scale: scale, raw: w}
	for g := 0; g < groups; g++ {
		c0 := max(min(16*g, C-16), 0)
		// ch is the channel of lane position q (0…15) of the group.
		ch := func(q int) int { return c0 + q%min(C, 16) }
		pw := pk.w[g*dwGroupW : (g+1)*dwGroupW]
		for pr := 0; pr < dwPairs; pr++ {
			for hi := 0; hi < 2; hi++ {
				for i := 0; i < 16; i++ {
					t := 2*pr + i%2
					if t == 9 {
						continue
					}
					c := ch(8*(i/8) + 4*hi + (i%8)/2)
					pw[(2*pr+hi)*16+i] = int16(int32(w[t*C+c]) - p.WZP)
				}
			}
		}
		cd := pk.cd[g*cdWords : (g+1)*cdWords]
		for k := 0; k < 16; k++ {
			c := ch(dwChannel(k))
			var sum int32
			for t := 0; t < 9; t++ {
				sum += int32(w[t*C+c]) - p.WZP
			}
			var b int32
			if p.Bias != nil {
				b = p.Bias[c]
			}
			m := quant.Multiplier{}
			if !scale {
				m = os.Mult[0]
				if len(os.Mult) > 1 {
					m = os.Mult[c]
				}
			}
			setColumn(cd, k, b-p.InZP*sum, m)
			if scale {
				s := os.Scale[0]
				if len(os.Scale) > 1 {
					s = os.Scale[c]
				}
				cd[16+k] = int32(math.Float32bits(s))
			}
		}
	}
	return pk
}

// DepthwiseConv2DInt8 is ref.DepthwiseConv2DInt8 with weights packed by
// PackDepthwise(p, w): identical results. Output rows go a stretch of
// pixels at a time; for each, the three input rows it reads are taken in
// place where the stretch lies inside the image, else copied into buffers
// on the stack with the padding filled with the input zero point (rows
// above or below the image all zero point), which contributes nothing once
// the folded bias is applied. Every output pixel then runs in dwConv3x3,
// 16 channels at a time; a layer of fewer than 16 channels runs 16/C
// output pixels at a time, a stretch's last n mod 16/C pixels as its last
// 16/C (computing some twice), and a stretch shorter than 16/C (a row's
// last) begins early enough to hold 16/C.
func DepthwiseConv2DInt8(p *kernels.ConvParams, x []int8, pk *PackedDW, out []int8) {
	C, W, H := pk.c, p.W, p.H
	sw, dw, px := p.StrideW, p.DilationW, pk.px
	// A stretch of n output pixels reads (n−1)·sw + 2·dw + 1 input columns.
	span := dwRowBuf / C
	if span < 2*dw+px {
		ref.DepthwiseConv2DInt8(p, x, pk.raw, out)
		return
	}
	nc := min((span-2*dw-1)/sw+1, p.OW)
	nc -= nc % px
	var buf [3 * dwRowBuf]int8
	ep := newEpilogue(&p.Out)
	zp := int8(p.InZP)
	groups := (C + 15) / 16
	perImage := H * W * C
	scale := 0
	if pk.scale {
		scale = 1
	}
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		ih0 := oh*p.StrideH - p.PadTop
		for o1 := 0; o1 < p.OW; {
			o0 := o1
			o1 = min(o0+nc, p.OW)
			o0 = min(o0, o1-px) // px ≤ OW
			iw0 := o0*sw - p.PadLeft
			cols := (o1-o0-1)*sw + 2*dw + 1
			var rows [3][]int8 // from column iw0, channel 0
			for kh := 0; kh < 3; kh++ {
				ih := ih0 + kh*p.DilationH
				if ih >= 0 && ih < H && iw0 >= 0 && iw0+cols <= W {
					b := n*perImage + (ih*W+iw0)*C
					rows[kh] = x[b : b+cols*C]
					continue
				}
				rb := buf[kh*dwRowBuf : kh*dwRowBuf+cols*C]
				rows[kh] = rb
				lo, hi := max(iw0, 0), min(iw0+cols, W)
				if ih < 0 || ih >= H || hi <= lo {
					fill(rb, zp)
					continue
				}
				b := n*perImage + ih*W*C
				fill(rb[:(lo-iw0)*C], zp)
				copy(rb[(lo-iw0)*C:(hi-iw0)*C], x[b+lo*C:b+hi*C])
				fill(rb[(hi-iw0)*C:], zp)
			}
			// The kernels write within output pixels [o0, o1) of row r:
			// check its end here, as &out[…] checks only their starts.
			_ = out[(r*p.OW+o1)*C-1]
			if px > 1 {
				// One group; kernel pixels of 16 bytes.
				cnt, taps := o1-o0, [3]*int8{&rows[0][0], &rows[1][0], &rows[2][0]}
				dwConv3x3(&taps, dw*C, 16, cnt/px, &pk.w[0], &pk.cd[0], &out[(r*p.OW+o0)*C], 16, &ep, scale)
				if cnt%px != 0 {
					d := (cnt - px) * C
					taps = [3]*int8{&rows[0][d], &rows[1][d], &rows[2][d]}
					dwConv3x3(&taps, dw*C, 16, 1, &pk.w[0], &pk.cd[0], &out[(r*p.OW+o1-px)*C], 16, &ep, scale)
				}
				continue
			}
			for g := 0; g < groups; g++ {
				c0 := min(16*g, C-16)
				taps := [3]*int8{&rows[0][c0], &rows[1][c0], &rows[2][c0]}
				dwConv3x3(&taps, dw*C, sw*C, o1-o0, &pk.w[g*dwGroupW], &pk.cd[g*cdWords],
					&out[(r*p.OW+o0)*C+c0], C, &ep, scale)
			}
		}
	}
}

// fill sets every byte of d to v.
func fill(d []int8, v int8) {
	for i := range d {
		d[i] = v
	}
}
