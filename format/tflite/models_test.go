package tflite_test

import (
	"flag"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "golang.org/x/image/bmp" // the shared photos are BMPs

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/tflite"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// writeInputs, when set, makes TestLiteRTParity write its photo inputs as
// .npy files into that directory (for tools/litert/reference.mjs) instead
// of comparing.
var writeInputs = flag.String("write-litert-inputs", "", "write the parity inputs as .npy files into this directory and stop")

// parityModels are the real models and whether each is slow in pure Go
// (skipped under -short, where qemu runs the tests).
var parityModels = []struct {
	file string
	slow bool
}{
	{"mobilenet_v1_0.25_128_quant.tflite", false},
	{"mobilenet_v1_0.5_160_quant.tflite", true},
	{"mobilenet_v1_0.75_192_quant.tflite", true},
	{"mobilenet_v2_1.0_224_quant.tflite", true},
	{"person_detect.tflite", false},
}

// photo is one test image: a shared photo and a deterministic variant of it.
type photo struct {
	name, file string
	flip       bool // mirror left-right
	crop       bool // the top-left 3/4 square instead of the centre square
}

// storesInt8 reports whether a shared photo holds int8 bytes: person.bmp
// and no_person.bmp come from TFLite Micro's test data, whose 8-bit
// gray levels are the model's int8 input bytes (pixel − 128 stored as a
// byte), so the photo itself is each gray level XOR 0x80.
func storesInt8(file string) bool { return file == "person.bmp" || file == "no_person.bmp" }

// parityPhotos: the three photos that ship with the models, and mirrored
// and shifted-crop variants of them, so every model sees seven inputs.
var parityPhotos = []photo{
	{"cat", "cat.bmp", false, false},
	{"cat_flip", "cat.bmp", true, false},
	{"cat_crop", "cat.bmp", false, true},
	{"person", "person.bmp", false, false},
	{"person_flip", "person.bmp", true, false},
	{"no_person", "no_person.bmp", false, false},
	{"no_person_flip", "no_person.bmp", true, false},
}

// loadPhoto decodes a photo and returns its pixels as RGB rows of the
// chosen square (centre crop, or the top-left 3/4 square), mirrored if asked.
func loadPhoto(t testing.TB, dir string, p photo) (px [][3]float64, side int) {
	f, err := os.Open(filepath.Join(dir, p.file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", p.file, err)
	}
	b := img.Bounds()
	side = min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	if p.crop {
		side = side * 3 / 4
		x0, y0 = b.Min.X, b.Min.Y
	}
	px = make([][3]float64, side*side)
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			sx := x
			if p.flip {
				sx = side - 1 - x
			}
			r, g, bb, _ := img.At(x0+sx, y0+y).RGBA()
			if storesInt8(p.file) {
				r, g, bb = r^0x8000, g^0x8000, bb^0x8000
			}
			px[y*side+x] = [3]float64{float64(r >> 8), float64(g >> 8), float64(bb >> 8)}
		}
	}
	return px, side
}

