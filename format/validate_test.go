package format

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// ti returns the index of the tensor called name.
func ti(m *Model, name string) int32 {
	for i := range m.Tensors {
		if m.Tensors[i].Name == name {
			return int32(i)
		}
	}
	panic("no tensor " + name)
}

// oi returns the index of the op called name.
func oi(m *Model, name string) int {
	for i := range m.Ops {
		if m.Ops[i].Name == name {
			return i
		}
	}
	panic("no op " + name)
}

func tn(m *Model, name string) *Tensor { return &m.Tensors[ti(m, name)] }
func on(m *Model, name string) *Op     { return &m.Ops[oi(m, name)] }

// reshape gives a tensor a new shape, resizing a constant's data to match
// so that only the shape rule under test breaks.
func reshape(m *Model, name string, shape ...int32) {
	t := tn(m, name)
	t.Shape = shape
	if t.Data != nil {
		t.Data = make([]byte, t.ByteSize())
	}
}

// opDesc is how errors name an op: `op 3 Conv2D "conv"`.
func opDesc(m *Model, name string) string {
	i := oi(m, name)
	return fmt.Sprintf("op %d %v %q", i, m.Ops[i].Code, name)
}

// tDesc is how errors name a tensor: `tensor 3 "conv/w"`.
func tDesc(m *Model, name string) string { return fmt.Sprintf("tensor %d %q", ti(m, name), name) }

type mutation struct {
	name   string
	model  func() *Model
	mutate func(m *Model)
	kind   error
	// want returns fragments the message must contain (it may use the
	// mutated model to compute indices).
	want func(m *Model) []string
}

func frags(f ...string) func(*Model) []string { return func(*Model) []string { return f } }

