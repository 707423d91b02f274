package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/npy"
)

// mapThenLogits writes a float .eim whose output 0 is an attention-like
// map and output 1 the class scores of tinyMNIST's images: image [1,1,4,4]
// → flat; map = softmax(−flat) over its 16 values (largest at a blank
// pixel, never at the label's); logits = pixel c for class c. With
// twoScores, the map has 10 values, so two outputs fit 10 classes.
func mapThenLogits(t *testing.T, dir string, twoScores bool) string {
	t.Helper()
	b := format.NewBuilder("map-then-logits")
	x := b.Input("image", format.Float32, []int32{1, 1, 4, 4}, nil)
	flat := b.Activation("flat", format.Float32, []int32{1, 16}, nil)
	b.Op(format.OpReshape, "flat", nil, []int32{x}, flat)
	n := int32(16)
	if twoScores {
		n = 10
	}
	neg := make([]float32, n*16)
	for i := range n {
		neg[i*16+i] = -1
	}
	negated := b.Activation("negated", format.Float32, []int32{1, n}, nil)
	b.Op(format.OpFullyConnected, "negate", &format.FullyConnectedOptions{}, []int32{flat, b.ConstFloat32("negate/w", []int32{n, 16}, neg)}, negated)
	attn := b.Activation("attn", format.Float32, []int32{1, n}, nil)
	b.Op(format.OpSoftmax, "attn", &format.SoftmaxOptions{Beta: 1}, []int32{negated}, attn)
	pick := make([]float32, 10*16)
	for c := range 10 {
		pick[c*16+c] = 1
	}
	logits := b.Activation("logits", format.Float32, []int32{1, 10}, nil)
	b.Op(format.OpFullyConnected, "head", &format.FullyConnectedOptions{}, []int32{flat, b.ConstFloat32("head/w", []int32{10, 16}, pick)}, logits)
	b.Output(attn, logits)
	b.Model().Preprocess = &format.Preprocess{Width: 4, Height: 4, Layout: format.NCHW, Color: format.Gray, Scale: 1.0 / 255, Mean: []float32{0}, Std: []float32{1}}
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, m.Name+".eim")
	if twoScores {
		p = filepath.Join(dir, "two-scores.eim")
	}
	if err := format.WriteFile(p, m); err != nil {
		t.Fatal(err)
	}
	return p
}

// mapThenLogitsSetup writes 30 tinyMNIST images to dir/mnist and
// mapThenLogits' model to dir.
func mapThenLogitsSetup(t *testing.T) (dir, data, model string) {
	dir = t.TempDir()
	data = filepath.Join(dir, "mnist")
	os.Mkdir(data, 0o755)
	tinyMNIST(t, data, 30)
	return dir, data, mapThenLogits(t, dir, false)
}

type evalResult struct {
	Top1   float64 `json:"top1"`
	N      int     `json:"n"`
	Output string  `json:"output"`
}

func evalJSON(t *testing.T, args ...string) evalResult {
	t.Helper()
	st, out, e := edgeinfer(append([]string{"eval", "--json"}, args...)...)
	if st != 0 {
		t.Fatalf("eval %v: status %d: %s", args, st, e)
	}
	var r evalResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("eval --json: %v: %q", err, out)
	}
	return r
}

// TestEvalPicksTheClassOutput: a model whose output 0 is an attention map
// and output 1 the logits is scored on the logits without a flag; --output
// scores the one asked for; when two outputs fit, eval asks.
func TestEvalPicksTheClassOutput(t *testing.T) {
	dir, data, model := mapThenLogitsSetup(t)

	if r := evalJSON(t, "--model", model, "--mnist", data); r.Output != "logits" || r.Top1 != 1 || r.N != 30 {
		t.Errorf("eval without --output: %+v, want logits, all 30 right", r)
	}
	for _, ref := range []string{"0", "attn"} {
		if r := evalJSON(t, "--model", model, "--mnist", data, "--output", ref); r.Output != "attn" || r.Top1 > 0.2 {
			t.Errorf("eval --output %s: %+v, want the map scored (and wrong)", ref, r)
		}
	}
	if r := evalJSON(t, "--model", model, "--mnist", data, "--output", "1"); r.Output != "logits" || r.Top1 != 1 {
		t.Errorf("eval --output 1: %+v", r)
	}
	st, out, _ := edgeinfer("eval", "--model", model, "--mnist", data)
	if st != 0 || !strings.Contains(out, `output "logits"`) || !strings.Contains(out, "top-1 100.00%") {
		t.Errorf("eval text: status %d, %q", st, out)
	}

	two := mapThenLogits(t, dir, true)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--model", two}, []string{"2 outputs", `0 "attn" [1 10] float32`, `1 "logits" [1 10] float32`, "--output"}},
		{[]string{"--model", model, "--output", "cls"}, []string{`no output "cls"`, `0 "attn" [1 16] float32`, `1 "logits" [1 10] float32`}},
		{[]string{"--model", model, "--output", "2"}, []string{`no output "2"`}},
	} {
		st, _, e := edgeinfer(append([]string{"eval", "--mnist", data}, c.args...)...)
		if st != 2 {
			t.Errorf("eval %v: status %d, want 2 (usage): %s", c.args, st, e)
		}
		for _, w := range c.want {
			if !strings.Contains(e, w) {
				t.Errorf("eval %v: stderr %q does not say %q", c.args, e, w)
			}
		}
	}
	if r := evalJSON(t, "--model", two, "--mnist", data, "--output", "logits"); r.Top1 != 1 {
		t.Errorf("ambiguous model with --output logits: %+v", r)
	}
}

