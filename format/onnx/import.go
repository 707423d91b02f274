package onnx

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/quant"
)

// ErrUnsupported is wrapped by errors about models that are valid ONNX but
// use something this importer cannot translate (an op, an attribute
// value, an opset).
var ErrUnsupported = errors.New("unsupported")

// Opset range this importer follows.
const (
	MinOpset = 13
	MaxOpset = 20
)

// Options control Import.
type Options struct {
	// Batch is the size given to symbolic (named or unknown) dimensions;
	// 0 means 1.
	Batch int
	// Name names the model; empty uses the graph's name.
	Name string
	// NHWCInput makes a rank-4 NCHW image input an NHWC tensor of the
	// model (recorded in its preprocessing metadata), so that a leading
	// convolution needs no transpose.
	NHWCInput bool
}

// Result is an imported model.
type Result struct {
	// Model is the float32 graph in edgeinfer's ops, validated.
	Model *format.Model
	// Int8Weights maps tensor indices of Model whose float values came
	// from int8 initializers (DequantizeLinear) to those integers, laid out
	// like the tensor, so that quantization can keep them exactly.
	Int8Weights map[int32]*Int8Weight
	// Activations maps tensor indices of Model to the int8 parameters
	// that QuantizeLinear/DequantizeLinear pairs of a QDQ model give them
	// (uint8 ones shifted by −128: the same real values), so that
	// quantization can use them instead of calibrated ranges.
	Activations map[int32]quant.Params
}

// ImportFile reads an ONNX file (with its external data) and imports it.
func ImportFile(path string, opts Options) (*Result, error) {
	m, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Import(m, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// val is one ONNX value during import: a constant, or a runtime tensor of
// the model under construction.
type val struct {
	name  string
	shape []int64 // ONNX (logical) shape
	k     *konst  // constant value, or nil
	t     int32   // runtime tensor holding it (ONNX layout), −1 if not (yet) materialized
	nhwc  int32   // for rank-4 runtime values: a tensor holding it as NHWC, or −1
	op    int     // builder op that produced t or nhwc, or −1
	// beta, when not 0, says the value is t·beta and that its only
	// consumer is a Softmax, which takes beta as its Beta.
	beta float32
}

type importer struct {
	g         *Graph
	opset     int64
	b         *format.Builder
	batch     int64
	vals      map[string]*val
	uses      map[string]int
	consumers map[string][]int
	int8w     map[int32]*Int8Weight
	acts      map[int32]quant.Params
	// skip marks nodes absorbed by a pattern; replace holds the pattern's
	// emitter at the node where it is emitted.
	skip      map[int]bool
	replace   map[int]func() error
	nhwcInput bool
	// recip maps values known only through their reciprocal (an L2 norm
	// that only a division reads) to the tensor holding 1/value.
	recip map[string]int32
}

// Import translates a decoded ONNX model into a float32 edgeinfer model.
// Shapes must be static once symbolic dimensions take Options.Batch.
func Import(m *Model, opts Options) (*Result, error) {
	opset := int64(-1)
	for _, o := range m.Opsets {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			opset = o.Version
		}
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("%w: default-domain opset %d (want %d–%d)", ErrUnsupported, opset, MinOpset, MaxOpset)
	}
	g := m.Graph
	if g.Sparse > 0 {
		return nil, fmt.Errorf("%w: %d sparse initializers", ErrUnsupported, g.Sparse)
	}
	name := opts.Name
	if name == "" {
		name = g.Name
	}
	if name == "" {
		name = "onnx"
	}
	batch := int64(opts.Batch)
	if batch <= 0 {
		batch = 1
	}
	im := &importer{
		g: g, opset: opset, b: format.NewBuilder(name), batch: batch, nhwcInput: opts.NHWCInput,
		vals: map[string]*val{}, uses: map[string]int{}, consumers: map[string][]int{}, recip: map[string]int32{},
		int8w: map[int32]*Int8Weight{}, acts: map[int32]quant.Params{}, skip: map[int]bool{}, replace: map[int]func() error{},
	}
	fm := im.b.Model()
	fm.Description = strings.TrimSpace(fmt.Sprintf("imported from ONNX (opset %d, producer %s %s)", opset, m.ProducerName, m.ProducerVersion))
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				im.uses[in]++
				im.consumers[in] = append(im.consumers[in], i)
			}
		}
	}
	for _, o := range g.Outputs {
		im.uses[o.Name]++
	}
	for _, t := range g.Initializers {
		k, err := tensorKonst(t)
		if err != nil {
			return nil, fmt.Errorf("initializer: %w", err)
		}
		im.vals[t.Name] = &val{name: t.Name, shape: k.shape, k: k, t: -1, nhwc: -1, op: -1}
	}
	if err := im.inputs(); err != nil {
		return nil, err
	}
	im.findPatterns()
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if im.skip[i] {
			continue
		}
		var err error
		if f := im.replace[i]; f != nil {
			err = f()
		} else {
			err = im.node(n)
		}
		if err != nil {
			return nil, fmt.Errorf("node %d %s %q: %w", i, n.OpType, n.Name, err)
		}
	}
	for _, o := range g.Outputs {
		v, ok := im.vals[o.Name]
		if !ok {
			return nil, fmt.Errorf("graph output %q is never produced", o.Name)
		}
		if v.k != nil {
			return nil, fmt.Errorf("%w: graph output %q is a constant", ErrUnsupported, o.Name)
		}
		t, err := im.materialize(v)
		if err != nil {
			return nil, fmt.Errorf("graph output %q: %w", o.Name, err)
		}
		if im.isGraphInput(t) || im.isGraphOutput(t) {
			// An output that merely renames an input or another output
			// still needs a tensor of its own.
			c := im.b.Activation(o.Name, format.Float32, im.b.Tensor(t).Shape, nil)
			im.b.Op(format.OpReshape, o.Name, nil, []int32{t}, c)
			t = c
		}
		im.b.Tensor(t).Name = o.Name
		im.b.Output(t)
	}
	im.pruneDead()
	out, err := im.b.Finish()
	if err != nil {
		return nil, err
	}
	return &Result{Model: out, Int8Weights: im.int8w, Activations: im.acts}, nil
}

