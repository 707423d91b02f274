package format

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// opCheck validates one op; its methods build errors that name the op.
type opCheck struct {
	m     *Model
	i     int
	op    *Op
	cache *valCache
}

// valCache remembers what Validate learnt from scanning a tensor's
// contents, so that each further op sharing the tensor costs O(1): without
// it a small hostile file (thousands of ops on one large weight) would make
// Validate quadratic.
type valCache struct {
	weights map[int32]bool          // int8 weights found symmetric and free of −128
	ratios  map[[2]int32][2]float64 // (bias, weight) → min and max of bias scale / weight scale
	indices map[int32][2]int32      // int32 index constants → min and max value
}

func newValCache() *valCache {
	return &valCache{weights: map[int32]bool{}, ratios: map[[2]int32][2]float64{}, indices: map[int32][2]int32{}}
}

func (c *opCheck) errf(f string, args ...any) error {
	return c.m.opErr(c.i, ErrInvalid, f, args...)
}

// in returns input k, or nil when it is absent.
func (c *opCheck) in(k int) *Tensor {
	if k >= len(c.op.Inputs) || c.op.Inputs[k] < 0 {
		return nil
	}
	return &c.m.Tensors[c.op.Inputs[k]]
}

func (c *opCheck) out() *Tensor { return &c.m.Tensors[c.op.Outputs[0]] }

// tname names a tensor with its role in an op: `weight tensor 42 "w"`.
// It formats only when printed, so that checks that pass cost nothing.
type tname struct {
	m    *Model
	role string
	t    int32
}

func (n tname) String() string { return n.role + " " + n.m.tensorDesc(n.t) }

// inName names input k with its role.
func (c *opCheck) inName(role string, k int) tname { return tname{c.m, role, c.op.Inputs[k]} }

func (c *opCheck) outName() tname { return tname{c.m, "output", c.op.Outputs[0]} }

// arity lists each op's input count range and which inputs may be −1.
type arity struct {
	min, max int // max −1: unbounded
	optional int // index of the optional input, or −1
}

var opArity = map[OpCode]arity{
	OpConv2D: {2, 3, 2}, OpDepthwiseConv2D: {2, 3, 2}, OpFullyConnected: {2, 3, 2},
	OpBatchMatMul: {2, 2, -1}, OpAveragePool2D: {1, 1, -1}, OpMaxPool2D: {1, 1, -1},
	OpAdd: {2, 2, -1}, OpSub: {2, 2, -1}, OpMul: {2, 2, -1}, OpSquaredDifference: {2, 2, -1},
	OpFloorDiv: {2, 2, -1}, OpDiv: {2, 2, -1}, OpSqrt: {1, 1, -1}, OpGatherND: {2, 2, -1}, OpCast: {1, 1, -1},
	OpLayerNorm: {3, 3, -1}, OpSoftmax: {1, 1, -1}, OpMean: {1, 1, -1}, OpArgMax: {1, 1, -1},
	OpResizeBilinear: {1, 1, -1},
	OpGELU:           {1, 1, -1}, OpReLU: {1, 1, -1}, OpReLU6: {1, 1, -1}, OpLogistic: {1, 1, -1},
	OpTanh: {1, 1, -1}, OpHardSwish: {1, 1, -1}, OpRsqrt: {1, 1, -1}, OpHardSigmoid: {1, 1, -1},
	OpReshape: {1, 1, -1}, OpTranspose: {1, 1, -1}, OpConcat: {1, -1, -1}, OpGather: {2, 2, -1},
	OpSlice: {1, 1, -1}, OpPad: {2, 2, -1}, OpQuantize: {1, 1, -1}, OpDequantize: {1, 1, -1},
}