// photoInput turns a photo into the model's input 0 following the
// model's Preprocess metadata (as documented in README.md): bilinear
// resize (half-pixel centres) to W×H, grayscale as 0.299R+0.587G+0.114B
// when the model wants one channel, then x = (p·Scale − Mean)/Std
// quantized with the input's parameters. Pixels are rounded to integers
// after resizing, as an 8-bit image would hold them.
func photoInput(t testing.TB, m *format.Model, it *runtime.Interpreter, px [][3]float64, side int) {
	pp := m.Preprocess
	if pp == nil {
		t.Fatalf("%s: no preprocessing metadata", m.Name)
	}
	in := it.Input(0)
	w, h := int(pp.Width), int(pp.Height)
	ch := 3
	if pp.Color == format.Gray {
		ch = 1
	}
	at := func(x, y int) [3]float64 {
		x, y = max(0, min(side-1, x)), max(0, min(side-1, y))
		return px[y*side+x]
	}
	buf := in.Bytes()
	for oy := 0; oy < h; oy++ {
		fy := (float64(oy)+0.5)*float64(side)/float64(h) - 0.5
		y0 := int(math.Floor(fy))
		wy := fy - float64(y0)
		for ox := 0; ox < w; ox++ {
			fx := (float64(ox)+0.5)*float64(side)/float64(w) - 0.5
			x0 := int(math.Floor(fx))
			wx := fx - float64(x0)
			var rgb [3]float64
			for c := range rgb {
				top := at(x0, y0)[c]*(1-wx) + at(x0+1, y0)[c]*wx
				bot := at(x0, y0+1)[c]*(1-wx) + at(x0+1, y0+1)[c]*wx
				rgb[c] = math.Round(top*(1-wy) + bot*wy)
			}
			vals := rgb[:]
			if ch == 1 {
				vals = []float64{math.Round(0.299*rgb[0] + 0.587*rgb[1] + 0.114*rgb[2])}
			}
			for c, p := range vals {
				mean, std := pp.Mean[min(c, len(pp.Mean)-1)], pp.Std[min(c, len(pp.Std)-1)]
				x := (float32(p)*pp.Scale - mean) / std
				q := math.Round(float64(x/in.Params.Scale)) + float64(in.Params.ZeroPoint)
				i := (oy*w+ox)*ch + c
				switch in.DType {
				case format.UInt8:
					buf[i] = byte(max(0, min(255, q)))
				case format.Int8:
					buf[i] = byte(int8(max(-128, min(127, q))))
				default:
					t.Fatalf("%s: input dtype %v", m.Name, in.DType)
				}
			}
		}
	}
}

func newInterpreter(t testing.TB, path string) (*format.Model, *runtime.Interpreter) {
	m, err := tflite.ImportFile(path)
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatalf("%s: %v", m.Name, err)
	}
	t.Cleanup(it.Close)
	return m, it
}

func descr(dt format.DType) string {
	if dt == format.Int8 {
		return "|i1"
	}
	return "|u1"
}

// outputValues returns output 0 as integers.
func outputValues(out *runtime.Tensor) []int {
	v := make([]int, len(out.Bytes()))
	for i, b := range out.Bytes() {
		if out.DType == format.Int8 {
			v[i] = int(int8(b))
		} else {
			v[i] = int(b)
		}
	}
	return v
}

func argmax(v []int) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// TestLiteRTParity runs every real model on seven photos and compares
// output 0 element by element with LiteRT's (testdata/litert, written by
// tools/litert/reference.mjs from the same inputs): every element within
// one quantum, the same top-1 class.
func TestLiteRTParity(t *testing.T) {
	dir := testshared.Path(t, "models")
	for _, pm := range parityModels {
		t.Run(pm.file, func(t *testing.T) {
			if pm.slow && testing.Short() && *writeInputs == "" {
				t.Skip("slow in pure Go; runs without -short")
			}
			m, it := newInterpreter(t, filepath.Join(dir, pm.file))
			base := m.Name
			maxDiff, equal, total := 0, 0, 0
			photos := parityPhotos
			if testing.Short() && *writeInputs == "" {
				// cat, person, no_person: enough under qemu.
				photos = []photo{parityPhotos[0], parityPhotos[3], parityPhotos[5]}
			}
			for _, ph := range photos {
				px, side := loadPhoto(t, dir, ph)
				photoInput(t, m, it, px, side)
				if *writeInputs != "" {
					in := it.Input(0)
					shape := make([]int, len(in.Shape))
					copy(shape, in.Shape)
					err := npy.WriteFile(filepath.Join(*writeInputs, base+"__"+ph.name+".npy"),
						&npy.Array{Descr: descr(in.DType), Shape: shape, Data: append([]byte(nil), in.Bytes()...)})
					if err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				got := outputValues(it.Output(0))
				ref, err := npy.ReadFile(filepath.Join("testdata", "litert", base+"__"+ph.name+".npy"))
				if err != nil {
					t.Fatalf("reference output: %v (regenerate as README.md says)", err)
				}
				want := make([]int, len(ref.Data))
				for i, b := range ref.Data {
					if ref.Descr == "|i1" {
						want[i] = int(int8(b))
					} else {
						want[i] = int(b)
					}
				}
				if len(want) != len(got) {
					t.Fatalf("%s: %d outputs, LiteRT has %d", ph.name, len(got), len(want))
				}
				photoMax := 0
				for i := range got {
					d := got[i] - want[i]
					if d < 0 {
						d = -d
					}
					photoMax = max(photoMax, d)
					if d == 0 {
						equal++
					} else {
						t.Logf("%s: output %d is %d, LiteRT's %d", ph.name, i, got[i], want[i])
					}
					total++
				}
				maxDiff = max(maxDiff, photoMax)
				if photoMax > 1 {
					t.Errorf("%s: an output differs from LiteRT's by %d quanta (want ≤ 1)", ph.name, photoMax)
				}
				if g, w := argmax(got), argmax(want); g != w {
					t.Errorf("%s: top-1 class %d, LiteRT's is %d", ph.name, g, w)
				}
			}
			if *writeInputs == "" {
				t.Logf("%s: %d photos, max |diff| %d quanta, %d of %d outputs equal to LiteRT's", base, len(photos), maxDiff, equal, total)
				fmt.Fprintf(os.Stderr, "parity %s: photos %d, max |diff| %d, equal %d/%d\n", base, len(photos), maxDiff, equal, total)
			}
		})
	}
}

// top1 runs photo ph through the model and returns output 0 and its argmax.
func runPhoto(t *testing.T, dir, model string, ph photo) ([]int, int) {
	m, it := newInterpreter(t, filepath.Join(dir, model))
	px, side := loadPhoto(t, dir, ph)
	photoInput(t, m, it, px, side)
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := outputValues(it.Output(0))
	return out, argmax(out)
}

func readLabelLines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	return labels
}

