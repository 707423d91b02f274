// Package ptq turns a float32 model into an int8 model by post-training
// calibration: it runs the float graph on sample inputs through the
// runtime, records the range of every activation, and rewrites the same
// graph with quantized tensors following the int8 contract in package
// quant. The two models have the same ops in the same order (plus a
// requantization wherever a concatenation joins differently scaled inputs),
// so fidelity can always be measured op for op.
//
// Ranges come from Observe (min/max) or Calibrate, which can also clip
// them by percentile or by least quantization error over a histogram.
// QuantizeWith can keep chosen ops in float32 (bridged by Dequantize and
// Quantize) and reuse weights that are already int8; Sensitivity measures
// what quantizing each kind of op costs, so such choices rest on numbers.
package ptq

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/quant"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// Ranges holds the observed [min, max] of every tensor of a float model.
type Ranges struct {
	Min, Max []float32
	seen     []bool
	// Fixed gives tensors parameters to use as they are instead of
	// parameters chosen from an observed range (for example those of an
	// ONNX QDQ model's QuantizeLinear/DequantizeLinear pairs).
	Fixed map[int32]quant.Params
}

// FixedRanges returns Ranges for a model of n tensors whose activation
// parameters are all given (a QDQ model): tensors missing from fixed get
// the default range [−1, 1].
func FixedRanges(n int, fixed map[int32]quant.Params) *Ranges {
	return &Ranges{Min: make([]float32, n), Max: make([]float32, n), seen: make([]bool, n), Fixed: fixed}
}

// zeroSquareSum bounds the square sums whose reciprocal square root
// Observe leaves out of Rsqrt's range: 1/‖x‖ of a zero vector (F.normalize
// imports as x·Rsqrt(Σx² + 1e-24)) only ever multiplies that zero vector,
// so saturating it costs nothing, while its 1e12 would leave no int8
// scale for the reciprocals of real tokens (Swin v2's zero-padded window
// tokens).
const zeroSquareSum = 1e-20

// Observe runs fm on each sample (one []float32 per graph input) and
// records the range of every float activation. progress, if not nil, is
// called after each sample with the number done.
func Observe(fm *format.Model, samples [][][]float32, threads int, progress func(done int)) (*Ranges, error) {
	if len(samples) == 0 {
		return nil, errors.New("ptq: no calibration samples")
	}
	r := &Ranges{
		Min:  make([]float32, len(fm.Tensors)),
		Max:  make([]float32, len(fm.Tensors)),
		seen: make([]bool, len(fm.Tensors)),
	}
	var it *runtime.Interpreter
	record := func(t int32, skip []float32) {
		rt := it.Tensor(int(t))
		if rt.DType != format.Float32 {
			return
		}
		for i, v := range rt.Float32() {
			if skip != nil && skip[i] <= zeroSquareSum {
				continue
			}
			if !r.seen[t] {
				r.Min[t], r.Max[t], r.seen[t] = v, v, true
				continue
			}
			r.Min[t] = min(r.Min[t], v)
			r.Max[t] = max(r.Max[t], v)
		}
	}
	opts := runtime.Options{Threads: threads, AfterOp: func(op int) {
		var skip []float32
		if o := &fm.Ops[op]; o.Code == format.OpRsqrt && len(o.Inputs) == 1 {
			if in := it.Tensor(int(o.Inputs[0])); in.DType == format.Float32 && in.NumElements() == it.Tensor(int(o.Outputs[0])).NumElements() {
				skip = in.Float32()
			}
		}
		for _, t := range fm.Ops[op].Outputs {
			record(t, skip)
		}
	}}
	var err error
	it, err = runtime.New(fm, opts)
	if err != nil {
		return nil, fmt.Errorf("ptq: %w", err)
	}
	defer it.Close()
	for s, in := range samples {
		if len(in) != it.NumInputs() {
			return nil, fmt.Errorf("ptq: sample %d has %d inputs, model has %d", s, len(in), it.NumInputs())
		}
		for i, v := range in {
			dst := it.Input(i)
			if dst.DType != format.Float32 || len(v) != dst.NumElements() {
				return nil, fmt.Errorf("ptq: sample %d input %d: %d values for %v tensor %q of %d elements", s, i, len(v), dst.DType, dst.Name, dst.NumElements())
			}
			copy(dst.Float32(), v)
			record(fm.Inputs[i], nil)
		}
		if err := it.Invoke(); err != nil {
			return nil, fmt.Errorf("ptq: sample %d: %w", s, err)
		}
		if progress != nil {
			progress(s + 1)
		}
	}
	return r, nil
}

