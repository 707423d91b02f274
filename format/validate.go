package format

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/quant"
)

// Limits Validate enforces.
const (
	// MaxRank is the largest tensor rank.
	MaxRank = 6
	// MaxTensorBytes is the largest tensor, in bytes; it keeps every size
	// computation inside a 32-bit int.
	MaxTensorBytes = 1<<31 - 1
	// PlanAlign is the alignment of every offset in a MemoryPlan (a cache
	// line, as the runtime's arena uses).
	PlanAlign = 64
)

// biasScaleTolerance is the relative error allowed between a quantized
// bias's scale and s_in·s_w.
const biasScaleTolerance = 1e-3

// Validate checks m's semantics: tensors (types, shapes, sizes, constant
// data, quantization), the graph (indices, one producer per activation,
// executable in stored order), every op (code, version, arity, options,
// attribute ranges, dtypes, quantization and output shapes as documented
// in ops.go) and the metadata (rounding, preprocessing, memory plan, and
// that an output fits the task).
// Errors wrap ErrInvalid, or ErrUnsupported for versions, op codes and
// enum values newer than this build, and name the op and tensor at fault.
func (m *Model) Validate() error {
	if m == nil {
		return invalid("nil model")
	}
	for i := range m.Tensors {
		if err := m.validateTensor(i); err != nil {
			return err
		}
	}
	if err := m.validateGraph(); err != nil {
		return err
	}
	cache := newValCache()
	for i := range m.Ops {
		if err := m.checkOp(i, cache); err != nil {
			return err
		}
	}
	return m.validateMetadata()
}

// tensorDesc names tensor i: `tensor 42 "w"`.
func (m *Model) tensorDesc(i int32) string {
	if i < 0 || int(i) >= len(m.Tensors) {
		return fmt.Sprintf("tensor %d", i)
	}
	return fmt.Sprintf("tensor %d %q", i, m.Tensors[i].Name)
}

// tensorRef prints as tensorDesc, formatting only when printed.
type tensorRef struct {
	m *Model
	i int32
}

func (r tensorRef) String() string { return r.m.tensorDesc(r.i) }

func (m *Model) validateTensor(i int) error {
	t := &m.Tensors[i]
	desc := tensorRef{m, int32(i)}
	if t.DType == DTypeInvalid {
		return invalid("%s: dtype 0 (invalid)", desc)
	}
	if t.DType.Size() == 0 {
		return unsupported("%s: unknown dtype %v", desc, t.DType)
	}
	if len(t.Shape) > MaxRank {
		return invalid("%s: rank %d exceeds %d", desc, len(t.Shape), MaxRank)
	}
	n := int64(t.DType.Size())
	for k, d := range t.Shape {
		if d < 1 {
			return invalid("%s: dimension %d is %d in shape %v, want ≥ 1", desc, k, d, t.Shape)
		}
		n *= int64(d) // n ≤ 2^31 before, d < 2^31: no overflow
		if n > MaxTensorBytes {
			return invalid("%s: shape %v of %v exceeds %d bytes", desc, t.Shape, t.DType, MaxTensorBytes)
		}
	}
	if t.Data != nil && int64(len(t.Data)) != n {
		return invalid("%s: constant holds %d bytes, want %d for %v %v", desc, len(t.Data), n, t.DType, t.Shape)
	}
	if q := t.Quant; q != nil {
		if t.DType == Float32 {
			return invalid("%s: float32 tensor has quantization parameters", desc)
		}
		if len(q.Scale) == 0 {
			return invalid("%s: quantization without scales", desc)
		}
		if len(q.ZeroPoint) != len(q.Scale) {
			return invalid("%s: %d scales but %d zero points", desc, len(q.Scale), len(q.ZeroPoint))
		}
		if len(q.Scale) > 1 {
			if q.Axis < 0 || int(q.Axis) >= len(t.Shape) {
				return invalid("%s: quantization axis %d out of range for shape %v", desc, q.Axis, t.Shape)
			}
			if int64(len(q.Scale)) != int64(t.Shape[q.Axis]) {
				return invalid("%s: %d scales along axis %d of shape %v, want %d", desc, len(q.Scale), q.Axis, t.Shape, t.Shape[q.Axis])
			}
		}
		lo, hi := t.DType.Range()
		for c := range q.Scale {
			p := quant.Params{Scale: q.Scale[c], ZeroPoint: q.ZeroPoint[c]}
			if err := p.Validate(lo, hi); err != nil {
				return invalid("%s: quantization channel %d: %v", desc, c, err)
			}
		}
	}
	return nil
}

