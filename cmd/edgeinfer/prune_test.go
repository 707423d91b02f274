package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/dataset"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

var mnistPre = []string{"--scale", "0.00392156862745098", "--mean", "0.1307", "--std", "0.3081"}

// sharedViT returns the researchase ViT and MNIST from the shared folder
// (see internal/testshared).
func sharedViT(t *testing.T) (model, mnist string) {
	t.Helper()
	return testshared.Path(t, "models/vit-mnist/vit_mnist_researchase.onnx"), testshared.Path(t, "data/mnist")
}

// TestConvertPruneONNX converts the researchase ViT straight from ONNX with
// ZOO-Prune after block 0 at half the patch tokens (round(0.5·49) = 25),
// calibrated on a few images, and runs it with run-time budgets, overlays
// and bad values.
func TestConvertPruneONNX(t *testing.T) {
	researchase, mnistDir := sharedViT(t)
	dir := t.TempDir()
	q := filepath.Join(dir, "vit_prune.eim")
	st, _, e := edgeinfer(append([]string{"convert", researchase, q, "--prune", "zoo", "--prune-after-block", "0", "--keep", "0.5",
		"--calibrate", mnistDir, "--calib-offset", "9000", "--calib-count", "4"}, mnistPre...)...)
	if st != 0 {
		t.Fatalf("convert --prune: status %d: %s", st, e)
	}
	qm, err := format.ReadFile(q)
	if err != nil {
		t.Fatal(err)
	}
	// Pruning went in before calibration: the int8 graph selects tokens.
	if in := qm.Tensors[qm.Inputs[0]]; in.DType != format.Int8 || maxKeep(t, qm) != 25 ||
		!strings.Contains(qm.Description, "zoo pruning after block 0, keeping at most 25 of 49 patch tokens; int8") {
		t.Fatalf("converted model: input %v, keep %d, description %q", in.DType, maxKeep(t, qm), qm.Description)
	}

	// eval reports the kept count: 0.5 of the maximum 25 is 13.
	st, out, e := edgeinfer("eval", "--model", q, "--mnist", mnistDir, "--limit", "8", "--keep", "0.5", "--json")
	var acc struct {
		N         int
		Tokens    int
		MaxTokens int `json:"max_tokens"`
	}
	if st != 0 || json.Unmarshal([]byte(out), &acc) != nil || acc.N != 8 || acc.Tokens != 13 || acc.MaxTokens != 25 {
		t.Errorf("eval --keep 0.5: status %d, %q %s", st, out, e)
	}
	if st, out, e := edgeinfer("eval", "--model", q, "--mnist", mnistDir, "--limit", "2"); st != 0 || !strings.Contains(out, "keeping 25 of 25 patch tokens") {
		t.Errorf("eval: status %d, %q %s", st, out, e)
	}

	// An MNIST digit as a photo and as a preprocessed .npy tensor.
	set, err := dataset.Open(mnistDir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := set.Image(0)
	if err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(dir, "digit.png")
	f, err := os.Create(photo)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// --float keeps every token at load; runs choose.
	f32 := filepath.Join(dir, "vit_prune_f32.eim")
	if st, _, e := edgeinfer(append([]string{"convert", researchase, f32, "--float", "--prune", "uniform", "--prune-after-block", "1"}, mnistPre...)...); st != 0 {
		t.Fatalf("convert --float --prune: status %d: %s", st, e)
	}
	fm, err := format.ReadFile(f32)
	if err != nil {
		t.Fatal(err)
	}
	if maxKeep(t, fm) != 49 {
		t.Errorf("float model keeps %d, want all 49", maxKeep(t, fm))
	}
	conv, err := dataset.NewConverter(fm)
	if err != nil {
		t.Fatal(err)
	}
	xs, err := conv.Floats(set, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 4*len(xs[0]))
	for i, v := range xs[0] {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	in := filepath.Join(dir, "digit.npy")
	if err := npy.WriteFile(in, &npy.Array{Descr: "<f4", Shape: []int{1, 1, 28, 28}, Data: data}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		model string
		src   []string
		keep  string
		want  int
	}{
		{q, []string{"--image", photo}, "12", 12},
		{q, []string{"--input", in}, "12", 12},
		{q, []string{"--input", in}, "0.4", 10},
		{q, []string{"--image", photo}, "1", 25},
		{f32, []string{"--input", in}, "0.5", 25}, // of 49
	} {
		png := filepath.Join(dir, fmt.Sprintf("overlay_%s_%s.png", c.src[0][2:], c.keep))
		args := append([]string{"run", "--model", c.model, "--keep", c.keep, "--overlay", png, "--json"}, c.src...)
		st, out, e := edgeinfer(args...)
		var res runJSON
		if st != 0 || json.Unmarshal([]byte(out), &res) != nil {
			t.Fatalf("%v: status %d, %q %s", args[1:], st, out, e)
		}
		if len(res.Kept) != c.want || res.Overlay != png || c.want == 25 && res.Outputs[0].Top[0].Index != 7 {
			t.Errorf("%v: kept %v, overlay %q, top %v; want %d kept (and a 7 with 25)", args[1:], res.Kept, res.Overlay, res.Outputs[0].Top, c.want)
		}
		if got := framedPatches(t, png, 7, 7, 224); !equalInts(got, res.Kept) {
			t.Errorf("%v: overlay frames patches %v, run kept %v", args[1:], got, res.Kept)
		}
	}
	// The digit rendered back from the input tensor is the photo's, up to
	// the input's quantization step (1.0 of 255).
	a, b := decodePNG(t, filepath.Join(dir, "overlay_image_12.png")), decodePNG(t, filepath.Join(dir, "overlay_input_12.png"))
	for y := 0; y < 224; y++ {
		for x := 0; x < 224; x++ {
			ra, ga, ba, _ := a.At(x, y).RGBA()
			rb, gb, bb, _ := b.At(x, y).RGBA()
			if d := max(absDiff(ra, rb), absDiff(ga, gb), absDiff(ba, bb)) >> 8; d > 2 {
				t.Fatalf("pixel (%d, %d): --image overlay %v, --input overlay %v", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
	if st, out, e := edgeinfer("run", "--model", q, "--image", photo, "--overlay", filepath.Join(dir, "o.png")); st != 0 || !strings.Contains(out, "25 of 49 patch tokens kept (grid 7×7)") {
		t.Errorf("run --overlay text: status %d, %q %s", st, out, e)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--model", q, "--keep", "0"}, "keeps no token"},
		{[]string{"run", "--model", q, "--keep", "-0.5"}, "keeps no token"},
		{[]string{"run", "--model", q, "--keep", "2.5"}, "whole count"},
		{[]string{"run", "--model", q, "--keep", "half"}, "ratio in (0, 1]"},
		{[]string{"run", "--model", q, "--keep", "26", "--input", in}, "maximum of 25"},
		{[]string{"run", "--model", q, "--keep", "0.5", "--tokens", "3"}, "only one of --keep and --tokens"},
		{[]string{"run", "--keep", "0.5"}, `"vit-micro" has no token budget`},
		{[]string{"run", "--model", q, "--tokens", "26", "--input", in}, "--tokens 26: more than the model's maximum of 25"},
		{[]string{"run", "--tokens", "3"}, `--tokens: model "vit-micro" has no token budget`},
		{[]string{"bench", "--tokens", "-1"}, "keep at least 1 token"},
		{[]string{"run", "--overlay", filepath.Join(dir, "x.png")}, "prunes no tokens"},
		{[]string{"run", "--model", q, "--overlay", filepath.Join(dir, "x.png"), "--camera", "synthetic:box"}, "not --camera"},
		{[]string{"eval", "--model", q, "--mnist", mnistDir, "--keep", "50"}, "maximum of 25"},
		{append([]string{"convert", researchase, filepath.Join(dir, "x.eim"), "--float", "--prune", "zoo", "--keep", "50"}, mnistPre...), "maximum of 49"},
		{append([]string{"convert", researchase, filepath.Join(dir, "x.eim"), "--float", "--keep", "0.5"}, mnistPre...), "--keep needs --prune"},
		{[]string{"convert", q, filepath.Join(dir, "x.eim"), "--prune", "zoo"}, "needs a float model"},
	} {
		st, _, e := edgeinfer(c.args...)
		if st != 2 || !strings.Contains(e, c.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 and %q", c.args, st, e, c.want)
		}
	}
}

// framedPatches decodes an overlay of side×side pixels and returns the
// patches of its gh×gw grid that carry the kept-patch frame, checking that
// the others are dimmed.
func framedPatches(t *testing.T, path string, gh, gw, side int) []int {
	t.Helper()
	img := decodePNG(t, path)
	if b := img.Bounds(); b.Dx() != side || b.Dy() != side {
		t.Fatalf("overlay is %v, want %d×%d", b, side, side)
	}
	var kept []int
	for gy := 0; gy < gh; gy++ {
		for gx := 0; gx < gw; gx++ {
			x0, y0, x1, y1 := gx*side/gw, gy*side/gh, (gx+1)*side/gw, (gy+1)*side/gh
			r, g, b, _ := img.At(x0, y0).RGBA()
			if r>>8 == uint32(overlayFrame.R) && g>>8 == uint32(overlayFrame.G) && b>>8 == uint32(overlayFrame.B) {
				kept = append(kept, gy*gw+gx)
				continue
			}
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					if r, g, b, _ := img.At(x, y).RGBA(); max(r, g, b)>>8 > 255*overlayDim/10 {
						t.Fatalf("pruned patch %d: pixel (%d, %d) is not dimmed", gy*gw+gx, x, y)
					}
				}
			}
		}
	}
	return kept
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func equalInts(a, b []int) bool {
	a, b = append([]int(nil), a...), append([]int(nil), b...)
	sort.Ints(a)
	sort.Ints(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTokenWatchNoAlloc: watching the pruning op costs Invoke no
// allocation, and a zoo ViT's grid comes from its patch convolution.
// maxKeep returns the most patch tokens m's pruning keeps.
func maxKeep(t *testing.T, m *format.Model) int {
	t.Helper()
	n, err := runtime.AnalyzeTokens(m).Budget()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTokenWatchNoAlloc(t *testing.T) {
	f, err := loadModel("zoo:vit-micro:float")
	if err != nil {
		t.Fatal(err)
	}
	m, err := zoo.InsertPruning(f, zoo.PruneOptions{AfterBlock: 0, Mode: "fro_diag"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	w, err := newTokenWatch(it)
	if err != nil {
		t.Fatal(err)
	}
	if w.gh != 4 || w.gw != 4 {
		t.Errorf("watch: grid %d×%d, want 4×4", w.gh, w.gw)
	}
	if err := it.SetTokens(5); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { it.Invoke(); w.kept() }); n != 0 {
		t.Errorf("Invoke and kept allocate %v times", n)
	}
	if k := w.kept(); len(k) != 5 {
		t.Errorf("kept %v, want 5 patches", k)
	}
}

// convert --prune reports MACs at the budget it builds and the unpruned
// model's, and warns where ZOO-Prune's sensitivity costs more than the
// pruned tokens save (the trained 3-block MNIST ViT at keep 0.5: it does;
// diversity alone does not).
func TestConvertPruneReportsMACs(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "vits", "mnist_reg4.onnx")
	re := regexp.MustCompile(`--prune (\w+) after block 0: ([0-9.]+) M MACs per inference at 25 of 49 patch tokens, ([0-9.]+) M unpruned`)
	for _, tc := range []struct {
		mode     string
		costlier bool
	}{{"zoo", true}, {"uniform", false}} {
		st, out, e := edgeinfer("convert", src, filepath.Join(t.TempDir(), "m.eim"), "--prune", tc.mode, "--keep", "0.5", "--float")
		if st != 0 {
			t.Fatalf("--prune %s: status %d: %s", tc.mode, st, e)
		}
		m := re.FindStringSubmatch(out)
		if m == nil || m[1] != tc.mode {
			t.Fatalf("--prune %s: no MAC report in:\n%s", tc.mode, out)
		}
		pruned, _ := strconv.ParseFloat(m[2], 64)
		unpruned, _ := strconv.ParseFloat(m[3], 64)
		if (pruned >= unpruned) != tc.costlier {
			t.Errorf("--prune %s: %.2f M MACs pruned, %.2f M unpruned", tc.mode, pruned, unpruned)
		}
		if noted := strings.Contains(out, "note: on this model the sensitivity"); noted != tc.costlier {
			t.Errorf("--prune %s: note printed %v, want %v:\n%s", tc.mode, noted, tc.costlier, out)
		}
	}
}
