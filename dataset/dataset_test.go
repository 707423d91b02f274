package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// writeIdx writes an idx file of unsigned bytes.
func writeIdx(t *testing.T, path string, dims []int, data []byte, gz bool) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	out := b.Bytes()
	if gz {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(out)
		w.Close()
		out = z.Bytes()
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinyMNIST writes n 4×4 images whose label l (0..9) is marked by pixel l
// being 255, all others 0.
func tinyMNIST(t *testing.T, dir string, n int, gz bool) {
	t.Helper()
	suffix := ""
	if gz {
		suffix = ".gz"
	}
	pix := make([]byte, n*16)
	lab := make([]byte, n)
	for i := 0; i < n; i++ {
		lab[i] = byte(i * 7 % 10)
		pix[i*16+int(lab[i])] = 255
	}
	writeIdx(t, filepath.Join(dir, "t10k-images-idx3-ubyte"+suffix), []int{n, 4, 4}, pix, gz)
	writeIdx(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"+suffix), []int{n}, lab, gz)
}

func TestOpenMNISTGzippedOrNot(t *testing.T) {
	for _, gz := range []bool{true, false} {
		dir := t.TempDir()
		tinyMNIST(t, dir, 12, gz)
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if s.Kind != "mnist" || s.Len() != 12 || len(s.Classes) != 10 || s.Label(3) != 1 {
			t.Fatalf("gz=%v: kind %s, %d images, %d classes, label(3)=%d", gz, s.Kind, s.Len(), len(s.Classes), s.Label(3))
		}
		img, err := s.Image(3)
		if err != nil {
			t.Fatal(err)
		}
		if g := img.(*image.Gray); g.Bounds().Dx() != 4 || g.GrayAt(1, 0).Y != 255 || g.GrayAt(0, 0).Y != 0 {
			t.Fatalf("image 3: %v", g.Pix)
		}
		if _, err := s.Image(12); err == nil {
			t.Error("image 12 of 12 did not fail")
		}
	}
}

func TestOpenMNISTRejectsBadFiles(t *testing.T) {
	cases := map[string]func(dir string){
		"bad magic": func(dir string) {
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), []byte{1, 2, 3, 4, 0, 0, 0, 1}, 0o644)
		},
		"count mismatch": func(dir string) {
			writeIdx(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{3, 2, 2}, make([]byte, 12), false)
		},
		"truncated data": func(dir string) {
			writeIdx(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{4, 2, 2}, make([]byte, 15), false)
		},
		"wrong rank": func(dir string) {
			writeIdx(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{16}, make([]byte, 16), false)
		},
		"bad label": func(dir string) {
			writeIdx(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), []int{4}, []byte{1, 2, 3, 11}, false)
		},
		"bad gzip": func(dir string) {
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), []byte{0x1f, 0x8b, 0, 0}, 0o644)
			os.Remove(filepath.Join(dir, "t10k-images-idx3-ubyte"))
		},
	}
	for name, damage := range cases {
		dir := t.TempDir()
		writeIdx(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{4, 2, 2}, make([]byte, 16), false)
		writeIdx(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), []int{4}, []byte{1, 2, 3, 4}, false)
		damage(dir)
		if _, err := Open(dir); err == nil {
			t.Errorf("%s: opened without error", name)
		} else if name != "count mismatch" && !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v does not wrap ErrFormat", name, err)
		}
	}
	dir := t.TempDir()
	writeIdx(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{4, 2, 2}, make([]byte, 16), false)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("images without labels: %v", err)
	}
}

func TestOpenImageFolder(t *testing.T) {
	dir := t.TempDir()
	for ci, class := range []string{"cat", "dog"} {
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		for i := 0; i < 2; i++ {
			img := image.NewRGBA(image.Rect(0, 0, 3, 2))
			img.Set(0, 0, color.RGBA{R: uint8(100*ci + i), A: 255})
			var b bytes.Buffer
			png.Encode(&b, img)
			os.WriteFile(filepath.Join(dir, class, string(rune('a'+i))+".png"), b.Bytes(), 0o644)
		}
	}
	os.WriteFile(filepath.Join(dir, "dog", "notes.txt"), []byte("not an image"), 0o644)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != "images" || s.Len() != 4 || len(s.Classes) != 2 || s.Classes[1] != "dog" || s.Label(2) != 1 {
		t.Fatalf("kind %s, %d images, classes %v", s.Kind, s.Len(), s.Classes)
	}
	img, err := s.Image(3)
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(0, 0).RGBA(); r>>8 != 101 {
		t.Errorf("dog/b pixel red %d, want 101", r>>8)
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("empty folder opened")
	}
}

