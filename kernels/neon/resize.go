package neon

import "github.com/edgeinfer/edgeinfer/kernels/ref"

// ResizeBilinear runs a planned ref.ResizeBilinear's int8 rows with the
// NEON kernels, bit for bit ref's Int8Rows (same scratch, same reuse of
// an input row's horizontal pass). The kernels keep the horizontal pass
// as t + 1024 (t = l·2048 + (r−l)·αx, kept as l·(2048−αx) + r·αx), so that
// the vertical step is two multiplies: 4·(t·2048 + (b−t)·αy + 2^21) =
// (t+1024)·4(2048−αy) + (b+1024)·4αy, whose top byte is ref's
// (acc + 2^21) >> 22 (an int8: the bits above wrap away).
type ResizeBilinear struct {
	plan *ref.ResizeBilinear
	cols []int32 // per output column: left·C, right·C, 2048 − αx, αx
	rows []int32 // per output row: 4·(2048 − αy), 4·αy
}

// NewResizeBilinear returns the kernels' form of plan r, or nil for
// fewer than 8 channels (the horizontal kernel's chunk), which stay with
// ref.
func NewResizeBilinear(r *ref.ResizeBilinear) *ResizeBilinear {
	if r.C < 8 {
		return nil
	}
	k := &ResizeBilinear{plan: r}
	left, right, wx := r.Plan(false)
	for ox := range wx {
		k.cols = append(k.cols, left[ox]*int32(r.C), right[ox]*int32(r.C), 2048-wx[ox], wx[ox])
	}
	_, _, wy := r.Plan(true)
	for _, a := range wy {
		k.rows = append(k.rows, 4*(2048-a), 4*a)
	}
	return k
}

// Int8Rows is ref.ResizeBilinear.Int8Rows (output rows [lo, hi) of the
// N·OH rows; scratch of ScratchLen values).
func (k *ResizeBilinear) Int8Rows(x, out []int8, lo, hi int, scratch []int32) {
	r := k.plan
	rowIn, rowOut := r.W*r.C, r.OW*r.C
	r.RowPasses(lo, hi, scratch, func(in int, t []int32) {
		src := x[in*rowIn : (in+1)*rowIn]
		resizeH(&src[0], &t[:rowOut][0], r.OW, r.C, &k.cols[0])
	}, func(row, oy int, t, b []int32) {
		o := out[row*rowOut : (row+1)*rowOut]
		w := (*[2]int32)(k.rows[2*oy:])
		if rowOut < 16 {
			resizeVertical(t[:rowOut], b[:rowOut], o, w)
			return
		}
		resizeV(&t[:rowOut][0], &b[:rowOut][0], &o[0], rowOut, w)
	})
}

// resizeVertical is the vertical step in Go (the kernel's twin, and rows
// shorter than its 16 outputs).
func resizeVertical(t, b []int32, out []int8, w *[2]int32) {
	b = b[:len(out)]
	for i, tv := range t[:len(out)] {
		out[i] = int8(uint32(tv*w[0]+b[i]*w[1]) >> 24)
	}
}
