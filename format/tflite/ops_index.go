package tflite

import (
	"fmt"
	"slices"

	"github.com/edgeinfer/edgeinfer/format"
)

// cast translates CAST. int32 ↔ float32 becomes Cast; the raw uint8
// graph input (imported with scale 1 and zero point 0, so its value is
// its byte) to float32 becomes an exact Dequantize. Other pairs are
// refused naming the types.
func (im *importer) cast() error {
	if err := im.arity(1, 1, 1); err != nil {
		return err
	}
	from, to := im.src(0).Type, im.f.Tensors[im.op.Outputs[0]].Type
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	x := im.b.Tensor(xi)
	switch {
	case from == TypeInt32 && to == TypeFloat32, from == TypeFloat32 && to == TypeInt32:
		y, err := im.out()
		if err != nil {
			return err
		}
		im.b.Op(format.OpCast, im.name(""), nil, []int32{xi}, y)
		return nil
	case from == TypeUInt8 && to == TypeFloat32 && x.DType == format.UInt8 && isRaw(x.Quant):
		y, err := im.out()
		if err != nil {
			return err
		}
		im.b.Op(format.OpDequantize, im.name(""), nil, []int32{xi}, y)
		return nil
	}
	return im.unsupportedf("cast from %v to %v (supported: INT32 ↔ FLOAT32, and the raw UINT8 graph input to FLOAT32)", from, to)
}

// isRaw reports whether q is the identity quantization (scale 1, zero
// point 0) given to raw uint8 graph inputs.
func isRaw(q *format.Quantization) bool {
	return q != nil && len(q.Scale) == 1 && q.Scale[0] == 1 && q.ZeroPoint[0] == 0
}

// gatherND translates GATHER_ND: params (any imported type), int32
// indices [..., K].
func (im *importer) gatherND() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	if t := im.src(1).Type; t != TypeInt32 {
		return im.unsupportedf("indices are %v, want INT32", t)
	}
	ins, err := im.ins(2)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	if err := im.passThrough(ins[0], y); err != nil {
		return err
	}
	im.b.Op(format.OpGatherND, im.name(""), nil, ins, y)
	return nil
}

// packAxis reads the axis of PACK or UNPACK (field 1 of both options) and
// normalizes it for a result of rank r.
func (im *importer) packAxis(optType uint8, r int) (int, error) {
	o, err := im.options(optType)
	if err != nil {
		return 0, err
	}
	a := int(o.i32(1, 0))
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r {
		return 0, im.errf("axis %d out of range for rank %d", o.i32(1, 0), r)
	}
	return a, nil
}

// pack translates PACK (stack): each input is reshaped to have a 1 at the
// axis, then the results are concatenated along it. Inputs must carry the
// output's quantization, as LiteRT requires.
func (im *importer) pack() error {
	if len(im.op.Inputs) < 1 || len(im.op.Outputs) != 1 {
		return im.errf("%d inputs and %d outputs, want at least 1 and 1", len(im.op.Inputs), len(im.op.Outputs))
	}
	ins, err := im.ins(len(im.op.Inputs))
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	yt := im.b.Tensor(y)
	axis, err := im.packAxis(optPack, len(yt.Shape))
	if err != nil {
		return err
	}
	if int(yt.Shape[axis]) != len(ins) {
		return im.errf("output shape %v has %d along axis %d, want the %d inputs", yt.Shape, yt.Shape[axis], axis, len(ins))
	}
	parts := make([]int32, len(ins))
	for k, x := range ins {
		if err := im.passThrough(x, y); err != nil {
			return fmt.Errorf("input %d: %w", k, err)
		}
		xt := im.b.Tensor(x)
		want := slices.Delete(slices.Clone(yt.Shape), axis, axis+1)
		if !slices.Equal(xt.Shape, want) {
			return im.errf("input %d has shape %v, want %v", k, xt.Shape, want)
		}
		shape := slices.Clone(yt.Shape)
		shape[axis] = 1
		r := im.b.Activation(im.name(fmt.Sprintf("expand%d", k)), xt.DType, shape, xt.Quant)
		im.b.Op(format.OpReshape, im.name(fmt.Sprintf("expand%d", k)), nil, []int32{x}, r)
		parts[k] = r
	}
	im.b.Op(format.OpConcat, im.name(""), &format.ConcatOptions{Axis: int32(axis)}, parts, y)
	return nil
}

// unpack translates UNPACK (unstack): output k is the slice at index k
// of the axis, reshaped without it.
func (im *importer) unpack() error {
	if len(im.op.Inputs) != 1 || im.op.Inputs[0] < 0 || len(im.op.Outputs) < 1 {
		return im.errf("%d inputs and %d outputs, want 1 and at least 1", len(im.op.Inputs), len(im.op.Outputs))
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	xt := im.b.Tensor(xi)
	shape := slices.Clone(xt.Shape)
	axis, err := im.packAxis(optUnpack, len(shape))
	if err != nil {
		return err
	}
	if int(shape[axis]) != len(im.op.Outputs) {
		return im.errf("input shape %v has %d along axis %d, want the %d outputs", shape, shape[axis], axis, len(im.op.Outputs))
	}
	begin := make([]int32, len(shape))
	size := slices.Clone(shape)
	size[axis] = 1
	for k, o := range im.op.Outputs {
		if im.ids[o] >= 0 || im.f.data(&im.f.Tensors[o]) != nil {
			return im.errf("output tensor %d %q is produced twice or is a constant", o, im.f.Tensors[o].Name)
		}
		y, err := im.tensor(o)
		if err != nil {
			return fmt.Errorf("output %d: %w", k, err)
		}
		if err := im.passThrough(xi, y); err != nil {
			return fmt.Errorf("output %d: %w", k, err)
		}
		want := slices.Delete(slices.Clone(shape), axis, axis+1)
		if yt := im.b.Tensor(y); !slices.Equal(yt.Shape, want) {
			return im.errf("output %d has shape %v, want %v", k, yt.Shape, want)
		}
		begin[axis] = int32(k)
		name := im.f.Tensors[o].Name + "/slice"
		s := im.b.Activation(name, xt.DType, size, xt.Quant)
		im.b.Op(format.OpSlice, name, &format.SliceOptions{Begin: slices.Clone(begin), Size: slices.Clone(size)}, []int32{xi}, s)
		im.b.Op(format.OpReshape, im.f.Tensors[o].Name, nil, []int32{s}, y)
	}
	return nil
}