// optionsName returns the Go type name of an Options value.
func optionsName(o Options) string {
	if u, ok := o.(*unknownOptions); ok {
		return fmt.Sprintf("options type %d", u.typ)
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", o), "*format.")
}

// checkOp validates op i. The graph checks have already run, so every
// index is in range and every present input exists.
func (m *Model) checkOp(i int, cache *valCache) error {
	op := &m.Ops[i]
	c := &opCheck{m: m, i: i, op: op, cache: cache}
	if op.Code == OpInvalid {
		return c.errf("op code 0 (invalid)")
	}
	if !op.Code.Known() {
		return m.opErr(i, ErrUnsupported, "unknown op code %d", uint16(op.Code))
	}
	if op.Version == 0 {
		return c.errf("version 0 (op versions start at 1)")
	}
	if maxV := op.Code.MaxVersion(); op.Version > maxV {
		return m.opErr(i, ErrUnsupported, "version %d is newer than the %d this build supports", op.Version, maxV)
	}
	a := opArity[op.Code]
	if len(op.Inputs) < a.min || (a.max >= 0 && len(op.Inputs) > a.max) {
		want := fmt.Sprintf("%d", a.min)
		switch {
		case a.max < 0:
			want = fmt.Sprintf("at least %d", a.min)
		case a.max != a.min:
			want = fmt.Sprintf("%d to %d", a.min, a.max)
		}
		return c.errf("%d inputs, want %s", len(op.Inputs), want)
	}
	for k, t := range op.Inputs {
		if t < 0 && k != a.optional {
			return c.errf("input %d is absent (-1) but required", k)
		}
	}
	if len(op.Outputs) != 1 {
		return c.errf("%d outputs, want 1", len(op.Outputs))
	}
	if u, ok := op.Options.(*unknownOptions); ok {
		return m.opErr(i, ErrUnsupported, "options of unknown type %d (written by a newer edgeinfer?)", u.typ)
	}
	for k := range op.Inputs {
		if t := c.in(k); t != nil && len(t.Shape) > MaxRank {
			return c.errf("%s has rank %d", c.inName("input", k), len(t.Shape))
		}
	}
	switch op.Code {
	case OpConv2D, OpDepthwiseConv2D:
		return c.conv()
	case OpFullyConnected:
		return c.fullyConnected()
	case OpBatchMatMul:
		return c.batchMatMul()
	case OpAveragePool2D, OpMaxPool2D:
		return c.pool()
	case OpAdd, OpSub, OpMul, OpSquaredDifference, OpFloorDiv, OpDiv:
		return c.binary()
	case OpGatherND:
		return c.gatherND()
	case OpCast:
		return c.cast()
	case OpLayerNorm:
		return c.layerNorm()
	case OpSoftmax:
		return c.softmax()
	case OpMean:
		return c.mean()
	case OpArgMax:
		return c.argMax()
	case OpResizeBilinear:
		return c.resizeBilinear()
	case OpGELU, OpReLU, OpReLU6, OpLogistic, OpTanh, OpHardSwish, OpRsqrt, OpHardSigmoid, OpSqrt:
		return c.unary()
	case OpReshape:
		return c.reshape()
	case OpTranspose:
		return c.transpose()
	case OpConcat:
		return c.concat()
	case OpGather:
		return c.gather()
	case OpSlice:
		return c.slice()
	case OpPad:
		return c.pad()
	case OpQuantize:
		return c.quantize()
	case OpDequantize:
		return c.dequantize()
	}
	if isTokenOp(op.Code) {
		return c.tokenOp()
	}
	return m.opErr(i, ErrUnsupported, "no rules for op code %d", uint16(op.Code))
}

// options fetches the op's options as *T. A nil value is an error when
// required, else the zero T. Any other type is an error.
func options[T any, PT interface {
	*T
	Options
}](c *opCheck, required bool) (*T, error) {
	if c.op.Options == nil {
		if required {
			return nil, c.errf("options missing, want %s", strings.TrimPrefix(fmt.Sprintf("%T", new(T)), "*format."))
		}
		return new(T), nil
	}
	po, ok := c.op.Options.(PT)
	o := (*T)(po)
	if !ok {
		return nil, c.errf("options are %s, want %s", optionsName(c.op.Options), strings.TrimPrefix(fmt.Sprintf("%T", new(T)), "*format."))
	}
	if o == nil {
		if required {
			return nil, c.errf("options missing (nil %T)", o)
		}
		return new(T), nil
	}
	return o, nil
}

// noOptions rejects options on ops that take none.
func (c *opCheck) noOptions() error {
	if c.op.Options != nil {
		return c.errf("has %s, but %v takes no options", optionsName(c.op.Options), c.op.Code)
	}
	return nil
}

func (c *opCheck) activation(a Activation) error {
	if a > ActReLU6 {
		return c.m.opErr(c.i, ErrUnsupported, "unknown fused activation %d", a)
	}
	return nil
}

// shapeIs checks a tensor's shape against the one the op computes.
func (c *opCheck) shapeIs(name tname, got []int32, want []int64) error {
	if !shapeEq(got, want) {
		return c.errf("%s has shape %v, want %v", name, got, want)
	}
	return nil
}

func shapeEq(got []int32, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for k := range got {
		if int64(got[k]) != want[k] {
			return false
		}
	}
	return true
}

func dims(s []int32) []int64 {
	out := make([]int64, len(s))
	for k, d := range s {
		out[k] = int64(d)
	}
	return out
}

func (c *opCheck) rank(name tname, t *Tensor, want int) error {
	if len(t.Shape) != want {
		return c.errf("%s has rank %d (shape %v), want %d", name, len(t.Shape), t.Shape, want)
	}
	return nil
}

func (c *opCheck) minRank(name tname, t *Tensor, want int) error {
	if len(t.Shape) < want {
		return c.errf("%s has rank %d (shape %v), want at least %d", name, len(t.Shape), t.Shape, want)
	}
	return nil
}

func (c *opCheck) constant(name tname, t *Tensor) error {
	if !t.IsConst() {
		return c.errf("%s must be a constant", name)
	}
	return nil
}

func (c *opCheck) dtype(name tname, t *Tensor, want DType) error {
	if t.DType != want {
		return c.errf("%s is %v, want %v", name, t.DType, want)
	}
	return nil
}

// perTensor checks that t is int8 with per-tensor quantization.
func (c *opCheck) perTensor(name tname, t *Tensor) error {
	if t.DType != Int8 {
		return c.errf("%s is %v, want int8", name, t.DType)
	}
	if t.Quant == nil || len(t.Quant.Scale) != 1 {
		return c.errf("%s is int8 without per-tensor quantization", name)
	}
	return nil
}

// sameQuant reports whether two tensors map integers to reals alike.
func sameQuant(a, b *Quantization) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !slices.Equal(a.Scale, b.Scale) || !slices.Equal(a.ZeroPoint, b.ZeroPoint) {
		return false
	}
	return len(a.Scale) == 1 || a.Axis == b.Axis
}

func quantString(q *Quantization) string {
	if q == nil {
		return "none"
	}
	if len(q.Scale) == 1 {
		return fmt.Sprintf("scale %g zero point %d", q.Scale[0], q.ZeroPoint[0])
	}
	return fmt.Sprintf("%d scales along axis %d", len(q.Scale), q.Axis)
}

