package format

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// twoHeads builds x → fc "trunk" → {fc "attn" → softmax (output 0), fc
// "logits" (output 1)}, plus a dead-end op "side" off the trunk whose
// result is output 2. Tensor order puts each head's weights between the
// others' so that renumbering shows.
func twoHeads() *Model {
	b := newTB("two-heads")
	x := b.Input("x", Float32, []int32{1, 8}, nil)
	trunk := b.f32("trunk", 1, 8)
	b.Op(OpFullyConnected, "trunk", &FullyConnectedOptions{}, []int32{x, b.cf32("trunk/w", 8, 8), b.cf32("trunk/b", 8)}, trunk)
	a := b.f32("attn/fc", 1, 16)
	b.Op(OpFullyConnected, "attn/fc", &FullyConnectedOptions{}, []int32{trunk, b.cf32("attn/w", 16, 8), -1}, a)
	sm := b.f32("attn", 1, 16)
	b.Op(OpSoftmax, "attn", &SoftmaxOptions{Beta: 1}, []int32{a}, sm)
	lg := b.f32("logits", 1, 10)
	b.Op(OpFullyConnected, "logits", &FullyConnectedOptions{}, []int32{trunk, b.cf32("logits/w", 10, 8), b.cf32("logits/b", 10)}, lg)
	side := b.f32("side", 1, 3)
	b.Op(OpFullyConnected, "side", &FullyConnectedOptions{}, []int32{x, b.cf32("side/w", 3, 8), -1}, side)
	b.Output(sm, lg, side)
	return must(b.Finish())
}

func tensorNames(m *Model, ts []int32) []string {
	var out []string
	for _, t := range ts {
		out = append(out, m.Tensors[t].Name)
	}
	return out
}

func opsNamed(m *Model) []string {
	var out []string
	for _, op := range m.Ops {
		out = append(out, op.Name)
	}
	return out
}

func TestSelectOutputs(t *testing.T) {
	m := twoHeads()
	before, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		refs    []string
		outs    []string
		ops     []string
		tensors int
	}{
		{[]string{"logits"}, []string{"logits"}, []string{"trunk", "logits"}, 7},
		{[]string{"1"}, []string{"logits"}, []string{"trunk", "logits"}, 7},
		{[]string{"side", "attn"}, []string{"side", "attn"}, []string{"trunk", "attn/fc", "attn", "side"}, 9},
		{[]string{"attn", "logits", "side"}, []string{"attn", "logits", "side"}, []string{"trunk", "attn/fc", "attn", "logits", "side"}, len(m.Tensors)},
	} {
		got, remap, err := m.SelectOutputs(c.refs)
		if err != nil {
			t.Fatalf("%v: %v", c.refs, err)
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("%v: result invalid: %v", c.refs, err)
		}
		if !slices.Equal(tensorNames(got, got.Outputs), c.outs) {
			t.Errorf("%v: outputs %v, want %v", c.refs, tensorNames(got, got.Outputs), c.outs)
		}
		if !slices.Equal(opsNamed(got), c.ops) {
			t.Errorf("%v: ops %v, want %v", c.refs, opsNamed(got), c.ops)
		}
		if len(got.Tensors) != c.tensors {
			t.Errorf("%v: %d tensors, want %d", c.refs, len(got.Tensors), c.tensors)
		}
		// remap sends every kept tensor to its copy and only dropped ones to −1.
		kept := 0
		for i, r := range remap {
			if r < 0 {
				continue
			}
			kept++
			if g := &got.Tensors[r]; g.Name != m.Tensors[i].Name || string(g.Data) != string(m.Tensors[i].Data) {
				t.Errorf("%v: tensor %d %q remapped to %d %q", c.refs, i, m.Tensors[i].Name, r, got.Tensors[r].Name)
			}
		}
		if kept != len(got.Tensors) {
			t.Errorf("%v: remap keeps %d tensors, the model has %d", c.refs, kept, len(got.Tensors))
		}
		if got.Inputs[0] != remap[m.Inputs[0]] || got.Tensors[got.Inputs[0]].Name != "x" {
			t.Errorf("%v: input not kept", c.refs)
		}
	}
	after, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("SelectOutputs changed the model it was given")
	}
}

func TestSelectOutputsErrors(t *testing.T) {
	m := twoHeads()
	for _, c := range []struct {
		refs []string
		want []string
	}{
		{[]string{"cls"}, []string{`no output "cls"`, `0 "attn" [1 16] float32`, `1 "logits" [1 10] float32`, `2 "side" [1 3] float32`}},
		{[]string{"3"}, []string{`no output "3"`}},
		{[]string{"trunk"}, []string{`no output "trunk"`}}, // a tensor, but not an output
		{nil, []string{"no outputs chosen"}},
	} {
		_, _, err := m.SelectOutputs(c.refs)
		if !errors.Is(err, ErrNoOutput) {
			t.Errorf("%v: error %v does not wrap ErrNoOutput", c.refs, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not say %q", c.refs, err, w)
			}
		}
	}
	if _, _, err := m.SelectOutputs([]string{"logits", "1"}); err == nil || !strings.Contains(err.Error(), "chosen twice") {
		t.Errorf("an output chosen twice: error %v", err)
	}
}

func TestRemoveDeadKeepsUnreadInputsAndMultiOutputOps(t *testing.T) {
	b := newTB("dead")
	x := b.Input("x", Float32, []int32{1, 4}, nil)
	unused := b.Input("unused", Float32, []int32{1, 4}, nil)
	y := b.f32("y", 1, 4)
	b.Op(OpReLU, "relu", nil, []int32{x}, y)
	d1 := b.f32("d1", 1, 4)
	b.Op(OpReLU, "dead1", nil, []int32{y}, d1)
	d2 := b.f32("d2", 1, 4)
	b.Op(OpReLU, "dead2", nil, []int32{d1}, d2) // dead1 is read, but only by a dead op
	b.Output(y)
	m := must(b.Finish())
	remap := m.RemoveDead()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(opsNamed(m), []string{"relu"}) {
		t.Errorf("ops %v, want [relu]", opsNamed(m))
	}
	if !slices.Equal(tensorNames(m, m.Inputs), []string{"x", "unused"}) || remap[unused] != 1 || remap[d1] != -1 || remap[d2] != -1 {
		t.Errorf("inputs %v, remap %v", tensorNames(m, m.Inputs), remap)
	}
}
