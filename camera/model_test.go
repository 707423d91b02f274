package camera

import (
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
)

// imageModel is input → ReLU → output with pp as its preprocessing. The
// input gets its type and quantization after the builder checked the
// graph, so that TargetFor sees inputs no op would accept.
func imageModel(t *testing.T, shape []int32, dt format.DType, q *format.Quantization, pp *format.Preprocess) *format.Model {
	t.Helper()
	b := format.NewBuilder("img")
	x := b.Input("pixels", format.Float32, shape, nil)
	y := b.Activation("y", format.Float32, shape, nil)
	b.Op(format.OpReLU, "relu", nil, []int32{x}, y)
	b.Output(y)
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	m.Tensors[x].DType, m.Tensors[x].Quant = dt, q
	m.Preprocess = pp
	return m
}

func TestTargetFor(t *testing.T) {
	pp := &format.Preprocess{Width: 6, Height: 4, Layout: format.NCHW, Color: format.Gray, Scale: 1.0 / 255, Mean: []float32{0.5}, Std: []float32{0.25}}
	m := imageModel(t, []int32{1, 1, 4, 6}, format.Int8, format.PerTensor(0.02, -3), pp)
	tg, err := TargetFor(m)
	if err != nil {
		t.Fatal(err)
	}
	want := Target{Width: 6, Height: 4, Layout: NCHW, Color: Gray, Scale: 1.0 / 255, DType: Int8, QScale: 0.02, QZeroPoint: -3}
	if tg.Width != want.Width || tg.Height != want.Height || tg.Layout != want.Layout || tg.Color != want.Color ||
		tg.Scale != want.Scale || tg.DType != want.DType || tg.QScale != want.QScale || tg.QZeroPoint != want.QZeroPoint ||
		len(tg.Mean) != 1 || tg.Mean[0] != 0.5 || len(tg.Std) != 1 || tg.Std[0] != 0.25 {
		t.Errorf("TargetFor = %+v, want %+v with mean 0.5 and std 0.25", tg, want)
	}

	rgb := &format.Preprocess{Width: 2, Height: 3, Layout: format.NHWC, Color: format.BGR}
	m = imageModel(t, []int32{1, 3, 2, 3}, format.Float32, nil, rgb)
	if tg, err = TargetFor(m); err != nil {
		t.Fatal(err)
	}
	if tg.Layout != NHWC || tg.Color != BGR || tg.DType != Float32 || tg.Size() != 3*2*3*4 {
		t.Errorf("float BGR target = %+v", tg)
	}

	for _, c := range []struct {
		name string
		m    *format.Model
		want string
	}{
		{"no metadata", imageModel(t, []int32{1, 4, 6, 1}, format.Float32, nil, nil), "no preprocessing metadata"},
		{"size mismatch", imageModel(t, []int32{1, 5, 6, 1}, format.Float32, nil, &format.Preprocess{Width: 6, Height: 4, Color: format.Gray}), "holds 120"},
		{"int16 input", imageModel(t, []int32{1, 4, 6, 1}, format.Int16, format.PerTensor(1, 0), &format.Preprocess{Width: 6, Height: 4, Color: format.Gray}), "dtype int16"},
		{"per-axis input", imageModel(t, []int32{1, 4, 6, 3}, format.Int8, format.PerAxis([]float32{1, 1, 1}, 3), rgb), "per-tensor"},
	} {
		_, err := TargetFor(c.m)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}