// passThrough checks an op that moves values without changing them: the
// output has x's dtype and quantization.
func (c *opCheck) passThrough(x *Tensor) error {
	y := c.out()
	if y.DType != x.DType {
		return c.errf("%s is %v, want %v like its input", c.outName(), y.DType, x.DType)
	}
	if !sameQuant(x.Quant, y.Quant) {
		return c.errf("%s has quantization %s, want the input's %s", c.outName(), quantString(y.Quant), quantString(x.Quant))
	}
	return nil
}

// elementwiseTypes checks the dtypes of an op whose inputs (listed) and
// output are all float32 or all per-tensor int8.
func (c *opCheck) elementwiseTypes(ks ...int) error {
	x := c.in(ks[0])
	switch x.DType {
	case Float32:
		for _, k := range ks {
			if err := c.dtype(c.inName("input", k), c.in(k), Float32); err != nil {
				return err
			}
		}
		return c.dtype(c.outName(), c.out(), Float32)
	case Int8:
		for _, k := range ks {
			if err := c.perTensor(c.inName("input", k), c.in(k)); err != nil {
				return err
			}
		}
		return c.perTensor(c.outName(), c.out())
	}
	return c.errf("%s is %v, want float32 or int8", c.inName("input", ks[0]), x.DType)
}

// weights checks a quantized weight: int8 constant, per-channel along
// axis (one scale per output channel), and either symmetric (zero points
// 0, values in [−127, 127]) or, for legacy uint8 models imported from
// TFLite, asymmetric with one zero point shared by every channel (any
// int8 value; the kernels subtract it, see kernels.FCParams.WZP).
// It returns the scales.
func (c *opCheck) weights(k int, axis int32) ([]float32, error) {
	w := c.in(k)
	name := c.inName("weight", k)
	if w.DType != Int8 {
		return nil, c.errf("%s is %v, want int8", name, w.DType)
	}
	if w.Quant == nil {
		return nil, c.errf("%s is int8 without quantization", name)
	}
	if ch := w.Shape[axis]; int64(len(w.Quant.Scale)) != int64(ch) || (ch > 1 && w.Quant.Axis != axis) {
		return nil, c.errf("%s has %s, want %d per-channel scales along axis %d", name, quantString(w.Quant), ch, axis)
	}
	if c.cache.weights[c.op.Inputs[k]] {
		return w.Quant.Scale, nil
	}
	for ch, zp := range w.Quant.ZeroPoint {
		if zp != w.Quant.ZeroPoint[0] {
			return nil, c.errf("%s has zero point %d in channel %d, want %d like channel 0 (0: symmetric, or one shared zero point)", name, zp, ch, w.Quant.ZeroPoint[0])
		}
	}
	if w.Quant.ZeroPoint[0] != 0 {
		c.cache.weights[c.op.Inputs[k]] = true
		return w.Quant.Scale, nil
	}
	for j, b := range w.Data {
		if int8(b) == -128 {
			return nil, c.errf("%s holds -128 at element %d, want values in [-127, 127]", name, j)
		}
	}
	c.cache.weights[c.op.Inputs[k]] = true
	return w.Quant.Scale, nil
}

// bias checks a quantized bias: int32 constant [channels], zero points 0,
// scale[c] ≈ inScale·wScale[c] within biasScaleTolerance, that is
// scale[c]/wScale[c] within inScale·(1 ± tolerance) for every c; the
// ratios' range is computed once per (bias, weight) pair.
func (c *opCheck) bias(k int, inScale float32, wScales []float32) error {
	b := c.in(k)
	name := c.inName("bias", k)
	if b.DType != Int32 {
		return c.errf("%s is %v, want int32", name, b.DType)
	}
	if b.Quant == nil {
		return c.errf("%s is int32 without quantization", name)
	}
	q := b.Quant
	if len(q.Scale) != 1 && len(q.Scale) != len(wScales) {
		return c.errf("%s has %d scales, want 1 or %d like the weights", name, len(q.Scale), len(wScales))
	}
	n := max(len(q.Scale), len(wScales))
	ratio := func(ch int) float64 {
		return float64(q.Scale[min(ch, len(q.Scale)-1)]) / float64(wScales[min(ch, len(wScales)-1)])
	}
	key := [2]int32{c.op.Inputs[k], c.op.Inputs[1]}
	r, ok := c.cache.ratios[key]
	if !ok {
		for ch := range q.Scale {
			if q.ZeroPoint[ch] != 0 {
				return c.errf("%s has zero point %d in channel %d, want 0", name, q.ZeroPoint[ch], ch)
			}
		}
		r = [2]float64{math.Inf(1), math.Inf(-1)}
		for ch := 0; ch < n; ch++ {
			r[0], r[1] = min(r[0], ratio(ch)), max(r[1], ratio(ch))
		}
		c.cache.ratios[key] = r
	}
	s := float64(inScale)
	lo, hi := s*(1-biasScaleTolerance), s*(1+biasScaleTolerance)
	if r[0] >= lo && r[1] <= hi {
		return nil
	}
	for ch := 0; ch < n; ch++ {
		if rc := ratio(ch); rc < lo || rc > hi {
			ws := float64(wScales[min(ch, len(wScales)-1)])
			return c.errf("%s has scale %g in channel %d, want input scale × weight scale = %g", name, rc*ws, ch, s*ws)
		}
	}
	return nil
}