// TestValidateMutations breaks exactly one rule per case and checks that
// Validate names it; the same models without the mutation are valid
// (TestModelsValid).
func TestValidateMutations(t *testing.T) {
	cases := []mutation{
		// Tensors.
		{"unknown dtype", floatCNN, func(m *Model) { tn(m, "conv").DType = 9 }, ErrUnsupported,
			func(m *Model) []string { return []string{tDesc(m, "conv") + ": unknown dtype dtype(9)"} }},
		{"dtype 0", floatCNN, func(m *Model) { tn(m, "conv").DType = DTypeInvalid }, ErrInvalid, frags(`tensor 1 "conv": dtype 0 (invalid)`)},
		{"rank 7", floatCNN, func(m *Model) { tn(m, "conv").Shape = []int32{1, 1, 1, 1, 1, 1, 1} }, ErrInvalid, frags(`"conv": rank 7 exceeds 6`)},
		{"zero dim", floatCNN, func(m *Model) { tn(m, "conv").Shape = []int32{1, 0, 4, 4} }, ErrInvalid, frags(`"conv": dimension 1 is 0 in shape [1 0 4 4], want ≥ 1`)},
		{"negative dim", floatCNN, func(m *Model) { tn(m, "conv").Shape = []int32{1, -4, 4, 4} }, ErrInvalid, frags(`dimension 1 is -4`)},
		{"too big", floatCNN, func(m *Model) { tn(m, "conv").Shape = []int32{65536, 65536, 2, 2, 2, 2} }, ErrInvalid, frags(`exceeds 2147483647 bytes`)},
		{"2^31 int8 bytes", int8CNN, func(m *Model) { tn(m, "conv").Shape = []int32{1 << 15, 1 << 16} }, ErrInvalid, frags(`"conv": shape [32768 65536] of int8 exceeds`)},
		{"const size", floatCNN, func(m *Model) { t := tn(m, "conv/w"); t.Data = t.Data[:len(t.Data)-1] }, ErrInvalid,
			frags(`"conv/w": constant holds 431 bytes, want 432 for float32 [4 3 3 3]`)},
		{"empty const", floatCNN, func(m *Model) { tn(m, "conv/b").Data = []byte{} }, ErrInvalid, frags(`"conv/b": constant holds 0 bytes, want 16`)},
		{"float with quant", floatCNN, func(m *Model) { tn(m, "conv").Quant = PerTensor(1, 0) }, ErrInvalid, frags(`"conv": float32 tensor has quantization parameters`)},
		{"no scales", int8CNN, func(m *Model) { tn(m, "conv").Quant = &Quantization{} }, ErrInvalid, frags(`"conv": quantization without scales`)},
		{"zp count", int8CNN, func(m *Model) { tn(m, "conv").Quant.ZeroPoint = nil }, ErrInvalid, frags(`"conv": 1 scales but 0 zero points`)},
		{"axis range", int8CNN, func(m *Model) { tn(m, "conv/w").Quant.Axis = 4 }, ErrInvalid, frags(`"conv/w": quantization axis 4 out of range for shape [4 3 3 2]`)},
		{"axis count", int8CNN, func(m *Model) { tn(m, "conv/w").Quant.Axis = 1 }, ErrInvalid, frags(`"conv/w": 4 scales along axis 1 of shape [4 3 3 2], want 3`)},
		{"scale NaN", int8CNN, func(m *Model) { tn(m, "conv").Quant.Scale[0] = float32(math.NaN()) }, ErrInvalid, frags(`"conv": quantization channel 0: scale NaN is not finite and positive`)},
		{"scale negative", int8CNN, func(m *Model) { tn(m, "conv/w").Quant.Scale[2] = -1 }, ErrInvalid, frags(`"conv/w": quantization channel 2: scale -1`)},
		{"scale inf", int8CNN, func(m *Model) { tn(m, "conv").Quant.Scale[0] = float32(math.Inf(1)) }, ErrInvalid, frags(`scale +Inf`)},
		{"zp range", int8CNN, func(m *Model) { tn(m, "conv").Quant.ZeroPoint[0] = 200 }, ErrInvalid, frags(`"conv": quantization channel 0: zero point 200 outside [-128, 127]`)},
		{"uint8 zp range", int8CNN, func(m *Model) { tn(m, "requant").Quant.ZeroPoint[0] = -1 }, ErrInvalid, frags(`zero point -1 outside [0, 255]`)},

		// Graph.
		{"no inputs", floatCNN, func(m *Model) { m.Inputs = nil }, ErrInvalid, frags(`model "float-cnn" has no inputs`)},
		{"no outputs", floatCNN, func(m *Model) { m.Outputs = nil }, ErrInvalid, frags(`model "float-cnn" has no outputs`)},
		{"input range", floatCNN, func(m *Model) { m.Inputs[0] = 999 }, ErrInvalid, frags(`input 0: tensor index 999 out of range`)},
		{"input const", floatCNN, func(m *Model) { m.Inputs[0] = ti(m, "conv/w") }, ErrInvalid, func(m *Model) []string { return []string{"input 0: " + tDesc(m, "conv/w") + " is a constant"} }},
		{"input twice", floatMisc, func(m *Model) { m.Inputs[1] = m.Inputs[0] }, ErrInvalid, frags(`input 1: tensor 0 "x" is listed twice`)},
		{"op input range", floatCNN, func(m *Model) { on(m, "fc").Inputs[1] = -7 }, ErrInvalid, func(m *Model) []string { return []string{opDesc(m, "fc") + ": input 1: tensor index -7 out of range"} }},
		{"not yet produced", floatCNN, func(m *Model) { i := oi(m, "fc"); m.Ops[i], m.Ops[i+1] = m.Ops[i+1], m.Ops[i] }, ErrInvalid,
			func(m *Model) []string {
				return []string{opDesc(m, "softmax") + ": input 0: " + tDesc(m, "fc") + " is not a constant, a graph input or the output of an earlier op"}
			}},
		{"dangling input", floatCNN, func(m *Model) {
			m.Tensors = append(m.Tensors, Tensor{Name: "ghost", DType: Float32, Shape: []int32{1, 8}})
			on(m, "fc").Inputs[0] = int32(len(m.Tensors) - 1)
		}, ErrInvalid,
			frags(`is not a constant, a graph input or the output of an earlier op`)},
		{"output const", floatCNN, func(m *Model) { on(m, "fc").Outputs[0] = ti(m, "fc/b") }, ErrInvalid, func(m *Model) []string {
			return []string{opDesc(m, "fc") + ": output 0: " + tDesc(m, "fc/b") + " is a constant"}
		}},
		{"output input", floatCNN, func(m *Model) { on(m, "fc").Outputs[0] = 0 }, ErrInvalid, frags(`output 0: tensor 0 "image" is a graph input`)},
		{"two producers", floatCNN, func(m *Model) { on(m, "softmax").Outputs[0] = ti(m, "fc") }, ErrInvalid, func(m *Model) []string {
			return []string{opDesc(m, "softmax") + ": output 0: " + tDesc(m, "fc") + " is already produced"}
		}},
		{"output unproduced", floatCNN, func(m *Model) { m.Outputs[0] = ti(m, "conv/w") }, ErrInvalid, func(m *Model) []string {
			return []string{"output 0: " + tDesc(m, "conv/w") + " is not produced by any op"}
		}},
		{"output twice", int8CNN, func(m *Model) { m.Outputs[1] = m.Outputs[0] }, ErrInvalid, frags(`output 1: tensor`, `is listed twice`)},
		{"output range", int8CNN, func(m *Model) { m.Outputs[1] = -1 }, ErrInvalid, frags(`output 1: tensor index -1 out of range`)},

		// Op basics.
		{"unknown op", floatCNN, func(m *Model) { on(m, "softmax").Code = 99 }, ErrUnsupported, func(m *Model) []string {
			return []string{fmt.Sprintf(`op %d op(99) "softmax": unknown op code 99`, oi(m, "softmax"))}
		}},
		{"op code 0", floatCNN, func(m *Model) { on(m, "softmax").Code = OpInvalid }, ErrInvalid, frags(`op(0) "softmax": op code 0 (invalid)`)},
		{"version 0", floatCNN, func(m *Model) { on(m, "softmax").Version = 0 }, ErrInvalid, frags(`Softmax "softmax": version 0 (op versions start at 1)`)},
		{"version 2", floatCNN, func(m *Model) { on(m, "softmax").Version = 2 }, ErrUnsupported, frags(`Softmax "softmax": version 2 is newer than the 1 this build supports`)},
		{"too few inputs", floatCNN, func(m *Model) { on(m, "fc").Inputs = on(m, "fc").Inputs[:1] }, ErrInvalid, frags(`FullyConnected "fc": 1 inputs, want 2 to 3`)},
		{"too many inputs", floatCNN, func(m *Model) { o := on(m, "softmax"); o.Inputs = append(o.Inputs, o.Inputs[0]) }, ErrInvalid, frags(`Softmax "softmax": 2 inputs, want 1`)},
		{"concat no inputs", floatMisc, func(m *Model) { on(m, "concat").Inputs = nil }, ErrInvalid, frags(`Concat "concat": 0 inputs, want at least 1`)},
		{"required absent", floatCNN, func(m *Model) { on(m, "fc").Inputs[1] = -1 }, ErrInvalid, frags(`FullyConnected "fc": input 1 is absent (-1) but required`)},
		{"two outputs", floatCNN, func(m *Model) {
			m.Tensors = append(m.Tensors, Tensor{Name: "extra", DType: Float32, Shape: []int32{1}})
			o := on(m, "softmax")
			o.Outputs = append(o.Outputs, int32(len(m.Tensors)-1))
		}, ErrInvalid,
			frags(`Softmax "softmax": 2 outputs, want 1`)},
		{"options type", floatCNN, func(m *Model) { on(m, "conv").Options = &Pool2DOptions{} }, ErrInvalid, frags(`Conv2D "conv": options are Pool2DOptions, want Conv2DOptions`)},
		{"options missing", floatCNN, func(m *Model) { on(m, "conv").Options = nil }, ErrInvalid, frags(`Conv2D "conv": options missing, want Conv2DOptions`)},
		{"options typed nil", floatCNN, func(m *Model) { on(m, "conv").Options = (*Conv2DOptions)(nil) }, ErrInvalid, frags(`Conv2D "conv": options missing`)},
		{"options on relu", floatMisc, func(m *Model) { on(m, "ReLU").Options = &BinaryOptions{} }, ErrInvalid, frags(`ReLU "ReLU": has BinaryOptions, but ReLU takes no options`)},
		{"unknown activation", floatCNN, func(m *Model) { on(m, "fc").Options = &FullyConnectedOptions{Activation: 7} }, ErrUnsupported, frags(`FullyConnected "fc": unknown fused activation 7`)},

		// Conv2D / DepthwiseConv2D.
		{"conv stride", floatCNN, func(m *Model) { on(m, "conv").Options.(*Conv2DOptions).StrideW = 0 }, ErrInvalid, frags(`Conv2D "conv": strides 2×0, want ≥ 1`)},
		{"conv dilation", floatCNN, func(m *Model) { on(m, "conv").Options.(*Conv2DOptions).DilationH = -1 }, ErrInvalid, frags(`dilations -1×1, want ≥ 1`)},
		{"conv pad", floatCNN, func(m *Model) { on(m, "conv").Options.(*Conv2DOptions).PadLeft = -1 }, ErrInvalid, frags(`pads (top 1, bottom 1, left -1, right 0), want ≥ 0`)},
		{"conv groups negative", floatCNN, func(m *Model) { on(m, "conv").Options.(*Conv2DOptions).Groups = -1 }, ErrInvalid, frags(`Conv2D "conv": -1 groups, want ≥ 1 (0: one group)`)},
		{"conv groups version 1", floatCNN, func(m *Model) { on(m, "conv").Options.(*Conv2DOptions).Groups = 3 }, ErrInvalid, frags(`3 groups need Conv2D version 2, op is version 1`)},
		{"conv groups divide", floatCNN, func(m *Model) {
			on(m, "conv").Options.(*Conv2DOptions).Groups = 3
			on(m, "conv").Version = 2
		}, ErrInvalid, frags(`Conv2D "conv": 3 groups do not divide 3 input and 4 output channels`)},
		{"depthwise groups", floatCNN, func(m *Model) { on(m, "dw").Options.(*DepthwiseConv2DOptions).Groups = 2 }, ErrInvalid, frags(`2 groups on a depthwise convolution`)},
		{"conv kernel too big", floatCNN, func(m *Model) { on(m, "conv").Options.(*Conv2DOptions).DilationH = 5 }, ErrInvalid, frags(`Conv2D "conv": 3×3 kernel (dilation 5×1) is larger than the padded 8×8 input`)},
		{"conv cin", floatCNN, func(m *Model) { reshape(m, "conv/w", 4, 3, 3, 2) }, ErrInvalid,
			func(m *Model) []string {
				return []string{opDesc(m, "conv") + ": weight " + tDesc(m, "conv/w") + " has shape [4 3 3 2], want [4 3 3 3]"}
			}},
		{"conv bias", floatCNN, func(m *Model) { reshape(m, "conv/b", 5) }, ErrInvalid, frags(`bias tensor`, `"conv/b" has shape [5], want [4]`)},
		{"conv output", floatCNN, func(m *Model) { reshape(m, "conv", 1, 4, 3, 4); reshape(m, "dw", 1, 2, 3, 8) }, ErrInvalid,
			frags(`Conv2D "conv": output tensor 1 "conv" has shape [1 4 3 4], want [1 4 4 4]`)},
		{"conv rank", floatCNN, func(m *Model) { reshape(m, "image", 8, 8, 3) }, ErrInvalid, frags(`Conv2D "conv": input tensor 0 "image" has rank 3 (shape [8 8 3]), want 4`)},
		{"conv weight not const", floatCNN, func(m *Model) { on(m, "conv").Inputs[1] = 0 }, ErrInvalid, frags(`weight tensor 0 "image" must be a constant`)},
		{"conv float bias int32", floatCNN, func(m *Model) { b := tn(m, "conv/b"); b.DType = Int32 }, ErrInvalid, frags(`bias tensor`, `"conv/b" is int32, want float32`)},
		{"conv output int8 on float path", floatCNN, func(m *Model) { c := tn(m, "softmax"); c.DType = Int8; c.Quant = PerTensor(1.0/256, -128) }, ErrInvalid, frags(`output tensor`, `"softmax" is int8, want float32`)},
		{"dw multiplier", floatCNN, func(m *Model) { on(m, "dw").Options.(*DepthwiseConv2DOptions).DepthMultiplier = 0 }, ErrInvalid, frags(`DepthwiseConv2D "dw": depth multiplier 0, want ≥ 1`)},
		{"dw weight", floatCNN, func(m *Model) { on(m, "dw").Options.(*DepthwiseConv2DOptions).DepthMultiplier = 3 }, ErrInvalid, frags(`"dw/w" has shape [1 2 3 8], want [1 2 3 12]`)},
		{"dw weight lead", floatCNN, func(m *Model) { reshape(m, "dw/w", 2, 2, 3, 8) }, ErrInvalid, frags(`"dw/w" has shape [2 2 3 8], want [1 2 3 8]`)},

		// Quantized weighted ops.
		{"weight -128", int8CNN, func(m *Model) { tn(m, "fc/w").Data[5] = 0x80 }, ErrInvalid,
			func(m *Model) []string {
				return []string{opDesc(m, "fc") + ": weight " + tDesc(m, "fc/w") + " holds -128 at element 5, want values in [-127, 127]"}
			}},
		{"weight zp", int8CNN, func(m *Model) { tn(m, "conv/w").Quant.ZeroPoint[1] = 3 }, ErrInvalid, frags(`"conv/w" has zero point 3 in channel 1, want 0 like channel 0`)},
		{"weight zp differs", int8CNN, func(m *Model) { tn(m, "conv/w").Quant.ZeroPoint = []int32{4, 4, 4, 5} }, ErrInvalid, frags(`"conv/w" has zero point 5 in channel 3, want 4 like channel 0`)},
		// Legacy uint8 TFLite weights: one zero point shared by every
		// channel, any int8 value (the kernels subtract the zero point).
		{"weight shared zp", int8CNN, func(m *Model) {
			w := tn(m, "fc/w")
			w.Quant.ZeroPoint = []int32{-3, -3, -3}
			w.Data[5] = 0x80
		}, nil, nil},
		{"weight per-tensor", int8CNN, func(m *Model) { tn(m, "conv/w").Quant = PerTensor(0.01, 0) }, ErrInvalid, frags(`"conv/w" has scale 0.01 zero point 0, want 4 per-channel scales along axis 0`)},
		{"dw weight axis", int8CNN, func(m *Model) { w := tn(m, "dw/w"); w.Quant = PerAxis(w.Quant.Scale[:3], 1) }, ErrInvalid, frags(`"dw/w" has 3 scales along axis 1, want 4 per-channel scales along axis 3`)},
		{"weight dtype", int8CNN, func(m *Model) { w := tn(m, "fc/w"); w.DType = UInt8 }, ErrInvalid, frags(`weight tensor`, `"fc/w" is uint8, want int8`)},
		{"weight unquantized", int8CNN, func(m *Model) { tn(m, "fc/w").Quant = nil }, ErrInvalid, frags(`"fc/w" is int8 without quantization`)},
		{"bias scale", int8CNN, func(m *Model) { tn(m, "conv/b").Quant.Scale[2] *= 1.01 }, ErrInvalid, frags(`bias tensor`, `"conv/b" has scale`, `in channel 2, want input scale × weight scale =`)},
		{"bias scale within tolerance", int8CNN, func(m *Model) { tn(m, "conv/b").Quant.Scale[2] *= 1.0005; on(m, "conv").Name = "" }, nil, nil},
		{"bias dtype", int8CNN, func(m *Model) { b := tn(m, "fc/b"); b.DType = Float32; b.Quant = nil; b.Data = make([]byte, 12) }, ErrInvalid, frags(`"fc/b" is float32, want int32`)},
		{"bias zp", int8CNN, func(m *Model) { tn(m, "fc/b").Quant.ZeroPoint[0] = 1 }, ErrInvalid, frags(`"fc/b" has zero point 1 in channel 0, want 0`)},
		{"bias unquantized", int8CNN, func(m *Model) { tn(m, "fc/b").Quant = nil }, ErrInvalid, frags(`"fc/b" is int32 without quantization`)},
		{"bias scale count", int8CNN, func(m *Model) { b := tn(m, "fc/b"); b.Quant = PerAxis([]float32{1, 2}, 0); reshape(m, "fc/b", 2) }, ErrInvalid, frags(`"fc/b" has 2 scales, want 1 or 3 like the weights`)},
		{"int8 x per-axis", int8CNN, func(m *Model) {
			m.Tensors = append(m.Tensors, Tensor{Name: "px", DType: Int8, Shape: []int32{1, 4}, Quant: PerAxis([]float32{0.2, 0.2, 0.2, 0.2}, 1)})
			m.Inputs = append(m.Inputs, int32(len(m.Tensors)-1))
			on(m, "fc").Inputs[0] = int32(len(m.Tensors) - 1)
		}, ErrInvalid, frags(`FullyConnected "fc": input tensor`, `"px" is int8 without per-tensor quantization`)},
		{"int8 output unquantized", int8CNN, func(m *Model) { tn(m, "fc").Quant = nil }, ErrInvalid, frags(`output tensor`, `"fc" is int8 without per-tensor quantization`)},

		// FullyConnected.
		{"fc weight K", floatCNN, func(m *Model) { reshape(m, "fc/w", 4, 9) }, ErrInvalid,
			func(m *Model) []string {
				return []string{opDesc(m, "fc") + ": weight " + tDesc(m, "fc/w") + " has shape [4 9], want [4 8]"}
			}},
		{"fc output", floatCNN, func(m *Model) { reshape(m, "fc", 4); reshape(m, "softmax", 4) }, ErrInvalid, frags(`output tensor`, `"fc" has shape [4], want [1 4]`)},
		{"fc weight rank", floatCNN, func(m *Model) { reshape(m, "fc/w", 4, 8, 1) }, ErrInvalid, frags(`"fc/w" has rank 3 (shape [4 8 1]), want 2`)},

		// BatchMatMul.
		{"bmm inner", floatMisc, func(m *Model) { on(m, "bmm2").Options = &BatchMatMulOptions{} }, ErrInvalid, frags(`BatchMatMul "bmm2": input tensor`, `inner dimensions 5 and 2 differ`)},
		{"bmm batch", floatMisc, func(m *Model) { reshape(m, "bmm/b", 2, 3, 5) }, ErrInvalid, frags(`"bmm/b" has batch dimensions [2], want [4] like input tensor`)},
		{"bmm output", floatMisc, func(m *Model) { reshape(m, "bmm3", 4, 2, 5) }, ErrInvalid, frags(`BatchMatMul "bmm3": output tensor`, `has shape [4 2 5], want [4 2 2]`)},
		{"bmm rank", floatMisc, func(m *Model) { reshape(m, "bmm/b", 15) }, ErrInvalid, frags(`"bmm/b" has rank 1 (shape [15]), want at least 2`)},
		{"bmm int8 mixed", int8Misc, func(m *Model) {
			m.Tensors = append(m.Tensors, Tensor{Name: "f", DType: Float32, Shape: []int32{2, 3, 4}})
			m.Inputs = append(m.Inputs, int32(len(m.Tensors)-1))
			on(m, "bmm").Inputs[1] = int32(len(m.Tensors) - 1)
		}, ErrInvalid, frags(`BatchMatMul "bmm": input tensor`, `"f" is float32, want int8`)},

		// Pools.
		{"pool filter", floatCNN, func(m *Model) { on(m, "maxpool").Options.(*Pool2DOptions).FilterW = 0 }, ErrInvalid, frags(`MaxPool2D "maxpool": filter 2×0, want ≥ 1`)},
		{"pool stride", floatCNN, func(m *Model) { on(m, "maxpool").Options.(*Pool2DOptions).StrideH = 0 }, ErrInvalid, frags(`strides 0×2, want ≥ 1`)},
		{"pool pad negative", floatCNN, func(m *Model) { on(m, "maxpool").Options.(*Pool2DOptions).PadTop = -1 }, ErrInvalid, frags(`pads (top -1, bottom 1, left 0, right 0), want ≥ 0`)},
		{"pool pad ≥ filter", floatCNN, func(m *Model) { on(m, "avgpool").Options.(*Pool2DOptions).PadLeft = 3 }, ErrInvalid, frags(`AveragePool2D "avgpool": pads (top 0, bottom 0, left 3, right 1) must be smaller than the 1×3 filter`)},
		{"pool output", floatCNN, func(m *Model) { on(m, "maxpool").Options.(*Pool2DOptions).StrideW = 1 }, ErrInvalid, frags(`"maxpool" has shape [1 1 2 8], want [1 1 3 8]`)},
		{"pool too big", floatCNN, func(m *Model) { on(m, "avgpool").Options.(*Pool2DOptions).FilterH = 5 }, ErrInvalid, frags(`5×3 filter is larger than the padded 1×2 input`)},
		{"pool int8 quant", int8CNN, func(m *Model) { tn(m, "pool").Quant.Scale[0] = 0.3 }, ErrInvalid, frags(`AveragePool2D "pool": output tensor`, `has quantization scale 0.3 zero point 0, want the input's scale 0.2 zero point 0`)},
		{"pool int8 zp", int8CNN, func(m *Model) { tn(m, "maxpool").Quant.ZeroPoint[0] = 1 }, ErrInvalid, frags(`MaxPool2D "maxpool": output tensor`, `has quantization`)},

		// Binary.
		{"no broadcast", floatMisc, func(m *Model) { reshape(m, "y", 2, 1) }, ErrInvalid, frags(`Sub "sub": input tensor 2 "ln" with shape [2 3 4] and input tensor 1 "y" with shape [2 1] do not broadcast`)},
		{"binary output", floatMisc, func(m *Model) { reshape(m, "c", 2, 1, 1, 4) }, ErrInvalid, frags(`SquaredDifference "sqdiff": output tensor`, `has shape [2 3 4], want [2 2 3 4]`)},
		{"binary mixed", int8Misc, func(m *Model) { on(m, "mul").Inputs[1] = ti(m, "ln/g") }, ErrInvalid, frags(`Mul "mul": input tensor`, `"ln/g" is float32, want int8`)},
		{"binary int32", floatMisc, func(m *Model) { o := on(m, "mul"); o.Inputs[0] = ti(m, "idx") }, ErrInvalid, frags(`Mul "mul": input tensor`, `"sub" is float32, want int32`)},
		{"squared difference int32", decoderModel, func(m *Model) { on(m, "back").Code = OpSquaredDifference }, ErrInvalid,
			frags(`SquaredDifference "back": input tensor`, `"row" is int32, want float32 or int8`)},
		{"int32 quantized", decoderModel, func(m *Model) { tn(m, "back").Quant = PerTensor(1, 0) }, ErrInvalid, frags(`Mul "back": output tensor`, `"back" is quantized, want plain int32`)},
		{"div int8", decoderModel, func(m *Model) { o := on(m, "div"); o.Inputs[0], o.Inputs[1] = ti(m, "heat"), ti(m, "heat") }, ErrInvalid,
			frags(`Div "div": input tensor`, `"heat" is int8, want float32 or int32`)},
		{"gather_nd rows too long", decoderModel, func(m *Model) { on(m, "picked").Inputs[1] = ti(m, "pairs") }, ErrInvalid,
			frags(`GatherND "picked": indices tensor`, `"pairs" has shape [2 4]: index rows of 4, want 1 to 3`)},
		{"gather_nd float indices", decoderModel, func(m *Model) { on(m, "picked").Inputs[1] = ti(m, "den") }, ErrInvalid,
			frags(`GatherND "picked": indices tensor`, `"den" is float32, want int32`)},
		{"gather_nd shape", decoderModel, func(m *Model) { tn(m, "picked").Shape = []int32{4, 4} }, ErrInvalid,
			frags(`GatherND "picked": output tensor`, `has shape [4 4], want [1 4 4]`)},
		{"gather_nd quant", decoderModel, func(m *Model) { tn(m, "picked").Quant = PerTensor(0.5, 0) }, ErrInvalid,
			frags(`GatherND "picked"`, `want the input's`)},
		{"cast int8", decoderModel, func(m *Model) { on(m, "rowf").Inputs[0] = ti(m, "heat") }, ErrInvalid,
			frags(`Cast "rowf"`, `casts int8 to float32, want int32 → float32 or float32 → int32`)},
		{"cast shape", decoderModel, func(m *Model) { tn(m, "backint").Shape = []int32{4} }, ErrInvalid, frags(`Cast "backint": output tensor`, `want [1 4]`)},
		{"sqrt int32", decoderModel, func(m *Model) { on(m, "sqrt").Inputs[0] = ti(m, "row") }, ErrInvalid, frags(`Sqrt "sqrt": input tensor`, `"row" is int32, want float32 or int8`)},

		// LayerNorm.
		{"ln epsilon", floatMisc, func(m *Model) { on(m, "ln").Options = &LayerNormOptions{} }, ErrInvalid, frags(`LayerNorm "ln": epsilon 0, want finite and positive`)},
		{"ln epsilon nan", floatMisc, func(m *Model) { on(m, "ln").Options = &LayerNormOptions{Epsilon: float32(math.NaN())} }, ErrInvalid, frags(`epsilon NaN`)},
		{"ln gamma shape", floatMisc, func(m *Model) { reshape(m, "ln/g", 3) }, ErrInvalid, frags(`LayerNorm "ln": gamma tensor`, `"ln/g" has shape [3], want [4]`)},
		{"ln beta not const", floatMisc, func(m *Model) { on(m, "ln").Inputs[2] = ti(m, "x") }, ErrInvalid, frags(`beta tensor 0 "x" must be a constant`)},
		{"ln gamma int8", int8Misc, func(m *Model) { on(m, "ln").Inputs[1] = ti(m, "row") }, ErrInvalid, frags(`gamma tensor`, `"row" is int8, want float32`)},
		{"ln output", floatMisc, func(m *Model) { reshape(m, "ln", 2, 3, 4, 1); reshape(m, "sub", 2, 3, 4, 1) }, ErrInvalid, frags(`LayerNorm "ln": output tensor`, `has shape [2 3 4 1], want [2 3 4]`)},

		// Softmax.
		{"softmax beta", floatCNN, func(m *Model) { on(m, "softmax").Options = &SoftmaxOptions{Beta: float32(math.Inf(1))} }, ErrInvalid, frags(`Softmax "softmax": beta +Inf, want finite and positive`)},
		{"softmax int8 out", int8CNN, func(m *Model) { tn(m, "softmax").Quant.ZeroPoint[0] = 0 }, ErrInvalid, frags(`Softmax "softmax": output tensor`, `has scale 0.00390625 zero point 0, want scale 1/256 zero point -128`)},
		{"softmax shape", floatCNN, func(m *Model) { reshape(m, "softmax", 4) }, ErrInvalid, frags(`"softmax" has shape [4], want [1 4]`)},

		// Mean.
		{"mean no axes", floatCNN, func(m *Model) { on(m, "mean").Options = &MeanOptions{} }, ErrInvalid, frags(`Mean "mean": no axes to reduce`)},
		{"mean axis range", floatCNN, func(m *Model) { on(m, "mean").Options = &MeanOptions{Axes: []int32{1, 4}} }, ErrInvalid, frags(`axis 4 out of range for input tensor`)},
		{"mean not contiguous", floatCNN, func(m *Model) { on(m, "mean").Options = &MeanOptions{Axes: []int32{0, 2}} }, ErrInvalid, frags(`axes [0 2] are not contiguous and increasing`)},
		{"mean decreasing", floatCNN, func(m *Model) { on(m, "mean").Options = &MeanOptions{Axes: []int32{2, 1}} }, ErrInvalid, frags(`axes [2 1] are not contiguous`)},
		{"mean keepdims", floatCNN, func(m *Model) { on(m, "mean").Options.(*MeanOptions).KeepDims = true }, ErrInvalid, frags(`Mean "mean": output tensor`, `has shape [1 8], want [1 1 1 8]`)},

		// Unary.
		{"unary shape", floatMisc, func(m *Model) { reshape(m, "Tanh", 2, 12) }, ErrInvalid, frags(`Tanh "Tanh": output tensor`, `has shape [2 12], want [2 3 4]`)},
		{"unary dtype", int8Misc, func(m *Model) { g := tn(m, "gelu"); g.DType = Int16 }, ErrInvalid, frags(`GELU "gelu": output tensor`, `"gelu" is int16, want int8`)},
		{"gelu options", floatMisc, func(m *Model) { on(m, "GELU").Options = &SoftmaxOptions{Beta: 1} }, ErrInvalid, frags(`options are SoftmaxOptions, want GELUOptions`)},

		// Reshape.
		{"reshape count", int8CNN, func(m *Model) { reshape(m, "flat", 1, 5) }, ErrInvalid, frags(`Reshape "flat": output tensor`, `"flat" has shape [1 5] (5 elements), want 4 elements`)},
		{"reshape quant", int8Misc, func(m *Model) { tn(m, "reshape").Quant.Scale[0] = 0.25 }, ErrInvalid, frags(`Reshape "reshape": output tensor`, `has quantization scale 0.25 zero point 1, want the input's scale 0.2 zero point 1`)},
		{"reshape dtype", floatMisc, func(m *Model) {
			on(m, "transpose").Code = OpReshape
			on(m, "transpose").Options = nil
			tn(m, "transpose").DType = Int32
		}, ErrInvalid, frags(`"transpose" is int32, want float32 like its input`)},

		// Transpose.
		{"perm dup", floatMisc, func(m *Model) { on(m, "transpose").Options = &TransposeOptions{Perm: []int32{2, 0, 0}} }, ErrInvalid, frags(`Transpose "transpose": perm [2 0 0] is not a permutation of 0..2`)},
		{"perm range", floatMisc, func(m *Model) { on(m, "transpose").Options = &TransposeOptions{Perm: []int32{2, 0, 3}} }, ErrInvalid, frags(`perm [2 0 3] is not a permutation`)},
		{"perm length", floatMisc, func(m *Model) { on(m, "transpose").Options = &TransposeOptions{Perm: []int32{1, 0}} }, ErrInvalid, frags(`perm [1 0] has 2 entries for input tensor`, `of rank 3`)},
		{"transpose output", floatMisc, func(m *Model) { on(m, "transpose").Options = &TransposeOptions{Perm: []int32{2, 1, 0}} }, ErrInvalid, frags(`"transpose" has shape [4 2 3], want [4 3 2]`)},

		// Concat.
		{"concat axis", floatMisc, func(m *Model) { on(m, "concat").Options = &ConcatOptions{Axis: 3} }, ErrInvalid, frags(`Concat "concat": axis 3 out of range for output tensor`)},
		{"concat sum", floatMisc, func(m *Model) { reshape(m, "concat", 4, 2, 8); reshape(m, "concat0", 8, 2, 8) }, ErrInvalid, frags(`Concat "concat": output tensor`, `has shape [4 2 8], want [4 2 7]`)},
		{"concat other dim", floatMisc, func(m *Model) { on(m, "concat").Options = &ConcatOptions{Axis: 1} }, ErrInvalid, frags(`has shape [4 2 5], want [4 2 7] except along axis 1`)},
		{"concat quant", int8Misc, func(m *Model) { tn(m, "row").Quant = PerTensor(0.2, 2) }, ErrInvalid, frags(`Concat "concat": input tensor`, `"row" has quantization scale 0.2 zero point 2, want the output's scale 0.2 zero point 1`)},
		{"concat dtype", floatMisc, func(m *Model) { on(m, "concat0").Inputs[1] = ti(m, "idx") }, ErrInvalid, frags(`"idx" is int32, want float32 like the output`)},
		{"concat rank", floatMisc, func(m *Model) { on(m, "concat").Inputs[1] = ti(m, "sub") }, ErrInvalid, frags(`"sub" has shape [2 3 4], want [4 2 7] except along axis 2`)},

		// Gather.
		{"gather range", floatMisc, func(m *Model) { tn(m, "idx").Data[4] = 7 }, ErrInvalid, frags(`Gather "gather": indices tensor`, `"idx" holds 7 at element 1, want [0, 7)`)},
		{"gather negative", floatMisc, func(m *Model) { tn(m, "idx0").Data[3] = 0xff }, ErrInvalid, frags(`holds -16777209 at element 0, want [0, 8)`)},
		{"gather not const", floatMisc, func(m *Model) { on(m, "gather").Inputs[1] = ti(m, "x") }, ErrInvalid, frags(`indices tensor 0 "x" is float32, want int32`)},
		{"gather dtype", int8Misc, func(m *Model) { on(m, "gather").Inputs[1] = ti(m, "row") }, ErrInvalid, frags(`"row" is int8, want int32`)},
		{"gather axis", floatMisc, func(m *Model) { on(m, "gather").Options = &GatherOptions{Axis: -1} }, ErrInvalid, frags(`Gather "gather": axis -1 out of range`)},
		{"gather output", floatMisc, func(m *Model) { on(m, "gather").Options = &GatherOptions{Axis: 1} }, ErrInvalid, frags(`"idx" holds 6 at element 0, want [0, 2)`)},
		{"gather shape", floatMisc, func(m *Model) { reshape(m, "gather0", 4, 2, 3); reshape(m, "slice", 1, 2, 1) }, ErrInvalid, frags(`Gather "gather0": output tensor`, `has shape [4 2 3], want [2 2 2 3]`)},
		{"gather quantized indices", floatMisc, func(m *Model) { tn(m, "idx").Quant = PerTensor(1, 0) }, ErrInvalid, frags(`"idx" is quantized, want plain int32`)},

		// Slice.
		{"slice begin", floatMisc, func(m *Model) { on(m, "slice").Options.(*SliceOptions).Begin[0] = 2 }, ErrInvalid, frags(`Slice "slice": begin 2 size 1 along axis 0 out of range for input tensor`)},
		{"slice size", floatMisc, func(m *Model) { on(m, "slice").Options.(*SliceOptions).Size[3] = 3 }, ErrInvalid, frags(`begin 1 size 3 along axis 3 out of range`)},
		{"slice size 0", floatMisc, func(m *Model) { on(m, "slice").Options.(*SliceOptions).Size[3] = 0 }, ErrInvalid, frags(`begin 1 size 0 along axis 3 out of range`)},
		{"slice length", floatMisc, func(m *Model) { on(m, "slice").Options = &SliceOptions{Begin: []int32{0}, Size: []int32{1}} }, ErrInvalid, frags(`begin [0] and size [1], want 4 entries each`)},
		{"slice output", floatMisc, func(m *Model) { on(m, "slice").Options.(*SliceOptions).Size[1] = 1 }, ErrInvalid, frags(`Slice "slice": output tensor`, `has shape [1 2 1 2], want [1 1 1 2]`)},

		// Pad.
		{"pad negative", floatMisc, func(m *Model) { tn(m, "paddings").Data[11] = 0xff }, ErrInvalid, frags(`Pad "pad": paddings tensor`, `holds -16777215 for axis 1, want ≥ 0`)},
		{"pad shape", floatMisc, func(m *Model) { reshape(m, "paddings", 2, 4) }, ErrInvalid, frags(`"paddings" has shape [2 4], want [4 2]`)},
		{"pad output", floatMisc, func(m *Model) { tn(m, "paddings").Data[4] = 2 }, ErrInvalid, frags(`Pad "pad": output tensor`, `has shape [1 5 1 3], want [3 5 1 3]`)},
		{"pad not const", floatMisc, func(m *Model) { on(m, "pad").Inputs[1] = ti(m, "y") }, ErrInvalid, frags(`paddings tensor 1 "y" is float32, want int32`)},
		{"pad quant", int8Misc, func(m *Model) { tn(m, "pad").Quant.ZeroPoint[0] = 0 }, ErrInvalid, frags(`Pad "pad": output tensor`, `has quantization`)},

		// Quantize / Dequantize.
		{"quantize to float", int8CNN, func(m *Model) { q := tn(m, "image/q"); q.DType = Float32; q.Quant = nil }, ErrInvalid, frags(`Quantize "quantize": output tensor`, `"image/q" is float32, want int8 or uint8`)},
		{"quantize per-axis", int8CNN, func(m *Model) { tn(m, "requant").Quant = PerAxis([]float32{1, 1, 1}, 1) }, ErrInvalid, frags(`"requant" is uint8 without per-tensor quantization`)},
		{"quantize from int32", int8CNN, func(m *Model) { on(m, "requant").Inputs[0] = ti(m, "conv/b") }, ErrInvalid, frags(`Quantize "requant": input tensor`, `"conv/b" is int32, want float32, or int8/uint8 with per-tensor quantization`)},
		{"quantize shape", int8CNN, func(m *Model) { reshape(m, "requant", 3, 1); reshape(m, "probs", 3, 1) }, ErrInvalid, frags(`"requant" has shape [3 1], want [1 3]`)},
		{"dequantize float in", int8CNN, func(m *Model) { on(m, "dequantize").Inputs[0] = 0 }, ErrInvalid, frags(`Dequantize "dequantize": input tensor 0 "image" is float32, want int8 or uint8`)},
		{"dequantize int8 out", int8CNN, func(m *Model) { p := tn(m, "probs"); p.DType = Int8; p.Quant = PerTensor(1, 0) }, ErrInvalid, frags(`"probs" is int8, want float32`)},
		{"dequantize options", int8CNN, func(m *Model) { on(m, "dequantize").Options = &GatherOptions{} }, ErrInvalid, frags(`has GatherOptions, but Dequantize takes no options`)},

		// Metadata.
		{"rounding", floatCNN, func(m *Model) { m.Rounding = 5 }, ErrUnsupported, frags(`unknown rounding Rounding(5)`)},
		{"preprocess scale", floatCNN, func(m *Model) { m.Preprocess.Scale = 0 }, ErrInvalid, frags(`preprocess: scale 0 is not finite and positive`)},
		{"preprocess mean", floatCNN, func(m *Model) { m.Preprocess.Mean = []float32{1, 2} }, ErrInvalid, frags(`preprocess: 2 means for 3 BGR channels, want 1 or 3`)},
		{"preprocess gray std", int8CNN, func(m *Model) { m.Preprocess.Std = []float32{1, 1, 1} }, ErrInvalid, frags(`preprocess: 3 standard deviations for 1 gray channels, want 1 or 1`)},
		{"preprocess std", floatCNN, func(m *Model) { m.Preprocess.Std[1] = 0 }, ErrInvalid, frags(`preprocess: standard deviation 1 is 0, want finite and positive`)},
		{"preprocess mean nan", floatCNN, func(m *Model) { m.Preprocess.Mean[2] = float32(math.NaN()) }, ErrInvalid, frags(`preprocess: mean 2 is NaN`)},
		{"preprocess size", floatCNN, func(m *Model) { m.Preprocess.Height = -1 }, ErrInvalid, frags(`preprocess: size 8×-1`)},
		{"preprocess layout", floatCNN, func(m *Model) { m.Preprocess.Layout = 4 }, ErrUnsupported, frags(`preprocess: unknown layout 4`)},
		{"preprocess color", floatCNN, func(m *Model) { m.Preprocess.Color = 3 }, ErrUnsupported, frags(`preprocess: unknown color order 3`)},
		{"plan length", floatCNN, func(m *Model) { m.MemoryPlan.Offsets = m.MemoryPlan.Offsets[1:] }, ErrInvalid, frags(`memory plan: 12 offsets for 13 tensors`)},
		{"plan arena", floatCNN, func(m *Model) { m.MemoryPlan.ArenaBytes = -1 }, ErrInvalid, frags(`memory plan: arena of -1 bytes`)},
		{"plan align", floatCNN, func(m *Model) { m.MemoryPlan.Offsets[1] += 16 }, ErrInvalid, frags(`memory plan: tensor 1 "conv" at offset`, `want a multiple of 64`)},
		{"plan negative", floatCNN, func(m *Model) { m.MemoryPlan.Offsets[1] = -64 }, ErrInvalid, frags(`memory plan: tensor 1 "conv" at offset -64`)},
		{"plan const", floatCNN, func(m *Model) { m.MemoryPlan.Offsets[2] = 0 }, ErrInvalid, frags(`memory plan: constant tensor 2 "conv/w" placed at offset 0, want -1`)},
		{"plan past arena", floatCNN, func(m *Model) { m.MemoryPlan.ArenaBytes -= 64 }, ErrInvalid, frags(`runs past the`, `-byte arena`)},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			m := c.model()
			c.mutate(m)
			err := m.Validate()
			if c.kind == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			expectErr(t, err, c.kind, c.want(m)...)
			if err != nil && err.Error()[:8] != "format: " {
				t.Errorf("error %q does not start with \"format: \"", err)
			}
		})
	}
}

