package runtime_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// tokenVariants are the small zoo models that exercise every token operator.
var tokenVariants = []string{"vit-micro-seed", "vit-micro-ep"}

func TestTokenVariantsFidelity(t *testing.T) {
	for _, name := range tokenVariants {
		c, agree := fidelity(t, name, 4)
		t.Logf("%s: int8 vs float logits: mean cosine %.4f, top-1 agreement %.2f", name, c, agree)
		if c < 0.95 {
			t.Errorf("%s: mean cosine %.4f < 0.95", name, c)
		}
	}
}

func TestTokenVariantsThreadsAndAllocs(t *testing.T) {
	for _, name := range tokenVariants {
		q, f := build(t, name)
		for _, m := range []*format.Model{q, f} {
			var outs [][]byte
			for _, th := range []int{1, 3} {
				it := newInterp(t, m, th)
				r := rand.New(rand.NewSource(5))
				x := zoo.SampleInput(f, r)
				in := it.Input(0)
				for i, v := range x {
					if in.DType == format.Int8 {
						in.Int8()[i] = int8(in.Params.Quantize(v, -128, 127))
					} else {
						in.Float32()[i] = v
					}
				}
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				outs = append(outs, append([]byte(nil), it.Output(0).Bytes()...))
				if a := invokeAllocs(it); a != 0 {
					t.Errorf("%s %v: %.1f allocations per Invoke", name, in.DType, a)
				}
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Errorf("%s: 1 and 3 threads differ", name)
			}
		}
	}
}