// weighted checks the dtypes of Conv2D, DepthwiseConv2D and FullyConnected:
// all float32, or int8 x and output (per-tensor), int8 symmetric weights
// along axis, int32 bias. Weights and bias must be constants.
func (c *opCheck) weighted(axis int32) error {
	x, w, b, y := c.in(0), c.in(1), c.in(2), c.out()
	if err := c.constant(c.inName("weight", 1), w); err != nil {
		return err
	}
	if b != nil {
		if err := c.constant(c.inName("bias", 2), b); err != nil {
			return err
		}
	}
	switch x.DType {
	case Float32:
		if err := c.dtype(c.inName("weight", 1), w, Float32); err != nil {
			return err
		}
		if b != nil {
			if err := c.dtype(c.inName("bias", 2), b, Float32); err != nil {
				return err
			}
		}
		return c.dtype(c.outName(), y, Float32)
	case Int8:
		if err := c.perTensor(c.inName("input", 0), x); err != nil {
			return err
		}
		ws, err := c.weights(1, axis)
		if err != nil {
			return err
		}
		if b != nil {
			if err := c.bias(2, x.Quant.Scale[0], ws); err != nil {
				return err
			}
		}
		return c.perTensor(c.outName(), y)
	}
	return c.errf("%s is %v, want float32 or int8", c.inName("input", 0), x.DType)
}

// convOut is the output size of a window op along one axis, or an error
// when the (dilated) window does not fit the padded input.
func convOut(in, padA, padB, k, dilation, stride int32) (int64, bool) {
	span := int64(dilation)*(int64(k)-1) + 1
	num := int64(in) + int64(padA) + int64(padB) - span
	if num < 0 {
		return 0, false
	}
	return num/int64(stride) + 1, true
}

func (c *opCheck) conv() error {
	var o *Conv2DOptions
	var mult int32 = 1
	if c.op.Code == OpDepthwiseConv2D {
		d, err := options[DepthwiseConv2DOptions](c, true)
		if err != nil {
			return err
		}
		o, mult = &d.Conv2DOptions, d.DepthMultiplier
		if mult < 1 {
			return c.errf("depth multiplier %d, want ≥ 1", mult)
		}
	} else {
		var err error
		if o, err = options[Conv2DOptions](c, true); err != nil {
			return err
		}
	}
	if o.StrideH < 1 || o.StrideW < 1 {
		return c.errf("strides %d×%d, want ≥ 1", o.StrideH, o.StrideW)
	}
	if o.DilationH < 1 || o.DilationW < 1 {
		return c.errf("dilations %d×%d, want ≥ 1", o.DilationH, o.DilationW)
	}
	if o.PadTop < 0 || o.PadBottom < 0 || o.PadLeft < 0 || o.PadRight < 0 {
		return c.errf("pads (top %d, bottom %d, left %d, right %d), want ≥ 0", o.PadTop, o.PadBottom, o.PadLeft, o.PadRight)
	}
	if err := c.activation(o.Activation); err != nil {
		return err
	}
	groups := max(o.Groups, 1)
	switch {
	case o.Groups < 0:
		return c.errf("%d groups, want ≥ 1 (0: one group)", o.Groups)
	case groups > 1 && c.op.Code == OpDepthwiseConv2D:
		return c.errf("%d groups on a depthwise convolution (its channels are already separate)", o.Groups)
	case groups > 1 && c.op.Version < 2:
		return c.errf("%d groups need Conv2D version 2, op is version %d", o.Groups, c.op.Version)
	}
	x, w, b, y := c.in(0), c.in(1), c.in(2), c.out()
	if err := c.rank(c.inName("input", 0), x, 4); err != nil {
		return err
	}
	if err := c.rank(c.inName("weight", 1), w, 4); err != nil {
		return err
	}
	axis := int32(0)
	if c.op.Code == OpDepthwiseConv2D {
		axis = 3
	}
	if err := c.weighted(axis); err != nil {
		return err
	}
	cin := x.Shape[3]
	var cout int64
	if c.op.Code == OpDepthwiseConv2D {
		cout = int64(cin) * int64(mult)
		if err := c.shapeIs(c.inName("weight", 1), w.Shape, []int64{1, int64(w.Shape[1]), int64(w.Shape[2]), cout}); err != nil {
			return err
		}
	} else {
		cout = int64(w.Shape[0])
		if cin%groups != 0 || cout%int64(groups) != 0 {
			return c.errf("%d groups do not divide %d input and %d output channels", groups, cin, cout)
		}
		if err := c.shapeIs(c.inName("weight", 1), w.Shape, []int64{cout, int64(w.Shape[1]), int64(w.Shape[2]), int64(cin / groups)}); err != nil {
			return err
		}
	}
	if b != nil {
		if err := c.shapeIs(c.inName("bias", 2), b.Shape, []int64{cout}); err != nil {
			return err
		}
	}
	oh, ok1 := convOut(x.Shape[1], o.PadTop, o.PadBottom, w.Shape[1], o.DilationH, o.StrideH)
	ow, ok2 := convOut(x.Shape[2], o.PadLeft, o.PadRight, w.Shape[2], o.DilationW, o.StrideW)
	if !ok1 || !ok2 {
		return c.errf("%d×%d kernel (dilation %d×%d) is larger than the padded %d×%d input", w.Shape[1], w.Shape[2], o.DilationH, o.DilationW, x.Shape[1], x.Shape[2])
	}
	return c.shapeIs(c.outName(), y.Shape, []int64{int64(x.Shape[0]), oh, ow, cout})
}

