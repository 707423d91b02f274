package tflite

import (
	"fmt"
	"slices"

	"github.com/edgeinfer/edgeinfer/format"
)

// translators maps each supported builtin operator to its translation.
var translators map[int32]func(*importer) error

func init() {
	translators = map[int32]func(*importer) error{
		opConv2D:            (*importer).conv,
		opDepthwiseConv2D:   (*importer).conv,
		opFullyConnected:    (*importer).fullyConnected,
		opAveragePool2D:     (*importer).pool,
		opMaxPool2D:         (*importer).pool,
		opAdd:               (*importer).binary,
		opSub:               (*importer).binary,
		opMul:               (*importer).binary,
		opSquaredDifference: (*importer).binary,
		opReshape:           (*importer).reshape,
		opSqueeze:           (*importer).reshape,
		opSoftmax:           (*importer).softmax,
		opMean:              (*importer).mean,
		opPad:               (*importer).pad,
		opConcatenation:     (*importer).concat,
		opQuantize:          (*importer).quantize,
		opDequantize:        (*importer).quantize,
		opLogistic:          (*importer).unary,
		opTanh:              (*importer).unary,
		opHardSwish:         (*importer).unary,
		opRsqrt:             (*importer).unary,
		opGelu:              (*importer).unary,
		opReLU:              (*importer).unary,
		opReLU6:             (*importer).unary,
		opBatchMatMul:       (*importer).batchMatMul,
		opTranspose:         (*importer).transpose,
		opResizeBilinear:    (*importer).resizeBilinear,
		opArgMax:            (*importer).argMax,
		opDiv:               (*importer).binary,
		opFloorDiv:          (*importer).binary,
		opSqrt:              (*importer).unary,
		opCast:              (*importer).cast,
		opGatherND:          (*importer).gatherND,
		opPack:              (*importer).pack,
		opUnpack:            (*importer).unpack,
	}
}

// TFLite enums used by the options.
const (
	paddingSame  = 0
	paddingValid = 1

	actNone  = 0
	actReLU  = 1
	actReLU6 = 3
)

func (im *importer) code() int32 { return im.f.OpCodes[im.op.OpcodeIndex].Builtin }

// options returns the operator's options table, checking its union type
// when present (absent options read as defaults).
func (im *importer) options(want uint8) (table, error) {
	if !im.op.options.valid() {
		return table{}, nil
	}
	if im.op.OptionsType != want {
		return table{}, im.errf("options of union type %d, want %d", im.op.OptionsType, want)
	}
	return im.op.options, nil
}

// arity checks the counts of inputs (min..max, absent optional ones
// included) and outputs.
func (im *importer) arity(minIn, maxIn, outs int) error {
	if n := len(im.op.Inputs); n < minIn || n > maxIn {
		return im.errf("%d inputs, want %d to %d", n, minIn, maxIn)
	}
	for k := 0; k < minIn; k++ {
		if im.op.Inputs[k] < 0 {
			return im.errf("required input %d is absent", k)
		}
	}
	if len(im.op.Outputs) != outs {
		return im.errf("%d outputs, want %d", len(im.op.Outputs), outs)
	}
	return nil
}

// in returns the model tensor of input k (−1 for an absent optional one).
// A raw uint8 graph input may only be read by CAST.
func (im *importer) in(k int) (int32, error) {
	if k >= len(im.op.Inputs) || im.op.Inputs[k] < 0 {
		return -1, nil
	}
	i := im.op.Inputs[k]
	if t := &im.f.Tensors[i]; t.Type == TypeUInt8 && t.Quant == nil && im.code() != opCast {
		return -1, im.unsupportedf("input %d is the raw uint8 tensor %q (no quantization), which only CAST can read", k, t.Name)
	}
	return im.tensor(i)
}

// ins returns the model tensors of inputs 0..n−1.
func (im *importer) ins(n int) ([]int32, error) {
	out := make([]int32, n)
	for k := range out {
		id, err := im.in(k)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", k, err)
		}
		out[k] = id
	}
	return out, nil
}

// out returns the model tensor of output 0, which must not exist yet.
func (im *importer) out() (int32, error) {
	i := im.op.Outputs[0]
	if im.ids[i] >= 0 {
		return -1, im.errf("output tensor %d %q is produced twice", i, im.f.Tensors[i].Name)
	}
	if im.f.data(&im.f.Tensors[i]) != nil {
		return -1, im.errf("output tensor %d %q is a constant", i, im.f.Tensors[i].Name)
	}
	return im.tensor(i)
}

