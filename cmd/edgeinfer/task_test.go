package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/internal/tasktest"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/live"
	"github.com/edgeinfer/edgeinfer/npy"
)

// writeModel writes m as an .eim in a temporary folder.
func writeModel(t *testing.T, m *format.Model) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), m.Name+".eim")
	if err := format.WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	return path
}

// writePhoto writes a w×h PNG painted by at.
func writePhoto(t *testing.T, w, h int, at func(x, y int) color.RGBA) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, at(x, y))
		}
	}
	path := filepath.Join(t.TempDir(), "photo.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func runJSONOf(t *testing.T, args ...string) runJSON {
	t.Helper()
	st, out, e := edgeinfer(args...)
	var res runJSON
	if st != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("%v: status %d, %q %s", args, st, out, e)
	}
	return res
}

func rgbaAt(img image.Image, x, y int) color.RGBA {
	r, g, b, a := img.At(x, y).RGBA()
	return color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: uint8(a >> 8)}
}

// TestRunPose runs a tiny model whose output is always tasktest.Keypoints:
// run --json reports the 17 named keypoints whether the task comes from
// the model's metadata or --task, and --overlay draws the joints and
// limbs scored at least 0.3, and nothing for the others.
func TestRunPose(t *testing.T) {
	withTask := writeModel(t, tasktest.Pose(16, 16, false, format.TaskPose))
	without := writeModel(t, tasktest.Pose(16, 16, false, format.TaskUnspecified))
	gray := color.RGBA{R: 90, G: 90, B: 90, A: 255}
	photo := writePhoto(t, 64, 64, func(x, y int) color.RGBA { return gray })
	for _, args := range [][]string{{"--model", withTask}, {"--model", without, "--task", "pose"}} {
		png := filepath.Join(t.TempDir(), "pose.png")
		res := runJSONOf(t, append([]string{"run", "--image", photo, "--json", "--overlay", png}, args...)...)
		if res.Task != "pose" || len(res.Keypoints) != 17 || res.Overlay != png || res.Outputs[0].Top != nil {
			t.Fatalf("%v: %+v", args, res)
		}
		for i, k := range res.Keypoints {
			w := tasktest.Keypoints[i]
			if k != (live.Keypoint{Name: live.COCOKeypoints[i], Y: w[0], X: w[1], Score: w[2]}) {
				t.Errorf("%v: keypoint %d = %+v, want y, x, score %v", args, i, k, w)
			}
		}
		img := decodePNG(t, png)
		if b := img.Bounds(); b.Dx() != 224 || b.Dy() != 224 {
			t.Fatalf("overlay %v, want 224×224 (16×16 scaled by 14)", b)
		}
		at := func(y, x float32) color.RGBA { return rgbaAt(img, int(x*224), int(y*224)) }
		for i, w := range tasktest.Keypoints {
			want := overlayJoint
			if w[2] < live.PoseMinScore { // left ear 0.10, right ankle 0.05
				want = gray
			}
			if got := at(w[0], w[1]); got != want {
				t.Errorf("%v: keypoint %d (score %g) drawn %v, want %v", args, i, w[2], got, want)
			}
		}
		k := tasktest.Keypoints
		mid := func(a, b int) color.RGBA { return at((k[a][0]+k[b][0])/2, (k[a][1]+k[b][1])/2) }
		if got := mid(13, 15); got != overlayLimb {
			t.Errorf("left shin drawn %v, want %v", got, overlayLimb)
		}
		if got := mid(14, 16); got != gray {
			t.Errorf("right shin (ankle scored 0.05) drawn %v, want the photo's %v", got, gray)
		}
		if got := mid(1, 3); got != gray {
			t.Errorf("left eye to ear (ear scored 0.10) drawn %v, want the photo's %v", got, gray)
		}
		if got := at(0.05, 0.05); got != gray {
			t.Errorf("corner %v, want the photo's %v", got, gray)
		}
	}
	st, out, e := edgeinfer("run", "--model", withTask, "--image", photo)
	if st != 0 || !strings.Contains(out, "pose: 17 keypoints") || !strings.Contains(out, "left_shoulder    x 0.350  y 0.300  score 0.900") {
		t.Errorf("run text: status %d, %q %s", st, out, e)
	}
}