func (c *opCheck) fullyConnected() error {
	o, err := options[FullyConnectedOptions](c, false)
	if err != nil {
		return err
	}
	if err := c.activation(o.Activation); err != nil {
		return err
	}
	x, w, b, y := c.in(0), c.in(1), c.in(2), c.out()
	if err := c.minRank(c.inName("input", 0), x, 1); err != nil {
		return err
	}
	if err := c.rank(c.inName("weight", 1), w, 2); err != nil {
		return err
	}
	if err := c.weighted(0); err != nil {
		return err
	}
	k := x.Shape[len(x.Shape)-1]
	n := int64(w.Shape[0])
	if err := c.shapeIs(c.inName("weight", 1), w.Shape, []int64{n, int64(k)}); err != nil {
		return err
	}
	if b != nil {
		if err := c.shapeIs(c.inName("bias", 2), b.Shape, []int64{n}); err != nil {
			return err
		}
	}
	want := append(dims(x.Shape[:len(x.Shape)-1]), n)
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) batchMatMul() error {
	o, err := options[BatchMatMulOptions](c, false)
	if err != nil {
		return err
	}
	a, b, y := c.in(0), c.in(1), c.out()
	if err := c.minRank(c.inName("input", 0), a, 2); err != nil {
		return err
	}
	if err := c.minRank(c.inName("input", 1), b, 2); err != nil {
		return err
	}
	if err := c.elementwiseTypes(0, 1); err != nil {
		return err
	}
	ra, rb := len(a.Shape), len(b.Shape)
	m, ka := a.Shape[ra-2], a.Shape[ra-1]
	if o.AdjX {
		m, ka = ka, m
	}
	kb, n := b.Shape[rb-2], b.Shape[rb-1]
	if o.AdjY {
		kb, n = n, kb
	}
	if ka != kb {
		return c.errf("%s has shape %v and %s has shape %v (adj_x %v, adj_y %v): inner dimensions %d and %d differ",
			c.inName("input", 0), a.Shape, c.inName("input", 1), b.Shape, o.AdjX, o.AdjY, ka, kb)
	}
	if rb != 2 && !slices.Equal(a.Shape[:ra-2], b.Shape[:rb-2]) {
		return c.errf("%s has batch dimensions %v, want %v like %s (or rank 2)",
			c.inName("input", 1), b.Shape[:rb-2], a.Shape[:ra-2], c.inName("input", 0))
	}
	want := append(dims(a.Shape[:ra-2]), int64(m), int64(n))
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) pool() error {
	o, err := options[Pool2DOptions](c, true)
	if err != nil {
		return err
	}
	if o.FilterH < 1 || o.FilterW < 1 {
		return c.errf("filter %d×%d, want ≥ 1", o.FilterH, o.FilterW)
	}
	if o.StrideH < 1 || o.StrideW < 1 {
		return c.errf("strides %d×%d, want ≥ 1", o.StrideH, o.StrideW)
	}
	if o.PadTop < 0 || o.PadBottom < 0 || o.PadLeft < 0 || o.PadRight < 0 {
		return c.errf("pads (top %d, bottom %d, left %d, right %d), want ≥ 0", o.PadTop, o.PadBottom, o.PadLeft, o.PadRight)
	}
	// A pad as large as the filter would make a window of padding only
	// (nothing to average, nothing to take the max of).
	if o.PadTop >= o.FilterH || o.PadBottom >= o.FilterH || o.PadLeft >= o.FilterW || o.PadRight >= o.FilterW {
		return c.errf("pads (top %d, bottom %d, left %d, right %d) must be smaller than the %d×%d filter", o.PadTop, o.PadBottom, o.PadLeft, o.PadRight, o.FilterH, o.FilterW)
	}
	if err := c.activation(o.Activation); err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if err := c.rank(c.inName("input", 0), x, 4); err != nil {
		return err
	}
	if err := c.elementwiseTypes(0); err != nil {
		return err
	}
	if x.DType == Int8 && !sameQuant(x.Quant, y.Quant) {
		return c.errf("%s has quantization %s, want the input's %s", c.outName(), quantString(y.Quant), quantString(x.Quant))
	}
	oh, ok1 := convOut(x.Shape[1], o.PadTop, o.PadBottom, o.FilterH, 1, o.StrideH)
	ow, ok2 := convOut(x.Shape[2], o.PadLeft, o.PadRight, o.FilterW, 1, o.StrideW)
	if !ok1 || !ok2 {
		return c.errf("%d×%d filter is larger than the padded %d×%d input", o.FilterH, o.FilterW, x.Shape[1], x.Shape[2])
	}
	return c.shapeIs(c.outName(), y.Shape, []int64{int64(x.Shape[0]), oh, ow, int64(x.Shape[3])})
}

// broadcast returns the numpy broadcast of two shapes.
func broadcast(a, b []int32) ([]int64, bool) {
	n := max(len(a), len(b))
	out := make([]int64, n)
	for k := 1; k <= n; k++ {
		da, db := int32(1), int32(1)
		if k <= len(a) {
			da = a[len(a)-k]
		}
		if k <= len(b) {
			db = b[len(b)-k]
		}
		switch {
		case da == db || db == 1:
			out[n-k] = int64(da)
		case da == 1:
			out[n-k] = int64(db)
		default:
			return nil, false
		}
	}
	return out, true
}

