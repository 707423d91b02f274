// Package tasktest builds tiny pose and segmentation models for tests: an
// RGB image input (pixels scaled to [0, 1]) and an output laid out as a
// pose or segmentation model's is, with values a test can predict.
package tasktest

import (
	"github.com/edgeinfer/edgeinfer/format"
)

// Keypoints are the (y, x, score) rows Pose's model outputs: a figure
// standing in the middle of the image, with a low-confidence left ear
// (row 3) and right ankle (row 16).
var Keypoints = [17][3]float32{
	{0.15, 0.50, 0.90}, {0.12, 0.45, 0.80}, {0.12, 0.55, 0.80}, {0.14, 0.40, 0.10}, {0.14, 0.60, 0.70},
	{0.30, 0.35, 0.90}, {0.30, 0.65, 0.90}, {0.45, 0.30, 0.80}, {0.45, 0.70, 0.80}, {0.60, 0.25, 0.70}, {0.60, 0.75, 0.70},
	{0.60, 0.40, 0.90}, {0.60, 0.60, 0.90}, {0.75, 0.40, 0.80}, {0.75, 0.60, 0.80}, {0.90, 0.40, 0.60}, {0.90, 0.60, 0.05},
}

func preprocess(b *format.Builder, h, w int32, layout format.Layout) {
	b.Model().Preprocess = &format.Preprocess{Width: w, Height: h, Layout: layout, Color: format.RGB, Scale: 1.0 / 255, Mean: []float32{0}, Std: []float32{1}}
}

// Pose returns a model with a float h×w RGB input whose output, shaped
// [1, 1, 17, 3], is Keypoints whatever the image: float32, or uint8 with
// scale 1/255 when quantized. task is stored as the model's Task. It
// panics if the model does not validate (task not fitting, say).
func Pose(h, w int32, quantized bool, task format.Task) *format.Model {
	b := format.NewBuilder("pose-tiny")
	preprocess(b, h, w, format.NHWC)
	x := b.Input("image", format.Float32, []int32{1, h, w, 3}, nil)
	mean := b.Activation("mean", format.Float32, []int32{1, 1, 1, 3}, nil)
	b.Op(format.OpMean, "mean", &format.MeanOptions{Axes: []int32{1, 2}, KeepDims: true}, []int32{x}, mean)
	zero := b.ConstFloat32("zero", []int32{1}, []float32{0})
	none := b.Activation("none", format.Float32, []int32{1, 1, 1, 3}, nil)
	b.Op(format.OpMul, "times_zero", &format.BinaryOptions{}, []int32{mean, zero}, none)
	var rows []float32
	for _, k := range Keypoints {
		rows = append(rows, k[:]...)
	}
	kc := b.ConstFloat32("keypoints", []int32{1, 1, 17, 3}, rows)
	y := b.Activation("keypoints_out", format.Float32, []int32{1, 1, 17, 3}, nil)
	b.Op(format.OpAdd, "plus_keypoints", &format.BinaryOptions{}, []int32{none, kc}, y)
	if quantized {
		q := b.Activation("keypoints_q", format.UInt8, []int32{1, 1, 17, 3}, format.PerTensor(1.0/255, 0))
		b.Op(format.OpQuantize, "quantize", nil, []int32{y}, q)
		y = q
	}
	b.Output(y)
	b.Model().Task = task
	return finish(b)
}

// Segment returns a model with a float h×w RGB input that segments it
// into three classes, the colour channel of each pixel that is brightest
// (the first of equal ones): class 0 where red dominates, 1 green, 2
// blue. out says how: "map" an int32 ArgMax [1, h, w]; "scores" the
// pixels' channels as float scores [1, h, w, 3]; "int8" the same quantized
// to int8 (scale 1/127); "nchw" an NCHW model with scores [1, 3, h, w].
func Segment(h, w int32, out string, task format.Task) *format.Model {
	b := format.NewBuilder("segment-tiny")
	layout := format.NHWC
	shape := []int32{1, h, w, 3}
	if out == "nchw" {
		layout, shape = format.NCHW, []int32{1, 3, h, w}
	}
	preprocess(b, h, w, layout)
	x := b.Input("image", format.Float32, shape, nil)
	var y int32
	switch out {
	case "map":
		y = b.Activation("classes", format.Int32, []int32{1, h, w}, nil)
		b.Op(format.OpArgMax, "argmax", &format.ArgMaxOptions{Axis: 3}, []int32{x}, y)
	default:
		one := b.ConstFloat32("one", []int32{1}, []float32{1})
		y = b.Activation("scores", format.Float32, shape, nil)
		b.Op(format.OpMul, "times_one", &format.BinaryOptions{}, []int32{x, one}, y)
		if out == "int8" {
			q := b.Activation("scores_q", format.Int8, shape, format.PerTensor(1.0/127, 0))
			b.Op(format.OpQuantize, "quantize", nil, []int32{y}, q)
			y = q
		}
	}
	b.Output(y)
	b.Model().Task = task
	return finish(b)
}

// finish validates the model; the builders above make only valid ones.
func finish(b *format.Builder) *format.Model {
	m, err := b.Finish()
	if err != nil {
		panic("tasktest: " + err.Error())
	}
	return m
}
