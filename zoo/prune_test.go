package zoo_test

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/dataset"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// TestInsertPruningBudget: pruning inserted into a plain ViT at the
// maximum budget changes nothing, and a smaller budget runs.
func TestInsertPruningBudget(t *testing.T) {
	f, err := zoo.BuildViT("vit", zoo.ViTMicro, rand.New(rand.NewSource(2)))
	if err != nil {
		t.Fatal(err)
	}
	x := zoo.SampleInput(f, rand.New(rand.NewSource(4)))
	run := func(m *format.Model, keep int) []float32 {
		it, err := runtime.New(m, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		if keep > 0 {
			if err := it.SetTokens(keep); err != nil {
				t.Fatal(err)
			}
		}
		copy(it.Input(0).Float32(), x)
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), it.Output(0).Float32()...)
	}
	want := run(f, 0)
	for _, mode := range []string{"zoo", "jvp", "lowrank_jvp", "fro_diag", "uniform", "cls"} {
		pm, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: 0, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		got := run(pm, 0)
		for i := range want {
			if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("%s: keeping every token changed logit %d: %g vs %g", mode, i, got[i], want[i])
			}
		}
		run(pm, 4)
	}
	if _, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: 5}); err == nil {
		t.Error("block 5 of a 2-block ViT accepted")
	}
}

// TestPruningFeatures: Features "mlp" gives DiverseSelect the block's MLP
// output (fc2, before the residual) instead of the block output; the
// model still runs unchanged at the full budget (TestInsertPruningBudget's
// check) and an unknown feature name is an error naming it.
func TestPruningFeatures(t *testing.T) {
	f, err := zoo.BuildViT("vit", zoo.ViTMicro, rand.New(rand.NewSource(2)))
	if err != nil {
		t.Fatal(err)
	}
	producer := func(m *format.Model, t int32) *format.Op {
		for i := range m.Ops {
			if m.Ops[i].Outputs[0] == t {
				return &m.Ops[i]
			}
		}
		return nil
	}
	for _, feat := range []string{"block", "mlp"} {
		pm, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: 0, Mode: "zoo", Features: feat})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range pm.Ops {
			if op.Code != format.OpDiverseSelect {
				continue
			}
			p := producer(pm, op.Inputs[0])
			for p != nil && p.Code == format.OpReshape {
				p = producer(pm, p.Inputs[0])
			}
			want := map[string]format.OpCode{"block": format.OpAdd, "mlp": format.OpFullyConnected}[feat]
			if p == nil || p.Code != want {
				t.Errorf("features %s: DiverseSelect reads %v, want the output of a %v", feat, p, want)
			}
		}
	}
	if _, err := zoo.InsertPruning(f, zoo.PruneOptions{Mode: "zoo", Features: "fc1"}); err == nil || !strings.Contains(err.Error(), `"fc1"`) {
		t.Errorf("features fc1: err = %v", err)
	}
}