// params returns the int8 activation parameters for tensor t.
func (r *Ranges) params(t int32) quant.Params {
	if p, ok := r.Fixed[t]; ok {
		return p
	}
	if !r.seen[t] {
		return quant.ChooseAsymmetric(-1, 1)
	}
	return quant.ChooseAsymmetric(r.Min[t], r.Max[t])
}

// sameParamsOps keep their input's quantization: they only move values.
var sameParamsOps = map[format.OpCode]bool{
	format.OpReshape: true, format.OpTranspose: true, format.OpSlice: true,
	format.OpGather: true, format.OpPad: true, format.OpMaxPool2D: true,
	format.OpAveragePool2D: true, format.OpResizeBilinear: true,
}

// Quantize rewrites the float model fm as an int8 model using the observed
// ranges. Graph inputs and outputs become int8 tensors.
func Quantize(fm *format.Model, r *Ranges) (*format.Model, error) {
	return QuantizeWith(fm, r, QuantizeOptions{})
}

// FixedWeight is a weight that is already int8 (for example an ONNX
// initializer behind DequantizeLinear): Values laid out like the float
// tensor, symmetric per output channel (Scale[c] along axis 0) or per
// tensor (one Scale), zero points 0.
type FixedWeight struct {
	Values []int8
	Scale  []float32
}

// QuantizeOptions refine QuantizeWith.
type QuantizeOptions struct {
	// Float lists op indices of fm that stay float32: their int8 inputs
	// pass through Dequantize and their outputs through Quantize where an
	// int8 op reads them. Graph outputs produced by a float op stay float.
	Float map[int]bool
	// Weights maps weight tensors of fm (FullyConnected and Conv2D) to
	// integers to use as they are instead of quantizing the floats.
	Weights map[int32]*FixedWeight
}

// QuantizeWith is Quantize with options: float islands for sensitive ops
// and weights that are already int8.
func QuantizeWith(fm *format.Model, r *Ranges, opts QuantizeOptions) (*format.Model, error) {
	q := &quantizer{fm: fm, r: r, b: format.NewBuilder(fm.Name), params: map[int32]quant.Params{},
		newIdx: map[int32]int32{}, floatIdx: map[int32]int32{}, opts: opts}
	qm := q.b.Model()
	qm.Description = fm.Description
	qm.Labels = fm.Labels
	qm.Preprocess = fm.Preprocess
	qm.Task = fm.Task
	qm.Rounding = quant.RoundSingle
	for _, in := range fm.Inputs {
		p := r.params(in)
		q.params[in] = p
		t := fm.Tensors[in]
		q.newIdx[in] = q.b.Input(t.Name, format.Int8, t.Shape, format.PerTensor(p.Scale, p.ZeroPoint))
	}
	scoreOnly := scoreOps(fm)
	for i := range fm.Ops {
		var err error
		if opts.Float[i] || scoreOnly[i] {
			err = q.floatOp(i)
		} else {
			err = q.op(i)
		}
		if err != nil {
			op := &fm.Ops[i]
			return nil, fmt.Errorf("ptq: op %d %v %q: %w", i, op.Code, op.Name, err)
		}
		// A fixed parameter the op cannot honour (Softmax's output, or an
		// op that keeps its input's parameters) is refused, not ignored.
		for _, t := range fm.Ops[i].Outputs {
			want, fixed := r.Fixed[t]
			if got, ok := q.params[t]; fixed && ok && got != want {
				op := &fm.Ops[i]
				return nil, fmt.Errorf("ptq: op %d %v %q: output %q must have scale %g zero point %d, the model gives it %g and %d", i, op.Code, op.Name, fm.Tensors[t].Name, got.Scale, got.ZeroPoint, want.Scale, want.ZeroPoint)
			}
		}
	}
	for _, out := range fm.Outputs {
		if n, ok := q.newIdx[out]; ok {
			q.b.Output(n)
			continue
		}
		n, err := q.floatAct(out)
		if err != nil {
			return nil, fmt.Errorf("ptq: graph output: %w", err)
		}
		q.b.Output(n)
	}
	return q.b.Finish()
}

