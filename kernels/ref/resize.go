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
	r.Int8Rows(x, out, 0, n*r.OH, make([]int32, r.ScratchLen()))
}

// ScratchLen is the length of the scratch Int8Rows needs.
func (r *ResizeBilinear) ScratchLen() int { return 2 * r.OW * r.C }

// Int8Rows is Int8 for output rows [lo, hi) of the N·OH rows, so that
// workers can share a resize. The horizontal pass t of an input row is
// kept in scratch (ScratchLen values) and reused by every output row
// that reads the same two input rows (about OH/H of them): the same
// integers as computing it per output row.
func (r *ResizeBilinear) Int8Rows(x, out []int8, lo, hi int, scratch []int32) {
	rowIn, rowOut := r.W*r.C, r.OW*r.C
	r.RowPasses(lo, hi, scratch, func(in int, t []int32) {
		r.horizontal(x[in*rowIn:(in+1)*rowIn], t, r.C)
	}, func(row, oy int, vt, vb []int32) {
		ay := r.wy[oy]
		o := out[row*rowOut : (row+1)*rowOut]
		below := vb[:len(o)]
		for i, tv := range vt[:len(o)] {
			acc := tv<<11 + (below[i]-tv)*ay
			o[i] = int8((acc + 1<<21) >> 22)
		}
	})
}

// RowPasses walks output rows [lo, hi) of the N·OH rows as Int8Rows
// does, for kernels that keep the horizontal passes in their own form:
// h(in, t) writes into t (OW·C values) the pass of input row in (b·H + y),
// called only when scratch (ScratchLen values) does not already hold it;
// v(row, oy, t, b) writes output row row (oy within its image) from the
// passes of its top and bottom input rows.
func (r *ResizeBilinear) RowPasses(lo, hi int, scratch []int32, h func(in int, t []int32), v func(row, oy int, t, b []int32)) {
	rowOut := r.OW * r.C
	vt, vb := scratch[:rowOut], scratch[rowOut:2*rowOut]
	haveT, haveB := -1, -1 // input rows (b·H + y) held in vt and vb
	for row := lo; row < hi; row++ {
		b, oy := row/r.OH, row%r.OH
		t, bt := b*r.H+int(r.top[oy]), b*r.H+int(r.bottom[oy])
		if t == haveB && t != haveT {
			vt, vb = vb, vt
			haveT, haveB = haveB, haveT
		}
		if t != haveT {
			h(t, vt)
			haveT = t
		}
		if bt != haveB {
			if bt == haveT {
				copy(vb, vt)
			} else {
				h(bt, vb)
			}
			haveB = bt
		}
		v(row, oy, vt, vb)
	}
}

// Plan returns the sampling plan along the rows (or the columns): per
// output row (column) the lower and upper input index and the Q11 weight
// of the upper one. The slices are the plan's own.
func (r *ResizeBilinear) Plan(rows bool) (lo, hi, q11 []int32) {
	if rows {
		return r.top, r.bottom, r.wy
	}
	return r.left, r.right, r.wx
}

// horizontal writes t = l·2048 + (r−l)·αx for every output column of one
// input row.
func (r *ResizeBilinear) horizontal(in []int8, t []int32, C int) {
	for ox := 0; ox < r.OW; ox++ {
		l, rt := in[int(r.left[ox])*C:][:C], in[int(r.right[ox])*C:][:C]
		ax := r.wx[ox]
		o := t[ox*C : (ox+1)*C]
		for c, lv := range l {
			v := int32(lv)
			o[c] = v<<11 + (int32(rt[c])-v)*ax
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
	if inner == 1 && axis > 0 {
		// The axis is contiguous (a class map's last axis): one pass per row.
		out = out[:outer]
		for o := range out {
			row := x[o*axis : (o+1)*axis]
			best, bi := row[0], 0
			for a, v := range row {
				if v > best {
					best, bi = v, a
				}
			}
			out[o] = int32(bi)
		}
		return
	}
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
