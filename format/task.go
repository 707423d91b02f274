package format

import (
	"fmt"
	"strings"
)

// Task says what a model is for, and so how its outputs are read: as
// class scores, as pose keypoints or as a segmentation map. It is the
// schema's Task enum, stored in Model.Task.
type Task uint8

// Tasks. TaskUnspecified (a model converted before tasks existed, or by a
// converter that did not say) reads as TaskClassify.
const (
	TaskUnspecified Task = 0
	// TaskClassify: output 0 holds one score per class.
	TaskClassify Task = 1
	// TaskPose: an output shaped [1, …, 1, K, 3] holds (y, x, score) for
	// each of K keypoints, y and x as fractions of the input image's height
	// and width (MoveNet's layout; K = 17 for the COCO keypoints).
	TaskPose Task = 2
	// TaskSegment: an output holds a class per pixel, as integers shaped
	// [1, H, W] or [1, H, W, 1] (an ARG_MAX), or as a score per class and
	// pixel shaped [1, H, W, C] (C ≥ 2), or [1, C, H, W] in a model whose
	// preprocessing is NCHW; H, W ≥ 2.
	TaskSegment Task = 3
)

var taskNames = [...]string{TaskUnspecified: "", TaskClassify: "classify", TaskPose: "pose", TaskSegment: "segment"}

// String returns the task's name as --task takes it ("" for
// TaskUnspecified).
func (t Task) String() string {
	if int(t) < len(taskNames) {
		return taskNames[t]
	}
	return fmt.Sprintf("task(%d)", uint8(t))
}

// ParseTask is the inverse of Task.String for the named tasks.
func ParseTask(s string) (Task, error) {
	for t := TaskClassify; int(t) < len(taskNames); t++ {
		if taskNames[t] == s {
			return t, nil
		}
	}
	return TaskUnspecified, fmt.Errorf("unknown task %q (want %s)", s, strings.Join(taskNames[1:], ", "))
}

// Or returns t, or def when t is TaskUnspecified.
func (t Task) Or(def Task) Task {
	if t == TaskUnspecified {
		return def
	}
	return t
}

// TaskOutput returns the position in m.Outputs of the output that task
// reads: the first that fits it (see the Task constants; SegmentShape
// tells the two kinds of segmentation output apart). The error says what
// the task needs and lists the outputs; it wraps ErrInvalid.
// TaskUnspecified is TaskClassify, which reads output 0 of any type.
func (m *Model) TaskOutput(task Task) (int, error) {
	if len(m.Outputs) == 0 {
		return 0, invalid("model %q has no outputs", m.Name)
	}
	var want string
	switch task.Or(TaskClassify) {
	case TaskClassify:
		return 0, nil
	case TaskPose:
		for k, ti := range m.Outputs {
			if t := &m.Tensors[ti]; keypointShape(t.Shape) && realValued(t) {
				return k, nil
			}
		}
		want = "an output [1, 1, K, 3] (y, x, score per keypoint) of float32 or per-tensor quantized values"
	case TaskSegment:
		for k, ti := range m.Outputs {
			if _, ok := m.SegmentShape(&m.Tensors[ti]); ok {
				return k, nil
			}
		}
		want = "an output holding a class per pixel ([1, H, W] or [1, H, W, 1] integers) or scores per class and pixel ([1, H, W, C] float32 or per-tensor quantized, C ≥ 2; [1, C, H, W] for NCHW models), H, W ≥ 2"
	default:
		return 0, unsupported("unknown task %v", task)
	}
	return 0, invalid("model %q has no output for task %v, which needs %s; its outputs: %s", m.Name, task, want, m.OutputList())
}

// keypointShape reports whether s is [1, …, 1, K, 3] with K ≥ 1.
func keypointShape(s []int32) bool {
	n := len(s)
	if n < 2 || s[n-1] != 3 || s[n-2] < 1 {
		return false
	}
	for _, d := range s[:n-2] {
		if d != 1 {
			return false
		}
	}
	return true
}

// realValued reports whether a tensor's elements are reals the runtime can
// dequantize one by one: float32, or integers with one scale.
func realValued(t *Tensor) bool {
	if t.DType == Float32 {
		return true
	}
	return (t.DType == Int8 || t.DType == UInt8 || t.DType == Int16) && t.Quant != nil && len(t.Quant.Scale) == 1 && t.Quant.Scale[0] > 0
}

// SegmentShape is the layout of a segmentation output: an H×W map of
// classes (Classes = 0), or of scores for each of Classes classes, the
// class axis last or, with NCHW, second. H and W are at least 2 (a
// keypoint output [1, 1, K, 3] is no map).
type SegmentShape struct {
	H, W    int
	Classes int
	NCHW    bool
}

// SegmentShape reports whether t can be a segmentation output of m, and
// its layout: integers without quantization shaped [1, H, W] or
// [1, H, W, 1] hold a class per pixel; float32 or per-tensor quantized
// values shaped [1, H, W, C], or [1, C, H, W] in a model whose
// preprocessing is NCHW, with C ≥ 2, hold scores per class.
func (m *Model) SegmentShape(t *Tensor) (SegmentShape, bool) {
	s := t.Shape
	if t.Quant == nil && (t.DType == Int32 || t.DType == Int16 || t.DType == UInt8 || t.DType == Int8) {
		if len(s) == 4 && s[3] == 1 {
			s = s[:3]
		}
		if len(s) != 3 || s[0] != 1 || s[1] < 2 || s[2] < 2 {
			return SegmentShape{}, false
		}
		return SegmentShape{H: int(s[1]), W: int(s[2])}, true
	}
	if len(s) != 4 || s[0] != 1 || !realValued(t) {
		return SegmentShape{}, false
	}
	g := SegmentShape{H: int(s[1]), W: int(s[2]), Classes: int(s[3])}
	if m.Preprocess != nil && m.Preprocess.Layout == NCHW {
		g = SegmentShape{H: int(s[2]), W: int(s[3]), Classes: int(s[1]), NCHW: true}
	}
	if g.H < 2 || g.W < 2 || g.Classes < 2 {
		return SegmentShape{}, false
	}
	return g, true
}