// TestPruningModesQuantize: every pruning mode calibrates to int8 and runs
// at a reduced budget (uniform's constant scores stay float).
func TestPruningModesQuantize(t *testing.T) {
	f, err := zoo.BuildViT("vit", zoo.ViTMicro, rand.New(rand.NewSource(2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	samples := [][][]float32{{zoo.SampleInput(f, rng)}, {zoo.SampleInput(f, rng)}}
	for _, mode := range []string{"jvp", "lowrank_jvp", "fro_diag", "uniform", "cls"} {
		pm, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: 0, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		rg, err := ptq.Observe(pm, samples, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		qm, err := ptq.Quantize(pm, rg)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		it, err := runtime.New(qm, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if err := it.SetTokens(4); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		it.Close()
	}
}

// TestCLSPruning: the CLS-attention baseline keeps exactly the patch
// tokens with the largest mean class-token attention of the block, float
// and int8, for several budgets.
func TestCLSPruning(t *testing.T) {
	f, err := zoo.BuildViT("vit", zoo.ViTMicro, rand.New(rand.NewSource(2)))
	if err != nil {
		t.Fatal(err)
	}
	const block = 1
	pm, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: block, Mode: "cls"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(5))
	var samples [][][]float32
	for range 4 {
		samples = append(samples, [][]float32{zoo.SampleInput(f, rng)})
	}
	rg, err := ptq.Observe(pm, samples, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := ptq.Quantize(pm, rg)
	if err != nil {
		t.Fatal(err)
	}
	// In int8 the scores stay float: a float Mean of the dequantized
	// attention row feeds the selection, and nothing else is left over.
	read := map[int32]bool{}
	for _, op := range qm.Ops {
		for _, t := range op.Inputs {
			read[t] = true
		}
	}
	for _, t := range qm.Outputs {
		read[t] = true
	}
	for _, op := range qm.Ops {
		if !read[op.Outputs[0]] {
			t.Errorf("int8 model: op %v %q computes %q, which nothing reads", op.Code, op.Name, qm.Tensors[op.Outputs[0]].Name)
		}
		if (op.Code == format.OpMean || strings.HasSuffix(op.Name, "cls_attention")) && qm.Tensors[op.Outputs[0]].DType != format.Float32 {
			t.Errorf("int8 model: the CLS score %q is %v, want float32", qm.Tensors[op.Outputs[0]].Name, qm.Tensors[op.Outputs[0]].DType)
		}
	}
	for _, m := range []*format.Model{pm, qm} {
		logits, sel := -1, -1
		beta := 1.0
		for i, op := range m.Ops {
			name := m.Tensors[op.Outputs[0]].Name
			if name == fmt.Sprintf("block%d/attn/scores", block) {
				logits = i
			}
			if o, ok := op.Options.(*format.SoftmaxOptions); ok && name == fmt.Sprintf("block%d/attn/probs", block) {
				beta = float64(o.Beta)
			}
			if op.Code == format.OpDiverseSelect {
				sel = i
			}
		}
		if logits < 0 || sel < 0 {
			t.Fatalf("logits op %d, select op %d", logits, sel)
		}
		for _, keep := range []int{16, 9, 3, 1} {
			var score []float64
			var idx []int16
			var it *runtime.Interpreter
			it, err = runtime.New(m, runtime.Options{Threads: 1, AfterOp: func(i int) {
				switch i {
				case logits: // [1, H, T, T]: sum over heads of softmax(row 0)
					lt := it.Tensor(int(m.Ops[i].Outputs[0]))
					sh := m.Tensors[m.Ops[i].Outputs[0]].Shape
					H, T := int(sh[len(sh)-3]), int(sh[len(sh)-1])
					l := lt.Dequantized(make([]float32, lt.NumElements()))
					score = make([]float64, T)
					for h := 0; h < H; h++ {
						row := l[h*T*T : h*T*T+T]
						hi := math.Inf(-1)
						for _, v := range row {
							hi = math.Max(hi, float64(v))
						}
						var sum float64
						for _, v := range row {
							sum += math.Exp(beta * (float64(v) - hi))
						}
						for j, v := range row {
							score[j] += math.Exp(beta*(float64(v)-hi)) / sum
						}
					}
				case sel:
					b := it.Tensor(int(m.Ops[i].Outputs[0])).Bytes()
					idx = make([]int16, len(b)/2)
					for k := range idx {
						idx[k] = int16(uint16(b[2*k]) | uint16(b[2*k+1])<<8)
					}
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := it.SetTokens(keep); err != nil {
				t.Fatal(err)
			}
			in := it.Input(0)
			for i, v := range samples[0][0] {
				if in.DType == format.Int8 {
					in.Int8()[i] = int8(in.Params.Quantize(v, -128, 127))
				} else {
					in.Float32()[i] = v
				}
			}
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			it.Close()
			// Without the observer (which allocates), Invoke allocates
			// nothing at this budget.
			plain, err := runtime.New(m, runtime.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			if err := plain.SetTokens(keep); err != nil {
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(3, func() { _ = plain.Invoke() }); a != 0 {
				t.Errorf("keep %d: %.1f allocations per Invoke", keep, a)
			}
			plain.Close()
			// Expected: the keep highest scores among tokens 1…T−1.
			var want []int16
			taken := make([]bool, len(score))
			for range keep {
				b := -1
				for j := 1; j < len(score); j++ {
					if !taken[j] && (b < 0 || score[j] > score[b]) {
						b = j
					}
				}
				taken[b] = true
			}
			want = append(want, 0)
			for j := range taken {
				if taken[j] {
					want = append(want, int16(j))
				}
			}
			if fmt.Sprint(idx[:keep+1]) != fmt.Sprint(want) {
				t.Errorf("%s keep %d: kept %v, want %v (scores %.4f)", m.Tensors[m.Ops[sel].Inputs[0]].DType, keep, idx[:keep+1], want, score)
			}
		}
	}
}

// TestPrunedViTAccuracy checks, on the trained MNIST ViT (researchase, 49
// patch tokens, 6 blocks) and 300 test images from #5000, what the full
// study (tools/prunestudy, README) measured on 5,000: ZOO-Prune (mode
// zoo) keeping 25 patch tokens after block 0 stays within 1.5 points of
// the unpruned model (measured −0.4) and above the CLS-attention top-k
// baseline (measured +6.6). Float; skipped with -short.
func TestPrunedViTAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates three models on 300 images")
	}
	path := testshared.Path(t, "models/vit-mnist/vit_mnist_researchase.onnx")
	mnist := testshared.Path(t, "data/mnist")
	r, err := onnx.ImportFile(path, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Model
	m.Preprocess.Scale, m.Preprocess.Mean, m.Preprocess.Std = 1.0/255, []float32{0.1307}, []float32{0.3081}
	set, err := dataset.Open(mnist)
	if err != nil {
		t.Fatal(err)
	}
	top1 := func(m *format.Model, keep int) float64 {
		it, err := runtime.New(m, runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		if keep > 0 {
			if err := it.SetTokens(keep); err != nil {
				t.Fatal(err)
			}
		}
		acc, err := dataset.Evaluate(it, set, 5000, 300, nil)
		if err != nil {
			t.Fatal(err)
		}
		return 100 * acc.Top1
	}
	base := top1(m, 0)
	acc := map[string]float64{}
	for _, mode := range []string{"zoo", "cls"} {
		pm, err := zoo.InsertPruning(m, zoo.PruneOptions{AfterBlock: 0, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		acc[mode] = top1(pm, 25)
	}
	t.Logf("300 images: unpruned %.2f%%, keep 25 after block 0: ZOO-Prune %.2f%%, CLS top-k %.2f%%", base, acc["zoo"], acc["cls"])
	if acc["zoo"] < base-1.5 {
		t.Errorf("ZOO-Prune %.2f%% is more than 1.5 points below unpruned %.2f%%", acc["zoo"], base)
	}
	if acc["zoo"] <= acc["cls"] {
		t.Errorf("ZOO-Prune %.2f%% is not above the CLS baseline %.2f%% after block 0", acc["zoo"], acc["cls"])
	}
}