func (m *Model) validateGraph() error {
	n := len(m.Tensors)
	// state: 0 unknown, 1 graph input, 2 produced by an op (so far), 3 constant.
	const (
		stInput    = 1
		stProduced = 2
		stConst    = 3
	)
	state := make([]uint8, n)
	for i := range m.Tensors {
		if m.Tensors[i].IsConst() {
			state[i] = stConst
		}
	}
	if len(m.Inputs) == 0 {
		return invalid("model %q has no inputs", m.Name)
	}
	if len(m.Outputs) == 0 {
		return invalid("model %q has no outputs", m.Name)
	}
	for k, t := range m.Inputs {
		if t < 0 || int(t) >= n {
			return invalid("input %d: tensor index %d out of range (%d tensors)", k, t, n)
		}
		switch state[t] {
		case stConst:
			return invalid("input %d: %s is a constant", k, m.tensorDesc(t))
		case stInput:
			return invalid("input %d: %s is listed twice", k, m.tensorDesc(t))
		}
		state[t] = stInput
	}
	for i := range m.Ops {
		op := &m.Ops[i]
		for k, t := range op.Inputs {
			if t == -1 {
				continue // absent optional input; arity checks say whether allowed
			}
			if t < 0 || int(t) >= n {
				return m.opErr(i, ErrInvalid, "input %d: tensor index %d out of range (%d tensors)", k, t, n)
			}
			if state[t] == 0 {
				return m.opErr(i, ErrInvalid, "input %d: %s is not a constant, a graph input or the output of an earlier op", k, m.tensorDesc(t))
			}
		}
		for k, t := range op.Outputs {
			if t < 0 || int(t) >= n {
				return m.opErr(i, ErrInvalid, "output %d: tensor index %d out of range (%d tensors)", k, t, n)
			}
			switch state[t] {
			case stConst:
				return m.opErr(i, ErrInvalid, "output %d: %s is a constant", k, m.tensorDesc(t))
			case stInput:
				return m.opErr(i, ErrInvalid, "output %d: %s is a graph input", k, m.tensorDesc(t))
			case stProduced:
				return m.opErr(i, ErrInvalid, "output %d: %s is already produced by an earlier op (or twice by this one)", k, m.tensorDesc(t))
			}
			state[t] = stProduced
		}
	}
	seen := make(map[int32]bool, len(m.Outputs))
	for k, t := range m.Outputs {
		if t < 0 || int(t) >= n {
			return invalid("output %d: tensor index %d out of range (%d tensors)", k, t, n)
		}
		if state[t] != stProduced {
			return invalid("output %d: %s is not produced by any op", k, m.tensorDesc(t))
		}
		if seen[t] {
			return invalid("output %d: %s is listed twice", k, m.tensorDesc(t))
		}
		seen[t] = true
	}
	return nil
}

// opErr builds an error about op i: `op 17 FullyConnected "fc1": ...`.
func (m *Model) opErr(i int, kind error, f string, args ...any) error {
	op := &m.Ops[i]
	return errorf(kind, "op %d %v %q: %s", i, op.Code, op.Name, fmt.Sprintf(f, args...))
}

func (m *Model) validateMetadata() error {
	if m.Rounding > quant.RoundXNNPACKUint8 {
		return unsupported("unknown rounding %v", m.Rounding)
	}
	if m.Task > TaskSegment {
		return unsupported("unknown task %d", uint8(m.Task))
	}
	if m.Task != TaskUnspecified {
		if _, err := m.TaskOutput(m.Task); err != nil {
			return err
		}
	}
	if p := m.Preprocess; p != nil {
		if p.Width < 0 || p.Height < 0 {
			return invalid("preprocess: size %d×%d", p.Width, p.Height)
		}
		if p.Layout > NCHW {
			return unsupported("preprocess: unknown layout %d", p.Layout)
		}
		if p.Color > Gray {
			return unsupported("preprocess: unknown color order %d", p.Color)
		}
		if !finitePositive(p.Scale) {
			return invalid("preprocess: scale %g is not finite and positive", p.Scale)
		}
		channels := 3
		if p.Color == Gray {
			channels = 1
		}
		if len(p.Mean) != 1 && len(p.Mean) != channels {
			return invalid("preprocess: %d means for %d %v channels, want 1 or %d", len(p.Mean), channels, p.Color, channels)
		}
		if len(p.Std) != 1 && len(p.Std) != channels {
			return invalid("preprocess: %d standard deviations for %d %v channels, want 1 or %d", len(p.Std), channels, p.Color, channels)
		}
		for c, v := range p.Mean {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return invalid("preprocess: mean %d is %g", c, v)
			}
		}
		for c, v := range p.Std {
			if !finitePositive(v) {
				return invalid("preprocess: standard deviation %d is %g, want finite and positive", c, v)
			}
		}
	}
	if p := m.MemoryPlan; p != nil {
		if len(p.Offsets) != len(m.Tensors) {
			return invalid("memory plan: %d offsets for %d tensors", len(p.Offsets), len(m.Tensors))
		}
		if p.ArenaBytes < 0 {
			return invalid("memory plan: arena of %d bytes", p.ArenaBytes)
		}
		for i, off := range p.Offsets {
			t := &m.Tensors[i]
			if off == -1 {
				continue
			}
			if t.IsConst() {
				return invalid("memory plan: constant %s placed at offset %d, want -1", m.tensorDesc(int32(i)), off)
			}
			if off < 0 || off%PlanAlign != 0 {
				return invalid("memory plan: %s at offset %d, want a multiple of %d (or -1)", m.tensorDesc(int32(i)), off, PlanAlign)
			}
			if size := int64(t.ByteSize()); off > p.ArenaBytes || size > p.ArenaBytes-off {
				return invalid("memory plan: %s at offset %d (%d bytes) runs past the %d-byte arena", m.tensorDesc(int32(i)), off, size, p.ArenaBytes)
			}
		}
	}
	return nil
}

func finitePositive(v float32) bool { return v > 0 && !math.IsInf(float64(v), 1) }
