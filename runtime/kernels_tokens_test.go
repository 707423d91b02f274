package runtime_test

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/ptq"
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

// TestTokenOpKernelSetsAgree runs the int8 models with the token
// operators (TAP, ZOSensitivity in every mode, DiverseSelect, pooling,
// GGeM, EfficientProbe, VAR) with every registered kernel set, one
// subtest each, at the planned token count and at a smaller budget, and
// requires every op's output to equal ref's at one thread, bit for bit, at
// one and three threads, with no allocation per Invoke.
func TestTokenOpKernelSetsAgree(t *testing.T) {
	sets := kernelSets(t)
	models := map[string]*format.Model{}
	for _, name := range tokenVariants {
		models[name], _ = build(t, name)
	}
	models["lowrank+tap"] = quantVariant(t, zoo.Variant{TAPBlocks: 2, PruneAfter: 1, Keep: 10, ZOMode: format.ZOLowRankJVP, Rank: 8})
	_, f := build(t, "vit-micro")
	pf, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: 0, Mode: "cls"}) // DiverseSelect in top-k mode
	if err != nil {
		t.Fatal(err)
	}
	models["prune-cls"] = calibrate(t, pf)
	for name, q := range models {
		for _, tokens := range []int{0, 5} {
			want, _ := opOutputs(t, q, "ref", 1, tokens, 12)
			for _, set := range sets {
				t.Run(fmt.Sprintf("%s/tokens=%d/%s", name, tokens, set), func(t *testing.T) {
					for _, threads := range []int{1, 3} {
						got, _ := opOutputs(t, q, set, threads, tokens, 12)
						sameOps(t, q, fmt.Sprintf("%d threads", threads), got, want)
					}
					it := setInterp(t, q, set, 1, tokens, nil)
					if a := invokeAllocs(it); a != 0 {
						t.Errorf("%.1f allocations per Invoke", a)
					}
				})
			}
		}
	}
}
