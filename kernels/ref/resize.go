package ref

import (
	"errors"
	"math"
)

// ResizeBilinear holds the sampling plan of a bilinear resize from H×W to
// OH×OW, computed once at load: for each output row (column) the input
// rows (columns) above and below and the weight of the lower one, in Q11
// (1/2048ths), exactly as XNNPACK's resize-bilinear indirection (which
// LiteRT's CPU path delegates to) computes them:
//
//   - AlignCorners: scale (in−1)/(out−1), input position o·scale;
//   - HalfPixelCenters: scale in/out, position o·scale + scale/2 − 1/2,
//     clamped to [0, in−1];
//   - neither (TensorFlow 1's rule): scale in/out, position o·scale.
//
// Positions and weights are computed in float32; a weight is the
// fractional part times 2048 rounded to nearest even.
type ResizeBilinear struct {
	H, W, OH, OW, C int
	top, bottom     []int32 // per output row
	left, right     []int32 // per output column
	wy, wx          []int32 // Q11 weights of bottom and right
	fy, fx          []float32
}

// NewResizeBilinear plans a resize of [N,H,W,C] to [N,OH,OW,C].
func NewResizeBilinear(h, w, oh, ow, c int, alignCorners, halfPixel bool) (ResizeBilinear, error) {
	if h < 1 || w < 1 || oh < 1 || ow < 1 || c < 1 {
		return ResizeBilinear{}, errors.New("resize bilinear: empty input or output")
	}
	if alignCorners && halfPixel {
		return ResizeBilinear{}, errors.New("resize bilinear: align_corners and half_pixel_centers exclude each other")
	}
	r := ResizeBilinear{H: h, W: w, OH: oh, OW: ow, C: c}
	r.top, r.bottom, r.wy, r.fy = resizeAxis(h, oh, alignCorners, halfPixel)
	r.left, r.right, r.wx, r.fx = resizeAxis(w, ow, alignCorners, halfPixel)
	return r, nil
}

func resizeAxis(in, out int, alignCorners, halfPixel bool) (lo, hi, q11 []int32, frac []float32) {
	adj := 0
	if alignCorners && out != 1 {
		adj = 1
	}
	scale := float32(in-adj) / float32(out-adj)
	offset := float32(0)
	if halfPixel {
		offset = float32(0.5*scale) - 0.5
	}
	lo, hi, q11, frac = make([]int32, out), make([]int32, out), make([]int32, out), make([]float32, out)
	maxIn := float32(in - 1)
	for o := range lo {
		p := float32(float32(o)*scale) + offset // no fused multiply-add
		if halfPixel {
			p = min(max(p, 0), maxIn)
		}
		t := int32(p)
		f := p - float32(t)
		lo[o], hi[o] = t, min(t+1, int32(in-1))
		frac[o] = f
		q11[o] = int32(math.RoundToEven(float64(f * 2048)))
	}
	return lo, hi, q11, frac
}

// Int8 resizes x [N,H,W,C] into out [N,OH,OW,C] with XNNPACK's integer
// interpolation: t = l·2048 + (r−l)·αx on the top and bottom rows, then
// (t·2048 + (b−t)·αy + 2^21) >> 22. The output keeps the input's
// quantization.
func (r *ResizeBilinear) Int8(x, out []int8, n int) {
	C := r.C
	for b := 0; b < n; b++ {
		xb := x[b*r.H*r.W*C : (b+1)*r.H*r.W*C]
		ob := out[b*r.OH*r.OW*C : (b+1)*r.OH*r.OW*C]
		for oy := 0; oy < r.OH; oy++ {
			top, bot := xb[int(r.top[oy])*r.W*C:], xb[int(r.bottom[oy])*r.W*C:]
			ay := r.wy[oy]
			for ox := 0; ox < r.OW; ox++ {
				l, rt := int(r.left[ox])*C, int(r.right[ox])*C
				ax := r.wx[ox]
				o := ob[(oy*r.OW+ox)*C : (oy*r.OW+ox+1)*C]
				for c := range o {
					tl, tr := int32(top[l+c]), int32(top[rt+c])
					bl, br := int32(bot[l+c]), int32(bot[rt+c])
					vt := tl<<11 + (tr-tl)*ax
					vb := bl<<11 + (br-bl)*ax
					acc := vt<<11 + (vb-vt)*ay
					o[c] = int8((acc + 1<<21) >> 22)
				}
			}
		}
	}
}

// Float resizes x into out in float32 with the same sample positions:
// t = l + (r−l)·fx, then t + (b−t)·fy.
func (r *ResizeBilinear) Float(x, out []float32, n int) {
	C := r.C
	for b := 0; b < n; b++ {
		xb := x[b*r.H*r.W*C : (b+1)*r.H*r.W*C]
		ob := out[b*r.OH*r.OW*C : (b+1)*r.OH*r.OW*C]
		for oy := 0; oy < r.OH; oy++ {
			top, bot := xb[int(r.top[oy])*r.W*C:], xb[int(r.bottom[oy])*r.W*C:]
			fy := r.fy[oy]
			for ox := 0; ox < r.OW; ox++ {
				l, rt := int(r.left[ox])*C, int(r.right[ox])*C
				fx := r.fx[ox]
				o := ob[(oy*r.OW+ox)*C : (oy*r.OW+ox+1)*C]
				for c := range o {
					t := top[l+c] + float32((top[rt+c]-top[l+c])*fx)
					bt := bot[l+c] + float32((bot[rt+c]-bot[l+c])*fx)
					o[c] = t + float32((bt-t)*fy)
				}
			}
		}
	}
}

// ArgMaxInt8 writes, for each of outer×inner positions of x viewed as
// [outer, axis, inner], the index along axis of the largest value (the
// first of equal ones).
func ArgMaxInt8(x []int8, out []int32, outer, axis, inner int) {
	for o := 0; o < outer; o++ {
		xo := x[o*axis*inner : (o+1)*axis*inner]
		oo := out[o*inner : (o+1)*inner]
		for i := range oo {
			best, bi := xo[i], int32(0)
			for a := 1; a < axis; a++ {
				if v := xo[a*inner+i]; v > best {
					best, bi = v, int32(a)
				}
			}
			oo[i] = bi
		}
	}
}

// ArgMaxFloat is ArgMaxInt8 on float32 (NaN never wins).
func ArgMaxFloat(x []float32, out []int32, outer, axis, inner int) {
	for o := 0; o < outer; o++ {
		xo := x[o*axis*inner : (o+1)*axis*inner]
		oo := out[o*inner : (o+1)*inner]
		for i := range oo {
			best, bi := xo[i], int32(0)
			for a := 1; a < axis; a++ {
				if v := xo[a*inner+i]; v > best || best != best {
					best, bi = v, int32(a)
				}
			}
			oo[i] = bi
		}
	}
}