func (im *importer) isGraphInput(t int32) bool {
	for _, i := range im.b.Model().Inputs {
		if i == t {
			return true
		}
	}
	return false
}

func (im *importer) isGraphOutput(t int32) bool {
	for _, i := range im.b.Model().Outputs {
		if i == t {
			return true
		}
	}
	return false
}

// inputs adds the graph inputs that are not initializers.
func (im *importer) inputs() error {
	fm := im.b.Model()
	for _, in := range im.g.Inputs {
		if _, isInit := im.vals[in.Name]; isInit {
			continue
		}
		if in.ElemType != Float {
			return fmt.Errorf("%w: graph input %q has element type %v (want float)", ErrUnsupported, in.Name, in.ElemType)
		}
		if in.Dims == nil {
			return fmt.Errorf("%w: graph input %q has no shape", ErrUnsupported, in.Name)
		}
		shape := make([]int64, len(in.Dims))
		for d, dim := range in.Dims {
			shape[d] = dim.Value
			if dim.Value <= 0 {
				shape[d] = im.batch
			}
		}
		nhwc := im.nhwcInput && len(shape) == 4
		stored := shape
		if nhwc {
			stored = []int64{shape[0], shape[2], shape[3], shape[1]}
		}
		s32, err := shape32(stored)
		if err != nil {
			return fmt.Errorf("graph input %q: %w", in.Name, err)
		}
		t := im.b.Input(in.Name, format.Float32, s32, nil)
		v := &val{name: in.Name, shape: shape, t: t, nhwc: -1, op: -1}
		if nhwc {
			v.t, v.nhwc = -1, t
		}
		im.vals[in.Name] = v
		if len(shape) == 4 && (shape[1] == 1 || shape[1] == 3) && fm.Preprocess == nil {
			p := &format.Preprocess{
				Width: int32(shape[3]), Height: int32(shape[2]), Layout: format.NCHW,
				Color: format.RGB, Scale: 1, Mean: []float32{0}, Std: []float32{1},
			}
			if nhwc {
				p.Layout = format.NHWC
			}
			if shape[1] == 1 {
				p.Color = format.Gray
			}
			fm.Preprocess = p
		}
	}
	if len(fm.Inputs) == 0 {
		return errors.New("graph has no inputs")
	}
	return nil
}

