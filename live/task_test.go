package live

import (
	"context"
	"errors"
	"image/color"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/internal/tasktest"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func interp(t testing.TB, m *format.Model) *runtime.Interpreter {
	t.Helper()
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(it.Close)
	return it
}

func TestDecoderPose(t *testing.T) {
	for _, quantized := range []bool{false, true} {
		it := interp(t, tasktest.Pose(8, 8, quantized, format.TaskPose))
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(it, format.TaskPose, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.Decode()
		kps := d.Keypoints()
		if len(kps) != 17 {
			t.Fatalf("quantized %v: %d keypoints, want 17", quantized, len(kps))
		}
		tol := 1e-7
		if quantized {
			tol = 0.5/255 + 1e-6
		}
		for i, k := range kps {
			w := tasktest.Keypoints[i]
			if k.Name != COCOKeypoints[i] || math.Abs(float64(k.Y-w[0])) > tol || math.Abs(float64(k.X-w[1])) > tol || math.Abs(float64(k.Score-w[2])) > tol {
				t.Errorf("quantized %v: keypoint %d = %+v, want %s y %g x %g score %g", quantized, i, k, COCOKeypoints[i], w[0], w[1], w[2])
			}
		}
		if a := testing.AllocsPerRun(10, d.Decode); a != 0 {
			t.Errorf("quantized %v: %g allocations per Decode", quantized, a)
		}
	}
	// Labels naming as many keypoints as the output has name them.
	it := interp(t, tasktest.Pose(8, 8, false, format.TaskPose))
	labels := make([]string, 17)
	for i := range labels {
		labels[i] = strings.ToUpper(COCOKeypoints[i])
	}
	d, err := NewDecoder(it, format.TaskPose, labels)
	if err != nil {
		t.Fatal(err)
	}
	if d.Keypoints()[16].Name != "RIGHT_ANKLE" {
		t.Errorf("keypoint 16 named %q, want the label RIGHT_ANKLE", d.Keypoints()[16].Name)
	}
}

// paint fills an h×w RGB image input (NHWC or NCHW float) so that pixel
// p's brightest channel is want[p], with the others well below it, and
// returns want.
func paint(in *runtime.Tensor, h, w int, nchw bool, r *rand.Rand) []int32 {
	want := make([]int32, h*w)
	v := in.Float32()
	for p := range want {
		c := int32(r.Intn(3))
		want[p] = c
		for ch := 0; ch < 3; ch++ {
			x := 0.4 * r.Float32()
			if int32(ch) == c {
				x = 0.6 + 0.4*r.Float32()
			}
			if nchw {
				v[ch*h*w+p] = x
			} else {
				v[3*p+ch] = x
			}
		}
	}
	return want
}

func TestDecoderSegment(t *testing.T) {
	labels := []string{"red", "green", "blue"}
	const h, w = 6, 9
	for _, out := range []string{"map", "scores", "int8", "nchw"} {
		it := interp(t, tasktest.Segment(h, w, out, format.TaskSegment))
		want := paint(it.Input(0), h, w, out == "nchw", rand.New(rand.NewSource(int64(len(out)))))
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		d, err := NewDecoder(it, format.TaskSegment, labels)
		if err != nil {
			t.Fatal(err)
		}
		d.Decode()
		got, gh, gw := d.ClassMap()
		if gh != h || gw != w || len(got) != h*w {
			t.Fatalf("%s: class map %d×%d (%d), want %d×%d", out, gh, gw, len(got), h, w)
		}
		counts := [3]int{}
		for p := range want {
			counts[want[p]]++
			if got[p] != want[p] {
				t.Errorf("%s: pixel %d class %d, want %d", out, p, got[p], want[p])
			}
		}
		cls := d.Classes()
		sum := 0.0
		for i, s := range cls {
			if s.Label != labels[s.Index] || s.Pixels != counts[s.Index] || s.Share != float64(s.Pixels)/(h*w) {
				t.Errorf("%s: class entry %+v; %d pixels hold class %d", out, s, counts[s.Index], s.Index)
			}
			if i > 0 && cls[i-1].Pixels < s.Pixels {
				t.Errorf("%s: classes not in decreasing pixel count: %+v", out, cls)
			}
			sum += s.Share
		}
		if len(cls) != 3 || math.Abs(sum-1) > 1e-12 {
			t.Errorf("%s: classes %+v, want all three, shares summing to 1", out, cls)
		}
		if a := testing.AllocsPerRun(10, d.Decode); a != 0 {
			t.Errorf("%s: %g allocations per Decode", out, a)
		}
	}
}

func TestDecoderTaskMustFit(t *testing.T) {
	it := interp(t, tasktest.Segment(4, 4, "map", format.TaskSegment))
	_, err := NewDecoder(it, format.TaskPose, nil)
	if !errors.Is(err, format.ErrInvalid) || !strings.Contains(err.Error(), "no output for task pose, which needs an output [1, 1, K, 3]") || !strings.Contains(err.Error(), `"classes" [1 4 4] int32`) {
		t.Errorf("pose decoder on a class map: %v", err)
	}
	if _, err := NewDecoder(it, format.TaskClassify, nil); err == nil {
		t.Error("a decoder for classification: no error")
	}
}

// TestLoopTasks runs the camera loop on a pose model and on segmentation
// models: each frame reports the task's result and the frame's window,
// the model's own Task or Loop.Task choosing it, with no allocation per
// frame.
func TestLoopTasks(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *format.Model
		task format.Task // Loop.Task
		want string
	}{
		{"pose", tasktest.Pose(16, 16, true, format.TaskPose), 0, "pose"},
		{"pose by Loop.Task", tasktest.Pose(16, 16, false, format.TaskUnspecified), format.TaskPose, "pose"},
		{"segment map", tasktest.Segment(12, 16, "map", format.TaskSegment), 0, "segment"},
		{"segment scores", tasktest.Segment(12, 16, "int8", format.TaskSegment), 0, "segment"},
		{"classify by default", tasktest.Segment(12, 16, "map", format.TaskUnspecified), 0, "classify"},
	} {
		it := interp(t, tc.m)
		src, err := camera.Open("synthetic:bars?w=64&h=32&fmt=YUYV")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		target, err := camera.TargetFor(it.Model())
		if err != nil {
			t.Fatal(err)
		}
		l := &Loop{Source: src, Interp: it, Target: target, Labels: []string{"red", "green", "blue"}, TopK: 2, Task: tc.task}
		check := func(r *Result) error {
			if r.Task != tc.want {
				t.Errorf("%s: task %q, want %q", tc.name, r.Task, tc.want)
			}
			switch tc.want {
			case "pose":
				if len(r.Keypoints) != 17 || r.Keypoints[0].Name != "nose" || math.Abs(float64(r.Keypoints[5].X-0.35)) > 0.002 || r.Top != nil || len(r.Window) != 4 {
					t.Errorf("%s: %+v", tc.name, r)
				}
			case "segment":
				// Bars: the frame is 64×32, the model's window its centre
				// 43×32 (4:3 of a 2:1 frame).
				n := 0
				for _, c := range r.Classes {
					n += c.Pixels
				}
				if len(r.Classes) == 0 || n != 12*16 || len(r.MapSize) != 2 || r.MapSize[0] != 12 || r.MapSize[1] != 16 || r.Top != nil || len(r.Window) != 4 || r.Window[0] <= 0.1 {
					t.Errorf("%s: %+v", tc.name, r)
				}
			case "classify":
				if len(r.Top) != 2 || r.Keypoints != nil || r.Classes != nil {
					t.Errorf("%s: %+v", tc.name, r)
				}
			}
			return nil
		}
		if err := l.Run(context.Background(), 2, check, func(err error) { t.Error(err) }); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		nothing := func(*Result) error { return nil }
		if a := testing.AllocsPerRun(20, func() { l.Run(context.Background(), 1, nothing, func(error) {}) }); a != 0 {
			t.Errorf("%s: %g allocations per frame", tc.name, a)
		}
	}

	// A task the model's outputs do not fit ends Run with the reason.
	it := interp(t, tasktest.Segment(8, 8, "map", format.TaskSegment))
	src, err := camera.Open("synthetic:bars?w=32&h=32&fmt=RGB24")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	target, _ := camera.TargetFor(it.Model())
	l := &Loop{Source: src, Interp: it, Target: target, Task: format.TaskPose}
	if err := l.Run(context.Background(), 1, func(*Result) error { return nil }, func(error) {}); !errors.Is(err, format.ErrInvalid) {
		t.Errorf("pose loop on a segmentation model: %v, want ErrInvalid", err)
	}
}

func TestMaskColors(t *testing.T) {
	// Pascal VOC's palette: aeroplane, bicycle, bird, person; background
	// transparent.
	for c, want := range map[int32]color.NRGBA{0: {}, 1: {128, 0, 0, 140}, 2: {0, 128, 0, 140}, 3: {128, 128, 0, 140}, 15: {192, 128, 128, 140}} {
		if got := MaskColor(c); got != want {
			t.Errorf("class %d colour %v, want %v", c, got, want)
		}
	}
	seen := map[color.NRGBA]int32{}
	for c := int32(1); c < 256; c++ {
		if d, dup := seen[MaskColor(c)]; dup {
			t.Errorf("classes %d and %d share a colour", d, c)
		}
		seen[MaskColor(c)] = c
	}
	MaskColor(1 << 30) // no shift out of range
}