// TestConvertOutputs: convert --outputs keeps the outputs asked for and
// drops the ops and weights that fed only the others, for an .eim (float
// passes) and for ONNX calibrated to int8.
func TestConvertOutputs(t *testing.T) {
	dir, data, model := mapThenLogitsSetup(t)

	out := filepath.Join(dir, "logits.eim")
	if st, _, e := edgeinfer("convert", model, out, "--outputs", "logits", "--name", "logits-only"); st != 0 {
		t.Fatalf("convert --outputs logits: status %d: %s", st, e)
	}
	m, err := format.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var ops, tensors []string
	for _, op := range m.Ops {
		ops = append(ops, op.Name)
	}
	for _, tt := range m.Tensors {
		tensors = append(tensors, tt.Name)
	}
	if len(m.Outputs) != 1 || m.Tensors[m.Outputs[0]].Name != "logits" || m.Name != "logits-only" ||
		strings.Join(ops, ",") != "flat,head" || strings.Join(tensors, ",") != "image,flat,logits,head/w" {
		t.Errorf("--outputs logits left ops %v, tensors %v", ops, tensors)
	}
	if r := evalJSON(t, "--model", out, "--mnist", data); r.Output != "logits" || r.Top1 != 1 {
		t.Errorf("eval of the converted model: %+v", r)
	}
	// Both, in the other order.
	swapped := filepath.Join(dir, "swapped.eim")
	if st, _, e := edgeinfer("convert", model, swapped, "--outputs", "logits,0"); st != 0 {
		t.Fatalf("convert --outputs logits,0: status %d: %s", st, e)
	}
	if m, err := format.ReadFile(swapped); err != nil || m.OutputList() != `0 "logits" [1 10] float32, 1 "attn" [1 16] float32` {
		t.Errorf("--outputs logits,0: %v, outputs %s", err, m.OutputList())
	}

	st, _, e := edgeinfer("convert", model, filepath.Join(dir, "x.eim"), "--outputs", "cls")
	if st != 2 || !strings.Contains(e, `no output "cls"`) || !strings.Contains(e, `1 "logits" [1 10] float32`) {
		t.Errorf("--outputs cls: status %d, stderr %q; want 2 naming cls and listing the outputs", st, e)
	}

	// ONNX, calibrated after the surgery: f (the flattened image) dropped.
	src := pickONNXOutputs(t, dir, "pick2.onnx", true)
	if r := evalJSON(t, "--model", src, "--mnist", data); r.Output != "y" || r.Top1 != 1 {
		t.Errorf("eval of the two-output ONNX file: %+v", r)
	}
	q := filepath.Join(dir, "pick2.eim")
	if st, _, e := edgeinfer("convert", src, q, "--outputs", "y", "--calibrate", data, "--calib-count", "20"); st != 0 {
		t.Fatalf("ONNX convert --outputs y: status %d: %s", st, e)
	}
	qm, err := format.ReadFile(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(qm.Outputs) != 1 || qm.Tensors[qm.Outputs[0]].Name != "y" || qm.Tensors[qm.Outputs[0]].DType != format.Int8 {
		t.Errorf("ONNX --outputs y: outputs %s", qm.OutputList())
	}
	if r := evalJSON(t, "--model", q, "--mnist", data); r.Top1 != 1 {
		t.Errorf("eval of the int8 model: %+v", r)
	}

	// info --json lists every output with its quantization.
	st, js, e := edgeinfer("info", "--model", q, "--json")
	if st != 0 {
		t.Fatalf("info: %d %s", st, e)
	}
	var info struct {
		Outputs []tensorInfo `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(js), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Outputs) != 1 || info.Outputs[0].Name != "y" || info.Outputs[0].Quant == nil || info.Outputs[0].Quant.Scale <= 0 {
		t.Errorf("info --json outputs = %+v", info.Outputs)
	}
	st, js, _ = edgeinfer("info", "--model", model, "--json")
	info.Outputs = nil
	if err := json.Unmarshal([]byte(js), &info); st != 0 || err != nil {
		t.Fatal(st, err)
	}
	if len(info.Outputs) != 2 || info.Outputs[0].Name != "attn" || info.Outputs[1].Index != 1 ||
		info.Outputs[1].Name != "logits" || len(info.Outputs[1].Shape) != 2 || info.Outputs[1].Shape[1] != 10 ||
		info.Outputs[1].DType != "float32" || info.Outputs[1].Quant != nil {
		t.Errorf("info --json outputs of the float two-output model = %+v", info.Outputs)
	}
}

// TestConvertOutputsExportedViT: on a PyTorch ViT that also outputs the
// CLS-attention map of each block (testdata/vits), --outputs logits drops
// the maps' ops and the logits stay PyTorch's.
func TestConvertOutputsExportedViT(t *testing.T) {
	const vits = "../../testdata/vits/"
	dir := t.TempDir()
	all, logits := filepath.Join(dir, "all.eim"), filepath.Join(dir, "logits.eim")
	for _, c := range [][]string{{all}, {logits, "--outputs", "logits"}} {
		if st, _, e := edgeinfer(append([]string{"convert", vits + "attnmap_all.onnx", "--float"}, c...)...); st != 0 {
			t.Fatalf("convert %v: status %d: %s", c, st, e)
		}
	}
	ma, err := format.ReadFile(all)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := format.ReadFile(logits)
	if err != nil {
		t.Fatal(err)
	}
	if len(ma.Outputs) != 3 || len(ml.Outputs) != 1 || ml.Tensors[ml.Outputs[0]].Name != "logits" || len(ml.Ops) >= len(ma.Ops) {
		t.Fatalf("outputs %s → %s, ops %d → %d", ma.OutputList(), ml.OutputList(), len(ma.Ops), len(ml.Ops))
	}
	y := filepath.Join(dir, "y.npy")
	if st, _, e := edgeinfer("run", "--model", logits, "--input", vits+"attnmap_all_input.npy", "--output", y); st != 0 {
		t.Fatalf("run: status %d: %s", st, e)
	}
	got, err := npy.ReadFile(y)
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadFile(vits + "attnmap_all_out_logits.npy")
	if err != nil {
		t.Fatal(err)
	}
	g, w := f32s(got), f32s(want)
	if len(g) != 10 || len(w) != 10 {
		t.Fatalf("%d logits, PyTorch %d", len(g), len(w))
	}
	var big, diff float64
	for i := range w {
		big = max(big, math.Abs(float64(w[i])))
		diff = max(diff, math.Abs(float64(g[i]-w[i])))
	}
	if diff > 1e-4*big {
		t.Errorf("logits %v, PyTorch %v: differ by %g (largest %g)", g, w, diff, big)
	}
	// Without the maps' ops in the way, ZOO-Prune goes in after block 0
	// and the model runs at half its tokens.
	pruned := filepath.Join(dir, "pruned.eim")
	if st, _, e := edgeinfer("convert", vits+"attnmap_all.onnx", pruned, "--float", "--outputs", "logits", "--prune", "zoo", "--prune-after-block", "0"); st != 0 {
		t.Fatalf("convert --outputs logits --prune zoo: status %d: %s", st, e)
	}
	st, out, e := edgeinfer("run", "--model", pruned, "--input", vits+"attnmap_all_input.npy", "--keep", "0.5", "--json")
	var res runJSON
	if st != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Outputs) != 1 || res.Outputs[0].Name != "logits" {
		t.Errorf("run --keep 0.5 on the pruned model: status %d, %q, %s", st, out, e)
	}
}

// f32s reads a little-endian float32 array's values.
func f32s(a *npy.Array) []float32 {
	v := make([]float32, len(a.Data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
	}
	return v
}
