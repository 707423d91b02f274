package runtime_test

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// quantVariant builds and calibrates an int8 vit-micro variant.
func quantVariant(t *testing.T, v zoo.Variant) *format.Model {
	t.Helper()
	f, err := zoo.BuildViTVariant("variant", zoo.ViTMicro, v, rand.New(rand.NewSource(9)))
	if err != nil {
		t.Fatal(err)
	}
	return calibrate(t, f)
}

// calibrate quantizes the float model f.
func calibrate(t *testing.T, f *format.Model) *format.Model {
	t.Helper()
	r := rand.New(rand.NewSource(10))
	samples := make([][][]float32, 4)
	for i := range samples {
		samples[i] = [][]float32{zoo.SampleInput(f, r)}
	}
	ranges, err := ptq.Observe(f, samples, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ptq.Quantize(f, ranges)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestSeedKernelSetsAgree runs the int8 models with the research
// operators (TAP, ZOSensitivity in every mode, DiverseSelect, pooling,
// GGeM, EfficientProbe, VAR) with every kernel set, at the planned token
// count and at a smaller budget, and requires every op's output to equal
// ref's, bit for bit, at one and three threads, with no allocation.
func TestSeedKernelSetsAgree(t *testing.T) {
	models := map[string]*format.Model{}
	for _, name := range seedVariants {
		models[name], _ = build(t, name)
	}
	models["lowrank+tap"] = quantVariant(t, zoo.Variant{TAPBlocks: 2, PruneAfter: 1, Keep: 10, ZOMode: format.ZOLowRankJVP, Rank: 8})
	_, f := build(t, "vit-micro")
	for _, mode := range []string{"cls"} { // DiverseSelect in top-k mode
		pf, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: 0, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		models["prune-"+mode] = calibrate(t, pf)
	}
	for name, q := range models {
		for _, tokens := range []int{0, 5} {
			var want [][]byte
			for _, set := range append([]string{"ref"}, runtime.KernelSets()...) {
				for _, threads := range []int{1, 3} {
					var got [][]byte
					var it *runtime.Interpreter
					it, err := runtime.New(q, runtime.Options{Threads: threads, Kernels: set, AfterOp: func(op int) {
						o := q.Ops[op].Outputs[0]
						got = append(got, append([]byte(nil), it.Tensor(int(o)).Bytes()...))
					}})
					if err != nil {
						t.Fatal(err)
					}
					if tokens > 0 {
						if err := it.SetTokens(tokens); err != nil {
							t.Fatal(err)
						}
					}
					rand.New(rand.NewSource(12)).Read(it.Input(0).Bytes())
					if err := it.Invoke(); err != nil {
						t.Fatal(err)
					}
					it.Close()
					if want == nil {
						want = got
						continue
					}
					for i := range want {
						if !bytes.Equal(got[i], want[i]) {
							t.Errorf("%s (tokens %d) op %d %v %q: kernel set %s (%d threads) differs from ref", name, tokens, i, q.Ops[i].Code, q.Ops[i].Name, set, threads)
							break
						}
					}
				}
				it, err := runtime.New(q, runtime.Options{Threads: 1, Kernels: set})
				if err != nil {
					t.Fatal(err)
				}
				if tokens > 0 {
					_ = it.SetTokens(tokens)
				}
				if a := testing.AllocsPerRun(2, func() { _ = it.Invoke() }); a != 0 {
					t.Errorf("%s with kernel set %s: %.1f allocations per Invoke", name, set, a)
				}
				it.Close()
			}
		}
	}
}
