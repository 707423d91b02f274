package format

import (
	"math/rand"

	"github.com/edgeinfer/edgeinfer/quant"
)

// Hand-built models that between them use every op, every options field
// and every Model field. They are small, so that truncation and bit-flip
// tests can try every byte.

type tb struct {
	*Builder
	r *rand.Rand
}

func newTB(name string) *tb { return &tb{NewBuilder(name), rand.New(rand.NewSource(1))} }

func (b *tb) floats(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(b.r.NormFloat64())
	}
	return v
}

func (b *tb) f32(name string, shape ...int32) int32 {
	return b.Activation(name, Float32, shape, nil)
}

func (b *tb) cf32(name string, shape ...int32) int32 {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return b.ConstFloat32(name, shape, b.floats(n))
}

// i8 adds an int8 activation with per-tensor parameters.
func (b *tb) i8(name string, scale float32, zp int32, shape ...int32) int32 {
	return b.Activation(name, Int8, shape, PerTensor(scale, zp))
}

// qweights adds int8 symmetric per-channel weights along axis.
func (b *tb) qweights(name string, axis int, shape ...int32) (int32, []float32) {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(b.r.Intn(255) - 127)
	}
	scales := make([]float32, shape[axis])
	for i := range scales {
		scales[i] = 0.01 + 0.001*float32(i)
	}
	return b.ConstInt8(name, shape, v, PerAxis(scales, int32(axis))), scales
}

func (b *tb) qbias(name string, inScale float32, ws []float32) int32 {
	s := make([]float32, len(ws))
	v := make([]int32, len(ws))
	for i := range s {
		s[i] = inScale * ws[i]
		v[i] = int32(b.r.Intn(2000) - 1000)
	}
	return b.ConstInt32(name, []int32{int32(len(ws))}, v, PerAxis(s, 0))
}

func must(m *Model, err error) *Model {
	if err != nil {
		panic(err)
	}
	return m
}

// floatCNN: Conv2D, DepthwiseConv2D, pools, Mean, FullyConnected, Softmax,
// and every metadata field.
func floatCNN() *Model {
	b := newTB("float-cnn")
	m := b.Model()
	m.Description = "a small float CNN"
	m.Labels = []string{"cat", "dog", "", "ünïcode"}
	m.Rounding = quant.RoundDouble
	m.Preprocess = &Preprocess{Width: 8, Height: 8, Layout: NCHW, Color: BGR, Scale: 1.0 / 255,
		Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225}}
	x := b.Input("image", Float32, []int32{1, 8, 8, 3}, nil)
	c1 := b.f32("conv", 1, 4, 4, 4)
	b.Op(OpConv2D, "conv", &Conv2DOptions{StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1,
		PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 0, Activation: ActReLU},
		[]int32{x, b.cf32("conv/w", 4, 3, 3, 3), b.cf32("conv/b", 4)}, c1)
	d1 := b.f32("dw", 1, 2, 4, 8)
	b.Op(OpDepthwiseConv2D, "dw", &DepthwiseConv2DOptions{Conv2DOptions: Conv2DOptions{StrideH: 1, StrideW: 1,
		DilationH: 2, DilationW: 1, PadTop: 0, PadBottom: 0, PadLeft: 1, PadRight: 1, Activation: ActReLU6}, DepthMultiplier: 2},
		[]int32{x - x + c1, b.cf32("dw/w", 1, 2, 3, 8), -1}, d1)
	p1 := b.f32("maxpool", 1, 1, 2, 8)
	b.Op(OpMaxPool2D, "maxpool", &Pool2DOptions{FilterH: 2, FilterW: 2, StrideH: 2, StrideW: 2, PadBottom: 1}, []int32{d1}, p1)
	p2 := b.f32("avgpool", 1, 1, 2, 8)
	b.Op(OpAveragePool2D, "avgpool", &Pool2DOptions{FilterH: 1, FilterW: 3, StrideH: 1, StrideW: 1, PadLeft: 1, PadRight: 1, Activation: ActReLU}, []int32{p1}, p2)
	mn := b.f32("mean", 1, 8)
	b.Op(OpMean, "mean", &MeanOptions{Axes: []int32{1, 2}}, []int32{p2}, mn)
	fc := b.f32("fc", 1, 4)
	b.Op(OpFullyConnected, "fc", &FullyConnectedOptions{Activation: ActNone}, []int32{mn, b.cf32("fc/w", 4, 8), b.cf32("fc/b", 4)}, fc)
	sm := b.f32("softmax", 1, 4)
	b.Op(OpSoftmax, "softmax", &SoftmaxOptions{Beta: 1}, []int32{fc}, sm)
	b.Output(sm)
	m2 := must(b.Finish())
	// An offline plan: activations at distinct aligned offsets, constants −1.
	plan := &MemoryPlan{Offsets: make([]int64, len(m2.Tensors))}
	for i := range m2.Tensors {
		plan.Offsets[i] = -1
		if !m2.Tensors[i].IsConst() {
			plan.Offsets[i] = plan.ArenaBytes
			plan.ArenaBytes += int64((m2.Tensors[i].ByteSize() + PlanAlign - 1) / PlanAlign * PlanAlign)
		}
	}
	m2.MemoryPlan = plan
	return must(m2, m2.Validate())
}