func (c *opCheck) binary() error {
	o, err := options[BinaryOptions](c, false)
	if err != nil {
		return err
	}
	if err := c.activation(o.Activation); err != nil {
		return err
	}
	a, b, y := c.in(0), c.in(1), c.out()
	switch {
	case a.DType == Int32 && c.op.Code != OpSquaredDifference:
		// Integer arithmetic (shapes, indices): plain int32 everywhere.
		for k, t := range []*Tensor{a, b, y} {
			name := c.outName()
			if k < 2 {
				name = c.inName("input", k)
			}
			if err := c.dtype(name, t, Int32); err != nil {
				return err
			}
			if t.Quant != nil {
				return c.errf("%s is quantized, want plain int32", name)
			}
		}
	case c.op.Code == OpFloorDiv || c.op.Code == OpDiv:
		if err := c.dtype(c.inName("input", 0), a, Float32); err != nil {
			return c.errf("%s is %v, want float32 or int32", c.inName("input", 0), a.DType)
		}
		if err := c.elementwiseTypes(0, 1); err != nil {
			return err
		}
	default:
		if err := c.elementwiseTypes(0, 1); err != nil {
			return err
		}
	}
	want, ok := broadcast(a.Shape, b.Shape)
	if !ok {
		return c.errf("%s with shape %v and %s with shape %v do not broadcast", c.inName("input", 0), a.Shape, c.inName("input", 1), b.Shape)
	}
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) layerNorm() error {
	o, err := options[LayerNormOptions](c, true)
	if err != nil {
		return err
	}
	if !finitePositive(o.Epsilon) {
		return c.errf("epsilon %g, want finite and positive", o.Epsilon)
	}
	x, y := c.in(0), c.out()
	if err := c.minRank(c.inName("input", 0), x, 1); err != nil {
		return err
	}
	if err := c.elementwiseTypes(0); err != nil {
		return err
	}
	d := int64(x.Shape[len(x.Shape)-1])
	for k, role := range []string{"", "gamma", "beta"} {
		if k == 0 {
			continue
		}
		t := c.in(k)
		if err := c.constant(c.inName(role, k), t); err != nil {
			return err
		}
		if err := c.dtype(c.inName(role, k), t, Float32); err != nil {
			return err
		}
		if err := c.shapeIs(c.inName(role, k), t.Shape, []int64{d}); err != nil {
			return err
		}
	}
	return c.shapeIs(c.outName(), y.Shape, dims(x.Shape))
}

func (c *opCheck) softmax() error {
	o, err := options[SoftmaxOptions](c, true)
	if err != nil {
		return err
	}
	if !finitePositive(o.Beta) {
		return c.errf("beta %g, want finite and positive", o.Beta)
	}
	x, y := c.in(0), c.out()
	if err := c.minRank(c.inName("input", 0), x, 1); err != nil {
		return err
	}
	if err := c.elementwiseTypes(0); err != nil {
		return err
	}
	if y.DType == Int8 {
		if p := y.Quant.PerTensor(); p.Scale != 1.0/256 || p.ZeroPoint != -128 {
			return c.errf("%s has scale %g zero point %d, want scale 1/256 zero point -128", c.outName(), p.Scale, p.ZeroPoint)
		}
	}
	return c.shapeIs(c.outName(), y.Shape, dims(x.Shape))
}

func (c *opCheck) mean() error {
	o, err := options[MeanOptions](c, true)
	if err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if len(o.Axes) == 0 {
		return c.errf("no axes to reduce")
	}
	for k, a := range o.Axes {
		if a < 0 || int(a) >= len(x.Shape) {
			return c.errf("axis %d out of range for %s with shape %v", a, c.inName("input", 0), x.Shape)
		}
		if k > 0 && a != o.Axes[k-1]+1 {
			return c.errf("axes %v are not contiguous and increasing", o.Axes)
		}
	}
	if err := c.elementwiseTypes(0); err != nil {
		return err
	}
	var want []int64
	for k, d := range x.Shape {
		if int32(k) >= o.Axes[0] && int32(k) <= o.Axes[len(o.Axes)-1] {
			if o.KeepDims {
				want = append(want, 1)
			}
			continue
		}
		want = append(want, int64(d))
	}
	if want == nil {
		want = []int64{}
	}
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) unary() error {
	if c.op.Code == OpGELU {
		if _, err := options[GELUOptions](c, false); err != nil {
			return err
		}
	} else if c.op.Code == OpHardSigmoid {
		o, err := options[HardSigmoidOptions](c, true)
		if err != nil {
			return err
		}
		if !finite(o.Alpha) || !finite(o.Beta) {
			return c.errf("alpha %v, beta %v, want finite values", o.Alpha, o.Beta)
		}
	} else if err := c.noOptions(); err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if err := c.elementwiseTypes(0); err != nil {
		return err
	}
	return c.shapeIs(c.outName(), y.Shape, dims(x.Shape))
}

func (c *opCheck) reshape() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if err := c.passThrough(x); err != nil {
		return err
	}
	if x.NumElements() != y.NumElements() {
		return c.errf("%s has shape %v (%d elements), want %d elements like %s with shape %v",
			c.outName(), y.Shape, y.NumElements(), x.NumElements(), c.inName("input", 0), x.Shape)
	}
	return nil
}

