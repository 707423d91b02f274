package runtime_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// TestTokenBudgetImportedViT: the ONNX MNIST ViT (attention [1, H, T, T])
// with ZOO-Prune inserted after block 0 runs SetTokens(k) with the logits
// and the MACs of FixTokens(m, k): float bit for bit, int8 byte for byte
// on one and two threads.
func TestTokenBudgetImportedViT(t *testing.T) {
	r, err := onnx.ImportFile(testshared.Path(t, "models/vit-mnist/vit_mnist_researchase.onnx"), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fm, err := zoo.InsertPruning(r.Model, zoo.PruneOptions{AfterBlock: 0})
	if err != nil {
		t.Fatal(err)
	}
	if scores, contexts, _, _ := attentionOps(fm); len(scores) == 0 || len(contexts) == 0 {
		t.Fatal("no budgeted attention found")
	}
	// MNIST-like inputs: normalized pixels, mostly background.
	n := 1
	for _, d := range fm.Tensors[fm.Inputs[0]].Shape {
		n *= int(d)
	}
	sample := func(r *rand.Rand) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = -0.4242
			if r.Intn(5) == 0 {
				v[i] = float32(r.Float64()*3.2 - 0.42)
			}
		}
		return v
	}
	rs := rand.New(rand.NewSource(5))
	samples := [][][]float32{{sample(rs)}, {sample(rs)}}
	rg, err := ptq.Observe(fm, samples, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := ptq.Quantize(fm, rg)
	if err != nil {
		t.Fatal(err)
	}
	x := sample(rand.New(rand.NewSource(6)))
	set := func(it *runtime.Interpreter) { setInput(it, x) }
	for _, m := range []*format.Model{fm, qm} {
		for _, k := range []int{25, 7} {
			fixed, err := runtime.FixTokens(m, k)
			if err != nil {
				t.Fatal(err)
			}
			fit := newInterp(t, fixed, 1)
			set(fit)
			if err := fit.Invoke(); err != nil {
				t.Fatal(err)
			}
			want := fit.Output(0)
			for _, th := range []int{1, 2} {
				what := fmt.Sprintf("%v keep %d, %d threads", want.DType, k, th)
				it := newInterp(t, m, th)
				if err := it.SetTokens(k); err != nil {
					t.Fatal(err)
				}
				set(it)
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				got := it.Output(0)
				if want.DType == format.Float32 {
					for i, w := range want.Float32() {
						if g := got.Float32()[i]; math.Abs(float64(g-w)) > 1e-5*(1+math.Abs(float64(w))) {
							t.Errorf("%s: logit %d = %g, FixTokens %g", what, i, g, w)
						}
					}
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Errorf("%s: output differs from FixTokens' bits", what)
				}
				if it.MACs() != fit.MACs() {
					t.Errorf("%s: %d MACs, FixTokens %d", what, it.MACs(), fit.MACs())
				}
				sameTrimmedMACs(t, what, it, fit, m)
				if a := invokeAllocs(it); a != 0 {
					t.Errorf("%s: %.1f allocations per Invoke", what, a)
				}
			}
		}
	}
}
