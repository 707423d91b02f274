package format

import (
	"errors"
	"strings"
	"testing"
)

// reshaped is a one-op model: a float input reshaped into an output of the
// given shape, or, with argmax, an int32 ArgMax over the input's last axis
// (the input then has one more axis, of 4).
func reshaped(shape []int32, argmax bool) *Model {
	b := NewBuilder("shapes")
	n := int32(1)
	for _, d := range shape {
		n *= d
	}
	if argmax {
		in := b.Input("x", Float32, append(append([]int32(nil), shape...), 4), nil)
		y := b.Activation("classes", Int32, shape, nil)
		b.Op(OpArgMax, "argmax", &ArgMaxOptions{Axis: int32(len(shape))}, []int32{in}, y)
		b.Output(y)
		return &b.m
	}
	in := b.Input("x", Float32, []int32{1, n}, nil)
	y := b.Activation("y", Float32, shape, nil)
	b.Op(OpReshape, "reshape", nil, []int32{in}, y)
	b.Output(y)
	return &b.m
}

func TestTaskOutput(t *testing.T) {
	nchw := func(m *Model) *Model {
		m.Preprocess = &Preprocess{Width: 5, Height: 5, Layout: NCHW, Scale: 1, Mean: []float32{0}, Std: []float32{1}}
		return m
	}
	for _, c := range []struct {
		name string
		m    *Model
		task Task
		want SegmentShape // for segment
		fits bool
	}{
		{"keypoints", reshaped([]int32{1, 1, 17, 3}, false), TaskPose, SegmentShape{}, true},
		{"keypoints rank 3", reshaped([]int32{1, 5, 3}, false), TaskPose, SegmentShape{}, true},
		{"two people", reshaped([]int32{1, 2, 17, 3}, false), TaskPose, SegmentShape{}, false},
		{"x, y only", reshaped([]int32{1, 1, 17, 2}, false), TaskPose, SegmentShape{}, false},
		{"class map", reshaped([]int32{1, 6, 5}, true), TaskSegment, SegmentShape{H: 6, W: 5}, true},
		{"class map, channel 1", reshaped([]int32{1, 6, 5, 1}, true), TaskSegment, SegmentShape{H: 6, W: 5}, true},
		{"scores NHWC", reshaped([]int32{1, 6, 5, 21}, false), TaskSegment, SegmentShape{H: 6, W: 5, Classes: 21}, true},
		{"scores NCHW", nchw(reshaped([]int32{1, 21, 6, 5}, false)), TaskSegment, SegmentShape{H: 6, W: 5, Classes: 21, NCHW: true}, true},
		{"one class", reshaped([]int32{1, 6, 5, 1}, false), TaskSegment, SegmentShape{}, false},
		{"keypoints as scores", reshaped([]int32{1, 1, 17, 3}, false), TaskSegment, SegmentShape{}, false},
		{"one-row class map", reshaped([]int32{1, 1, 5}, true), TaskSegment, SegmentShape{}, false},
		{"logits", reshaped([]int32{1, 1000}, false), TaskSegment, SegmentShape{}, false},
		{"class indices as pose", reshaped([]int32{1, 17, 3}, true), TaskPose, SegmentShape{}, false},
		{"anything classifies", reshaped([]int32{1, 17, 3}, true), TaskClassify, SegmentShape{}, true},
	} {
		if err := c.m.Validate(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		k, err := c.m.TaskOutput(c.task)
		if !c.fits {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no output for task "+c.task.String()+", which needs") || !strings.Contains(err.Error(), c.m.OutputList()) {
				t.Errorf("%s: err = %v, want ErrInvalid saying what %v needs and listing the outputs", c.name, err, c.task)
			}
			continue
		}
		if err != nil || k != 0 {
			t.Errorf("%s: output %d, %v; want 0", c.name, k, err)
			continue
		}
		if c.task == TaskSegment {
			if g, ok := c.m.SegmentShape(&c.m.Tensors[c.m.Outputs[0]]); !ok || g != c.want {
				t.Errorf("%s: segment shape %+v, %v; want %+v", c.name, g, ok, c.want)
			}
		}
	}
}

func TestTaskStoredAndValidated(t *testing.T) {
	m := reshaped([]int32{1, 1, 17, 3}, false)
	m.Task = TaskPose
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(data)
	if err != nil || got.Task != TaskPose {
		t.Fatalf("read back task %v, %v; want pose", got.Task, err)
	}

	m.Task = TaskSegment
	if _, err := Marshal(m); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no output for task segment") {
		t.Errorf("a keypoint model marked segment: %v, want ErrInvalid", err)
	}
	m.Task = TaskSegment + 1
	if err := m.Validate(); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "unknown task 4") {
		t.Errorf("task 4: %v, want ErrUnsupported", err)
	}

	for _, task := range []Task{TaskClassify, TaskPose, TaskSegment} {
		if p, err := ParseTask(task.String()); p != task || err != nil {
			t.Errorf("ParseTask(%q) = %v, %v", task.String(), p, err)
		}
	}
	if _, err := ParseTask("detect"); err == nil || !strings.Contains(err.Error(), "classify, pose, segment") {
		t.Errorf("ParseTask(detect): %v", err)
	}
	if TaskUnspecified.Or(TaskClassify) != TaskClassify || TaskPose.Or(TaskClassify) != TaskPose {
		t.Error("Task.Or")
	}
}