// src returns the TFLite tensor of input k.
func (im *importer) src(k int) *Tensor { return &im.f.Tensors[im.op.Inputs[k]] }

func activation(a uint8) (format.Activation, error) {
	switch a {
	case actNone:
		return format.ActNone, nil
	case actReLU:
		return format.ActReLU, nil
	case actReLU6:
		return format.ActReLU6, nil
	}
	return 0, fmt.Errorf("%w: fused activation %d (only NONE, RELU and RELU6 are)", ErrUnsupported, a)
}

// padding returns the before/after padding of one spatial axis for TFLite
// padding mode mode: SAME pads so that out = ceil(in/stride), with the
// odd pixel after; VALID pads nothing.
func padding(mode uint8, in, k, stride, dilation int32) (before, after int32, err error) {
	switch mode {
	case paddingValid:
		return 0, 0, nil
	case paddingSame:
		eff := int64(dilation)*int64(k-1) + 1
		out := (int64(in) + int64(stride) - 1) / int64(stride)
		total := max((out-1)*int64(stride)+eff-int64(in), 0)
		return int32(total / 2), int32(total - total/2), nil
	}
	return 0, 0, fmt.Errorf("%w: padding mode %d", ErrUnsupported, mode)
}

func positive(what string, v ...int32) error {
	for _, x := range v {
		if x < 1 || x > 1<<20 {
			return fmt.Errorf("%w: %s %v, want ≥ 1", ErrMalformed, what, v)
		}
	}
	return nil
}

// weight makes the weight tensor of input k with per-channel parameters
// along axis (a per-tensor scale and zero point are repeated for every
// channel, which is what the kernels read).
func (im *importer) weight(k int, axis int) (int32, error) {
	t := im.src(k)
	if im.f.data(t) == nil {
		return -1, im.unsupportedf("weight tensor %q is not a constant", t.Name)
	}
	id, err := im.in(k)
	if err != nil {
		return -1, err
	}
	w := im.b.Tensor(id)
	if w.Quant == nil || len(w.Shape) <= axis || len(w.Quant.Scale) != 1 || w.Shape[axis] == 1 {
		return id, nil
	}
	ch := int(w.Shape[axis])
	q := &format.Quantization{Scale: make([]float32, ch), ZeroPoint: make([]int32, ch), Axis: int32(axis)}
	for c := range ch {
		q.Scale[c], q.ZeroPoint[c] = w.Quant.Scale[0], w.Quant.ZeroPoint[0]
	}
	w.Quant = q
	return id, nil
}