// int8CNN: the quantized paths of the window ops, FullyConnected, Add,
// Softmax, Quantize and Dequantize.
func int8CNN() *Model {
	b := newTB("int8-cnn")
	m := b.Model()
	m.Preprocess = &Preprocess{Width: 6, Height: 6, Color: Gray, Scale: 1, Mean: []float32{0}, Std: []float32{1}}
	m.Labels = []string{}
	xf := b.Input("image", Float32, []int32{1, 6, 6, 2}, nil)
	const s0 = 0.05
	x := b.i8("image/q", s0, -3, 1, 6, 6, 2)
	b.Op(OpQuantize, "quantize", nil, []int32{xf}, x)
	w, ws := b.qweights("conv/w", 0, 4, 3, 3, 2)
	c1 := b.i8("conv", 0.1, 5, 1, 3, 3, 4)
	b.Op(OpConv2D, "conv", &Conv2DOptions{StrideH: 2, StrideW: 2, DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1},
		[]int32{x, w, b.qbias("conv/b", s0, ws)}, c1)
	dw, dws := b.qweights("dw/w", 3, 1, 3, 3, 4)
	d1 := b.i8("dw", 0.2, 0, 1, 3, 3, 4)
	b.Op(OpDepthwiseConv2D, "dw", &DepthwiseConv2DOptions{Conv2DOptions: Conv2DOptions{StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}, DepthMultiplier: 1},
		[]int32{c1, dw, b.qbias("dw/b", 0.1, dws)}, d1)
	p1 := b.i8("pool", 0.2, 0, 1, 1, 1, 4)
	b.Op(OpAveragePool2D, "pool", &Pool2DOptions{FilterH: 3, FilterW: 3, StrideH: 3, StrideW: 3, PadTop: 1}, []int32{d1}, p1)
	p2 := b.i8("maxpool", 0.2, 0, 1, 1, 1, 4)
	b.Op(OpMaxPool2D, "maxpool", &Pool2DOptions{FilterH: 1, FilterW: 1, StrideH: 1, StrideW: 1}, []int32{p1}, p2)
	r := b.i8("flat", 0.2, 0, 1, 4)
	b.Op(OpReshape, "flat", nil, []int32{p2}, r)
	fw, fws := b.qweights("fc/w", 0, 3, 4)
	fc := b.i8("fc", 0.3, 1, 1, 3)
	b.Op(OpFullyConnected, "fc", nil, []int32{r, fw, b.qbias("fc/b", 0.2, fws)}, fc)
	fw2, _ := b.qweights("fc2/w", 0, 3, 3)
	fc2 := b.i8("fc2", 0.3, 1, 1, 3)
	b.Op(OpFullyConnected, "fc2", &FullyConnectedOptions{Activation: ActReLU6}, []int32{fc, fw2, -1}, fc2)
	sum := b.i8("add", 0.4, -2, 1, 3)
	b.Op(OpAdd, "add", &BinaryOptions{Activation: ActReLU}, []int32{fc, fc2}, sum)
	sm := b.i8("softmax", 1.0/256, -128, 1, 3)
	b.Op(OpSoftmax, "softmax", &SoftmaxOptions{Beta: 0.5}, []int32{sum}, sm)
	u := b.Activation("requant", UInt8, []int32{1, 3}, PerTensor(1.0/255, 0))
	b.Op(OpQuantize, "requant", nil, []int32{sm}, u)
	out := b.f32("probs", 1, 3)
	b.Op(OpDequantize, "dequantize", nil, []int32{u}, out)
	b.Output(out, sum)
	return must(b.Finish())
}

