package runtime_test

import (
	"bytes"
	"flag"
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// build returns a zoo model pair, cached per test binary.
var cache = map[string][2]*format.Model{}

func build(t testing.TB, name string) (q, f *format.Model) {
	t.Helper()
	if p, ok := cache[name]; ok {
		return p[0], p[1]
	}
	q, f, err := zoo.Build(name, zoo.Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	cache[name] = [2]*format.Model{q, f}
	return q, f
}

// invokeAllocs is the heap allocations per Invoke of it in its steady
// state (testalloc.PerRun over 4), after enough Invokes to end the timed
// ones of a multi-threaded interpreter.
func invokeAllocs(it *runtime.Interpreter) float64 {
	for range 6 {
		_ = it.Invoke()
	}
	return testalloc.PerRun(4, func() { _ = it.Invoke() })
}

func newInterp(t testing.TB, m *format.Model, threads int) *runtime.Interpreter {
	t.Helper()
	it, err := runtime.New(m, runtime.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	runtime.SplitEveryStep(it)
	t.Cleanup(it.Close)
	return it
}

// setSample writes the same seeded sample image into a float and an int8
// interpreter's input.
func setSample(fit, qit *runtime.Interpreter, fm *format.Model, r *rand.Rand) {
	x := zoo.SampleInput(fm, r)
	copy(fit.Input(0).Float32(), x)
	qin := qit.Input(0)
	for i, v := range x {
		qin.Int8()[i] = int8(qin.Params.Quantize(v, -128, 127))
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// fidelity runs n seeded images through the float and int8 models and
// returns the mean cosine similarity of the logits and the top-1 agreement.
func fidelity(t testing.TB, name string, n int) (meanCos, agree float64) {
	q, f := build(t, name)
	fit, qit := newInterp(t, f, 0), newInterp(t, q, 0)
	r := rand.New(rand.NewSource(99))
	for i := 0; i < n; i++ {
		setSample(fit, qit, f, r)
		if err := fit.Invoke(); err != nil {
			t.Fatal(err)
		}
		if err := qit.Invoke(); err != nil {
			t.Fatal(err)
		}
		fl := fit.Output(0).Float32()
		ql := qit.Output(0).Dequantized(make([]float32, len(fl)))
		meanCos += cosine(fl, ql)
		if argmax(fl) == argmax(ql) {
			agree++
		}
	}
	return meanCos / float64(n), agree / float64(n)
}

func TestInt8TracksFloat(t *testing.T) {
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		cos, agree := fidelity(t, name, 20)
		t.Logf("%s: mean logit cosine %.4f, top-1 agreement %.2f over 20 inputs", name, cos, agree)
		if cos < 0.98 || agree < 0.8 {
			t.Errorf("%s: int8 drifts from float: cosine %.4f, top-1 agreement %.2f", name, cos, agree)
		}
	}
}

var deitInputs = flag.Int("deit-inputs", 10, "random inputs for TestDeiTTinyFidelity (the README's figure uses 50)")

// TestDeiTTinyFidelity measures int8 DeiT-tiny against its float graph. Each
// input costs about 2.5 GMAC of reference kernels, so -short skips it; the
// README's figure comes from -deit-inputs=50.
func TestDeiTTinyFidelity(t *testing.T) {
	if testing.Short() {
		t.Skip("DeiT-tiny fidelity takes a minute or more; run without -short")
	}
	n := *deitInputs
	cos, agree := fidelity(t, "deit-tiny", n)
	t.Logf("deit-tiny: mean logit cosine %.4f, top-1 agreement %.2f over %d inputs", cos, agree, n)
	if cos < 0.95 {
		t.Errorf("deit-tiny int8 logits drift from float: mean cosine %.4f", cos)
	}
	q, _ := build(t, "deit-tiny")
	it := newInterp(t, q, 1)
	p := it.Plan()
	t.Logf("deit-tiny arena %d bytes, lower bound %d (%.3f×)", p.ArenaBytes, p.LowerBound, float64(p.ArenaBytes)/float64(p.LowerBound))
	if float64(p.ArenaBytes) > 1.25*float64(p.LowerBound) {
		t.Errorf("arena %d bytes is more than 1.25× the lower bound %d", p.ArenaBytes, p.LowerBound)
	}
}

func TestInvokeAllocatesNothing(t *testing.T) {
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		q, f := build(t, name)
		for _, m := range []*format.Model{q, f} {
			for _, threads := range []int{1, 3} {
				it := newInterp(t, m, threads)
				allocs := testalloc.PerRun(5, func() {
					if err := it.Invoke(); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Errorf("%s (%v input, %d threads): %v allocations per Invoke", name, m.Tensors[m.Inputs[0]].DType, threads, allocs)
				}
			}
		}
	}
}

func TestProfileAllocatesNothing(t *testing.T) {
	q, _ := build(t, "vit-micro")
	it, err := runtime.New(q, runtime.Options{Threads: 2, Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if a := testalloc.PerRun(5, func() { it.Invoke() }); a != 0 {
		t.Errorf("profiled Invoke: %v allocations", a)
	}
	var macs int64
	for _, p := range it.Profile() {
		if p.Calls != 6 { // 5 runs + AllocsPerRun's warm-up
			t.Fatalf("op %d %v: %d calls recorded, want 6", p.Index, p.Code, p.Calls)
		}
		macs += p.MACs
	}
	if macs != it.MACs() || macs == 0 {
		t.Errorf("per-op MACs sum to %d, model has %d", macs, it.MACs())
	}
}

func TestThreadCountDoesNotChangeResults(t *testing.T) {
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		q, f := build(t, name)
		for _, m := range []*format.Model{q, f} {
			var ref []byte
			for _, threads := range []int{1, 2, 3, 5, 8} {
				it := newInterp(t, m, threads)
				rand.New(rand.NewSource(3)).Read(it.Input(0).Bytes())
				if it.Input(0).DType == format.Float32 {
					for i := range it.Input(0).Float32() {
						it.Input(0).Float32()[i] = float32(i%17) / 17
					}
				}
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				out := append([]byte(nil), it.Output(0).Bytes()...)
				if ref == nil {
					ref = out
				} else if !bytes.Equal(ref, out) {
					t.Errorf("%s %v: output with %d threads differs from 1 thread", name, m.Tensors[m.Inputs[0]].DType, threads)
				}
			}
		}
	}
}

func TestInterpretersShareWeights(t *testing.T) {
	q, _ := build(t, "vit-micro")
	a, b := newInterp(t, q, 1), newInterp(t, q, 1)
	rand.New(rand.NewSource(5)).Read(a.Input(0).Bytes())
	copy(b.Input(0).Bytes(), a.Input(0).Bytes())
	a.Invoke()
	b.Invoke()
	if !bytes.Equal(a.Output(0).Bytes(), b.Output(0).Bytes()) {
		t.Error("two interpreters of one model disagree")
	}
	// Constants are views of the model's bytes, not copies.
	for i := range q.Tensors {
		if q.Tensors[i].IsConst() && len(q.Tensors[i].Data) > 0 {
			if &a.Tensor(i).Bytes()[0] != &q.Tensors[i].Data[0] || &b.Tensor(i).Bytes()[0] != &q.Tensors[i].Data[0] {
				t.Fatalf("constant %d %q was copied", i, q.Tensors[i].Name)
			}
		}
	}
}

func TestNewRejectsInvalidModel(t *testing.T) {
	q, _ := build(t, "vit-micro")
	bad := *q
	bad.Ops = append([]format.Op(nil), q.Ops...)
	bad.Ops[0].Inputs = []int32{int32(len(q.Tensors) + 5)}
	if _, err := runtime.New(&bad, runtime.Options{}); err == nil {
		t.Fatal("New accepted an op reading a tensor that does not exist")
	}
}

func TestClosedInterpreter(t *testing.T) {
	q, _ := build(t, "cnn-micro")
	it, err := runtime.New(q, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	it.Close()
	if err := it.Invoke(); err != runtime.ErrClosed {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
}

// Without SplitEveryStep, a multi-threaded interpreter times its steps on
// one thread for its first Invokes and then splits the costly ones: the
// results stay those of one thread throughout, without allocating.
func TestTimedInvokesKeepResults(t *testing.T) {
	q, _ := build(t, "vit-micro")
	one := newInterp(t, q, 1)
	rand.New(rand.NewSource(9)).Read(one.Input(0).Bytes())
	if err := one.Invoke(); err != nil {
		t.Fatal(err)
	}
	want := one.Output(0).Bytes()
	it, err := runtime.New(q, runtime.Options{Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	copy(it.Input(0).Bytes(), one.Input(0).Bytes())
	for i := 0; i < 5; i++ {
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(it.Output(0).Bytes(), want) {
			t.Fatalf("Invoke %d on 3 threads differs from 1 thread", i+1)
		}
	}
	fresh, err := runtime.New(q, runtime.Options{Threads: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if a := testalloc.PerRun(4, func() { _ = fresh.Invoke() }); a != 0 {
		t.Fatalf("%v allocations per Invoke across the timed Invokes", a)
	}
}