// shape32 converts an ONNX shape to the format's int32 dims.
func shape32(s []int64) ([]int32, error) {
	if len(s) > format.MaxRank {
		return nil, fmt.Errorf("%w: rank %d (max %d)", ErrUnsupported, len(s), format.MaxRank)
	}
	if _, err := numElements(s); err != nil {
		return nil, err
	}
	out := make([]int32, len(s))
	for d, v := range s {
		if v <= 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: dimension %d in shape %v", ErrUnsupported, v, s)
		}
		out[d] = int32(v)
	}
	return out, nil
}

// in returns input j of n, nil when absent.
func (im *importer) in(n *Node, j int) (*val, error) {
	if j >= len(n.Inputs) || n.Inputs[j] == "" {
		return nil, nil
	}
	v, ok := im.vals[n.Inputs[j]]
	if !ok {
		return nil, fmt.Errorf("input %q is not produced before it is used", n.Inputs[j])
	}
	return v, nil
}

// need returns input j of n, which must be present.
func (im *importer) need(n *Node, j int) (*val, error) {
	v, err := im.in(n, j)
	if err == nil && v == nil {
		err = fmt.Errorf("missing input %d", j)
	}
	return v, err
}

// needConst returns input j of n, which must be a constant.
func (im *importer) needConst(n *Node, j int, what string) (*konst, error) {
	v, err := im.need(n, j)
	if err != nil {
		return nil, err
	}
	if v.k == nil {
		return nil, fmt.Errorf("%w: %s (input %q) is not a constant", ErrUnsupported, what, v.name)
	}
	return v.k, nil
}

// setConst defines output j of n as a constant.
func (im *importer) setConst(n *Node, j int, k *konst) {
	if j < len(n.Outputs) && n.Outputs[j] != "" {
		im.vals[n.Outputs[j]] = &val{name: n.Outputs[j], shape: k.shape, k: k, t: -1, nhwc: -1, op: -1}
	}
}

// setTensor defines output j of n as runtime tensor t.
func (im *importer) setTensor(n *Node, j int, t int32, shape []int64) *val {
	v := &val{name: n.Outputs[j], shape: shape, t: t, nhwc: -1, op: len(im.b.Model().Ops) - 1}
	im.vals[n.Outputs[j]] = v
	return v
}

