package onnx_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgeinfer/edgeinfer/dataset"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// vitCorpusEntry is the part of one testdata/vits/manifest.json model entry
// that the import test reads (tools/vitcorpus writes the manifest).
type vitCorpusEntry struct {
	Name  string `json:"name"`
	File  string `json:"file"`
	Input struct {
		File  string `json:"file"`
		Shape []int  `json:"shape"`
	} `json:"input"`
	Outputs []struct {
		Name  string `json:"name"`
		File  string `json:"file"`
		Shape []int  `json:"shape"`
	} `json:"outputs"`
	Logits string `json:"logits"`
}

// vitCorpus reads the manifest of the ViT corpus: testdata/vits, or the
// directory in EDGEINFER_VIT_CORPUS. A missing or empty corpus fails the test.
func vitCorpus(t *testing.T) (string, []vitCorpusEntry) {
	t.Helper()
	dir := os.Getenv("EDGEINFER_VIT_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "testdata", "vits")
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("ViT corpus: %v (regenerate it with tools/vitcorpus/vitcorpus.py)", err)
	}
	var doc struct {
		Models []vitCorpusEntry `json:"models"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("ViT corpus manifest: %v", err)
	}
	if len(doc.Models) == 0 {
		t.Fatalf("ViT corpus manifest in %s lists no models", dir)
	}
	return dir, doc.Models
}

// TestViTCorpusMatchesPyTorch imports every model of the ViT corpus in float
// and compares each graph output with PyTorch's for the corpus input: the
// largest difference relative to the largest magnitude of that output must
// be ≤ 1e-4.
func TestViTCorpusMatchesPyTorch(t *testing.T) {
	dir, models := vitCorpus(t)
	for _, e := range models {
		t.Run(e.Name, func(t *testing.T) {
			r, err := onnx.ImportFile(filepath.Join(dir, e.File), onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := r.Model
			if len(m.Outputs) != len(e.Outputs) {
				t.Fatalf("%d graph outputs, manifest lists %d", len(m.Outputs), len(e.Outputs))
			}
			it, err := runtime.New(m, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			x, xshape := readNpyFloats(t, filepath.Join(dir, e.Input.File))
			in := it.Input(0)
			if !slices.Equal(in.Shape, xshape) {
				t.Fatalf("model input shape %v, corpus input %v", in.Shape, xshape)
			}
			copy(in.Float32(), x)
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			worst, worstName := 0.0, ""
			sawLogits := false
			for _, o := range e.Outputs {
				sawLogits = sawLogits || o.Name == e.Logits
				k := -1
				for i := 0; i < it.NumOutputs(); i++ {
					if it.Output(i).Name == o.Name {
						k = i
					}
				}
				if k < 0 {
					t.Fatalf("no graph output named %q", o.Name)
				}
				want, wshape := readNpyFloats(t, filepath.Join(dir, o.File))
				got := it.Output(k)
				if got.NumElements() != len(want) {
					t.Fatalf("output %s: %v (%d elements), PyTorch %v", o.Name, got.Shape, got.NumElements(), wshape)
				}
				d, scale := relDiff(got.Float32(), want)
				if scale == 0 {
					t.Fatalf("output %s: PyTorch's value is all zeros, which proves nothing", o.Name)
				}
				t.Logf("output %s %v: max |Δ| / max |PyTorch| = %.3g", o.Name, wshape, d)
				if d > worst || worstName == "" {
					worst, worstName = d, o.Name
				}
				if d > 1e-4 {
					t.Errorf("output %s differs from PyTorch by %.3g of its largest magnitude, want ≤ 1e-4", o.Name, d)
				}
			}
			if !sawLogits {
				t.Errorf("manifest names logits output %q, not among its outputs", e.Logits)
			}
			t.Logf("worst: %.3g (%s)", worst, worstName)
		})
	}
}

// relDiff returns max |got−want| / max |want|, and max |want|.
func relDiff(got, want []float32) (rel, scale float64) {
	d := 0.0
	for i, w := range want {
		scale = max(scale, math.Abs(float64(w)))
		d = max(d, math.Abs(float64(got[i])-float64(w)))
	}
	if scale == 0 {
		return d, 0
	}
	return d / scale, scale
}

// TestTrainedViTsAgreeWithPyTorch runs the float import of every trained
// model of the corpus on MNIST test images 5000–9999 (the first 25 with
// -short) and wants PyTorch's top-1 class
// (NAME_preds.npy) for every image: the trained models' accuracy figures
// hold for what edgeinfer runs, not only for PyTorch.
func TestTrainedViTsAgreeWithPyTorch(t *testing.T) {
	dir, _ := vitCorpus(t)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Models []struct {
			Name        string  `json:"name"`
			File        string  `json:"file"`
			Trained     bool    `json:"trained"`
			Top1        float64 `json:"top1_mnist_test_5000_9999"`
			Predictions struct {
				File       string `json:"file"`
				FirstImage int    `json:"first_image"`
			} `json:"predictions"`
		} `json:"models"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Open(testshared.Path(t, "data/mnist"))
	if err != nil {
		t.Fatal(err)
	}
	trained := 0
	for _, e := range doc.Models {
		if !e.Trained {
			continue
		}
		trained++
		t.Run(e.Name, func(t *testing.T) {
			preds, _ := readNpyInt32(t, filepath.Join(dir, e.Predictions.File))
			n := len(preds)
			if testing.Short() {
				n = min(n, 25)
			}
			r, err := onnx.ImportFile(filepath.Join(dir, e.File), onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			mnistPreprocess(r.Model)
			it, err := runtime.New(r.Model, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			out, err := dataset.ClassOutput(r.Model, 10)
			if err != nil {
				t.Fatal(err)
			}
			conv, err := dataset.NewConverter(r.Model)
			if err != nil {
				t.Fatal(err)
			}
			disagree, correct := 0, 0
			for i := 0; i < n; i++ {
				img, err := set.Image(e.Predictions.FirstImage + i)
				if err != nil {
					t.Fatal(err)
				}
				if err := conv.Convert(it.Input(0).Bytes(), img); err != nil {
					t.Fatal(err)
				}
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				top := argMax(it.Output(out).Float32())
				if top != int(preds[i]) {
					disagree++
					if disagree <= 5 {
						t.Errorf("image %d: edgeinfer says %d, PyTorch %d", e.Predictions.FirstImage+i, top, preds[i])
					}
				}
				if top == set.Label(e.Predictions.FirstImage+i) {
					correct++
				}
			}
			t.Logf("%d images: %d disagree with PyTorch; top-1 %.2f%% (PyTorch on all 5000: %.2f%%)",
				n, disagree, 100*float64(correct)/float64(n), 100*e.Top1)
		})
	}
	if trained == 0 && os.Getenv("EDGEINFER_VIT_CORPUS") == "" {
		t.Fatal("testdata/vits lists no trained model (tools/vitcorpus/vitcorpus.py train)")
	}
}

func readNpyInt32(t testing.TB, path string) ([]int32, []int) {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Descr != "<i4" {
		t.Fatalf("%s: dtype %s, want <i4", path, a.Descr)
	}
	v := make([]int32, len(a.Data)/4)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(a.Data[4*i:]))
	}
	return v, a.Shape
}
