package format

import "fmt"

// OpCode identifies an operator. Values are the schema's OpCode values and
// never change meaning; new ops take new values (see schema/EVOLUTION.md).
//
// Layout conventions shared by all ops: tensors are dense and row-major;
// images are NHWC; convolution weights are [Cout, KH, KW, Cin]; depthwise
// weights are [1, KH, KW, Cin·multiplier]; fully-connected weights are
// [N, K]. Quantized ops take int8 activations (per-tensor) and int8
// weights (per-channel symmetric along axis 0, or axis 3 for depthwise),
// with int32 biases; float ops take float32 everywhere.
type OpCode uint16

// Operators. Inputs are listed in order; "?" marks an optional input.
const (
	OpInvalid OpCode = 0
	// Conv2D: x [N,H,W,Cin], w [Cout,KH,KW,Cin/G], bias? [Cout] → [N,OH,OW,Cout].
	// OH = (H + PadTop + PadBottom − DilationH·(KH−1) − 1)/StrideH + 1.
	// With G = Groups > 1 (version 2), output channel co reads input
	// channels [g·Cin/G, (g+1)·Cin/G) where g = co/(Cout/G).
	OpConv2D OpCode = 1
	// DepthwiseConv2D: x [N,H,W,C], w [1,KH,KW,C·M], bias? [C·M] → [N,OH,OW,C·M];
	// output channel c·M+m reads input channel c.
	OpDepthwiseConv2D OpCode = 2
	// FullyConnected: x [..., K], w [N,K], bias? [N] → [..., N] (x's leading dims kept).
	OpFullyConnected OpCode = 3
	// BatchMatMul: a [B..., M, K], b [B..., K, N] → [B..., M, N]. AdjX/AdjY
	// transpose the last two dims of a/b. b may have rank 2 and is then
	// shared by every batch.
	OpBatchMatMul OpCode = 4
	// AveragePool2D: x [N,H,W,C] → [N,OH,OW,C]; padding is excluded from the count.
	OpAveragePool2D OpCode = 5
	// MaxPool2D: x [N,H,W,C] → [N,OH,OW,C]; padding never wins.
	OpMaxPool2D OpCode = 6

	// Add, Sub, Mul, SquaredDifference: a, b → numpy-broadcast shape.
	// Add, Sub and Mul also take int32 (no quantization; wrapping
	// arithmetic, a fused ReLU/ReLU6 clamps to [0, ∞) or [0, 6]).
	OpAdd               OpCode = 10
	OpSub               OpCode = 11
	OpMul               OpCode = 12
	OpSquaredDifference OpCode = 13
	// FloorDiv: a, b (float32 or int32) → ⌊a/b⌋, broadcast. int32 divides
	// exactly and rounds toward −∞; a zero divisor gives 0.
	OpFloorDiv OpCode = 14
	// Div: a, b (float32 or int32) → a/b, broadcast; float32 is IEEE
	// division, int32 truncates toward zero and a zero divisor gives 0.
	OpDiv OpCode = 15

	// LayerNorm: x [..., D], gamma [D] float32, beta [D] float32 → [..., D],
	// normalized over the last axis.
	OpLayerNorm OpCode = 20
	// Softmax: x → same shape, over the last axis, of Beta·x.
	OpSoftmax OpCode = 21
	// Mean: x → reduced over Axes.
	OpMean OpCode = 22
	// ArgMax: x (float32 or int8) → int32 indices of the largest value
	// along Axis (the first of equal ones), that axis removed.
	OpArgMax OpCode = 23

	// Elementwise unary activations: x → same shape. int8 runs through a
	// 256-entry table built at load.
	OpGELU      OpCode = 30
	OpReLU      OpCode = 31
	OpReLU6     OpCode = 32
	OpLogistic  OpCode = 33
	OpTanh      OpCode = 34
	OpHardSwish OpCode = 35
	OpRsqrt     OpCode = 36
	// HardSigmoid: clamp(Alpha·x + Beta, 0, 1) (HardSigmoidOptions;
	// PyTorch's is Alpha 1/6, Beta 1/2).
	OpHardSigmoid OpCode = 37
	// Sqrt: √x (float32: IEEE, NaN below 0; int8: a table, 0 below 0).
	OpSqrt OpCode = 38

	// Reshape: x → the output tensor's shape (same element count).
	OpReshape OpCode = 40
	// Transpose: x → x permuted by Perm (out dim i = in dim Perm[i]).
	OpTranspose OpCode = 41
	// Concat: x1..xn along Axis.
	OpConcat OpCode = 42
	// Gather: x, indices (int32) → x.shape[:Axis] + indices.shape + x.shape[Axis+1:].
	OpGather OpCode = 43
	// Slice: x → x[Begin[i] : Begin[i]+Size[i]] per axis (Size −1: to the end).
	OpSlice OpCode = 44
	// Pad: x, paddings (int32 [rank,2]) → padded with the real value 0.
	OpPad OpCode = 45
	// ResizeBilinear: x [N,H,W,C] → [N,OH,OW,C] (the output's shape),
	// bilinear, with TFLite's AlignCorners and HalfPixelCenters rules.
	// int8 keeps the input's quantization.
	OpResizeBilinear OpCode = 46
	// GatherND: x, indices (int32 [..., K], K ≤ rank of x) →
	// indices.shape[:−1] + x.shape[K:]: each index row picks the slice
	// x[i0, …, iK−1, ...]. A row with an index outside its axis (negative
	// included) yields zero bytes, so data-dependent indices never read out
	// of bounds. int8 keeps the input's quantization.
	OpGatherND OpCode = 47

	// Quantize: float32 → int8/uint8, or int8/uint8 → int8/uint8 with new parameters.
	OpQuantize OpCode = 50
	// Dequantize: int8/uint8 → float32.
	OpDequantize OpCode = 51
	// Cast: int32 ↔ float32 value conversion, no quantization (TFLite's
	// CAST): float32 → int32 truncates toward zero and saturates, NaN
	// gives 0.
	OpCast OpCode = 52
)

