package onnx_test

import (
	"encoding/binary"
	"math"
	"os"
	"testing"

	"github.com/edgeinfer/edgeinfer/dataset"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// mnistPreprocess is the ViTs' input convention: (p/255 − 0.1307)/0.3081.
func mnistPreprocess(m *format.Model) {
	m.Preprocess.Scale = 1.0 / 255
	m.Preprocess.Mean = []float32{0.1307}
	m.Preprocess.Std = []float32{0.3081}
}

func importViT(t testing.TB, name string) *format.Model {
	t.Helper()
	r, err := onnx.ImportFile(testshared.Path(t, "models/vit-mnist/"+name), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mnistPreprocess(r.Model)
	return r.Model
}

func readNpyFloats(t testing.TB, path string) ([]float32, []int) {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(a.Data)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
	}
	return v, a.Shape
}

// logitDiff runs m on the MNIST test images of the reference (10 with -short) and returns the largest
// difference to the onnxruntime logits in ref, relative to the largest
// magnitude of the image's logits.
func logitDiff(t *testing.T, m *format.Model, output int, refPath string) float64 {
	ref, shape := readNpyFloats(t, refPath)
	n, classes := shape[0], shape[1]
	if testing.Short() {
		n = 10
	}
	set, err := dataset.Open(testshared.Path(t, "data/mnist"))
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	conv, err := dataset.NewConverter(m)
	if err != nil {
		t.Fatal(err)
	}
	worst, worstAbs, worstElem := 0.0, 0.0, 0.0
	for i := 0; i < n; i++ {
		img, _ := set.Image(i)
		if err := conv.Convert(it.Input(0).Bytes(), img); err != nil {
			t.Fatal(err)
		}
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		got := it.Output(output).Float32()
		want := ref[i*classes : (i+1)*classes]
		scale := 0.0
		for _, w := range want {
			scale = max(scale, math.Abs(float64(w)))
		}
		for c := range want {
			d := math.Abs(float64(got[c]) - float64(want[c]))
			worst = max(worst, d/scale)
			worstAbs = max(worstAbs, d)
			if math.Abs(float64(want[c])) >= 0.1 {
				worstElem = max(worstElem, d/math.Abs(float64(want[c])))
			}
		}
	}
	t.Logf("%d images: max |Δ| %.3g, max |Δ|/|ref| %.3g over logits with |ref| ≥ 0.1", n, worstAbs, worstElem)
	return worst
}

func TestResearchaseViTMatchesOnnxruntime(t *testing.T) {
	m := importViT(t, "vit_mnist_researchase.onnx")
	d := logitDiff(t, m, 0, "testdata/researchase_logits100.npy")
	t.Logf("max relative logit difference on 100 images: %.3g", d)
	if d > 1e-4 {
		t.Errorf("logits differ from onnxruntime by %.3g relative, want ≤ 1e-4", d)
	}
}

func TestMicroViTMatchesOnnxruntime(t *testing.T) {
	m := importViT(t, "microvit.onnx")
	out := -1
	for i, o := range m.Outputs {
		if m.Tensors[o].Name == "scores" {
			out = i
		}
	}
	if out < 0 {
		t.Fatal("no output named scores")
	}
	d := logitDiff(t, m, out, "testdata/microvit_scores100.npy")
	t.Logf("max relative score difference on 100 images: %.3g", d)
	if d > 1e-4 {
		t.Errorf("scores differ from onnxruntime by %.3g relative, want ≤ 1e-4", d)
	}
}

// TestResearchaseViTTop1 compares top-1 predictions with onnxruntime's on
// the MNIST test set: the first 200 images normally, all 10,000 with
// EDGEINFER_FULL_EVAL=1.
func TestResearchaseViTTop1(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	m := importViT(t, "vit_mnist_researchase.onnx")
	a, err := npy.ReadFile("testdata/researchase_preds.npy")
	if err != nil {
		t.Fatal(err)
	}
	set, err := dataset.Open(testshared.Path(t, "data/mnist"))
	if err != nil {
		t.Fatal(err)
	}
	limit := 200
	if os.Getenv("EDGEINFER_FULL_EVAL") == "1" {
		limit = 0
	}
	it, err := runtime.New(m, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	acc, err := dataset.Evaluate(it, set, 0, limit, nil)
	if err != nil {
		t.Fatal(err)
	}
	ortCorrect, disagree := 0, 0
	for i, p := range acc.Pred {
		want := int(int32(binary.LittleEndian.Uint32(a.Data[4*i:])))
		if want == set.Label(i) {
			ortCorrect++
		}
		if p != want {
			disagree++
		}
	}
	t.Logf("%d images: edgeinfer top-1 %.4f, onnxruntime top-1 %.4f, %d predictions differ", acc.N, acc.Top1, float64(ortCorrect)/float64(acc.N), disagree)
	if acc.Correct1 != ortCorrect || disagree != 0 {
		t.Errorf("top-1 differs from onnxruntime: %d vs %d correct, %d predictions differ", acc.Correct1, ortCorrect, disagree)
	}
}

// TestInvokeAllocatesNothing checks the imported ViT, float and int8, on
// one and two threads.
func TestInvokeAllocatesNothing(t *testing.T) {
	fm := importViT(t, "vit_mnist_researchase.onnx")
	set, err := dataset.Open(testshared.Path(t, "data/mnist"))
	if err != nil {
		t.Fatal(err)
	}
	conv, err := dataset.NewConverter(fm)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := conv.Floats(set, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	samples := [][][]float32{{imgs[0]}, {imgs[1]}}
	ranges, err := ptq.Observe(fm, samples, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := ptq.Quantize(fm, ranges)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*format.Model{fm, qm} {
		for _, threads := range []int{1, 2} {
			it, err := runtime.New(m, runtime.Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			allocs := testalloc.PerRun(3, func() {
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
			})
			it.Close()
			if allocs != 0 {
				t.Errorf("%v input, %d threads: %g allocations per Invoke, want 0", m.Tensors[m.Inputs[0]].DType, threads, allocs)
			}
		}
	}
}