// reshape defines output 0 of n as v with a new shape (same element
// count): a constant is relabelled, a runtime value gets a Reshape op, or
// none when the shape does not change.
func (im *importer) reshape(n *Node, v *val, shape []int64) error {
	if v.k != nil {
		if k, err := numElements(shape); err != nil || k != v.k.len() {
			return fmt.Errorf("cannot reshape %v to %v", v.shape, shape)
		}
		k := *v.k
		k.shape = shape
		im.setConst(n, 0, &k)
		return nil
	}
	a, _ := numElements(v.shape)
	if b, err := numElements(shape); err != nil || a != b {
		return fmt.Errorf("cannot reshape %v to %v", v.shape, shape)
	}
	x, err := im.materialize(v)
	if err != nil {
		return err
	}
	if equalShape(v.shape, shape) {
		nv := *v
		nv.name = n.Outputs[0]
		im.vals[n.Outputs[0]] = &nv
		return nil
	}
	out, err := im.emit(format.OpReshape, n.Name, nil, []int32{x}, n.Outputs[0], shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// emit appends an op with one new float32 output of the given shape.
func (im *importer) emit(code format.OpCode, opName string, opts format.Options, inputs []int32, outName string, shape []int64) (int32, error) {
	s, err := shape32(shape)
	if err != nil {
		return 0, err
	}
	out := im.b.Activation(outName, format.Float32, s, nil)
	im.b.Op(code, opName, opts, inputs, out)
	return out, nil
}

// materialize returns the runtime tensor of v in ONNX layout, adding a
// constant tensor or an NHWC→NCHW transpose when needed.
func (im *importer) materialize(v *val) (int32, error) {
	if v.beta != 0 {
		return 0, fmt.Errorf("value %q is only meant for a softmax", v.name)
	}
	if v.t >= 0 {
		return v.t, nil
	}
	if v.k != nil {
		s, err := shape32(v.k.shape)
		if err != nil && len(v.k.shape) == 0 {
			s, err = nil, nil
		}
		if err != nil {
			return 0, fmt.Errorf("constant %q: %w", v.name, err)
		}
		v.t = im.b.ConstFloat32(v.name, s, v.k.floats())
		return v.t, nil
	}
	if v.nhwc >= 0 {
		t, err := im.permute(v.nhwc, []int64{v.shape[0], v.shape[2], v.shape[3], v.shape[1]}, []int{0, 3, 1, 2}, v.name, v.name)
		if err != nil {
			return 0, err
		}
		v.t = t
		return t, nil
	}
	return 0, fmt.Errorf("value %q has no tensor", v.name)
}

// toNHWC returns a tensor holding the rank-4 NCHW value v as NHWC.
func (im *importer) toNHWC(v *val) (int32, error) {
	if v.nhwc >= 0 {
		return v.nhwc, nil
	}
	if len(v.shape) != 4 {
		return 0, fmt.Errorf("%w: value %q has rank %d, want 4 (NCHW)", ErrUnsupported, v.name, len(v.shape))
	}
	x, err := im.materialize(v)
	if err != nil {
		return 0, err
	}
	t, err := im.permute(x, v.shape, []int{0, 2, 3, 1}, v.name+"/nhwc", v.name+"/nhwc")
	if err != nil {
		return 0, err
	}
	v.nhwc = t
	return t, nil
}

// permute emits a Transpose of x (shape in) by perm, or a Reshape when
// the permutation only moves dimensions of size 1.
func (im *importer) permute(x int32, in []int64, perm []int, opName, outName string) (int32, error) {
	out := make([]int64, len(perm))
	p32 := make([]int32, len(perm))
	last := -1
	trivial := true
	for d, p := range perm {
		out[d] = in[p]
		p32[d] = int32(p)
		if in[p] != 1 {
			if p < last {
				trivial = false
			}
			last = p
		}
	}
	if trivial {
		return im.emit(format.OpReshape, opName, nil, []int32{x}, outName, out)
	}
	return im.emit(format.OpTranspose, opName, &format.TransposeOptions{Perm: p32}, []int32{x}, outName, out)
}

// pruneDead drops ops whose outputs nobody reads (transposes made for a
// layout that was never used) and the tensors they leave unused, keeping
// the int8 weights' indices in step.
func (im *importer) pruneDead() {
	remap := im.b.Model().RemoveDead()
	int8w := map[int32]*Int8Weight{}
	for t, w := range im.int8w {
		if r := remap[t]; r >= 0 {
			int8w[r] = w
		}
	}
	im.int8w = int8w
}

// Attribute helpers.

func attr(n *Node, name string) *Attribute {
	for i := range n.Attributes {
		if n.Attributes[i].Name == name {
			return &n.Attributes[i]
		}
	}
	return nil
}

func attrInt(n *Node, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.I
	}
	return def
}

func attrFloat(n *Node, name string, def float32) float32 {
	if a := attr(n, name); a != nil {
		return a.F
	}
	return def
}

func attrInts(n *Node, name string) []int64 {
	if a := attr(n, name); a != nil {
		return a.Ints
	}
	return nil
}

func attrString(n *Node, name, def string) string {
	if a := attr(n, name); a != nil {
		return string(a.S)
	}
	return def
}

// normAxis resolves a possibly negative axis against rank.
func normAxis(axis int64, rank int) (int, error) {
	a := axis
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", axis, rank)
	}
	return int(a), nil
}
