package runtime

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

func init() {
	register(prepareResizeBilinear, format.OpResizeBilinear)
	register(prepareArgMax, format.OpArgMax)
}

func prepareResizeBilinear(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	o, ok := op.Options.(*format.ResizeBilinearOptions)
	if !ok {
		return nil, 0, fmt.Errorf("missing ResizeBilinear options")
	}
	r, err := ref.NewResizeBilinear(x.Shape[1], x.Shape[2], out.Shape[1], out.Shape[2], x.Shape[3], o.AlignCorners, o.HalfPixelCenters)
	if err != nil {
		return nil, 0, err
	}
	n := x.Shape[0]
	switch x.DType {
	case format.Int8:
		px, po := x.Int8(), out.Int8()
		bufs := newSlots(c.it.opts.Threads, func() []int32 { return make([]int32, r.ScratchLen()) })
		rows := r.Int8Rows
		if f := c.it.kernels.PrepareResizeInt8; f != nil {
			if g := f(&r); g != nil {
				rows = g
			}
		}
		k := &rowOp{n: n * r.OH}
		k.f = func(lo, hi int) {
			i := bufs.get()
			rows(px, po, lo, hi, bufs.vals[i])
			bufs.put(i)
		}
		return k, 0, nil
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		return serial(func() { r.Float(px, po, n) }), 0, nil
	}
	return nil, 0, errDType(x, "input")
}

func prepareArgMax(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	o, ok := op.Options.(*format.ArgMaxOptions)
	if !ok {
		return nil, 0, fmt.Errorf("missing ArgMax options")
	}
	outer, inner := 1, 1
	for d, s := range x.Shape {
		switch {
		case d < int(o.Axis):
			outer *= s
		case d > int(o.Axis):
			inner *= s
		}
	}
	axis := x.Shape[o.Axis]
	po := out.Int32()
	k := &rowOp{n: outer} // rows of the outer dimensions, split over the workers
	switch x.DType {
	case format.Int8:
		px := x.Int8()
		argmax := ref.ArgMaxInt8
		if f := c.it.kernels.ArgMaxInt8; f != nil {
			argmax = f
		}
		k.f = func(lo, hi int) {
			argmax(px[lo*axis*inner:hi*axis*inner], po[lo*inner:hi*inner], hi-lo, axis, inner)
		}
		return k, 0, nil
	case format.Float32:
		px := x.Float32()
		k.f = func(lo, hi int) {
			ref.ArgMaxFloat(px[lo*axis*inner:hi*axis*inner], po[lo*inner:hi*inner], hi-lo, axis, inner)
		}
		return k, 0, nil
	}
	return nil, 0, errDType(x, "input")
}