// scoreOps finds the ops that only compute DiverseSelect's scores (for
// the top-k baseline: the class token's attention row, softmax, mean over
// heads): they stay float, fed by the dequantized int8 logits. Scores
// only rank tokens; int8 probabilities come in steps of 1/256 and most
// of a row's rounds to zero, so the ranking would be mostly ties won by
// the lowest index. Data movement (Slice, Reshape, Transpose) stays int8,
// being exact there; ZOSensitivity has its own int8 kernel with a float
// output.
func scoreOps(fm *format.Model) map[int]bool {
	type use struct{ op, slot int }
	readers := map[int32][]use{}
	for i, op := range fm.Ops {
		for k, t := range op.Inputs {
			if t >= 0 {
				readers[t] = append(readers[t], use{i, k})
			}
		}
	}
	graphOut := map[int32]bool{}
	for _, t := range fm.Outputs {
		graphOut[t] = true
	}
	out := map[int]bool{}
	// Walking backwards, every reader of an op's output is decided first.
	for i := len(fm.Ops) - 1; i >= 0; i-- {
		op := &fm.Ops[i]
		switch op.Code {
		case format.OpZOSensitivity, format.OpSlice, format.OpReshape, format.OpTranspose, format.OpDiverseSelect:
			continue
		}
		only := len(op.Outputs) > 0
		for _, t := range op.Outputs {
			only = only && len(readers[t]) > 0 && !graphOut[t]
			for _, u := range readers[t] {
				r := fm.Ops[u.op].Code
				only = only && (r == format.OpDiverseSelect && u.slot == 1 || out[u.op])
			}
		}
		out[i] = only
	}
	return out
}

type quantizer struct {
	fm     *format.Model
	r      *Ranges
	b      *format.Builder
	params map[int32]quant.Params // chosen parameters of float activations
	newIdx map[int32]int32        // float tensor → int8 model tensor
	// floatIdx maps float tensors to float32 tensors of the new model
	// (outputs of float ops, and Dequantize results).
	floatIdx map[int32]int32
	opts     QuantizeOptions
}

// activation returns the int8 tensor standing for float activation t,
// quantizing the output of a float op on first use.
func (q *quantizer) activation(t int32) (int32, error) {
	if n, ok := q.newIdx[t]; ok {
		return n, nil
	}
	if f, ok := q.floatIdx[t]; ok {
		p := q.r.params(t)
		q.params[t] = p
		ft := &q.fm.Tensors[t]
		n := q.b.Activation(ft.Name+"/q", format.Int8, ft.Shape, format.PerTensor(p.Scale, p.ZeroPoint))
		q.b.Op(format.OpQuantize, ft.Name+"/quantize", nil, []int32{f}, n)
		q.newIdx[t] = n
		return n, nil
	}
	return 0, fmt.Errorf("tensor %d %q is used before it is produced", t, q.fm.Tensors[t].Name)
}