func (im *importer) conv() error {
	if err := im.arity(2, 3, 1); err != nil {
		return err
	}
	depthwise := im.code() == opDepthwiseConv2D
	want := uint8(optConv2D)
	if depthwise {
		want = optDepthwiseConv2D
	}
	o, err := im.options(want)
	if err != nil {
		return err
	}
	x, w := im.src(0), im.src(1)
	if len(x.Shape) != 4 || len(w.Shape) != 4 {
		return im.errf("input shape %v and filter shape %v, want rank 4", x.Shape, w.Shape)
	}
	var opts format.Conv2DOptions
	var act uint8
	if depthwise {
		opts.StrideW, opts.StrideH = o.i32(1, 1), o.i32(2, 1)
		act = o.u8(4, 0)
		opts.DilationW, opts.DilationH = o.i32(5, 1), o.i32(6, 1)
	} else {
		opts.StrideW, opts.StrideH = o.i32(1, 1), o.i32(2, 1)
		act = o.u8(3, 0)
		opts.DilationW, opts.DilationH = o.i32(4, 1), o.i32(5, 1)
	}
	if err := positive("strides and dilations", opts.StrideH, opts.StrideW, opts.DilationH, opts.DilationW); err != nil {
		return err
	}
	if opts.Activation, err = activation(act); err != nil {
		return err
	}
	pad := o.u8(0, paddingSame)
	if opts.PadTop, opts.PadBottom, err = padding(pad, x.Shape[1], w.Shape[1], opts.StrideH, opts.DilationH); err != nil {
		return err
	}
	if opts.PadLeft, opts.PadRight, err = padding(pad, x.Shape[2], w.Shape[2], opts.StrideW, opts.DilationW); err != nil {
		return err
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	axis := 0
	if depthwise {
		axis = 3
	}
	wi, err := im.weight(1, axis)
	if err != nil {
		return err
	}
	bi, err := im.in(2)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	if !depthwise {
		im.b.Op(format.OpConv2D, im.name(""), &opts, []int32{xi, wi, bi}, y)
		return nil
	}
	if x.Shape[3] == 0 || w.Shape[3]%x.Shape[3] != 0 {
		return im.errf("depthwise filter %v does not fit input channels %d", w.Shape, x.Shape[3])
	}
	d := &format.DepthwiseConv2DOptions{Conv2DOptions: opts, DepthMultiplier: w.Shape[3] / x.Shape[3]}
	im.b.Op(format.OpDepthwiseConv2D, im.name(""), d, []int32{xi, wi, bi}, y)
	return nil
}

func (im *importer) fullyConnected() error {
	if err := im.arity(2, 3, 1); err != nil {
		return err
	}
	o, err := im.options(optFullyConnected)
	if err != nil {
		return err
	}
	if f := o.u8(1, 0); f != 0 {
		return im.unsupportedf("weights format %d (shuffled)", f)
	}
	act, err := activation(o.u8(0, 0))
	if err != nil {
		return err
	}
	x, w := im.src(0), im.src(1)
	if len(w.Shape) != 2 || w.Shape[1] == 0 {
		return im.errf("filter shape %v, want [N, K]", w.Shape)
	}
	k := w.Shape[1]
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	wi, err := im.weight(1, 0)
	if err != nil {
		return err
	}
	bi, err := im.in(2)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	// TFLite flattens the input to [numel/K, K] (keep_num_dims keeps its
	// leading dimensions); ours keeps the leading dimensions, so reshape
	// where the two differ.
	n := int64(1)
	for _, d := range x.Shape {
		n *= int64(d)
	}
	if n%int64(k) != 0 {
		return im.errf("input shape %v does not split into rows of %d", x.Shape, k)
	}
	rows := []int32{int32(n / int64(k)), k}
	outShape := im.b.Tensor(y).Shape
	if len(x.Shape) != 2 && !slices.Equal(append(slices.Clone(x.Shape[:len(x.Shape)-1]), w.Shape[0]), outShape) {
		xt := im.b.Tensor(xi)
		flat := im.b.Activation(im.name("flatten"), xt.DType, rows, xt.Quant)
		im.b.Op(format.OpReshape, im.name("flatten"), nil, []int32{xi}, flat)
		xi = flat
	}
	im.b.Op(format.OpFullyConnected, im.name(""), &format.FullyConnectedOptions{Activation: act}, []int32{xi, wi, bi}, y)
	return nil
}

func (im *importer) pool() error {
	if err := im.arity(1, 1, 1); err != nil {
		return err
	}
	o, err := im.options(optPool2D)
	if err != nil {
		return err
	}
	x := im.src(0)
	if len(x.Shape) != 4 {
		return im.errf("input shape %v, want rank 4", x.Shape)
	}
	opts := format.Pool2DOptions{StrideW: o.i32(1, 1), StrideH: o.i32(2, 1), FilterW: o.i32(3, 1), FilterH: o.i32(4, 1)}
	if err := positive("strides and filter sizes", opts.StrideH, opts.StrideW, opts.FilterH, opts.FilterW); err != nil {
		return err
	}
	if opts.Activation, err = activation(o.u8(5, 0)); err != nil {
		return err
	}
	pad := o.u8(0, paddingSame)
	if opts.PadTop, opts.PadBottom, err = padding(pad, x.Shape[1], opts.FilterH, opts.StrideH, 1); err != nil {
		return err
	}
	if opts.PadLeft, opts.PadRight, err = padding(pad, x.Shape[2], opts.FilterW, opts.StrideW, 1); err != nil {
		return err
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	code := format.OpAveragePool2D
	if im.code() == opMaxPool2D {
		code = format.OpMaxPool2D
	}
	im.b.Op(code, im.name(""), &opts, []int32{xi}, y)
	return nil
}

func (im *importer) binary() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	var code format.OpCode
	var act uint8
	switch im.code() {
	case opAdd:
		o, err := im.options(optAdd)
		if err != nil {
			return err
		}
		code, act = format.OpAdd, o.u8(0, 0)
	case opSub:
		o, err := im.options(optSub)
		if err != nil {
			return err
		}
		code, act = format.OpSub, o.u8(0, 0)
	case opMul:
		o, err := im.options(optMul)
		if err != nil {
			return err
		}
		code, act = format.OpMul, o.u8(0, 0)
	case opDiv:
		o, err := im.options(optDiv)
		if err != nil {
			return err
		}
		code, act = format.OpDiv, o.u8(0, 0)
	case opFloorDiv:
		code = format.OpFloorDiv
	default:
		code = format.OpSquaredDifference
	}
	a, err := activation(act)
	if err != nil {
		return err
	}
	if typ := im.src(0).Type; (code == format.OpDiv || code == format.OpFloorDiv) && typ != TypeFloat32 && typ != TypeInt32 {
		return im.unsupportedf("%v inputs (only float32 and int32 divide)", typ)
	}
	ins, err := im.ins(2)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	im.b.Op(code, im.name(""), &format.BinaryOptions{Activation: a}, ins, y)
	return nil
}

func (im *importer) reshape() error {
	if len(im.op.Inputs) < 1 || len(im.op.Inputs) > 2 || len(im.op.Outputs) != 1 || im.op.Inputs[0] < 0 {
		return im.errf("%d inputs and %d outputs, want 1 or 2 and 1", len(im.op.Inputs), len(im.op.Outputs))
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	if err := im.passThrough(xi, y); err != nil {
		return err
	}
	im.b.Op(format.OpReshape, im.name(""), nil, []int32{xi}, y)
	return nil
}

// passThrough checks that an op which moves data keeps the quantization.
func (im *importer) passThrough(x, y int32) error {
	xt, yt := im.b.Tensor(x), im.b.Tensor(y)
	if xt.DType != yt.DType {
		return im.errf("output is %v, input %v", yt.DType, xt.DType)
	}
	if (xt.Quant == nil) != (yt.Quant == nil) || xt.Quant != nil &&
		(!slices.Equal(xt.Quant.Scale, yt.Quant.Scale) || !slices.Equal(xt.Quant.ZeroPoint, yt.Quant.ZeroPoint)) {
		return im.unsupportedf("output quantization differs from the input's")
	}
	return nil
}

func (im *importer) softmax() error {
	if err := im.arity(1, 1, 1); err != nil {
		return err
	}
	o, err := im.options(optSoftmax)
	if err != nil {
		return err
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	im.b.Op(format.OpSoftmax, im.name(""), &format.SoftmaxOptions{Beta: o.f32(0, 1)}, []int32{xi}, y)
	return nil
}

// constInts returns the int32 contents of constant input k.
func (im *importer) constInts(k int) ([]int32, error) {
	if k >= len(im.op.Inputs) || im.op.Inputs[k] < 0 || im.f.data(im.src(k)) == nil {
		return nil, im.unsupportedf("input %d is not a constant", k)
	}
	id, err := im.in(k)
	if err != nil {
		return nil, err
	}
	t := im.b.Tensor(id)
	if t.DType != format.Int32 {
		return nil, im.unsupportedf("input %d is %v, want int32 or int64", k, t.DType)
	}
	return t.Int32s(), nil
}

func (im *importer) mean() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	o, err := im.options(optReducer)
	if err != nil {
		return err
	}
	axes, err := im.constInts(1)
	if err != nil {
		return err
	}
	rank := int32(len(im.src(0).Shape))
	norm := make([]int32, 0, len(axes))
	for _, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return im.errf("axis %d out of range for rank %d", a, rank)
		}
		if !slices.Contains(norm, a) {
			norm = append(norm, a)
		}
	}
	slices.Sort(norm)
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	im.b.Op(format.OpMean, im.name(""), &format.MeanOptions{Axes: norm, KeepDims: o.u8(0, 0) != 0}, []int32{xi}, y)
	return nil
}