// buildKeep builds the float vit-micro-seed graph with a given Keep and
// the same weights (the weights do not depend on Keep).
func buildKeep(t *testing.T, v zoo.Variant) *format.Model {
	m, err := zoo.BuildViTVariant("budget", zoo.ViTMicro, v, rand.New(rand.NewSource(3)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTokenBudget: a model built for 8 kept tokens and run with
// SetTokens(k) gives the same logits as the model built for k, with no
// allocation and fewer MACs; the same bits and the same MACs per product
// as FixTokens' static model for k (attention trimmed to the live keys).
func TestTokenBudget(t *testing.T) {
	for _, v := range []zoo.Variant{
		{TAPBlocks: 1, PruneAfter: 0, Keep: 8, PoolTo: 2, Head: "ggem"},
		{PruneAfter: 0, Keep: 8, ZOMode: format.ZOFroDiag, Head: "ep", Queries: 4, VAR: true, SinkDims: []int32{0, 1}, SinkTau: 2},
		{PruneAfter: 0, Keep: 8},
	} {
		big := buildKeep(t, v)
		it := newInterp(t, big, 2)
		if it.MaxTokens() != 8 {
			t.Fatalf("MaxTokens = %d", it.MaxTokens())
		}
		x := zoo.SampleInput(big, rand.New(rand.NewSource(9)))
		full := it.MACs()
		copy(it.Input(0).Float32(), x)
		for _, k := range []int{8, 5, 1, 3} {
			small := v
			small.Keep = k
			ref := newInterp(t, buildKeep(t, small), 1)
			copy(ref.Input(0).Float32(), x)
			if err := ref.Invoke(); err != nil {
				t.Fatal(err)
			}
			if err := it.SetTokens(k); err != nil {
				t.Fatal(err)
			}
			// The input is written once, before the loop: Invoke leaves
			// it intact, so the same frame runs again at a new budget.
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			for i, v := range it.Input(0).Float32() {
				if v != x[i] {
					t.Fatalf("keep %d: Invoke changed input element %d: %g, was %g", k, i, v, x[i])
				}
			}
			got, want := it.Output(0).Float32(), ref.Output(0).Float32()
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%+v keep %d: logit %d = %g, want %g (model built for %d)", v, k, i, got[i], want[i], k)
				}
			}
			if a := invokeAllocs(it); a != 0 {
				t.Errorf("keep %d: %.1f allocations per Invoke", k, a)
			}
			// FixTokens gives the static model for the same budget.
			fixed, err := runtime.FixTokens(big, k)
			if err != nil {
				t.Fatal(err)
			}
			fit := newInterp(t, fixed, 1)
			copy(fit.Input(0).Float32(), x)
			if err := fit.Invoke(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fit.Output(0).Bytes(), ref.Output(0).Bytes()) {
				t.Errorf("%+v keep %d: FixTokens model differs from the model built for %d", v, k, k)
			}
			if fit.MACs() != ref.MACs() {
				t.Errorf("keep %d: FixTokens model has %d MACs, built model %d", k, fit.MACs(), ref.MACs())
			}
			if !bytes.Equal(it.Output(0).Bytes(), fit.Output(0).Bytes()) {
				t.Errorf("%+v keep %d: SetTokens output differs from FixTokens' bits", v, k)
			}
			sameTrimmedMACs(t, fmt.Sprintf("%+v keep %d", v, k), it, fit, big)
			if k < 8 && it.MACs() >= full {
				t.Errorf("keep %d: %d MACs, not fewer than %d", k, it.MACs(), full)
			}
		}
	}
}

// sameTrimmedMACs checks that the ops a budget trims (FullyConnected,
// BatchMatMul, DiverseSelect) report the MACs of the static model fixed,
// op by op: Q·Kᵀ and P·V scale with live rows × live keys.
func sameTrimmedMACs(t *testing.T, what string, it, fixed *runtime.Interpreter, m *format.Model) {
	t.Helper()
	got, want := it.Profile(), fixed.Profile()
	for i, op := range m.Ops {
		switch op.Code {
		case format.OpFullyConnected, format.OpBatchMatMul, format.OpDiverseSelect:
			if got[i].MACs != want[i].MACs {
				t.Errorf("%s: op %d %v %q: %d MACs, FixTokens %d", what, i, op.Code, op.Name, got[i].MACs, want[i].MACs)
			}
		}
	}
}

// TestTokenBudgetInt8 runs the calibrated int8 model at several budgets:
// it tracks the float model built for that budget, the same on any
// thread count.
func TestTokenBudgetInt8(t *testing.T) {
	v := zoo.Variant{TAPBlocks: 1, PruneAfter: 0, Keep: 8, PoolTo: 2, Head: "ggem"}
	fm := buildKeep(t, v)
	r := rand.New(rand.NewSource(1))
	var samples [][][]float32
	for i := 0; i < 4; i++ {
		samples = append(samples, [][]float32{zoo.SampleInput(fm, r)})
	}
	rg, err := ptq.Observe(fm, samples, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := ptq.Quantize(fm, rg)
	if err != nil {
		t.Fatal(err)
	}
	x := zoo.SampleInput(fm, rand.New(rand.NewSource(9)))
	for _, k := range []int{6, 4, 1} {
		small := v
		small.Keep = k
		ref := newInterp(t, buildKeep(t, small), 1)
		copy(ref.Input(0).Float32(), x)
		if err := ref.Invoke(); err != nil {
			t.Fatal(err)
		}
		var outs [][]byte
		for _, th := range []int{1, 2} {
			it := newInterp(t, qm, th)
			if err := it.SetTokens(k); err != nil {
				t.Fatal(err)
			}
			in := it.Input(0)
			for i, f := range x {
				in.Int8()[i] = int8(in.Params.Quantize(f, -128, 127))
			}
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			outs = append(outs, append([]byte(nil), it.Output(0).Bytes()...))
			got := it.Output(0).Dequantized(make([]float32, it.Output(0).NumElements()))
			if c := cosine(got, ref.Output(0).Float32()); c < 0.9 {
				t.Errorf("keep %d: int8 vs float cosine %.4f", k, c)
			} else {
				t.Logf("keep %d, %d threads: int8 vs float (model built for %d) cosine %.4f", k, th, k, c)
			}
		}
		if !bytes.Equal(outs[0], outs[1]) {
			t.Errorf("keep %d: thread counts differ", k)
		}
		// The static model of the budget: the same bytes, the same MACs.
		fixed, err := runtime.FixTokens(qm, k)
		if err != nil {
			t.Fatal(err)
		}
		fit := newInterp(t, fixed, 1)
		in := fit.Input(0)
		for i, f := range x {
			in.Int8()[i] = int8(in.Params.Quantize(f, -128, 127))
		}
		if err := fit.Invoke(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(outs[0], fit.Output(0).Bytes()) {
			t.Errorf("keep %d: int8 SetTokens output differs from FixTokens'", k)
		}
		it := newInterp(t, qm, 1)
		if err := it.SetTokens(k); err != nil {
			t.Fatal(err)
		}
		sameTrimmedMACs(t, fmt.Sprintf("int8 keep %d", k), it, fit, qm)
	}
}

func TestTokenBudgetRefused(t *testing.T) {
	_, f := build(t, "vit-micro")
	it := newInterp(t, f, 1)
	if err := it.SetTokens(4); !errors.Is(err, runtime.ErrNoTokenBudget) {
		t.Errorf("SetTokens on a model without pruning = %v", err)
	}
	if it.MaxTokens() != 0 {
		t.Errorf("MaxTokens = %d", it.MaxTokens())
	}
	big := buildKeep(t, zoo.Variant{PruneAfter: 0, Keep: 8})
	it = newInterp(t, big, 1)
	if err := it.SetTokens(0); err == nil {
		t.Error("SetTokens(0) accepted")
	}
}

// attentionOps finds, after m's pruning op, the budgeted attention
// products: scores (Q·Kᵀ, output [.., T, T]) and contexts (P·V, with
// A [.., T, T]), where T = prefix + Keep; it returns T and the prefix.
func attentionOps(m *format.Model) (scores, contexts []int, T, prefix int) {
	for i, op := range m.Ops {
		switch op.Code {
		case format.OpDiverseSelect:
			o := op.Options.(*format.DiverseSelectOptions)
			prefix, T = int(o.Prefix), int(o.Prefix+o.Keep)
		case format.OpBatchMatMul:
			sq := func(t int32) bool {
				s := m.Tensors[t].Shape
				return T > 0 && len(s) >= 2 && int(s[len(s)-1]) == T && int(s[len(s)-2]) == T
			}
			if sq(op.Outputs[0]) {
				scores = append(scores, i)
			} else if sq(op.Inputs[0]) {
				contexts = append(contexts, i)
			}
		}
	}
	return scores, contexts, T, prefix
}

// TestTokenBudgetTrimsAttention: at a reduced budget Q·Kᵀ leaves its dead
// key columns unwritten (poison put there before it survives, and
// nothing after it reads them), and P·V does not contract over the dead
// keys (NaN in V's dead rows does not reach the output, as 0·NaN would).
// The logits are those of the unpoisoned run, bit for bit.
func TestTokenBudgetTrimsAttention(t *testing.T) {
	models := map[string]*format.Model{
		"float":     buildKeep(t, zoo.Variant{PruneAfter: 0, Keep: 8}),
		"float-var": buildKeep(t, zoo.Variant{PruneAfter: 0, Keep: 8, ZOMode: format.ZOFroDiag, Head: "ep", Queries: 4, VAR: true, SinkDims: []int32{0, 1}, SinkTau: 2}),
		"int8":      quantVariant(t, zoo.Variant{PruneAfter: 0, Keep: 8}),
	}
	for name, m := range models {
		scores, contexts, T, prefix := attentionOps(m)
		if len(scores) == 0 || len(contexts) == 0 {
			t.Fatalf("%s: no budgeted attention found", name)
		}
		isScore, isContext := map[int]bool{}, map[int]bool{}
		for _, i := range scores {
			isScore[i] = true
		}
		for _, i := range contexts {
			isContext[i] = true
		}
		const keep = 3
		live := prefix + keep
		for _, set := range kernelSets(t) {
			t.Run(name+"/"+set, func(t *testing.T) {
				run := func(poison bool) []byte {
					var it *runtime.Interpreter
					it, err := runtime.New(m, runtime.Options{Threads: 2, Kernels: set, AfterOp: func(op int) {
						if !poison {
							return
						}
						if isScore[op+1] {
							o := it.Tensor(int(m.Ops[op+1].Outputs[0]))
							if o.DType == format.Float32 {
								for i := range o.Float32() {
									o.Float32()[i] = float32(math.NaN())
								}
							} else {
								for i := range o.Int8() {
									o.Int8()[i] = 55
								}
							}
						}
						if isContext[op+1] && m.Tensors[m.Ops[op+1].Inputs[1]].DType == format.Float32 {
							// V [.., T, dh]: NaN in the dead rows.
							v := it.Tensor(int(m.Ops[op+1].Inputs[1]))
							dh := int(v.Shape[len(v.Shape)-1])
							f := v.Float32()
							for b := 0; b < len(f)/(T*dh); b++ {
								for j := b*T*dh + live*dh; j < (b+1)*T*dh; j++ {
									f[j] = float32(math.NaN())
								}
							}
						}
						if isScore[op] {
							o := it.Tensor(int(m.Ops[op].Outputs[0]))
							for r := 0; r < o.NumElements()/T; r++ {
								for c := live; c < T; c++ {
									j := r*T + c
									if o.DType == format.Float32 && !math.IsNaN(float64(o.Float32()[j])) ||
										o.DType == format.Int8 && o.Int8()[j] != 55 {
										t.Fatalf("%s (%s): op %d %q wrote dead key column %d of row %d", name, set, op, m.Ops[op].Name, c, r)
									}
								}
							}
						}
					}})
					if err != nil {
						t.Fatal(err)
					}
					defer it.Close()
					if err := it.SetTokens(keep); err != nil {
						t.Fatal(err)
					}
					rand.New(rand.NewSource(21)).Read(it.Input(0).Bytes())
					if it.Input(0).DType == format.Float32 {
						x := zoo.SampleInput(m, rand.New(rand.NewSource(21)))
						copy(it.Input(0).Float32(), x)
					}
					if err := it.Invoke(); err != nil {
						t.Fatal(err)
					}
					return append([]byte(nil), it.Output(0).Bytes()...)
				}
				clean, poisoned := run(false), run(true)
				if !bytes.Equal(clean, poisoned) {
					t.Errorf("%s (%s): poisoned dead keys changed the output", name, set)
				}
			})
		}
	}
}