// TestRunSegment runs the tiny segmentation models (class map, float
// and int8 scores, NCHW) on a photo whose left half is red, right top
// green and right bottom blue: run --json reports those classes' shares,
// and every pixel of the --overlay is the photo's, tinted with the
// class's colour where the class map says a class other than 0.
func TestRunSegment(t *testing.T) {
	red, green, blue := color.RGBA{R: 255, A: 255}, color.RGBA{G: 255, A: 255}, color.RGBA{B: 255, A: 255}
	region := func(x, y int) color.RGBA {
		switch {
		case x < 80:
			return red
		case y < 60:
			return green
		}
		return blue
	}
	photo := writePhoto(t, 160, 120, region)
	labels := filepath.Join(t.TempDir(), "labels.txt")
	if err := os.WriteFile(labels, []byte("red\ngreen\nblue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"map", "scores", "int8", "nchw"} {
		model := writeModel(t, tasktest.Segment(12, 16, out, format.TaskSegment))
		png := filepath.Join(t.TempDir(), "mask.png")
		res := runJSONOf(t, "run", "--model", model, "--image", photo, "--labels", labels, "--json", "--overlay", png)
		want := []live.ClassShare{{Index: 0, Label: "red", Pixels: 96, Share: 0.5}, {Index: 1, Label: "green", Pixels: 48, Share: 0.25}, {Index: 2, Label: "blue", Pixels: 48, Share: 0.25}}
		if res.Task != "segment" || len(res.MapSize) != 2 || res.MapSize[0] != 12 || res.MapSize[1] != 16 || len(res.Classes) != 3 {
			t.Fatalf("%s: %+v", out, res)
		}
		for i := range want {
			if res.Classes[i] != want[i] {
				t.Errorf("%s: classes %+v, want %+v", out, res.Classes, want)
				break
			}
		}
		img := decodePNG(t, png)
		if b := img.Bounds(); b.Dx() != 224 || b.Dy() != 168 {
			t.Fatalf("%s: overlay %v, want 224×168 (16×12 scaled by 14)", out, b)
		}
		for y := 0; y < 168; y++ {
			for x := 0; x < 224; x++ {
				p := region(x*160/224, y*120/168)
				class := 0
				if x*16/224 >= 8 {
					class = 1 + y*12/168/6
				}
				if got, want := rgbaAt(img, x, y), tinted(p, int32(class)); got != want {
					t.Fatalf("%s: overlay pixel (%d, %d) %v, want %v (class %d over %v)", out, x, y, got, want, class, p)
				}
			}
		}
	}
}

// tinted is a segmentation overlay's pixel: photo pixel p under class c.
func tinted(p color.RGBA, c int32) color.RGBA {
	if c == 0 {
		return p
	}
	k := live.MaskColor(c)
	mix := func(a, b uint8) uint8 { return uint8((int(a)*(255-int(k.A)) + int(b)*int(k.A) + 127) / 255) }
	return color.RGBA{R: mix(p.R, k.R), G: mix(p.G, k.G), B: mix(p.B, k.B), A: 255}
}

func TestTaskUsageErrors(t *testing.T) {
	seg := writeModel(t, tasktest.Segment(8, 8, "map", format.TaskSegment))
	pose := writeModel(t, tasktest.Pose(8, 8, false, format.TaskPose))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--model", seg, "--task", "detect"}, `--task: unknown task "detect" (want classify, pose, segment)`},
		{[]string{"run", "--model", seg, "--task", "pose"}, `--task pose: format: model "segment-tiny" has no output for task pose, which needs an output [1, 1, K, 3]`},
		{[]string{"run", "--model", seg, "--task", "pose"}, `"classes" [1 8 8] int32`},
		{[]string{"run", "--model", "zoo:vit-micro", "--task", "segment"}, `has no output for task segment, which needs an output holding a class per pixel`},
		{[]string{"convert", pose, filepath.Join(t.TempDir(), "x.eim"), "--task", "segment"}, `--task segment: format: model "pose-tiny" has no output for task segment`},
		{[]string{"run", "--model", "zoo:vit-micro", "--overlay", filepath.Join(t.TempDir(), "o.png")}, "give --task pose or segment"},
	} {
		st, _, e := edgeinfer(c.args...)
		if st != 2 || !strings.Contains(e, c.want) {
			t.Errorf("%v: status %d, %q; want 2 and %q", c.args, st, e, c.want)
		}
	}
}