// TestMobileNetCat: cat.bmp is an Egyptian cat for MobileNet v2 (and for
// the smallest v1, which also runs under -short).
func TestMobileNetCat(t *testing.T) {
	dir := testshared.Path(t, "models")
	labels := readLabelLines(t, filepath.Join(dir, "imagenet_labels.txt"))
	for _, pm := range []struct {
		file string
		slow bool
	}{{"mobilenet_v2_1.0_224_quant.tflite", true}, {"mobilenet_v1_0.25_128_quant.tflite", false}} {
		t.Run(pm.file, func(t *testing.T) {
			if pm.slow && testing.Short() {
				t.Skip("slow in pure Go; runs without -short")
			}
			out, best := runPhoto(t, dir, pm.file, parityPhotos[0])
			if len(labels) != len(out) {
				t.Fatalf("%d labels for %d classes", len(labels), len(out))
			}
			if labels[best] != "Egyptian cat" {
				t.Fatalf("cat.bmp: top-1 %q (score %d/255), want \"Egyptian cat\"", labels[best], out[best])
			}
			t.Logf("cat.bmp → %q, score %d/255", labels[best], out[best])
		})
	}
}

// TestPersonDetect: person.bmp scores person (class 1) above no person
// (class 0), no_person.bmp the other way round.
func TestPersonDetect(t *testing.T) {
	dir := testshared.Path(t, "models")
	for _, tc := range []struct {
		ph     photo
		person bool
	}{{parityPhotos[3], true}, {parityPhotos[5], false}} {
		out, _ := runPhoto(t, dir, "person_detect.tflite", tc.ph)
		noPerson, person := out[0], out[1]
		t.Logf("%s: person %d, no person %d (int8, scale 1/256, zero point -128)", tc.ph.file, person, noPerson)
		if (person > noPerson) != tc.person {
			t.Errorf("%s: person score %d, no-person score %d; want person %v", tc.ph.file, person, noPerson, tc.person)
		}
	}
}