func (im *importer) pad() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	if _, err := im.constInts(1); err != nil {
		return err
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
	im.b.Op(format.OpPad, im.name(""), nil, ins, y)
	return nil
}

func (im *importer) concat() error {
	if len(im.op.Inputs) < 1 || len(im.op.Outputs) != 1 {
		return im.errf("%d inputs and %d outputs", len(im.op.Inputs), len(im.op.Outputs))
	}
	o, err := im.options(optConcatenation)
	if err != nil {
		return err
	}
	if a := o.u8(1, 0); a != actNone {
		return im.unsupportedf("fused activation %d on CONCATENATION", a)
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
	axis := o.i32(0, 0)
	if axis < 0 {
		axis += int32(len(yt.Shape))
	}
	// TFLite rescales inputs whose parameters differ from the output's;
	// ours requires equal parameters, so requantize those first.
	for k, x := range ins {
		xt := im.b.Tensor(x)
		if xt.Quant == nil || yt.Quant == nil {
			continue
		}
		if slices.Equal(xt.Quant.Scale, yt.Quant.Scale) && slices.Equal(xt.Quant.ZeroPoint, yt.Quant.ZeroPoint) {
			continue
		}
		r := im.b.Activation(im.name(fmt.Sprintf("requant%d", k)), yt.DType, xt.Shape, &format.Quantization{
			Scale: slices.Clone(yt.Quant.Scale), ZeroPoint: slices.Clone(yt.Quant.ZeroPoint)})
		im.b.Op(format.OpQuantize, im.name(fmt.Sprintf("requant%d", k)), nil, []int32{x}, r)
		ins[k] = r
	}
	im.b.Op(format.OpConcat, im.name(""), &format.ConcatOptions{Axis: axis}, ins, y)
	return nil
}

func (im *importer) quantize() error {
	if err := im.arity(1, 1, 1); err != nil {
		return err
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	code := format.OpQuantize
	if im.code() == opDequantize {
		code = format.OpDequantize
	}
	im.b.Op(code, im.name(""), nil, []int32{xi}, y)
	return nil
}

func (im *importer) unary() error {
	if err := im.arity(1, 1, 1); err != nil {
		return err
	}
	var code format.OpCode
	var opts format.Options
	switch im.code() {
	case opLogistic:
		code = format.OpLogistic
	case opTanh:
		code = format.OpTanh
	case opHardSwish:
		code = format.OpHardSwish
	case opRsqrt:
		code = format.OpRsqrt
	case opSqrt:
		code = format.OpSqrt
	case opReLU:
		code = format.OpReLU
	case opReLU6:
		code = format.OpReLU6
	case opGelu:
		o, err := im.options(optGelu)
		if err != nil {
			return err
		}
		code, opts = format.OpGELU, &format.GELUOptions{Approximate: o.u8(0, 0) != 0}
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	im.b.Op(code, im.name(""), opts, []int32{xi}, y)
	return nil
}

func (im *importer) batchMatMul() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	o, err := im.options(optBatchMatMul)
	if err != nil {
		return err
	}
	ins, err := im.ins(2)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	opts := &format.BatchMatMulOptions{AdjX: o.u8(0, 0) != 0, AdjY: o.u8(1, 0) != 0}
	im.b.Op(format.OpBatchMatMul, im.name(""), opts, ins, y)
	return nil
}

func (im *importer) transpose() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	perm, err := im.constInts(1)
	if err != nil {
		return err
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	im.b.Op(format.OpTranspose, im.name(""), &format.TransposeOptions{Perm: perm}, []int32{xi}, y)
	return nil
}

// resizeBilinear translates RESIZE_BILINEAR with a constant output size;
// the output keeps the input's quantization.
func (im *importer) resizeBilinear() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	o, err := im.options(optResizeBilinear)
	if err != nil {
		return err
	}
	size, err := im.constInts(1)
	if err != nil {
		return err
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	y, err := im.out()
	if err != nil {
		return err
	}
	if s := im.b.Tensor(y).Shape; len(size) != 2 || len(s) != 4 || s[1] != size[0] || s[2] != size[1] {
		return im.errf("size %v does not match the output shape %v", size, s)
	}
	if err := im.passThrough(xi, y); err != nil {
		return err
	}
	opts := &format.ResizeBilinearOptions{AlignCorners: o.u8(2, 0) != 0, HalfPixelCenters: o.u8(3, 0) != 0}
	im.b.Op(format.OpResizeBilinear, im.name(""), opts, []int32{xi}, y)
	return nil
}

// argMax translates ARG_MAX with a constant axis. An int64 output (what
// converters write) becomes int32: the indices fit.
func (im *importer) argMax() error {
	if err := im.arity(2, 2, 1); err != nil {
		return err
	}
	axis, err := im.constInts(1)
	if err != nil {
		return err
	}
	xi, err := im.in(0)
	if err != nil {
		return err
	}
	rank := int32(len(im.src(0).Shape))
	if len(axis) != 1 || axis[0] < -rank || axis[0] >= rank {
		return im.errf("axis %v for rank %d", axis, rank)
	}
	a := axis[0]
	if a < 0 {
		a += rank
	}
	out := &im.f.Tensors[im.op.Outputs[0]]
	if out.Type != TypeInt32 && out.Type != TypeInt64 {
		return im.unsupportedf("output is %v, want int32 or int64", out.Type)
	}
	if im.ids[im.op.Outputs[0]] >= 0 || im.f.data(out) != nil {
		return im.errf("output tensor %q is produced twice or is a constant", out.Name)
	}
	y := im.b.AddTensor(format.Tensor{Name: out.Name, DType: format.Int32, Shape: shapeOf(out)})
	im.ids[im.op.Outputs[0]] = y
	im.b.Op(format.OpArgMax, im.name(""), &format.ArgMaxOptions{Axis: a}, []int32{xi}, y)
	return nil
}
