package runtime_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// corpusModel is the part of a testdata/vits/manifest.json entry (written
// by tools/vitcorpus) that the token-budget tests read.
type corpusModel struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Family string `json:"family"`
	Input  struct {
		File string `json:"file"`
	} `json:"input"`
	PatchGrid     []int  `json:"patch_grid"`
	PatchTokens   int    `json:"patch_tokens"`
	FirstPatchRow int    `json:"first_patch_row"`
	Head          string `json:"head"`
	Blocks        int    `json:"blocks"`
	SpecialTokens map[string]struct {
		Positions []int `json:"positions"`
	} `json:"special_tokens"`
}

// vitCorpus returns the directory and models of the ViT corpus
// (testdata/vits). A missing corpus fails the test: it is in the repo.
func vitCorpus(t *testing.T) (string, []corpusModel) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "vits")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("ViT corpus: %v (tools/vitcorpus/vitcorpus.py writes it)", err)
	}
	var doc struct {
		Models []corpusModel `json:"models"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("ViT corpus manifest: %v", err)
	}
	if len(doc.Models) == 0 {
		t.Fatal("ViT corpus manifest lists no models")
	}
	return dir, doc.Models
}

// TestTokenFlowCorpus: the token-flow analysis finds, in every corpus
// export, the patch grid and the rows the manifest says: patches in grid
// order after first_patch_row, special rows where their positions are.
func TestTokenFlowCorpus(t *testing.T) {
	dir, models := vitCorpus(t)
	for _, cm := range models {
		r, err := onnx.ImportFile(filepath.Join(dir, cm.File), onnx.Options{})
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		m := r.Model
		f := runtime.AnalyzeTokens(m)
		if h, w := f.Grid(); h != cm.PatchGrid[0] || w != cm.PatchGrid[1] {
			t.Errorf("%s: grid %d×%d, manifest %v", cm.Name, h, w, cm.PatchGrid)
		}
		special := map[int]bool{}
		for _, s := range cm.SpecialTokens {
			for _, p := range s.Positions {
				special[p] = true
			}
		}
		// The input of the first LayerNorm or FullyConnected after the
		// embedding holds every token.
		found := false
		for _, op := range m.Ops {
			if op.Code != format.OpLayerNorm && op.Code != format.OpFullyConnected {
				continue
			}
			_, rows, ok := f.TokenAxis(op.Inputs[0])
			if !ok || len(rows) != cm.PatchTokens+len(special) {
				continue
			}
			found = true
			g := 0
			for i, id := range rows {
				switch {
				case special[i] && id >= 0:
					t.Errorf("%s: row %d is patch %d, manifest says special", cm.Name, i, id)
				case !special[i] && id != int32(g):
					t.Errorf("%s: row %d is %d, want patch %d", cm.Name, i, id, g)
				}
				if !special[i] {
					g++
				}
			}
			break
		}
		if !found {
			t.Errorf("%s: no op reads all %d tokens", cm.Name, cm.PatchTokens+len(special))
		}
		_, hasCLS := f.ClassToken()
		if want := cm.Head != "gap"; hasCLS != want {
			t.Errorf("%s: class token found %v, head %q", cm.Name, hasCLS, cm.Head)
		}
	}
}

// TestTokenBudgetCorpus: every corpus export pruned after block 0 and
// after block 1 with ZOO-Prune and with the CLS baseline (where there is
// a class token) gives the unpruned outputs when every patch is kept;
// converted at keep 0.5 (InsertPruning, then FixTokens to that maximum, as
// edgeinfer convert does), float and int8 (calibrated on a few inputs),
// it runs SetTokens(k) for k = max, half and 1 with every output byte for
// byte that of FixTokens(m, k), the same MACs, fewer MACs for fewer tokens
// (the same for the CLS baseline after the last block: only the head,
// which reads the class token, follows it) and no allocation per Invoke.
// With -short (the emulated arm lanes): one model of each family, pruned
// after block 1, the int8 models at max and 1 only.
func TestTokenBudgetCorpus(t *testing.T) {
	dir, models := vitCorpus(t)
	family := map[string]bool{}
	for _, cm := range models {
		if testing.Short() && family[cm.Family] {
			continue
		}
		family[cm.Family] = true
		r, err := onnx.ImportFile(filepath.Join(dir, cm.File), onnx.Options{})
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		in, err := npy.ReadFile(filepath.Join(dir, cm.Input.File))
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		x := make([]float32, len(in.Data)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(in.Data[4*i:]))
		}
		for _, c := range []struct {
			mode  string
			after int
		}{{"jvp", 0}, {"cls", 0}, {"jvp", 1}, {"cls", 1}} {
			mode := c.mode
			if testing.Short() && c.after == 0 {
				continue
			}
			name := fmt.Sprintf("%s/%s-after-%d", cm.Name, mode, c.after)
			pm, err := zoo.InsertPruning(r.Model, zoo.PruneOptions{AfterBlock: c.after, Mode: mode})
			if mode == "cls" && cm.Head == "gap" {
				if !errors.Is(err, zoo.ErrNoClassToken) {
					t.Errorf("%s: InsertPruning = %v, want ErrNoClassToken", name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			sameAsUnpruned(t, name, r.Model, pm, x)
			keep := int(math.Max(1, math.Round(0.5*float64(cm.PatchTokens))))
			fm, err := runtime.FixTokens(pm, keep)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			rng := rand.New(rand.NewSource(1))
			var samples [][][]float32
			for i := 0; i < 3; i++ {
				s := make([]float32, len(x))
				for j := range s {
					s[j] = x[j] + float32(rng.NormFloat64()*0.3)
				}
				samples = append(samples, [][]float32{s})
			}
			rg, err := ptq.Observe(fm, samples, 1, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			qm, err := ptq.Quantize(fm, rg)
			if err != nil {
				t.Errorf("%s: int8: %v", name, err)
				continue
			}
			for _, m := range []*format.Model{fm, qm} {
				budgets := []int{keep, (keep + 1) / 2, 1}
				if testing.Short() && m == qm {
					budgets = []int{keep, 1}
				}
				strict := mode != "cls" || c.after < cm.Blocks-1
				checkBudgets(t, fmt.Sprintf("%s %v", name, m.Tensors[m.Inputs[0]].DType), m, x, keep, budgets, strict)
			}
		}
	}
}

// sameAsUnpruned checks that pm, m with pruning inserted, keeping every
// patch gives m's outputs.
func sameAsUnpruned(t *testing.T, name string, m, pm *format.Model, x []float32) {
	t.Helper()
	a, b := newInterp(t, m, 1), newInterp(t, pm, 1)
	setInput(a, x)
	setInput(b, x)
	if err := a.Invoke(); err != nil {
		t.Fatal(err)
	}
	if err := b.Invoke(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: unpruned %d MACs", name, a.MACs())
	for o := range m.Outputs {
		want, got := a.Output(o).Float32(), b.Output(o).Float32()
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Errorf("%s: every patch kept: output %d element %d = %g, unpruned %g", name, o, i, got[i], want[i])
				break
			}
		}
	}
}

// checkBudgets runs m at each budget with SetTokens and compares it with
// FixTokens' static model of that budget.
func checkBudgets(t *testing.T, name string, m *format.Model, x []float32, max int, budgets []int, strict bool) {
	t.Helper()
	it := newInterp(t, m, 2)
	if n, err := it.TokenBudget(); n != max || err != nil {
		t.Errorf("%s: TokenBudget = %d, %v; want %d", name, n, err, max)
		return
	}
	setInput(it, x)
	last := int64(math.MaxInt64)
	for _, k := range budgets {
		what := fmt.Sprintf("%s keep %d", name, k)
		if err := it.SetTokens(k); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		fixed, err := runtime.FixTokens(m, k)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		fit := newInterp(t, fixed, 1)
		setInput(fit, x)
		if err := fit.Invoke(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for o := range m.Outputs {
			if !bytes.Equal(it.Output(o).Bytes(), fit.Output(o).Bytes()) {
				t.Errorf("%s: output %d %q differs from FixTokens' bits", what, o, it.Output(o).Name)
			}
		}
		if it.MACs() != fit.MACs() {
			t.Errorf("%s: %d MACs, FixTokens %d", what, it.MACs(), fit.MACs())
		}
		if it.MACs() > last || strict && it.MACs() == last {
			t.Errorf("%s: %d MACs, not fewer than %d at the larger budget", what, it.MACs(), last)
		}
		last = it.MACs()
		t.Logf("%s: %d MACs", what, it.MACs())
		if a := invokeAllocs(it); a != 0 {
			t.Errorf("%s: %.1f allocations per Invoke", what, a)
		}
	}
}

// setInput writes the float image x into input 0, quantized for an int8
// model.
func setInput(it *runtime.Interpreter, x []float32) {
	in := it.Input(0)
	if in.DType == format.Float32 {
		copy(in.Float32(), x)
		return
	}
	for i, f := range x {
		in.Int8()[i] = int8(in.Params.Quantize(f, -128, 127))
	}
}

// TestScatterTokensCorpus: in the exports with per-patch attention-map
// outputs, pruned after block 0 (so a later block's map follows the
// pruning), the maps come back on the patch grid: at the full budget the
// pruned model's outputs are the unpruned model's, and at a smaller one
// a map is zero exactly at the patches KeptPatches says were pruned.
func TestScatterTokensCorpus(t *testing.T) {
	dir, models := vitCorpus(t)
	n := 0
	for _, cm := range models {
		if cm.Family != "attention-maps" {
			continue
		}
		r, err := onnx.ImportFile(filepath.Join(dir, cm.File), onnx.Options{})
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		pm, err := zoo.InsertPruning(r.Model, zoo.PruneOptions{AfterBlock: 0, Mode: "jvp"})
		if err != nil {
			t.Fatalf("%s: %v", cm.Name, err)
		}
		scatters := 0
		after := map[int32]bool{} // tensors computed from a ScatterTokens
		for _, op := range pm.Ops {
			if op.Code == format.OpScatterTokens {
				scatters++
				after[op.Outputs[0]] = true
			}
			for _, in := range op.Inputs {
				if after[in] {
					after[op.Outputs[0]] = true
				}
			}
		}
		x := zoo.SampleInput(pm, rand.New(rand.NewSource(3)))
		base, it := newInterp(t, r.Model, 1), newInterp(t, pm, 1)
		setInput(base, x)
		setInput(it, x)
		if err := base.Invoke(); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		for o := range r.Model.Outputs {
			want, got := base.Output(o).Float32(), it.Output(o).Float32()
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%s: every token kept: output %d element %d = %g, unpruned %g", cm.Name, o, i, got[i], want[i])
				}
			}
		}
		const keep = 5
		if err := it.SetTokens(keep); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		kept := it.KeptPatches(nil)
		if len(kept) != keep {
			t.Fatalf("%s: KeptPatches = %v, want %d patches", cm.Name, kept, keep)
		}
		isKept := map[int]bool{}
		for _, g := range kept {
			isKept[g] = true
		}
		maps := 0
		for o := range pm.Outputs {
			if !after[pm.Outputs[o]] {
				continue
			}
			out := it.Output(o)
			s := out.Shape
			if len(s) != 4 || s[2] != cm.PatchGrid[0] || s[3] != cm.PatchGrid[1] {
				t.Errorf("%s: output %q %v comes from a ScatterTokens but is no map on the %v grid", cm.Name, out.Name, s, cm.PatchGrid)
				continue
			}
			maps++
			grid := s[2] * s[3]
			for i, v := range out.Float32() {
				if g := i % grid; (v != 0) != isKept[g] {
					t.Errorf("%s: output %q head %d patch %d = %g, kept %v", cm.Name, out.Name, i/grid, g, v, isKept[g])
				}
			}
		}
		n += maps
		t.Logf("%s: %d ScatterTokens, %d maps after the pruning", cm.Name, scatters, maps)
	}
	if n == 0 {
		t.Fatal("no attention-map output after the pruning in the corpus")
	}
}

// TestTokenBudgetRefusedCorpus: a graph that adds a per-token constant (a
// position embedding) after the pruning point cannot follow a run-time
// budget; the analysis, SetTokens and InsertPruning say which op, why
// and what to do.
func TestTokenBudgetRefusedCorpus(t *testing.T) {
	dir, models := vitCorpus(t)
	cm := models[0]
	r, err := onnx.ImportFile(filepath.Join(dir, cm.File), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := zoo.InsertPruning(r.Model, zoo.PruneOptions{AfterBlock: 0, Mode: "uniform"})
	if err != nil {
		t.Fatal(err)
	}
	// After the pruning's last op, add a constant [1, T, D] to its output.
	m := *pm
	m.Tensors = append([]format.Tensor(nil), pm.Tensors...)
	m.Ops = nil
	done := false
	var kept, late int32
	for _, op := range pm.Ops {
		if done {
			op.Inputs = append([]int32(nil), op.Inputs...)
			for k, in := range op.Inputs {
				if in == kept {
					op.Inputs[k] = late
				}
			}
		}
		m.Ops = append(m.Ops, op)
		if !done && op.Name == "prune0/kept_tokens" {
			k := op.Outputs[0]
			b := format.NewBuilder("")
			b.ConstFloat32("late_pos", m.Tensors[k].Shape, make([]float32, m.Tensors[k].NumElements()))
			m.Tensors = append(m.Tensors, *b.Tensor(0), format.Tensor{Name: "late_pos_out", DType: format.Float32, Shape: m.Tensors[k].Shape})
			n := int32(len(m.Tensors))
			kept, late = k, n-1
			m.Ops = append(m.Ops, format.Op{Code: format.OpAdd, Version: 1, Name: "late_pos_add", Inputs: []int32{k, n - 2}, Outputs: []int32{late}})
			done = true
		}
	}
	if !done {
		t.Fatal("no prune0/kept_tokens op")
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []string{`Add "late_pos_add"`, "position embedding", "prune after"}
	err = runtime.AnalyzeTokens(&m).Err()
	for _, w := range want {
		if err == nil || !errors.Is(err, runtime.ErrNoTokenBudget) || !strings.Contains(err.Error(), w) {
			t.Fatalf("AnalyzeTokens: %v; want ErrNoTokenBudget saying %q", err, w)
		}
	}
	it := newInterp(t, &m, 1)
	if err := it.SetTokens(3); err == nil || err.Error() != runtime.AnalyzeTokens(&m).Err().Error() {
		t.Errorf("SetTokens = %v", err)
	}
	if n, err := it.TokenBudget(); n != 0 || err == nil {
		t.Errorf("TokenBudget = %d, %v", n, err)
	}
}

// TestPatchGridZoo: the token-flow analysis finds the patch grid of the
// small zoo models (the DeiT-tiny variants share their structure), and, in
// those that prune, which patches the last Invoke kept.
func TestPatchGridZoo(t *testing.T) {
	for _, name := range zoo.Names() {
		if !strings.HasPrefix(name, "vit-micro") && name != "cnn-micro" {
			continue
		}
		_, f, err := zoo.Build(name, zoo.Options{Calibration: 1})
		if err != nil {
			t.Fatal(err)
		}
		it := newInterp(t, f, 1)
		h, w := it.PatchGrid()
		if name == "cnn-micro" {
			if h != 0 {
				t.Errorf("%s: grid %d×%d, want none", name, h, w)
			}
			continue
		}
		if h == 0 || w == 0 {
			t.Errorf("%s: no patch grid found", name)
			continue
		}
		max, err := it.TokenBudget()
		if err != nil {
			continue
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		kept := it.KeptPatches(nil)
		if len(kept) != max || !slices.IsSorted(kept) || kept[0] < 0 || kept[len(kept)-1] >= h*w {
			t.Errorf("%s: grid %d×%d, KeptPatches %v, want %d sorted patches", name, h, w, kept, max)
		}
	}
}

// TestAnalyzeTokensMutated: valid models made by mutating pruned corpus
// exports (slice windows, pruning prefixes and keeps, transposes, mean
// axes, inputs swapped for tensors of the same shape) never make the
// analysis, New, SetTokens, Invoke or FixTokens panic, and those that
// keep a run-time budget run at a random budget bit for bit as FixTokens'
// static model of it.
func TestAnalyzeTokensMutated(t *testing.T) {
	dir, models := vitCorpus(t)
	r := rand.New(rand.NewSource(7))
	n := 300
	if testing.Short() {
		n = 60
	}
	for _, name := range []string{"attnmap_b1_dist_reg", "gap_reg4", "reg4_end_sep", "tv_vit"} {
		var cm corpusModel
		for _, c := range models {
			if c.Name == name {
				cm = c
			}
		}
		if cm.File == "" {
			t.Fatalf("no corpus model %s", name)
		}
		im, err := onnx.ImportFile(filepath.Join(dir, cm.File), onnx.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := zoo.InsertPruning(im.Model, zoo.PruneOptions{AfterBlock: 0, Mode: "uniform"})
		if err != nil {
			t.Fatal(err)
		}
		valid, accepted := 0, 0
		for mi := 0; mi < n; mi++ {
			m := mutate(pm, r)
			if m.Validate() != nil {
				continue
			}
			valid++
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s mutation %d: panic %v", name, mi, p)
					}
				}()
				runtime.AnalyzeTokens(m).Err()
				it, err := runtime.New(m, runtime.Options{Threads: 1})
				if err != nil {
					return
				}
				defer it.Close()
				max, err := it.TokenBudget()
				if err != nil {
					_ = it.Invoke()
					return
				}
				// An accepted model runs at any budget as its static
				// version does.
				k := 1 + r.Intn(max)
				if err := it.SetTokens(k); err != nil {
					t.Fatalf("%s mutation %d: SetTokens(%d): %v", name, mi, k, err)
				}
				x := zoo.SampleInput(m, rand.New(rand.NewSource(int64(k))))
				setInput(it, x)
				if err := it.Invoke(); err != nil {
					t.Fatalf("%s mutation %d: %v", name, mi, err)
				}
				_ = it.KeptPatches(nil)
				fixed, err := runtime.FixTokens(m, k)
				if err != nil {
					t.Fatalf("%s mutation %d: FixTokens(%d): %v", name, mi, k, err)
				}
				fit := newInterp(t, fixed, 1)
				setInput(fit, x)
				if err := fit.Invoke(); err != nil {
					t.Fatal(err)
				}
				for o := range m.Outputs {
					if !bytes.Equal(it.Output(o).Bytes(), fit.Output(o).Bytes()) {
						t.Errorf("%s mutation %d: keep %d: output %d differs from FixTokens'", name, mi, k, o)
					}
				}
				accepted++
			}()
		}
		t.Logf("%s: %d of %d mutations valid, %d of them with a run-time budget", name, valid, n, accepted)
	}
}

// mutate returns a copy of m with one op's options or one input changed.
func mutate(m *format.Model, r *rand.Rand) *format.Model {
	nm := *m
	nm.MemoryPlan = nil
	nm.Ops = append([]format.Op(nil), m.Ops...)
	i := r.Intn(len(nm.Ops))
	op := &nm.Ops[i]
	op.Inputs = append([]int32(nil), op.Inputs...)
	shape := func(k int) []int32 { return nm.Tensors[op.Inputs[k]].Shape }
	switch o := op.Options.(type) {
	case *format.SliceOptions:
		c := *o
		c.Begin, c.Size = slices.Clone(o.Begin), slices.Clone(o.Size)
		a := r.Intn(len(c.Begin))
		d := shape(0)[a]
		c.Begin[a] = int32(r.Intn(int(d)))
		c.Size[a] = d - c.Begin[a]
		if r.Intn(2) == 0 {
			c.Size[a] = 1 + int32(r.Intn(int(d-c.Begin[a])))
		}
		op.Options = &c
		// The output shape follows the window.
		out := append([]int32(nil), nm.Tensors[op.Outputs[0]].Shape...)
		out[a] = c.Size[a]
		nm.Tensors = append([]format.Tensor(nil), nm.Tensors...)
		nm.Tensors[op.Outputs[0]].Shape = out
	case *format.DiverseSelectOptions:
		c := *o
		t := shape(0)[0]
		c.Prefix = int32(r.Intn(int(t)))
		c.Keep = 1 + int32(r.Intn(int(t-c.Prefix)))
		op.Options = &c
	case *format.TransposeOptions:
		c := *o
		c.Perm = slices.Clone(o.Perm)
		r.Shuffle(len(c.Perm), func(a, b int) { c.Perm[a], c.Perm[b] = c.Perm[b], c.Perm[a] })
		op.Options = &c
	case *format.MeanOptions:
		c := *o
		c.Axes = []int32{int32(r.Intn(len(shape(0))))}
		op.Options = &c
	default:
		k := r.Intn(len(op.Inputs))
		if op.Inputs[k] < 0 {
			break
		}
		want := shape(k)
		var same []int32
		for t := range nm.Tensors {
			if slices.Equal(nm.Tensors[t].Shape, want) && nm.Tensors[t].DType == nm.Tensors[op.Inputs[k]].DType {
				same = append(same, int32(t))
			}
		}
		op.Inputs[k] = same[r.Intn(len(same))]
	}
	return &nm
}
