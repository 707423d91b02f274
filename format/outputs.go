package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoOutput is wrapped by the errors of OutputIndex and SelectOutputs
// about an output the model does not have.
var ErrNoOutput = errors.New("format: no such graph output")

// OutputIndex returns the position in m.Outputs of the output named ref.
// When no output has that name and ref is a decimal number, it is taken as
// the position itself. The error wraps ErrNoOutput and lists the outputs.
func (m *Model) OutputIndex(ref string) (int, error) {
	for k, t := range m.Outputs {
		if m.Tensors[t].Name == ref {
			return k, nil
		}
	}
	if k, err := strconv.Atoi(ref); err == nil && k >= 0 && k < len(m.Outputs) {
		return k, nil
	}
	return 0, fmt.Errorf("%w: model %q has no output %q; its outputs: %s", ErrNoOutput, m.Name, ref, m.OutputList())
}

// OutputList describes the graph outputs on one line, each as its
// position, name, shape and type: `0 "attn" [1 4 7 7] float32, 1 "logits"
// [1 10] float32`.
func (m *Model) OutputList() string {
	var b strings.Builder
	for k, t := range m.Outputs {
		if k > 0 {
			b.WriteString(", ")
		}
		if t < 0 || int(t) >= len(m.Tensors) {
			fmt.Fprintf(&b, "%d (tensor %d out of range)", k, t)
			continue
		}
		tt := &m.Tensors[t]
		fmt.Fprintf(&b, "%d %q %v %v", k, tt.Name, tt.Shape, tt.DType)
	}
	return b.String()
}

// SelectOutputs returns a copy of m whose graph outputs are the ones refs
// name (names or positions, as OutputIndex reads them), in the order
// given, without the ops and tensors that then feed no output. Graph inputs
// stay, used or not. remap[i] is the new index of m's tensor i, or −1 for a
// tensor that was dropped. Constant data is shared with m, which is left
// unchanged. The copy has no memory plan (its tensors moved).
func (m *Model) SelectOutputs(refs []string) (out *Model, remap []int32, err error) {
	if len(refs) == 0 {
		return nil, nil, fmt.Errorf("%w: no outputs chosen for model %q; its outputs: %s", ErrNoOutput, m.Name, m.OutputList())
	}
	outs := make([]int32, 0, len(refs))
	chosen := map[int]string{}
	for _, ref := range refs {
		k, err := m.OutputIndex(ref)
		if err != nil {
			return nil, nil, err
		}
		if prev, dup := chosen[k]; dup {
			return nil, nil, fmt.Errorf("model %q: output %d %q is chosen twice (as %q and %q)", m.Name, k, m.Tensors[m.Outputs[k]].Name, prev, ref)
		}
		chosen[k] = ref
		outs = append(outs, m.Outputs[k])
	}
	c := *m
	c.Tensors = append([]Tensor(nil), m.Tensors...)
	c.Ops = make([]Op, len(m.Ops))
	for i, op := range m.Ops {
		op.Inputs = append([]int32(nil), op.Inputs...)
		op.Outputs = append([]int32(nil), op.Outputs...)
		c.Ops[i] = op
	}
	c.Inputs = append([]int32(nil), m.Inputs...)
	c.Outputs = outs
	c.MemoryPlan = nil
	return &c, c.RemoveDead(), nil
}

// RemoveDead drops, in place, the ops none of whose outputs is read by a
// remaining op or is a graph output, then the tensors that no remaining op
// and no graph input or output refers to, and renumbers the rest in their
// order. It returns remap: remap[i] is the new index of tensor i, or −1
// when it was dropped. Ops must be in execution order (as Validate
// requires); a model with a memory plan loses it when a tensor moves.
func (m *Model) RemoveDead() (remap []int32) {
	live := make([]bool, len(m.Tensors))
	mark := func(ts []int32) {
		for _, t := range ts {
			if t >= 0 && int(t) < len(live) {
				live[t] = true
			}
		}
	}
	mark(m.Outputs)
	keep := make([]bool, len(m.Ops))
	for i := len(m.Ops) - 1; i >= 0; i-- {
		for _, t := range m.Ops[i].Outputs {
			if t >= 0 && int(t) < len(live) && live[t] {
				keep[i] = true
				break
			}
		}
		if keep[i] {
			mark(m.Ops[i].Inputs)
		}
	}
	ops := m.Ops[:0]
	for i, op := range m.Ops {
		if keep[i] {
			ops = append(ops, op)
			mark(op.Outputs)
		}
	}
	clear(m.Ops[len(ops):])
	m.Ops = ops
	mark(m.Inputs)
	remap = make([]int32, len(m.Tensors))
	tensors := m.Tensors[:0]
	moved := false
	for i := range m.Tensors {
		if !live[i] {
			remap[i] = -1
			moved = true
			continue
		}
		remap[i] = int32(len(tensors))
		tensors = append(tensors, m.Tensors[i])
	}
	clear(m.Tensors[len(tensors):])
	m.Tensors = tensors
	if !moved {
		return remap
	}
	m.MemoryPlan = nil
	fix := func(ts []int32) {
		for j, t := range ts {
			if t >= 0 && int(t) < len(remap) {
				ts[j] = remap[t]
			}
		}
	}
	fix(m.Inputs)
	fix(m.Outputs)
	for i := range m.Ops {
		fix(m.Ops[i].Inputs)
		fix(m.Ops[i].Outputs)
	}
	return remap
}