// TestValidateReadPath: the semantic rules also run on Read, on a file
// written without validation.
func TestValidateReadPath(t *testing.T) {
	m := floatCNN()
	reshape(m, "fc/w", 4, 9)
	data, err := marshal(m, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Read(data)
	expectErr(t, err, ErrInvalid, `FullyConnected "fc": weight tensor`, `"fc/w" has shape [4 9], want [4 8]`)

	m = floatCNN()
	m.Ops[0].Version = 3
	data, _ = marshal(m, false)
	_, err = Read(data)
	expectErr(t, err, ErrUnsupported, `op 0 Conv2D "conv": version 3 is newer than the 2 this build supports`)
}

func TestValidateNil(t *testing.T) {
	var m *Model
	expectErr(t, m.Validate(), ErrInvalid, "nil model")
}

// TestValidateSharedConstantsLinear: thousands of ops sharing one large
// weight, bias and index tensor must not make Validate rescan them per op.
func TestValidateSharedConstantsLinear(t *testing.T) {
	const k, ops = 1024, 3000
	b := newTB("shared")
	x := b.Input("x", Int8, []int32{1, k}, PerTensor(0.1, 0))
	w, ws := b.qweights("w", 0, k, k)
	bias := b.qbias("b", 0.1, ws)
	idxVals := make([]int32, 1<<18)
	for i := range idxVals {
		idxVals[i] = int32(i % k)
	}
	idx := b.ConstInt32("idx", []int32{int32(len(idxVals))}, idxVals, nil)
	for i := 0; i < ops; i++ {
		y := b.i8(fmt.Sprint("y", i), 0.2, 0, 1, k)
		b.Op(OpFullyConnected, fmt.Sprint("fc", i), nil, []int32{x, w, bias}, y)
		g := b.i8(fmt.Sprint("g", i), 0.1, 0, 1, int32(len(idxVals)))
		b.Op(OpGather, fmt.Sprint("gather", i), &GatherOptions{Axis: 1}, []int32{x, idx}, g)
		b.Output(y, g)
	}
	m := b.Model()
	start := time.Now()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	// Rescanning per op would read 3000 × (1 MiB of weights + 1 MiB of
	// indices): seconds. Once per tensor it is milliseconds.
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Validate took %v for %d ops sharing constants", el, 2*ops)
	}
}
