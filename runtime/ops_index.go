package runtime

import (
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

func init() {
	register(prepareGatherND, format.OpGatherND)
	register(prepareCast, format.OpCast)
}

func prepareGatherND(c *prep, op *format.Op) (kernel, int64, error) {
	x, idx, out := c.in(op, 0), c.in(op, 1), c.out(op)
	k := idx.Shape[len(idx.Shape)-1]
	dims := append([]int(nil), x.Shape[:k]...)
	slice := product(x.Shape[k:]) * x.DType.Size()
	ind, px, po := idx.Int32(), x.Bytes(), out.Bytes()
	return serial(func() { ref.GatherNDBytes(dims, slice, ind, px, po) }), 0, nil
}

func prepareCast(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	switch {
	case x.DType == format.Int32 && out.DType == format.Float32:
		px, po := x.Int32(), out.Float32()
		return serial(func() { ref.CastInt32ToFloat(px, po) }), 0, nil
	case x.DType == format.Float32 && out.DType == format.Int32:
		px, po := x.Float32(), out.Int32()
		return serial(func() { ref.CastFloatToInt32(px, po) }), 0, nil
	}
	return nil, 0, errDType(x, "input")
}