var opNames = map[OpCode]string{
	OpConv2D: "Conv2D", OpDepthwiseConv2D: "DepthwiseConv2D", OpFullyConnected: "FullyConnected",
	OpBatchMatMul: "BatchMatMul", OpAveragePool2D: "AveragePool2D", OpMaxPool2D: "MaxPool2D",
	OpAdd: "Add", OpSub: "Sub", OpMul: "Mul", OpSquaredDifference: "SquaredDifference",
	OpFloorDiv: "FloorDiv", OpDiv: "Div", OpSqrt: "Sqrt", OpGatherND: "GatherND", OpCast: "Cast",
	OpLayerNorm: "LayerNorm", OpSoftmax: "Softmax", OpMean: "Mean", OpArgMax: "ArgMax",
	OpGELU: "GELU", OpReLU: "ReLU", OpReLU6: "ReLU6", OpLogistic: "Logistic", OpTanh: "Tanh",
	OpHardSwish: "HardSwish", OpRsqrt: "Rsqrt", OpHardSigmoid: "HardSigmoid",
	OpReshape: "Reshape", OpTranspose: "Transpose", OpConcat: "Concat", OpGather: "Gather",
	OpSlice: "Slice", OpPad: "Pad", OpResizeBilinear: "ResizeBilinear", OpQuantize: "Quantize", OpDequantize: "Dequantize",
}

func (c OpCode) String() string {
	if n, ok := opNames[c]; ok {
		return n
	}
	return fmt.Sprintf("op(%d)", uint16(c))
}

// Known reports whether c is an operator this version of the format defines.
func (c OpCode) Known() bool { _, ok := opNames[c]; return ok }

// OpCodes returns every defined operator in code order.
func OpCodes() []OpCode {
	var out []OpCode
	for c := OpCode(0); c < 256; c++ {
		if c.Known() {
			out = append(out, c)
		}
	}
	return out
}

// Activation is a clamp fused into an op's output.
type Activation uint8

