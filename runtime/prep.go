package runtime

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// prepareFunc turns one op into a kernel bound to the interpreter's tensors
// and reports its MACs per Invoke.
type prepareFunc func(c *prep, op *format.Op) (kernel, int64, error)

// registry maps every supported opcode to its preparation. Adding an op
// means adding it to the schema, the verifier, kernels/ref and here.
var registry = map[format.OpCode]prepareFunc{}

func register(f prepareFunc, codes ...format.OpCode) {
	for _, c := range codes {
		registry[c] = f
	}
}

// Supported returns the opcodes this runtime can run.
func Supported() []format.OpCode {
	var out []format.OpCode
	for _, c := range format.OpCodes() {
		if _, ok := registry[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// prep is the context of preparing ops.
type prep struct {
	it *Interpreter
}

func (c *prep) t(i int32) *Tensor               { return &c.it.tensors[i] }
func (c *prep) mt(i int32) *format.Tensor       { return &c.it.model.Tensors[i] }
func (c *prep) rounding() quant.Rounding        { return c.it.model.Rounding.Multiplier() }
func (c *prep) xnnpack() bool                   { return c.it.model.Rounding.XNNPACK() }
func (c *prep) in(op *format.Op, i int) *Tensor { return c.t(op.Inputs[i]) }
func (c *prep) out(op *format.Op) *Tensor       { return c.t(op.Outputs[0]) }

// optIn returns input i or nil when it is absent.
func (c *prep) optIn(op *format.Op, i int) *Tensor {
	if i >= len(op.Inputs) || op.Inputs[i] < 0 {
		return nil
	}
	return c.t(op.Inputs[i])
}

// weightScales returns the per-channel (or single) scales of a weight tensor.
func (c *prep) weightScales(op *format.Op, i int) []float32 {
	return c.mt(op.Inputs[i]).Quant.Scale
}

// weightZeroPoint returns the zero point of a quantized weight tensor: 0
// for edgeinfer's symmetric weights, the shared per-tensor zero point of
// legacy asymmetric (uint8-born) weights, which the verifier requires to
// be equal in every channel.
func (c *prep) weightZeroPoint(op *format.Op, i int) int32 {
	if q := c.mt(op.Inputs[i]).Quant; q != nil && len(q.ZeroPoint) > 0 {
		return q.ZeroPoint[0]
	}
	return 0
}

// channelMultipliers returns s_in·s_w[c]/s_out for every output channel.
func channelMultipliers(sIn float32, sW []float32, sOut float32) ([]quant.Multiplier, error) {
	ms := make([]quant.Multiplier, len(sW))
	for c, s := range sW {
		m, err := quant.NewMultiplier(float64(sIn) * float64(s) / float64(sOut))
		if err != nil {
			return nil, fmt.Errorf("output channel %d: %w", c, err)
		}
		ms[c] = m
	}
	return ms, nil
}

// int8Range returns the clamp that a fused activation means for an int8
// output with parameters p.
func int8Range(act format.Activation, p quant.Params) (lo, hi int32) {
	lo, hi = quant.Int8Min, quant.Int8Max
	switch act {
	case format.ActReLU:
		lo = quant.Clamp(p.ZeroPoint, lo, hi)
	case format.ActReLU6:
		lo = quant.Clamp(p.ZeroPoint, lo, hi)
		hi = quant.Clamp(p.Quantize(6, quant.Int8Min, quant.Int8Max), lo, hi)
	}
	return lo, hi
}

// floatRange returns the clamp of a fused activation in float.
func floatRange(act format.Activation) (lo, hi float32) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	switch act {
	case format.ActReLU:
		lo = 0
	case format.ActReLU6:
		lo, hi = 0, 6
	}
	return lo, hi
}

// outputStage builds the requantization of an int8 op.
func (c *prep) outputStage(mult []quant.Multiplier, out *Tensor, act format.Activation) kernels.OutputStage {
	lo, hi := int8Range(act, out.Params)
	return kernels.OutputStage{Mult: mult, OutZP: out.Params.ZeroPoint, ActMin: lo, ActMax: hi, Rounding: c.rounding()}
}

// xnnpackStage gives a weighted op's output stage XNNPACK's float32
// requantization when the model records quant.RoundXNNPACK(Uint8): one
// scale per output channel, s_in·s_w[c]/s_out evaluated in float32 in
// that order, as XNNPACK computes it.
func (c *prep) xnnpackStage(s *kernels.OutputStage, sIn float32, sW []float32, sOut float32) {
	if !c.xnnpack() {
		return
	}
	s.Scale = make([]float32, len(sW))
	for i, w := range sW {
		s.Scale[i] = float32(float32(sIn*w) / sOut)
	}
}

// rightAligned copies shape into a MaxRank array aligned to the right,
// padding with 1.
func rightAligned(shape []int) [kernels.MaxRank]int {
	var a [kernels.MaxRank]int
	for i := range a {
		a[i] = 1
	}
	copy(a[kernels.MaxRank-len(shape):], shape)
	return a
}

func product(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

// errDType reports an unsupported dtype combination.
func errDType(t *Tensor, what string) error {
	return fmt.Errorf("%s tensor %q has dtype %v, which this op does not support", what, t.Name, t.DType)
}

// serial adapts a function to a kernel that runs as one piece.
type serial func()

func (f serial) runRows(int, int) { f() }
func (f serial) rows() int        { return 1 }