// TestConvertTask stores a task in a model that had none: info shows it
// and run decodes it without --task.
func TestConvertTask(t *testing.T) {
	in := writeModel(t, tasktest.Pose(8, 8, true, format.TaskUnspecified))
	out := filepath.Join(t.TempDir(), "pose.eim")
	if st, _, e := edgeinfer("convert", in, out, "--task", "pose"); st != 0 {
		t.Fatalf("convert: status %d: %s", st, e)
	}
	if st, o, e := edgeinfer("info", "--model", out); st != 0 || !strings.Contains(o, "task       pose\n") {
		t.Errorf("info: status %d, %q %s", st, o, e)
	}
	if res := runJSONOf(t, "run", "--model", out, "--json"); res.Task != "pose" || len(res.Keypoints) != 17 {
		t.Errorf("run of the converted model: %+v", res)
	}
}

// TestRunCameraTasks: run --camera --json prints one JSON line per frame
// with the task's result; the text lines summarise it.
func TestRunCameraTasks(t *testing.T) {
	pose := writeModel(t, tasktest.Pose(16, 16, true, format.TaskPose))
	seg := writeModel(t, tasktest.Segment(12, 16, "int8", format.TaskSegment))
	for _, c := range []struct {
		model, task string
	}{{pose, "pose"}, {seg, "segment"}} {
		st, out, e := edgeinfer("run", "--model", c.model, "--camera", "synthetic:bars?w=64&h=48&fmt=YUYV", "--frames", "3", "--json")
		if st != 0 {
			t.Fatalf("%s: status %d: %s", c.task, st, e)
		}
		lines := 0
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			lines++
			var r live.Result
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v: %s", c.task, err, sc.Text())
			}
			ok := r.Task == c.task && len(r.Window) == 4 && r.Top == nil
			if c.task == "pose" {
				ok = ok && len(r.Keypoints) == 17 && r.Keypoints[16].Name == "right_ankle"
			} else {
				n := 0
				for _, s := range r.Classes {
					n += s.Pixels
				}
				ok = ok && n == 12*16 && len(r.MapSize) == 2
			}
			if !ok {
				t.Errorf("%s: %s", c.task, sc.Text())
			}
		}
		if lines != 3 {
			t.Errorf("%s: %d lines, want 3", c.task, lines)
		}
	}
	st, out, e := edgeinfer("run", "--model", pose, "--camera", "synthetic:bars?w=64&h=48&fmt=YUYV", "--frames", "1")
	if st != 0 || !strings.Contains(out, "pose: 15 of 17 keypoints scored ≥ 0.30") {
		t.Errorf("camera text: status %d, %q %s", st, out, e)
	}
}