// pickModel scores class c of a [1,1,4,4] NCHW image as the value of pixel c
// (times the preprocessing), via a fully-connected layer of 0/1 weights.
func pickModel(t *testing.T, classes int) *format.Model {
	b := format.NewBuilder("pick")
	x := b.Input("x", format.Float32, []int32{1, 1, 4, 4}, nil)
	flat := b.Activation("flat", format.Float32, []int32{1, 16}, nil)
	b.Op(format.OpReshape, "flat", nil, []int32{x}, flat)
	w := make([]float32, classes*16)
	for c := 0; c < classes; c++ {
		w[c*16+c] = 1
	}
	y := b.Activation("y", format.Float32, []int32{1, int32(classes)}, nil)
	b.Op(format.OpFullyConnected, "fc", &format.FullyConnectedOptions{}, []int32{flat, b.ConstFloat32("w", []int32{int32(classes), 16}, w)}, y)
	b.Output(y)
	b.Model().Preprocess = &format.Preprocess{Width: 4, Height: 4, Layout: format.NCHW, Color: format.Gray, Scale: 1.0 / 255, Mean: []float32{0.5}, Std: []float32{0.25}}
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConverterAppliesPreprocessing(t *testing.T) {
	dir := t.TempDir()
	tinyMNIST(t, dir, 3, true)
	s, _ := Open(dir)
	c, err := NewConverter(pickModel(t, 10))
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Floats(s, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Image 1 has label 7: pixel 7 is 255 → (1 − 0.5)/0.25 = 2, others −2.
	for i, x := range v[0] {
		want := float32(-2)
		if i == 7 {
			want = 2
		}
		if math.Abs(float64(x-want)) > 1e-6 {
			t.Fatalf("value %d = %g, want %g", i, x, want)
		}
	}
	if _, err := c.Floats(s, 2, 2); err == nil {
		t.Error("images past the end did not fail")
	}
	m := pickModel(t, 10)
	m.Preprocess = nil
	if _, err := NewConverter(m); err == nil {
		t.Error("model without preprocessing accepted")
	}
}

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	tinyMNIST(t, dir, 20, false)
	s, _ := Open(dir)
	it, err := runtime.New(pickModel(t, 10), runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	done := 0
	acc, err := Evaluate(it, s, 5, 10, func(d, total int) {
		if total != 10 {
			t.Errorf("total %d", total)
		}
		done = d
	})
	if err != nil {
		t.Fatal(err)
	}
	if acc.N != 10 || acc.Top1 != 1 || acc.Top5 != 1 || done != 10 || len(acc.Pred) != 10 || acc.Pred[0] != s.Label(5) {
		t.Fatalf("accuracy %+v, progress %d", acc, done)
	}
	// All scores tie when the image is blank: the label ranks after every
	// lower class index, so only labels 0–4 make the top 5 and only 0 the top 1.
	blank := t.TempDir()
	writeIdx(t, filepath.Join(blank, "t10k-images-idx3-ubyte"), []int{10, 4, 4}, make([]byte, 160), false)
	writeIdx(t, filepath.Join(blank, "t10k-labels-idx1-ubyte"), []int{10}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, false)
	bs, _ := Open(blank)
	acc, err = Evaluate(it, bs, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Correct1 != 1 || acc.Correct5 != 5 || acc.N != 10 {
		t.Fatalf("ties: %+v", acc)
	}
	small, err := runtime.New(pickModel(t, 3), runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if _, err := Evaluate(small, s, 0, 0, nil); !errors.Is(err, ErrClassOutput) || !strings.Contains(err.Error(), `0 "y" [1 3] float32`) {
		t.Errorf("3-class output for 10 classes: %v", err)
	}
	if _, err := EvaluateOutput(small, s, 0, 0, 0, nil); err == nil || !strings.Contains(err.Error(), "10 classes") {
		t.Errorf("3-class output chosen for 10 classes: %v", err)
	}
}

// twoHeadModel is pickModel with a second head before it: output 0 is a
// 16-value "attention map", the negated image (its largest value is at a
// blank pixel, never at the label's), output 1 the 10 class scores. With
// ambiguous, output 0 has 10 values too.
func twoHeadModel(t *testing.T, ambiguous bool) *format.Model {
	b := format.NewBuilder("two-heads")
	x := b.Input("x", format.Float32, []int32{1, 1, 4, 4}, nil)
	flat := b.Activation("flat", format.Float32, []int32{1, 16}, nil)
	b.Op(format.OpReshape, "flat", nil, []int32{x}, flat)
	n := 16
	if ambiguous {
		n = 10
	}
	neg := make([]float32, n*16)
	for i := 0; i < n; i++ {
		neg[i*16+i] = -1
	}
	attn := b.Activation("attn", format.Float32, []int32{1, int32(n)}, nil)
	b.Op(format.OpFullyConnected, "attn", &format.FullyConnectedOptions{}, []int32{flat, b.ConstFloat32("neg", []int32{int32(n), 16}, neg)}, attn)
	pick := make([]float32, 10*16)
	for c := 0; c < 10; c++ {
		pick[c*16+c] = 1
	}
	y := b.Activation("logits", format.Float32, []int32{1, 10}, nil)
	b.Op(format.OpFullyConnected, "fc", &format.FullyConnectedOptions{}, []int32{flat, b.ConstFloat32("w", []int32{10, 16}, pick)}, y)
	b.Output(attn, y)
	b.Model().Preprocess = &format.Preprocess{Width: 4, Height: 4, Layout: format.NCHW, Color: format.Gray, Scale: 1.0 / 255, Mean: []float32{0}, Std: []float32{1}}
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEvaluatePicksTheClassOutput(t *testing.T) {
	dir := t.TempDir()
	tinyMNIST(t, dir, 20, false)
	s, _ := Open(dir)
	it, err := runtime.New(twoHeadModel(t, false), runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if k, err := ClassOutput(it.Model(), 10); k != 1 || err != nil {
		t.Fatalf("ClassOutput = %d, %v; want 1 (logits)", k, err)
	}
	acc, err := Evaluate(it, s, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Output != "logits" || acc.Top1 != 1 || acc.N != 20 {
		t.Errorf("Evaluate = %+v, want logits scored, top-1 100%% of 20", acc)
	}
	// Scoring the attention map, as eval once did with output 0, is wrong
	// on every image whose label is not at the map's maximum.
	acc, err = EvaluateOutput(it, s, 0, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Output != "attn" || acc.Top1 > 0.2 {
		t.Errorf("EvaluateOutput(attn) = %+v, want under 20%% top-1", acc)
	}
	if _, err := EvaluateOutput(it, s, 2, 0, 0, nil); err == nil || !strings.Contains(err.Error(), "has 2") {
		t.Errorf("output 2 of 2: %v", err)
	}

	amb := twoHeadModel(t, true)
	_, err = ClassOutput(amb, 10)
	if !errors.Is(err, ErrClassOutput) {
		t.Fatalf("two 10-value outputs: error %v does not wrap ErrClassOutput", err)
	}
	for _, want := range []string{"2 outputs", `0 "attn" [1 10] float32`, `1 "logits" [1 10] float32`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ambiguous outputs: error %q does not say %q", err, want)
		}
	}
	// A lone output with more values than classes (a background class) is
	// still the class output; two such outputs are not.
	if k, err := ClassOutput(pickModel(t, 11), 10); k != 0 || err != nil {
		t.Errorf("lone 11-value output for 10 classes: %d, %v", k, err)
	}
	if _, err := ClassOutput(twoHeadModel(t, false), 9); !errors.Is(err, ErrClassOutput) || !strings.Contains(err.Error(), "no output") {
		t.Errorf("no 9-value output among two: %v", err)
	}
}

// TestHugeImageRefused: a class-folder image whose header declares
// 30000×30000 pixels (the 533-byte fixture of package camera) is refused
// on its header — what eval --images and calibration folders go through —
// without allocating its 900 MB of pixels.
func TestHugeImageRefused(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile("../camera/testdata/declares-30000x30000.png")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "cat"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "cat", "huge.png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	_, err = s.Image(0)
	goruntime.ReadMemStats(&after)
	// On 32-bit platforms Go's PNG decoder refuses the header before our
	// size check can name it ("dimension overflow"): still refused.
	named := err != nil && (strconv.IntSize == 32 || strings.Contains(err.Error(), "30000x30000"))
	if !errors.Is(err, camera.ErrUnsupportedFormat) || !named {
		t.Errorf("error %v, want camera.ErrUnsupportedFormat naming 30000x30000", err)
	}
	// TotalAlloc only grows: it bounds the peak heap growth from above.
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("%d bytes allocated refusing the image, want <= 1 MiB", n)
	}
}