// floatAct returns a float32 tensor standing for float activation t,
// dequantizing an int8 one on first use.
func (q *quantizer) floatAct(t int32) (int32, error) {
	if f, ok := q.floatIdx[t]; ok {
		return f, nil
	}
	n, ok := q.newIdx[t]
	if !ok {
		return 0, fmt.Errorf("tensor %d %q is used before it is produced", t, q.fm.Tensors[t].Name)
	}
	ft := &q.fm.Tensors[t]
	f := q.b.Activation(ft.Name+"/f", format.Float32, ft.Shape, nil)
	q.b.Op(format.OpDequantize, ft.Name+"/dequantize", nil, []int32{n}, f)
	q.floatIdx[t] = f
	return f, nil
}

// floatOp copies op i as a float32 op: activations come in dequantized,
// constants as they are, and the outputs are float32.
func (q *quantizer) floatOp(i int) error {
	op := &q.fm.Ops[i]
	ins := make([]int32, len(op.Inputs))
	for j, t := range op.Inputs {
		switch {
		case t < 0:
			ins[j] = -1
		case q.fm.Tensors[t].IsConst():
			ins[j] = q.b.AddTensor(q.fm.Tensors[t])
		default:
			f, err := q.floatAct(t)
			if err != nil {
				return err
			}
			ins[j] = f
		}
	}
	outs := make([]int32, len(op.Outputs))
	for j, t := range op.Outputs {
		ft := &q.fm.Tensors[t]
		outs[j] = q.b.Activation(ft.Name, format.Float32, ft.Shape, nil)
		q.floatIdx[t] = outs[j]
	}
	q.b.Op(op.Code, op.Name, op.Options, ins, outs...)
	return nil
}

// constPerTensor quantizes a float constant with parameters p (or its own
// range when p is nil).
func (q *quantizer) constPerTensor(t int32, p *quant.Params) int32 {
	ft := &q.fm.Tensors[t]
	vals := ft.Float32s()
	if p == nil {
		lo, hi := float32(0), float32(0)
		for _, v := range vals {
			lo, hi = min(lo, v), max(hi, v)
		}
		c := quant.ChooseAsymmetric(lo, hi)
		p = &c
	}
	qv := make([]int8, len(vals))
	for i, v := range vals {
		qv[i] = int8(p.Quantize(v, quant.Int8Min, quant.Int8Max))
	}
	return q.b.ConstInt8(ft.Name, ft.Shape, qv, format.PerTensor(p.Scale, p.ZeroPoint))
}

// input maps input i of op to the int8 model: activations by their
// producer, float constants per tensor, other constants unchanged.
func (q *quantizer) input(op *format.Op, i int, p *quant.Params) (int32, error) {
	t := op.Inputs[i]
	if t < 0 {
		return -1, nil
	}
	ft := &q.fm.Tensors[t]
	if !ft.IsConst() {
		return q.activation(t)
	}
	if ft.DType != format.Float32 {
		return q.b.AddTensor(*ft), nil
	}
	return q.constPerTensor(t, p), nil
}

// output creates the int8 tensor for float output t with parameters p.
func (q *quantizer) output(t int32, p quant.Params) int32 {
	ft := &q.fm.Tensors[t]
	q.params[t] = p
	n := q.b.Activation(ft.Name, format.Int8, ft.Shape, format.PerTensor(p.Scale, p.ZeroPoint))
	q.newIdx[t] = n
	return n
}