// TestRunDeepLab segments Coral's bird photo with Coral's DeepLab v3
// (imported from TFLite on the fly): the shares run --json reports are
// those of LiteRT's class map (format/tflite's reference, which ours
// equals pixel for pixel), and every pixel of the overlay is the photo's,
// tinted where that class map says bird.
func TestRunDeepLab(t *testing.T) {
	if testing.Short() {
		t.Skip("2.7 G multiply-adds: seconds natively, minutes under emulation; runs without -short")
	}
	dir := testshared.Path(t, "models/coral-more")
	photo := filepath.Join(dir, "bird_segmentation.bmp")
	png := filepath.Join(t.TempDir(), "bird_mask.png")
	res := runJSONOf(t, "run", "--model", filepath.Join(dir, "deeplabv3_mnv2_pascal_quant.tflite"), "--task", "segment",
		"--labels", filepath.Join(dir, "pascal_voc_segmentation_labels.txt"), "--image", photo, "--overlay", png, "--json")

	f, err := os.Open(filepath.Join("..", "..", "format", "tflite", "testdata", "litert", "deeplabv3_mnv2_pascal_quant__bird_segmentation.npy.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := npy.Read(zr)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for _, c := range ref.Data {
		counts[int(c)]++
	}
	if len(res.MapSize) != 2 || res.MapSize[0] != 513 || res.MapSize[1] != 513 || len(res.Classes) != len(counts) {
		t.Fatalf("map %v, classes %+v; LiteRT's map holds %v", res.MapSize, res.Classes, counts)
	}
	for _, c := range res.Classes {
		t.Logf("class %d %s: %d pixels, share %.4f", c.Index, c.Label, c.Pixels, c.Share)
		if c.Pixels != counts[c.Index] || c.Share != float64(c.Pixels)/(513*513) {
			t.Errorf("class %d %s: %d pixels (share %g), LiteRT's map %d", c.Index, c.Label, c.Pixels, c.Share, counts[c.Index])
		}
	}
	if res.Classes[0].Label != "background" || res.Classes[1].Label != "bird" {
		t.Errorf("classes %+v, want background then bird", res.Classes)
	}

	src, over := decodeBMPFile(t, photo), decodePNG(t, png)
	if over.Bounds() != image.Rect(0, 0, 513, 513) {
		t.Fatalf("overlay %v, want 513×513", over.Bounds())
	}
	tintedPixels := 0
	for y := 0; y < 513; y++ {
		for x := 0; x < 513; x++ {
			c := int32(ref.Data[y*513+x])
			if c != 0 {
				tintedPixels++
			}
			if got, want := rgbaAt(over, x, y), tinted(rgbaAt(src, x, y), c); got != want {
				t.Fatalf("overlay pixel (%d, %d) %v, want %v (class %d)", x, y, got, want, c)
			}
		}
	}
	t.Logf("overlay: %d pixels tinted bird, the rest the photo's", tintedPixels)
}

func decodeBMPFile(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// TestRunMoveNet converts Coral's MoveNet Lightning with --task pose and
// runs it on Coral's squat photo (500×610: the model sees its centre
// 500×500): mapped back to the whole photo, every keypoint that scores
// above 0.4 here and in Coral's reference CSV lies within 0.04 of
// Coral's in x and y (Coral's own check; Coral's test squeezes the whole
// photo into the input instead of cropping it), and the overlay draws
// each keypoint scored at least 0.3 where run --json puts it.
func TestRunMoveNet(t *testing.T) {
	dir := testshared.Path(t, "models/coral-more")
	model := filepath.Join(t.TempDir(), "movenet.eim")
	if st, _, e := edgeinfer("convert", filepath.Join(dir, "movenet_single_pose_lightning_ptq.tflite"), model, "--task", "pose"); st != 0 {
		t.Fatalf("convert: status %d: %s", st, e)
	}
	png := filepath.Join(t.TempDir(), "pose.png")
	res := runJSONOf(t, "run", "--model", model, "--image", filepath.Join(dir, "squat.bmp"), "--overlay", png, "--json")
	if res.Task != "pose" || len(res.Keypoints) != 17 {
		t.Fatalf("%+v", res)
	}

	f, err := os.Open(filepath.Join(dir, "movenet_single_pose_lightning_ptq_reference.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // pose_id,pose_score,keypoint_id,keypoint_score,keypoint_x,keypoint_y
	checked, worst := 0, 0.0
	for i := 0; sc.Scan(); i++ {
		var id, kid int
		var ps, score, x, y float64
		if _, err := fmt.Sscanf(sc.Text(), "%d,%g,%d,%g,%g,%g", &id, &ps, &kid, &score, &x, &y); err != nil || kid != i || i >= 17 {
			t.Fatalf("reference line %q: %v", sc.Text(), err)
		}
		k := res.Keypoints[i]
		gx, gy := float64(k.X), (55+500*float64(k.Y))/610
		t.Logf("%-14s score %.3f (Coral %.3f)  x %.4f (Coral %.4f)  y %.4f (Coral %.4f)", k.Name, k.Score, score, gx, x, gy, y)
		if k.Score > 0.4 && score > 0.4 {
			checked++
			worst = max(worst, math.Abs(gx-x), math.Abs(gy-y))
			if math.Abs(gx-x) > 0.04 || math.Abs(gy-y) > 0.04 {
				t.Errorf("%s at (%.4f, %.4f) of the photo, Coral's (%.4f, %.4f)", k.Name, gx, gy, x, y)
			}
		}
	}
	t.Logf("%d keypoints checked against Coral's, at most %.4f apart", checked, worst)
	if checked < 9 {
		t.Errorf("%d keypoints scored above 0.4 here and in Coral's reference, want at least 9 of 17", checked)
	}

	img := decodePNG(t, png)
	if b := img.Bounds(); b.Dx() != 384 || b.Dy() != 384 {
		t.Fatalf("overlay %v, want 384×384 (192×192 scaled by 2)", b)
	}
	for _, k := range res.Keypoints {
		if got := rgbaAt(img, int(k.X*384), int(k.Y*384)); (got == overlayJoint) != (k.Score >= live.PoseMinScore) {
			t.Errorf("%s (score %.3f): overlay pixel %v", k.Name, k.Score, got)
		}
	}
}
