package runtime_test

import (
	"math"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// reluOf is input → ReLU → output on [1, n] tensors of type dt.
func reluOf(t *testing.T, dt format.DType, q *format.Quantization, n int32) *runtime.Interpreter {
	t.Helper()
	b := format.NewBuilder("relu")
	x := b.Input("x", dt, []int32{1, n}, q)
	y := b.Activation("y", dt, []int32{1, n}, q)
	b.Op(format.OpReLU, "relu", nil, []int32{x}, y)
	b.Output(y)
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { it.Close() })
	return it
}

func TestTensorSetReal(t *testing.T) {
	vals := []float32{-40, -0.375, -0.125, 0, 0.125, 0.3, 1.25, 40}
	q := reluOf(t, format.Int8, format.PerTensor(0.25, -3), int32(len(vals)))
	in := q.Input(0)
	if err := in.SetReal(vals); err != nil {
		t.Fatal(err)
	}
	// q = round(v/0.25) − 3, halves away from zero, clamped to [−128, 127].
	want := []int8{-128, -5, -4, -3, -2, -2, 2, 127}
	for i, w := range want {
		if in.Int8()[i] != w {
			t.Fatalf("SetReal(%v) = %v, want %v", vals, in.Int8(), want)
		}
	}
	back := in.Dequantized(make([]float32, len(vals)))
	for i, v := range vals[1:7] {
		if math.Abs(float64(back[i+1]-v)) > 0.125 {
			t.Errorf("value %g came back as %g", v, back[i+1])
		}
	}

	f := reluOf(t, format.Float32, nil, int32(len(vals)))
	if err := f.Input(0).SetReal(vals); err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		if f.Input(0).Float32()[i] != v {
			t.Fatalf("float SetReal = %v, want %v", f.Input(0).Float32(), vals)
		}
	}
	if err := f.Input(0).SetReal(vals[:3]); err == nil || !strings.Contains(err.Error(), "3 values") {
		t.Errorf("3 values for 8 elements: %v", err)
	}
}