func (q *quantizer) op(i int) error {
	op := &q.fm.Ops[i]
	if done, err := q.tokenOp(op); done {
		return err
	}
	out := op.Outputs[0]
	switch {
	case op.Code == format.OpConv2D || op.Code == format.OpDepthwiseConv2D || op.Code == format.OpFullyConnected:
		return q.weighted(op)
	case op.Code == format.OpLayerNorm:
		x, err := q.activation(op.Inputs[0])
		if err != nil {
			return err
		}
		g, b := q.b.AddTensor(q.fm.Tensors[op.Inputs[1]]), q.b.AddTensor(q.fm.Tensors[op.Inputs[2]])
		q.b.Op(op.Code, op.Name, op.Options, []int32{x, g, b}, q.output(out, q.r.params(out)))
		return nil
	case op.Code == format.OpSoftmax:
		x, err := q.activation(op.Inputs[0])
		if err != nil {
			return err
		}
		q.b.Op(op.Code, op.Name, op.Options, []int32{x}, q.output(out, quant.SoftmaxOutput))
		return nil
	case op.Code == format.OpConcat:
		return q.concat(op)
	case sameParamsOps[op.Code]:
		in := op.Inputs[0]
		x, err := q.activation(in)
		if err != nil {
			return err
		}
		ins := []int32{x}
		for j := 1; j < len(op.Inputs); j++ {
			c, err := q.input(op, j, nil)
			if err != nil {
				return err
			}
			ins = append(ins, c)
		}
		q.b.Op(op.Code, op.Name, op.Options, ins, q.output(out, q.params[in]))
		return nil
	case op.Code == format.OpQuantize || op.Code == format.OpDequantize:
		return errors.New("the float model already contains quantization ops")
	case op.Code == format.OpArgMax:
		// Indices: the int8 input orders its values as the float one
		// does (up to ties within a quantization step); the int32 output
		// stays as it is.
		x, err := q.activation(op.Inputs[0])
		if err != nil {
			return err
		}
		ft := &q.fm.Tensors[out]
		n := q.b.Activation(ft.Name, ft.DType, ft.Shape, nil)
		q.newIdx[out] = n
		q.b.Op(op.Code, op.Name, op.Options, []int32{x}, n)
		return nil
	}
	// Everything else: elementwise and matrix ops whose inputs are
	// activations or float constants with their own ranges.
	ins := make([]int32, len(op.Inputs))
	for j := range op.Inputs {
		n, err := q.input(op, j, nil)
		if err != nil {
			return err
		}
		ins[j] = n
	}
	q.b.Op(op.Code, op.Name, op.Options, ins, q.output(out, q.r.params(out)))
	return nil
}

// weighted quantizes Conv2D, DepthwiseConv2D and FullyConnected: weights
// per output channel, symmetric; bias int32 with scale s_in·s_w.
func (q *quantizer) weighted(op *format.Op) error {
	x, err := q.activation(op.Inputs[0])
	if err != nil {
		return err
	}
	inScale := q.params[op.Inputs[0]].Scale
	wt := &q.fm.Tensors[op.Inputs[1]]
	if !wt.IsConst() || wt.DType != format.Float32 {
		return fmt.Errorf("weight tensor %q is not a float constant", wt.Name)
	}
	if fw := q.opts.Weights[op.Inputs[1]]; fw != nil && op.Code != format.OpDepthwiseConv2D {
		return q.fixedWeighted(op, x, inScale, fw)
	}
	w := wt.Float32s()
	axis := int32(0)
	channels := int(wt.Shape[0])
	if op.Code == format.OpDepthwiseConv2D {
		axis = 3
		channels = int(wt.Shape[3])
		w = channelsFirst(w, channels)
	}
	qw, scales, err := quant.QuantizeWeights(w, channels)
	if err != nil {
		return err
	}
	if op.Code == format.OpDepthwiseConv2D {
		qw = channelsLast(qw, channels)
	}
	ins := []int32{x, q.b.ConstInt8(wt.Name, wt.Shape, qw, format.PerAxis(scales, axis))}
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		bt := &q.fm.Tensors[op.Inputs[2]]
		bq := quant.QuantizeBias(bt.Float32s(), inScale, scales)
		bs := make([]float32, len(scales))
		for c := range bs {
			bs[c] = inScale * scales[c]
		}
		ins = append(ins, q.b.ConstInt32(bt.Name, bt.Shape, bq, format.PerAxis(bs, 0)))
	}
	out := op.Outputs[0]
	q.b.Op(op.Code, op.Name, op.Options, ins, q.output(out, q.r.params(out)))
	return nil
}