func (c *opCheck) transpose() error {
	o, err := options[TransposeOptions](c, true)
	if err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if len(o.Perm) != len(x.Shape) {
		return c.errf("perm %v has %d entries for %s of rank %d", o.Perm, len(o.Perm), c.inName("input", 0), len(x.Shape))
	}
	var seen [MaxRank]bool
	want := make([]int64, len(o.Perm))
	for k, p := range o.Perm {
		if p < 0 || int(p) >= len(x.Shape) || seen[p] {
			return c.errf("perm %v is not a permutation of 0..%d", o.Perm, len(x.Shape)-1)
		}
		seen[p] = true
		want[k] = int64(x.Shape[p])
	}
	if err := c.passThrough(x); err != nil {
		return err
	}
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) concat() error {
	o, err := options[ConcatOptions](c, false)
	if err != nil {
		return err
	}
	y := c.out()
	r := len(y.Shape)
	if o.Axis < 0 || int(o.Axis) >= r {
		return c.errf("axis %d out of range for %s with shape %v", o.Axis, c.outName(), y.Shape)
	}
	var sum int64
	checked := make(map[int32]bool, len(c.op.Inputs)) // each distinct input once: a repeated input with long per-axis parameters must not cost again
	for k := range c.op.Inputs {
		x := c.in(k)
		if checked[c.op.Inputs[k]] {
			sum += int64(x.Shape[o.Axis])
			continue
		}
		checked[c.op.Inputs[k]] = true
		name := c.inName("input", k)
		if x.DType != y.DType {
			return c.errf("%s is %v, want %v like the output", name, x.DType, y.DType)
		}
		if !sameQuant(x.Quant, y.Quant) {
			return c.errf("%s has quantization %s, want the output's %s", name, quantString(x.Quant), quantString(y.Quant))
		}
		if len(x.Shape) != r {
			return c.errf("%s has rank %d (shape %v), want %d like the output", name, len(x.Shape), x.Shape, r)
		}
		for d := range r {
			if d != int(o.Axis) && x.Shape[d] != y.Shape[d] {
				return c.errf("%s has shape %v, want %v except along axis %d", name, x.Shape, y.Shape, o.Axis)
			}
		}
		sum += int64(x.Shape[o.Axis])
	}
	if sum != int64(y.Shape[o.Axis]) {
		want := dims(y.Shape)
		want[o.Axis] = sum
		return c.shapeIs(c.outName(), y.Shape, want)
	}
	if y.DType != Int8 && y.DType != Float32 && y.DType != Int32 {
		return c.errf("%s is %v, want float32, int8 or int32", c.outName(), y.DType)
	}
	return nil
}

func (c *opCheck) gather() error {
	o, err := options[GatherOptions](c, false)
	if err != nil {
		return err
	}
	x, idx, y := c.in(0), c.in(1), c.out()
	if o.Axis < 0 || int(o.Axis) >= len(x.Shape) {
		return c.errf("axis %d out of range for %s with shape %v", o.Axis, c.inName("input", 0), x.Shape)
	}
	name := c.inName("indices", 1)
	if err := c.dtype(name, idx, Int32); err != nil {
		return err
	}
	if err := c.constant(name, idx); err != nil {
		return err
	}
	if idx.Quant != nil {
		return c.errf("%s is quantized, want plain int32", name)
	}
	limit := x.Shape[o.Axis]
	r, ok := c.cache.indices[c.op.Inputs[1]]
	if !ok {
		r = [2]int32{math.MaxInt32, math.MinInt32}
		for j := 0; j+4 <= len(idx.Data); j += 4 {
			v := int32(binary.LittleEndian.Uint32(idx.Data[j:]))
			r[0], r[1] = min(r[0], v), max(r[1], v)
		}
		c.cache.indices[c.op.Inputs[1]] = r
	}
	if r[0] < 0 || r[1] >= limit {
		for j := 0; j+4 <= len(idx.Data); j += 4 {
			if v := int32(binary.LittleEndian.Uint32(idx.Data[j:])); v < 0 || v >= limit {
				return c.errf("%s holds %d at element %d, want [0, %d)", name, v, j/4, limit)
			}
		}
	}
	if err := c.passThrough(x); err != nil {
		return err
	}
	want := dims(x.Shape[:o.Axis])
	want = append(want, dims(idx.Shape)...)
	want = append(want, dims(x.Shape[o.Axis+1:])...)
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) slice() error {
	o, err := options[SliceOptions](c, true)
	if err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	r := len(x.Shape)
	if len(o.Begin) != r || len(o.Size) != r {
		return c.errf("begin %v and size %v, want %d entries each for %s with shape %v", o.Begin, o.Size, r, c.inName("input", 0), x.Shape)
	}
	want := make([]int64, r)
	for k := range r {
		b, s, d := int64(o.Begin[k]), int64(o.Size[k]), int64(x.Shape[k])
		if s == -1 {
			s = d - b
		}
		if b < 0 || b >= d || s < 1 || b+s > d {
			return c.errf("begin %d size %d along axis %d out of range for %s with shape %v", o.Begin[k], o.Size[k], k, c.inName("input", 0), x.Shape)
		}
		want[k] = s
	}
	if err := c.passThrough(x); err != nil {
		return err
	}
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) pad() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, p, y := c.in(0), c.in(1), c.out()
	name := c.inName("paddings", 1)
	if err := c.dtype(name, p, Int32); err != nil {
		return err
	}
	if err := c.constant(name, p); err != nil {
		return err
	}
	if p.Quant != nil {
		return c.errf("%s is quantized, want plain int32", name)
	}
	r := len(x.Shape)
	if err := c.shapeIs(name, p.Shape, []int64{int64(r), 2}); err != nil {
		return err
	}
	want := dims(x.Shape)
	for j := 0; j+4 <= len(p.Data); j += 4 {
		v := int32(binary.LittleEndian.Uint32(p.Data[j:]))
		if v < 0 {
			return c.errf("%s holds %d for axis %d, want ≥ 0", name, v, j/8)
		}
		want[j/8] += int64(v)
	}
	if err := c.passThrough(x); err != nil {
		return err
	}
	return c.shapeIs(c.outName(), y.Shape, want)
}

