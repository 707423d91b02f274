package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/npy"
)

// edgeinfer runs the command in-process and returns its exit status and
// output.
func edgeinfer(args ...string) (status int, stdout, stderr string) {
	var o, e bytes.Buffer
	status = run(args, &o, &e)
	return status, o.String(), e.String()
}

func zooModel(t *testing.T, name string) (q, f string) {
	t.Helper()
	dir := t.TempDir()
	q, f = filepath.Join(dir, name+".eim"), filepath.Join(dir, name+"_f32.eim")
	if st, _, errOut := edgeinfer("zoo", name, "-o", q, "--float", f); st != 0 {
		t.Fatalf("zoo %s: status %d: %s", name, st, errOut)
	}
	return q, f
}

func TestInfoJSON(t *testing.T) {
	q, _ := zooModel(t, "vit-micro")
	st, out, errOut := edgeinfer("info", "--model", q, "--json")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	var info struct {
		Inputs []struct {
			Name, DType string
			Shape       []int
		} `json:"inputs"`
		Outputs []struct {
			Name, DType string
			Shape       []int
		} `json:"outputs"`
		MACs   int64 `json:"macs"`
		Weight int64 `json:"weight_bytes"`
		Arena  int64 `json:"arena_bytes"`
		Lower  int64 `json:"arena_lower_bound_bytes"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("info --json is not JSON: %v\n%s", err, out)
	}
	if len(info.Inputs) != 1 || info.Inputs[0].DType != "int8" || len(info.Inputs[0].Shape) != 4 {
		t.Errorf("inputs = %+v", info.Inputs)
	}
	if len(info.Outputs) != 1 || info.Outputs[0].Shape[1] != 10 {
		t.Errorf("outputs = %+v", info.Outputs)
	}
	if info.MACs <= 0 || info.Weight <= 0 || info.Arena < info.Lower || info.Lower <= 0 {
		t.Errorf("figures = %+v", info)
	}
}

func TestRunNpyInOut(t *testing.T) {
	q, f := zooModel(t, "cnn-micro")
	dir := t.TempDir()
	in := filepath.Join(dir, "x.npy")
	data := make([]byte, 32*32*3*4)
	if err := npy.WriteFile(in, &npy.Array{Descr: "<f4", Shape: []int{1, 32, 32, 3}, Data: data}); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{q, f} { // float data into the int8 model is quantized
		outPath := filepath.Join(dir, "y.npy")
		st, out, errOut := edgeinfer("run", "--model", model, "--input", in, "--output", outPath, "--top", "3", "--json")
		if st != 0 {
			t.Fatalf("status %d: %s", st, errOut)
		}
		var res runJSON
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("run --json: %v\n%s", err, out)
		}
		if len(res.Outputs) != 1 || len(res.Outputs[0].Top) != 3 || res.Outputs[0].Top[0].Label == "" {
			t.Errorf("run --json = %+v", res)
		}
		y, err := npy.ReadFile(outPath)
		if err != nil {
			t.Fatal(err)
		}
		if len(y.Shape) != 2 || y.Shape[1] != 10 {
			t.Errorf("output shape %v", y.Shape)
		}
	}
}

func TestBenchReportsNoAllocations(t *testing.T) {
	st, out, errOut := edgeinfer("bench", "--model", "zoo:vit-micro", "--runs", "200", "--profile", "--json")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	var res benchJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// bench counts every malloc in the process, including the Go
	// runtime's own when worker goroutines park and wake (a few per
	// thousand runs; a loaded CI machine once showed a burst of 19 within
	// 20 runs); an op that allocated would add at least one per run, so
	// 200 runs tell the two apart.
	if res.AllocsPerRun >= 0.5 {
		t.Errorf("bench measured %v allocations per run", res.AllocsPerRun)
	}
	if res.MACs <= 0 || res.MinMS <= 0 || res.MinMS > res.MaxMS || len(res.Profile) == 0 {
		t.Errorf("bench result = %+v", res)
	}
}

func TestExitStatuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.eim")
	os.WriteFile(garbage, []byte("EIM1 but not really a model at all"), 0o644)
	q, _ := zooModel(t, "vit-micro")
	raw, _ := os.ReadFile(q)
	truncated := filepath.Join(dir, "truncated.eim")
	os.WriteFile(truncated, raw[:len(raw)/2], 0o644)
	wrongShape := filepath.Join(dir, "wrong.npy")
	npy.WriteFile(wrongShape, &npy.Array{Descr: "|i1", Shape: []int{1, 3}, Data: make([]byte, 3)})
	cases := []struct {
		args   []string
		status int
		msg    string
	}{
		{nil, 2, ""},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"info", "--bogus"}, 2, "bogus"},
		{[]string{"bench", "--runs", "0"}, 2, "runs"},
		{[]string{"zoo"}, 2, "model name"},
		{[]string{"zoo", "vit-micro"}, 2, "-o"},
		{[]string{"zoo", "nope", "-o", filepath.Join(dir, "x.eim")}, 1, "no model"},
		{[]string{"info", "--model", filepath.Join(dir, "missing.eim")}, 1, "missing.eim"},
		{[]string{"info", "--model", garbage}, 1, "format"},
		{[]string{"run", "--model", truncated}, 1, "format"},
		{[]string{"run", "--model", q, "--input", wrongShape}, 1, "shape"},
		{[]string{"run", "--model", q, "--input", wrongShape, "--input", wrongShape}, 2, "inputs"},
	}
	for _, c := range cases {
		st, _, errOut := edgeinfer(c.args...)
		if st != c.status {
			t.Errorf("edgeinfer %v: status %d, want %d (stderr %q)", c.args, st, c.status, errOut)
		}
		if !strings.Contains(errOut, c.msg) {
			t.Errorf("edgeinfer %v: stderr %q does not mention %q", c.args, errOut, c.msg)
		}
		if strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "internal error") {
			t.Errorf("edgeinfer %v: panicked: %s", c.args, errOut)
		}
	}
}