// fixedWeighted is weighted with integers given by the caller.
func (q *quantizer) fixedWeighted(op *format.Op, x int32, inScale float32, fw *FixedWeight) error {
	wt := &q.fm.Tensors[op.Inputs[1]]
	channels := int(wt.Shape[0])
	if len(fw.Values) != wt.NumElements() || (len(fw.Scale) != 1 && len(fw.Scale) != channels) {
		return fmt.Errorf("fixed int8 weight %q: %d values and %d scales for shape %v", wt.Name, len(fw.Values), len(fw.Scale), wt.Shape)
	}
	scales := fw.Scale
	if len(scales) == 1 {
		scales = make([]float32, channels)
		for c := range scales {
			scales[c] = fw.Scale[0]
		}
	}
	for c, s := range scales {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("fixed int8 weight %q: channel %d scale %g", wt.Name, c, s)
		}
	}
	ins := []int32{x, q.b.ConstInt8(wt.Name, wt.Shape, fw.Values, format.PerAxis(scales, 0))}
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		bt := &q.fm.Tensors[op.Inputs[2]]
		bq := quant.QuantizeBias(bt.Float32s(), inScale, scales)
		bs := make([]float32, len(scales))
		for c := range bs {
			bs[c] = inScale * scales[c]
		}
		ins = append(ins, q.b.ConstInt32(bt.Name, bt.Shape, bq, format.PerAxis(bs, 0)))
	}
	out := op.Outputs[0]
	q.b.Op(op.Code, op.Name, op.Options, ins, q.output(out, q.r.params(out)))
	return nil
}

// concat gives all inputs the output's parameters: constants are quantized
// with them, activations with other parameters pass through a Quantize op.
func (q *quantizer) concat(op *format.Op) error {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, t := range op.Inputs {
		ft := &q.fm.Tensors[t]
		if ft.IsConst() {
			for _, v := range ft.Float32s() {
				lo, hi = min(lo, v), max(hi, v)
			}
			continue
		}
		lo, hi = min(lo, q.r.Min[t]), max(hi, q.r.Max[t])
	}
	p := quant.ChooseAsymmetric(lo, hi)
	ins := make([]int32, len(op.Inputs))
	for j, t := range op.Inputs {
		ft := &q.fm.Tensors[t]
		if ft.IsConst() {
			ins[j] = q.constPerTensor(t, &p)
			continue
		}
		n, err := q.activation(t)
		if err != nil {
			return err
		}
		if q.params[t] != p {
			rq := q.b.Activation(ft.Name+"/requant", format.Int8, ft.Shape, format.PerTensor(p.Scale, p.ZeroPoint))
			q.b.Op(format.OpQuantize, op.Name+"/requant", nil, []int32{n}, rq)
			n = rq
		}
		ins[j] = n
	}
	q.b.Op(op.Code, op.Name, op.Options, ins, q.output(op.Outputs[0], p))
	return nil
}

// channelsFirst transposes [rest, channels] to [channels, rest].
func channelsFirst(w []float32, channels int) []float32 {
	rest := len(w) / channels
	out := make([]float32, len(w))
	for r := 0; r < rest; r++ {
		for c := 0; c < channels; c++ {
			out[c*rest+r] = w[r*channels+c]
		}
	}
	return out
}

// channelsLast is the inverse of channelsFirst.
func channelsLast(w []int8, channels int) []int8 {
	rest := len(w) / channels
	out := make([]int8, len(w))
	for c := 0; c < channels; c++ {
		for r := 0; r < rest; r++ {
			out[r*channels+c] = w[c*rest+r]
		}
	}
	return out
}