// TestInvokeAllocs: Invoke allocates nothing on the imported models.
func TestInvokeAllocs(t *testing.T) {
	dir := testshared.Path(t, "models")
	for _, pm := range parityModels {
		t.Run(pm.file, func(t *testing.T) {
			if pm.slow && testing.Short() {
				t.Skip("slow in pure Go; runs without -short")
			}
			_, it := newInterpreter(t, filepath.Join(dir, pm.file))
			threadCounts := []int{1, 2}
			if testing.Short() {
				threadCounts = threadCounts[:1] // goroutine hand-offs are slow under qemu
			}
			for _, threads := range threadCounts {
				it.SetThreads(threads)
				if n := testalloc.PerRun(2, func() {
					if err := it.Invoke(); err != nil {
						t.Fatal(err)
					}
				}); n != 0 {
					t.Fatalf("%d threads: Invoke allocates %v times per run, want 0", threads, n)
				}
			}
		})
	}
}

// TestConvertRoundTrip: every model written as .eim and read back (as
// `edgeinfer convert` does) keeps its rounding and preprocessing and
// computes the same outputs on cat.bmp.
func TestConvertRoundTrip(t *testing.T) {
	dir := testshared.Path(t, "models")
	for i, pm := range parityModels {
		t.Run(pm.file, func(t *testing.T) {
			if (pm.slow || i > 0) && testing.Short() {
				t.Skip("slow in pure Go; runs without -short")
			}
			m, it := newInterpreter(t, filepath.Join(dir, pm.file))
			data, err := format.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			m2, err := format.Read(data)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Rounding != m.Rounding || m2.Preprocess == nil || m2.Preprocess.Mean[0] != m.Preprocess.Mean[0] {
				t.Fatalf("metadata changed: rounding %v → %v, preprocess %+v → %+v", m.Rounding, m2.Rounding, m.Preprocess, m2.Preprocess)
			}
			it2, err := runtime.New(m2, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer it2.Close()
			px, side := loadPhoto(t, dir, parityPhotos[0])
			photoInput(t, m, it, px, side)
			photoInput(t, m2, it2, px, side)
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			if err := it2.Invoke(); err != nil {
				t.Fatal(err)
			}
			if a, b := it.Output(0).Bytes(), it2.Output(0).Bytes(); string(a) != string(b) {
				t.Fatal("the .eim model computes different outputs")
			}
		})
	}
}

// TestPreprocessMetadata pins the recorded preprocessing: MobileNet
// (uint8, scale 1/128, zero point 128) takes q = pixel; person_detect
// (int8, 96×96 grayscale) takes q = pixel − 128.
func TestPreprocessMetadata(t *testing.T) {
	dir := testshared.Path(t, "models")
	for _, c := range []struct {
		file        string
		w           int32
		color       format.ColorOrder
		scale, mean float32
	}{
		{"mobilenet_v1_0.25_128_quant.tflite", 128, format.RGB, 1.0 / 128, 1},
		{"mobilenet_v2_1.0_224_quant.tflite", 224, format.RGB, 1.0 / 128, 1},
		{"person_detect.tflite", 96, format.Gray, 0.007843138, 0.007843138 * 127},
	} {
		m, err := tflite.ImportFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		p := m.Preprocess
		if p == nil || p.Width != c.w || p.Height != c.w || p.Color != c.color || p.Layout != format.NHWC ||
			p.Scale != c.scale || len(p.Mean) != 1 || math.Abs(float64(p.Mean[0]-c.mean)) > 1e-6 || len(p.Std) != 1 || p.Std[0] != 1 {
			t.Errorf("%s: preprocess %+v", c.file, p)
		}
	}
}

// TestHostileFiles: truncations and byte flips of a real model are
// rejected with an error (or imported), never a panic.
func TestHostileFiles(t *testing.T) {
	dir := testshared.Path(t, "models")
	b, err := os.ReadFile(filepath.Join(dir, "person_detect.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 3, 7, 8, 64, 1000, len(b) / 2, len(b) - 1} {
		if _, err := tflite.Read(b[:n]); err == nil {
			t.Errorf("a %d-byte prefix was accepted", n)
		}
	}
	step := 997
	if testing.Short() {
		step = 4999
	}
	for i := 0; i < len(b); i += step {
		c := append([]byte(nil), b...)
		c[i] ^= 0xa5
		if f, err := tflite.Read(c); err == nil {
			_, _ = tflite.Import(f, "flipped")
		}
	}
}