// floatMisc: the remaining ops on the float path, with broadcasting.
func floatMisc() *Model {
	b := newTB("float-misc")
	x := b.Input("x", Float32, []int32{2, 3, 4}, nil)
	y := b.Input("y", Float32, []int32{3, 1}, nil)
	ln := b.f32("ln", 2, 3, 4)
	b.Op(OpLayerNorm, "ln", &LayerNormOptions{Epsilon: 1e-5}, []int32{x, b.cf32("ln/g", 4), b.cf32("ln/b", 4)}, ln)
	sub := b.f32("sub", 2, 3, 4)
	b.Op(OpSub, "sub", &BinaryOptions{}, []int32{ln, y}, sub)
	mul := b.f32("mul", 2, 3, 4)
	b.Op(OpMul, "mul", nil, []int32{b.cf32("scale"), sub}, mul)
	sq := b.f32("sqdiff", 2, 3, 4)
	b.Op(OpSquaredDifference, "sqdiff", &BinaryOptions{Activation: ActReLU6}, []int32{mul, b.cf32("c", 1, 4)}, sq)
	prev := sq
	for _, code := range []OpCode{OpGELU, OpReLU, OpReLU6, OpLogistic, OpTanh, OpHardSwish, OpRsqrt, OpGELU} {
		t := b.f32(code.String(), 2, 3, 4)
		var o Options
		if code == OpGELU && prev != sq {
			o = &GELUOptions{Approximate: true}
		}
		b.Op(code, code.String(), o, []int32{prev}, t)
		prev = t
	}
	tr := b.f32("transpose", 4, 2, 3)
	b.Op(OpTranspose, "transpose", &TransposeOptions{Perm: []int32{2, 0, 1}}, []int32{prev}, tr)
	bmm := b.f32("bmm", 4, 2, 5)
	b.Op(OpBatchMatMul, "bmm", &BatchMatMulOptions{}, []int32{tr, b.cf32("bmm/b", 3, 5)}, bmm)
	bmm2 := b.f32("bmm2", 4, 5, 5)
	b.Op(OpBatchMatMul, "bmm2", &BatchMatMulOptions{AdjX: true}, []int32{bmm, bmm}, bmm2)
	bmm3 := b.f32("bmm3", 4, 2, 2)
	b.Op(OpBatchMatMul, "bmm3", &BatchMatMulOptions{AdjY: true}, []int32{bmm, bmm}, bmm3)
	cat := b.f32("concat", 4, 2, 7)
	b.Op(OpConcat, "concat", &ConcatOptions{Axis: 2}, []int32{bmm, bmm3}, cat)
	cat0 := b.f32("concat0", 8, 2, 7)
	b.Op(OpConcat, "concat0", nil, []int32{cat, cat}, cat0)
	g := b.f32("gather", 8, 2, 3)
	b.Op(OpGather, "gather", &GatherOptions{Axis: 2}, []int32{cat0, b.ConstInt32("idx", []int32{3}, []int32{6, 0, 3}, nil)}, g)
	g0 := b.f32("gather0", 2, 2, 2, 3)
	b.Op(OpGather, "gather0", nil, []int32{g, b.ConstInt32("idx0", []int32{2, 2}, []int32{7, 0, 1, 1}, nil)}, g0)
	sl := b.f32("slice", 1, 2, 1, 2)
	b.Op(OpSlice, "slice", &SliceOptions{Begin: []int32{1, 0, 1, 1}, Size: []int32{1, -1, 1, 2}}, []int32{g0}, sl)
	pd := b.f32("pad", 1, 5, 1, 3)
	b.Op(OpPad, "pad", nil, []int32{sl, b.ConstInt32("paddings", []int32{4, 2}, []int32{0, 0, 1, 2, 0, 0, 0, 1}, nil)}, pd)
	mn := b.f32("mean", 1, 1, 1, 3)
	b.Op(OpMean, "mean", &MeanOptions{Axes: []int32{1, 2}, KeepDims: true}, []int32{pd}, mn)
	sc := b.f32("scalar")
	b.Op(OpMean, "mean_all", &MeanOptions{Axes: []int32{0, 1, 2, 3}}, []int32{mn}, sc)
	b.Output(sc, bmm2)
	// An unused int16 constant, so that every dtype appears somewhere.
	b.AddTensor(Tensor{Name: "unused", DType: Int16, Shape: []int32{2}, Data: []byte{1, 2, 3, 4}, Quant: PerTensor(0.5, -7)})
	return must(b.Finish())
}