// Fused activations.
const (
	ActNone  Activation = 0
	ActReLU  Activation = 1
	ActReLU6 Activation = 2
)

func (a Activation) String() string {
	switch a {
	case ActReLU:
		return "relu"
	case ActReLU6:
		return "relu6"
	}
	return "none"
}

// Options is implemented by the typed attribute structs below.
type Options interface{ isOptions() }

// Conv2DOptions are the attributes of Conv2D.
type Conv2DOptions struct {
	StrideH, StrideW     int32
	DilationH, DilationW int32
	PadTop, PadBottom    int32
	PadLeft, PadRight    int32
	Activation           Activation
	// Groups splits the channels into groups (Conv2D only; 0 or 1: one
	// group). Conv2D ops with more than one group are version 2.
	Groups int32
}

// DepthwiseConv2DOptions are the attributes of DepthwiseConv2D.
type DepthwiseConv2DOptions struct {
	Conv2DOptions
	DepthMultiplier int32
}

// FullyConnectedOptions are the attributes of FullyConnected.
type FullyConnectedOptions struct{ Activation Activation }

// BatchMatMulOptions are the attributes of BatchMatMul.
type BatchMatMulOptions struct{ AdjX, AdjY bool }

// Pool2DOptions are the attributes of AveragePool2D and MaxPool2D.
type Pool2DOptions struct {
	FilterH, FilterW  int32
	StrideH, StrideW  int32
	PadTop, PadBottom int32
	PadLeft, PadRight int32
	Activation        Activation
}

// BinaryOptions are the attributes of Add, Sub, Mul and SquaredDifference.
type BinaryOptions struct{ Activation Activation }

// LayerNormOptions are the attributes of LayerNorm.
type LayerNormOptions struct{ Epsilon float32 }

// SoftmaxOptions are the attributes of Softmax.
type SoftmaxOptions struct{ Beta float32 }

// MeanOptions are the attributes of Mean.
type MeanOptions struct {
	Axes     []int32
	KeepDims bool
}

// GELUOptions are the attributes of GELU.
type GELUOptions struct{ Approximate bool } // tanh approximation instead of erf

// HardSigmoidOptions are the attributes of HardSigmoid.
type HardSigmoidOptions struct{ Alpha, Beta float32 }

// ArgMaxOptions are the attributes of ArgMax.
type ArgMaxOptions struct{ Axis int32 }

// ResizeBilinearOptions are the attributes of ResizeBilinear: with
// AlignCorners the corner pixels of input and output coincide (scale
// (in−1)/(out−1)); with HalfPixelCenters sample centres sit at +0.5
// (TensorFlow 2's rule); neither: scale in/out from the top-left corner.
type ResizeBilinearOptions struct{ AlignCorners, HalfPixelCenters bool }

// TransposeOptions are the attributes of Transpose.
type TransposeOptions struct{ Perm []int32 }

// ConcatOptions are the attributes of Concat.
type ConcatOptions struct{ Axis int32 }

// GatherOptions are the attributes of Gather.
type GatherOptions struct{ Axis int32 }

// SliceOptions are the attributes of Slice.
type SliceOptions struct{ Begin, Size []int32 }

func (*Conv2DOptions) isOptions()          {}
func (*DepthwiseConv2DOptions) isOptions() {}
func (*FullyConnectedOptions) isOptions()  {}
func (*BatchMatMulOptions) isOptions()     {}
func (*Pool2DOptions) isOptions()          {}
func (*BinaryOptions) isOptions()          {}
func (*LayerNormOptions) isOptions()       {}
func (*SoftmaxOptions) isOptions()         {}
func (*MeanOptions) isOptions()            {}
func (*GELUOptions) isOptions()            {}
func (*HardSigmoidOptions) isOptions()     {}
func (*ArgMaxOptions) isOptions()          {}
func (*ResizeBilinearOptions) isOptions()  {}
func (*TransposeOptions) isOptions()       {}
func (*ConcatOptions) isOptions()          {}
func (*GatherOptions) isOptions()          {}
func (*SliceOptions) isOptions()           {}
