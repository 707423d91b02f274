package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleRows() []row {
	var rows []row
	for _, model := range []string{"researchase", "mnist_gap"} {
		for _, dt := range []string{"float", "int8"} {
			rows = append(rows, row{Model: model, DType: dt, Method: "none", Block: -1, Ratio: 1, Kept: 49, Correct: 970, N: 1000, MACs: 32e6})
			for k, m := range []string{"zoo", "uniform", "cls"} {
				for b := 0; b <= 1; b++ {
					rows = append(rows, row{Model: model, DType: dt, Method: m, Block: b, Ratio: 0.5, Kept: 25,
						Correct: 960 - 10*k - b, N: 1000, MACs: int64(20e6 + 1e6*b)})
				}
			}
		}
	}
	return rows
}

// TestCSVRoundTrip: rows written to the CSV read back equal, and a damaged
// line is an error naming it.
func TestCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.csv")
	rows := sampleRows()
	if err := writeCSV(path, rows); err != nil {
		t.Fatal(err)
	}
	back, err := readCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rows) {
		t.Fatalf("%d rows back, wrote %d", len(back), len(rows))
	}
	for i := range rows {
		if back[i] != rows[i] {
			t.Errorf("row %d: %+v read back as %+v", i, rows[i], back[i])
		}
	}
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, "researchase,int8,zoo,1,0.5,25,x,1000,1,1\n"...), 0o644)
	if _, err := readCSV(path); err == nil || !strings.Contains(err.Error(), "line 30") {
		t.Errorf("damaged line: err = %v", err)
	}
}

func TestTableAndPlot(t *testing.T) {
	rows := sampleRows()
	var b strings.Builder
	printTable(&b, rows)
	out := b.String()
	for _, want := range []string{"| model | dtype | after block | unpruned | zoo | uniform | cls |",
		"| mnist_gap | int8 | 1 | 97.00% | 95.90% (25) | 94.90% (25) | 93.90% (25) |",
		"| researchase | float | 0 | 97.00% | 96.00% (25) | 95.00% (25) | 94.00% (25) |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "| researchase |"), strings.Index(out, "| mnist_gap |"); i < 0 || j < i {
		t.Errorf("models not in the order of the rows:\n%s", out)
	}
	path := filepath.Join(t.TempDir(), "s.png")
	if err := plotRows(path, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() <= b.Dy() || b.Dy() < 300 {
		t.Errorf("plot is %v, want two panels side by side", b)
	}
	if err := plotRows(path, rows[1:10]); err == nil {
		t.Error("rows without an unpruned model plotted")
	}
}

// TestParseMethod: settings reach zoo.PruneOptions; unknown methods, keys
// and bad values are errors naming the entry.
func TestParseMethod(t *testing.T) {
	o, err := parseMethod("jvp:m=32:feat=mlp:rank=16:seed=3:add=0.25")
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != "jvp" || o.Directions != 32 || o.Features != "mlp" || o.Rank != 16 || o.Seed != 3 || o.AddWeight != 0.25 {
		t.Errorf("parsed %+v", o)
	}
	for _, bad := range []string{"zoom", "zoo:m", "zoo:m=0", "zoo:x=1", "zoo:m=two", "zoo:add=-1"} {
		if _, err := parseMethod(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// TestResolveModels: names, "trained" and paths from a manifest.
func TestResolveModels(t *testing.T) {
	dir := t.TempDir()
	man := filepath.Join(dir, "manifest.json")
	os.WriteFile(man, []byte(`{"models": [{"name": "a", "file": "a.onnx"}, {"name": "b", "file": "b.onnx", "trained": true,
		"preprocessing": {"scale": 0.5, "mean": [1], "std": [2]}}]}`), 0o644)
	specs, err := resolveModels("researchase,trained,a,x/y.onnx", "r.onnx", man)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range specs {
		got = append(got, s.Name+"="+s.Path)
	}
	want := []string{"researchase=r.onnx", "b=" + filepath.Join(dir, "b.onnx"), "a=" + filepath.Join(dir, "a.onnx"), "y=x/y.onnx"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
	if specs[1].Pre.Scale != 0.5 || specs[1].Pre.Std[0] != 2 || specs[2].Pre.Scale != mnistNorm.Scale {
		t.Errorf("preprocessing: %+v %+v", specs[1].Pre, specs[2].Pre)
	}
	if _, err := resolveModels("nosuch", "r.onnx", man); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown model: err = %v", err)
	}
}