// int8Misc: quantized BatchMatMul, LayerNorm, activations and the data
// movement ops, which keep their input's parameters.
func int8Misc() *Model {
	b := newTB("int8-misc")
	q := PerTensor(0.1, 3)
	x := b.Input("x", Int8, []int32{2, 3, 4}, q)
	ln := b.i8("ln", 0.05, 0, 2, 3, 4)
	b.Op(OpLayerNorm, "ln", &LayerNormOptions{Epsilon: 1e-6}, []int32{x, b.cf32("ln/g", 4), b.cf32("ln/b", 4)}, ln)
	ge := b.i8("gelu", 0.05, -20, 2, 3, 4)
	b.Op(OpGELU, "gelu", &GELUOptions{}, []int32{ln}, ge)
	bmm := b.i8("bmm", 0.2, 1, 2, 3, 3)
	b.Op(OpBatchMatMul, "bmm", &BatchMatMulOptions{AdjY: true}, []int32{ge, ln}, bmm)
	rs := b.i8("reshape", 0.2, 1, 6, 3)
	b.Op(OpReshape, "reshape", nil, []int32{bmm}, rs)
	tr := b.i8("transpose", 0.2, 1, 3, 6)
	b.Op(OpTranspose, "transpose", &TransposeOptions{Perm: []int32{1, 0}}, []int32{rs}, tr)
	cat := b.i8("concat", 0.2, 1, 4, 6)
	cst := b.ConstInt8("row", []int32{1, 6}, []int8{1, 2, 3, 4, 5, -128}, PerTensor(0.2, 1))
	b.Op(OpConcat, "concat", &ConcatOptions{Axis: 0}, []int32{tr, cst}, cat)
	g := b.i8("gather", 0.2, 1, 2, 6)
	b.Op(OpGather, "gather", &GatherOptions{}, []int32{cat, b.ConstInt32("idx", []int32{2}, []int32{3, 3}, nil)}, g)
	sl := b.i8("slice", 0.2, 1, 2, 4)
	b.Op(OpSlice, "slice", &SliceOptions{Begin: []int32{0, 2}, Size: []int32{-1, 4}}, []int32{g}, sl)
	pd := b.i8("pad", 0.2, 1, 3, 4)
	b.Op(OpPad, "pad", nil, []int32{sl, b.ConstInt32("paddings", []int32{2, 2}, []int32{1, 0, 0, 0}, nil)}, pd)
	mn := b.i8("mean", 0.1, 0, 3)
	b.Op(OpMean, "mean", &MeanOptions{Axes: []int32{1}}, []int32{pd}, mn)
	sq := b.i8("mul", 0.1, 0, 3, 3)
	b.Op(OpMul, "mul", nil, []int32{mn, b.i8Const("col", 0.1, 0, 3, 1)}, sq)
	b.Output(sq)
	return must(b.Finish())
}

