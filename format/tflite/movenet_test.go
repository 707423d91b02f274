package tflite_test

import (
	"bufio"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/tflite"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/quant"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// moveNetKeypoints are the 17 COCO keypoints in MoveNet's output order.
var moveNetKeypoints = []string{"nose", "left_eye", "right_eye", "left_ear", "right_ear",
	"left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
	"left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"}

// coralResize resizes an RGB image to w×h as Coral's test utilities feed
// their models (libcoral's CopyResizedImage): the whole image, no crop,
// through TFLite's float RESIZE_BILINEAR with half-pixel centres (its
// reference formula, in float32), each value then truncated to a byte.
// flip mirrors the photo left to right first.
func coralResize(img image.Image, w, h int, flip bool) []byte {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	px := make([]float32, 3*iw*ih)
	for y := range ih {
		for x := range iw {
			sx := x
			if flip {
				sx = iw - 1 - x
			}
			r, g, bl, _ := img.At(b.Min.X+sx, b.Min.Y+y).RGBA()
			i := 3 * (y*iw + x)
			px[i], px[i+1], px[i+2] = float32(r>>8), float32(g>>8), float32(bl>>8)
		}
	}
	// interp is TFLite's ComputeInterpolationValues with half-pixel
	// centres: the source coordinate and its clamped neighbours.
	interp := func(v int, scale float32, size int) (float32, int, int) {
		s := float32(float32(float32(v)+0.5)*scale) - 0.5
		lo := max(int(float32(math.Floor(float64(s)))), 0)
		hi := min(int(float32(math.Ceil(float64(s)))), size-1)
		return s, lo, hi
	}
	hs, ws := float32(ih)/float32(h), float32(iw)/float32(w)
	out := make([]byte, 3*w*h)
	for oy := range h {
		fy, y0, y1 := interp(oy, hs, ih)
		dy := fy - float32(y0)
		for ox := range w {
			fx, x0, x1 := interp(ox, ws, iw)
			dx := fx - float32(x0)
			for c := range 3 {
				at := func(y, x int) float32 { return px[3*(y*iw+x)+c] }
				// Each product rounded to float32 and summed left to right,
				// as the C++ expression is evaluated.
				v := float32(float32(at(y0, x0)*(1-dy))*(1-dx)) +
					float32(float32(at(y1, x0)*dy)*(1-dx))
				v = v + float32(float32(at(y0, x1)*(1-dy))*dx)
				v = v + float32(float32(at(y1, x1)*dy)*dx)
				out[3*(oy*w+ox)+c] = byte(v) // truncation, as the float → uint8 copy does
			}
		}
	}
	return out
}

// coralPose is one keypoint of Coral's reference CSV.
type coralPose struct{ score, x, y float64 }

func readCoralPoses(t *testing.T, path string) []coralPose {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []coralPose
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		if line == 0 {
			continue // header
		}
		v := strings.Split(sc.Text(), ",")
		if len(v) != 6 {
			t.Fatalf("%s line %d: %d fields", path, line+1, len(v))
		}
		var p [3]float64
		for k := range p {
			if p[k], err = strconv.ParseFloat(v[3+k], 64); err != nil {
				t.Fatalf("%s line %d: %v", path, line+1, err)
			}
		}
		out = append(out, coralPose{p[0], p[1], p[2]})
	}
	if len(out) != 17 {
		t.Fatalf("%s: %d keypoints, want 17", path, len(out))
	}
	return out
}

// moveNetPhotos are MoveNet's parity inputs: Coral's squat photo (the
// one its reference CSV is for), mirrored, and two photos without a
// standing person, so the decoder also runs on weak, scattered heatmaps.
var moveNetPhotos = []struct {
	name, file string
	flip       bool
}{
	{"squat", "coral-more/squat.bmp", false},
	{"squat_flip", "coral-more/squat.bmp", true},
	{"bird", "coral-more/bird.bmp", false},
	{"cat", "cat.bmp", false},
}

