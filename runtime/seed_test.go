package runtime_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// seedVariants are the small zoo models that exercise every token operator.
var seedVariants = []string{"vit-micro-seed", "vit-micro-ep"}

func TestSeedVariantsFidelity(t *testing.T) {
	for _, name := range seedVariants {
		c, agree := fidelity(t, name, 4)
		t.Logf("%s: int8 vs float logits: mean cosine %.4f, top-1 agreement %.2f", name, c, agree)
		if c < 0.95 {
			t.Errorf("%s: mean cosine %.4f < 0.95", name, c)
		}
	}
}

func TestSeedVariantsThreadsAndAllocs(t *testing.T) {
	for _, name := range seedVariants {
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
				if a := testing.AllocsPerRun(3, func() { _ = it.Invoke() }); a != 0 {
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
// allocation and fewer MACs.
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
			if a := testing.AllocsPerRun(3, func() { _ = it.Invoke() }); a != 0 {
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
			if k < 8 && it.MACs() >= full {
				t.Errorf("keep %d: %d MACs, not fewer than %d", k, it.MACs(), full)
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
	for _, k := range []int{6, 4} {
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