func (b *tb) i8Const(name string, scale float32, zp int32, shape ...int32) int32 {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(i)
	}
	return b.ConstInt8(name, shape, v, PerTensor(scale, zp))
}

// testModels returns fresh copies of every hand-built model.
func testModels() map[string]func() *Model {
	return map[string]func() *Model{
		"float-cnn":  floatCNN,
		"int8-cnn":   int8CNN,
		"float-misc": floatMisc,
		"int8-misc":  int8Misc,
		"decoder":    decoderModel,
	}
}

// decoderModel: the arithmetic of a keypoint decoder (MoveNet's): int8
// scores, ArgMax, int32 FloorDiv/Mul/Sub, Cast, GatherND on int8 and
// float, Sqrt and Div.
func decoderModel() *Model {
	b := newTB("decoder")
	q := PerTensor(0.02, -128)
	x := b.Input("heat", Int8, []int32{1, 12, 4}, q)
	am := b.Activation("argmax", Int32, []int32{1, 4}, nil)
	b.Op(OpArgMax, "argmax", &ArgMaxOptions{Axis: 1}, []int32{x}, am)
	w := b.ConstInt32("width", []int32{}, []int32{4}, nil)
	row := b.Activation("row", Int32, []int32{1, 4}, nil)
	b.Op(OpFloorDiv, "row", nil, []int32{am, w}, row)
	back := b.Activation("back", Int32, []int32{1, 4}, nil)
	b.Op(OpMul, "back", nil, []int32{row, w}, back)
	col := b.Activation("col", Int32, []int32{1, 4}, nil)
	b.Op(OpSub, "col", &BinaryOptions{Activation: ActReLU}, []int32{am, back}, col)
	idx := b.Activation("idx", Int32, []int32{1, 4, 2}, nil)
	b.Op(OpConcat, "idx", &ConcatOptions{Axis: 0}, []int32{row, col}, b.Activation("pairs", Int32, []int32{2, 4}, nil))
	b.Op(OpTranspose, "idx", &TransposeOptions{Perm: []int32{1, 0}}, []int32{b.Model().Ops[len(b.Model().Ops)-1].Outputs[0]}, b.Activation("rows", Int32, []int32{4, 2}, nil))
	b.Op(OpReshape, "idx3", nil, []int32{b.Model().Ops[len(b.Model().Ops)-1].Outputs[0]}, idx)
	hm := b.Activation("heat3", Int8, []int32{3, 4, 4}, q)
	b.Op(OpReshape, "heat3", nil, []int32{x}, hm)
	g := b.Activation("picked", Int8, []int32{1, 4, 4}, q)
	b.Op(OpGatherND, "picked", nil, []int32{hm, idx}, g)
	fl := b.f32("rowf", 1, 4)
	b.Op(OpCast, "rowf", nil, []int32{row}, fl)
	sq := b.f32("sqrt", 1, 4)
	b.Op(OpSqrt, "sqrt", nil, []int32{fl}, sq)
	dv := b.f32("div", 1, 4)
	b.Op(OpDiv, "div", &BinaryOptions{}, []int32{sq, b.cf32("den", 4)}, dv)
	fd := b.f32("floordiv", 1, 4)
	b.Op(OpFloorDiv, "floordiv", nil, []int32{dv, b.cf32("fden", 1)}, fd)
	back2 := b.Activation("backint", Int32, []int32{1, 4}, nil)
	b.Op(OpCast, "backint", nil, []int32{fd}, back2)
	b.Output(g, back2)
	return must(b.Finish())
}