// TestMoveNet runs Coral's MoveNet Lightning single-pose (TF2 post-training
// int8 with a raw uint8 image input, CAST, ARG_MAX, FLOOR_DIV, GATHER_ND,
// PACK, UNPACK, SQRT and DIV in its decoder) on Coral's squat photo and
// three more, each resized as Coral's tests resize it. Its output, float32
// [1,1,17,3] holding (y, x, score) per keypoint in COCO order, must equal
// LiteRT 2.5.3's for the same input bit for bit (testdata/litert, written
// by tools/litert), also after a round trip through the .eim format; on
// the squat photo its keypoints must pass Coral's own check against its
// reference CSV: every keypoint scoring above 0.4 in both within 0.04 in
// x and y, and at least half of them checked.
func TestMoveNet(t *testing.T) {
	models := testshared.Path(t, ".")
	dir := filepath.Join(models, "models", "coral-more")
	m, err := tflite.ImportFile(filepath.Join(dir, "movenet_single_pose_lightning_ptq.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	in := m.Tensors[m.Inputs[0]]
	if in.DType != format.UInt8 || in.Quant == nil || in.Quant.Scale[0] != 1 || in.Quant.ZeroPoint[0] != 0 {
		t.Fatalf("input %q: %v %v, want raw uint8 (scale 1, zero point 0)", in.Name, in.DType, in.Quant)
	}
	if m.Rounding != quant.RoundXNNPACK {
		t.Fatalf("rounding %v, want XNNPACK's int8 arithmetic (the raw uint8 input does not make it a legacy uint8 model)", m.Rounding)
	}
	if pp := m.Preprocess; pp == nil || pp.Width != 192 || pp.Height != 192 || pp.Scale != 1 || pp.Mean[0] != 0 {
		t.Fatalf("preprocessing %+v, want 192×192 with the byte as it is", pp)
	}
	it, err := runtime.New(m, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if s := it.Output(0).Shape; len(s) != 4 || s[0] != 1 || s[1] != 1 || s[2] != 17 || s[3] != 3 {
		t.Fatalf("output shape %v, want [1 1 17 3]", s)
	}
	data, err := format.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := format.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	it2, err := runtime.New(m2, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it2.Close()

	var squat []float32
	for i, ph := range moveNetPhotos {
		if i > 0 && testing.Short() {
			break // one photo under emulation
		}
		input := coralResize(decodeBMP(t, filepath.Join(models, "models", ph.file)), 192, 192, ph.flip)
		base := "movenet_single_pose_lightning_ptq__" + ph.name + ".npy"
		if *writeInputs != "" {
			a := &npy.Array{Descr: "|u1", Shape: []int{1, 192, 192, 3}, Data: input}
			if err := npy.WriteFile(filepath.Join(*writeInputs, base), a); err != nil {
				t.Fatal(err)
			}
			continue
		}
		copy(it.Input(0).Bytes(), input)
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		got := it.Output(0).Float32()
		if !testing.Short() { // the round trip costs one more Invoke under emulation
			copy(it2.Input(0).Bytes(), input)
			if err := it2.Invoke(); err != nil {
				t.Fatal(err)
			}
			if string(it.Output(0).Bytes()) != string(it2.Output(0).Bytes()) {
				t.Errorf("%s: the .eim model computes different outputs", ph.name)
			}
		}
		want, err := npy.ReadFile(filepath.Join("testdata", "litert", base))
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Data) != 4*len(got) {
			t.Fatalf("%s: %d outputs, LiteRT %d bytes", ph.name, len(got), len(want.Data))
		}
		diff, best := 0, 0.0
		for i, v := range got {
			w := math.Float32frombits(uint32(want.Data[4*i]) | uint32(want.Data[4*i+1])<<8 | uint32(want.Data[4*i+2])<<16 | uint32(want.Data[4*i+3])<<24)
			if math.Float32bits(v) != math.Float32bits(w) {
				diff++
				t.Errorf("%s: output %d (%s %c): %v, LiteRT %v", ph.name, i, moveNetKeypoints[i/3], "yxs"[i%3], v, w)
			}
			if i%3 == 2 {
				best = max(best, float64(v))
			}
		}
		t.Logf("%-10s vs LiteRT: %d of %d values differ; best keypoint score %.3f", ph.name, diff, len(got), best)
		if ph.name == "squat" {
			squat = append([]float32(nil), got...)
		}
	}
	if *writeInputs != "" {
		t.Skip("wrote the inputs")
	}
	runs := 4
	if testing.Short() {
		runs = 2 // three more Invokes under emulation
	}
	if a := testalloc.PerRun(runs, func() { it.Invoke() }); a != 0 {
		t.Errorf("%g allocations per Invoke, want 0", a)
	}

	ref := readCoralPoses(t, filepath.Join(dir, "movenet_single_pose_lightning_ptq_reference.csv"))
	checked := 0
	var maxXY, maxScore float64
	for k, r := range ref {
		y, x, s := float64(squat[3*k]), float64(squat[3*k+1]), float64(squat[3*k+2])
		dxy := max(math.Abs(x-r.x), math.Abs(y-r.y))
		maxScore = max(maxScore, math.Abs(s-r.score))
		t.Logf("%-14s y %.4f x %.4f score %.4f   Coral y %.4f x %.4f score %.4f", moveNetKeypoints[k], y, x, s, r.y, r.x, r.score)
		if r.score > 0.4 && s > 0.4 {
			checked++
			maxXY = max(maxXY, dxy)
			if dxy > 0.04 {
				t.Errorf("%s: (x %.4f, y %.4f), Coral (%.4f, %.4f): more than 0.04 apart", moveNetKeypoints[k], x, y, r.x, r.y)
			}
		}
	}
	t.Logf("vs Coral's reference: %d keypoints checked (score > 0.4 in both), x/y within %.4f; scores within %.4f", checked, maxXY, maxScore)
	if checked < 17/2 {
		t.Errorf("%d keypoints scored above 0.4 in both, Coral's check wants at least %d", checked, 17/2)
	}
}