// quantizedPerTensor checks an int8 or uint8 tensor with per-tensor
// quantization.
func (c *opCheck) quantizedPerTensor(name tname, t *Tensor) error {
	if t.DType != Int8 && t.DType != UInt8 {
		return c.errf("%s is %v, want int8 or uint8", name, t.DType)
	}
	if t.Quant == nil || len(t.Quant.Scale) != 1 {
		return c.errf("%s is %v without per-tensor quantization", name, t.DType)
	}
	return nil
}

func (c *opCheck) quantize() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if x.DType != Float32 {
		if err := c.quantizedPerTensor(c.inName("input", 0), x); err != nil {
			return c.errf("%s is %v, want float32, or int8/uint8 with per-tensor quantization", c.inName("input", 0), x.DType)
		}
	}
	if err := c.quantizedPerTensor(c.outName(), y); err != nil {
		return err
	}
	return c.shapeIs(c.outName(), y.Shape, dims(x.Shape))
}

func (c *opCheck) dequantize() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	name := c.inName("input", 0)
	if x.DType != Int8 && x.DType != UInt8 {
		return c.errf("%s is %v, want int8 or uint8", name, x.DType)
	}
	if x.Quant == nil {
		return c.errf("%s is %v without quantization", name, x.DType)
	}
	if err := c.dtype(c.outName(), y, Float32); err != nil {
		return err
	}
	return c.shapeIs(c.outName(), y.Shape, dims(x.Shape))
}

func (c *opCheck) argMax() error {
	o, err := options[ArgMaxOptions](c, true)
	if err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if o.Axis < 0 || int(o.Axis) >= len(x.Shape) {
		return c.errf("axis %d out of range for %s with shape %v", o.Axis, c.inName("input", 0), x.Shape)
	}
	if x.DType != Float32 && x.DType != Int8 {
		return c.errf("%s is %v, want float32 or int8", c.inName("input", 0), x.DType)
	}
	if err := c.dtype(c.outName(), y, Int32); err != nil {
		return err
	}
	if y.Quant != nil {
		return c.errf("%s is quantized, want plain int32", c.outName())
	}
	want := dims(x.Shape)
	want = append(want[:o.Axis], want[o.Axis+1:]...)
	return c.shapeIs(c.outName(), y.Shape, want)
}

func (c *opCheck) resizeBilinear() error {
	o, err := options[ResizeBilinearOptions](c, true)
	if err != nil {
		return err
	}
	if o.AlignCorners && o.HalfPixelCenters {
		return c.errf("align_corners and half_pixel_centers exclude each other")
	}
	x, y := c.in(0), c.out()
	if err := c.rank(c.inName("input", 0), x, 4); err != nil {
		return err
	}
	if err := c.elementwiseTypes(0); err != nil {
		return err
	}
	if err := c.passThrough(x); err != nil {
		return err
	}
	if len(y.Shape) != 4 || y.Shape[0] != x.Shape[0] || y.Shape[3] != x.Shape[3] {
		return c.errf("%s has shape %v, want [%d OH OW %d]", c.outName(), y.Shape, x.Shape[0], x.Shape[3])
	}
	return nil
}

// gatherND checks GatherND: indices are plain int32 [..., K] with
// 1 ≤ K ≤ rank of x; the output is indices.shape[:−1] + x.shape[K:] and
// keeps x's type and quantization. Indices may be computed (their range
// is the kernel's business: out-of-range rows read as zeros).
func (c *opCheck) gatherND() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, idx, y := c.in(0), c.in(1), c.out()
	name := c.inName("indices", 1)
	if err := c.dtype(name, idx, Int32); err != nil {
		return err
	}
	if idx.Quant != nil {
		return c.errf("%s is quantized, want plain int32", name)
	}
	if err := c.minRank(name, idx, 1); err != nil {
		return err
	}
	k := int(idx.Shape[len(idx.Shape)-1])
	if k < 1 || k > len(x.Shape) {
		return c.errf("%s has shape %v: index rows of %d, want 1 to %d (the rank of %s)", name, idx.Shape, k, len(x.Shape), c.inName("input", 0))
	}
	if err := c.passThrough(x); err != nil {
		return err
	}
	want := dims(idx.Shape[:len(idx.Shape)-1])
	want = append(want, dims(x.Shape[k:])...)
	return c.shapeIs(c.outName(), y.Shape, want)
}

// cast checks Cast: int32 → float32 or float32 → int32, unquantized,
// same shape.
func (c *opCheck) cast() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, y := c.in(0), c.out()
	if !(x.DType == Int32 && y.DType == Float32) && !(x.DType == Float32 && y.DType == Int32) {
		return c.errf("casts %v to %v, want int32 → float32 or float32 → int32", x.DType, y.DType)
	}
	if x.Quant != nil || y.Quant != nil {
		return c.errf("a quantized tensor, want plain values (Quantize and Dequantize convert quantized ones)")
	}
	return c.shapeIs(c.outName(), y.Shape, dims(x.Shape))
}
