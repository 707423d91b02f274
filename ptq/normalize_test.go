package ptq

import (
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// normalizeModel is F.normalize over rows of 8 as the ONNX importer
// writes it: x·Rsqrt(mean(x²)·8 + 1e-24).
func normalizeModel(t *testing.T, rows int) *format.Model {
	b := format.NewBuilder("normalize")
	shape, col := []int32{int32(rows), 8}, []int32{int32(rows), 1}
	x := b.Input("x", format.Float32, shape, nil)
	sq := b.Activation("sq", format.Float32, shape, nil)
	b.Op(format.OpMul, "square", nil, []int32{x, x}, sq)
	mean := b.Activation("mean", format.Float32, col, nil)
	b.Op(format.OpMean, "mean", &format.MeanOptions{Axes: []int32{1}, KeepDims: true}, []int32{sq}, mean)
	sum := b.Activation("sum", format.Float32, col, nil)
	b.Op(format.OpMul, "sum", nil, []int32{mean, b.ConstFloat32("d", []int32{1}, []float32{8})}, sum)
	eps := b.Activation("sumeps", format.Float32, col, nil)
	b.Op(format.OpAdd, "eps", nil, []int32{sum, b.ConstFloat32("eps", []int32{1}, []float32{1e-24})}, eps)
	inv := b.Activation("inv", format.Float32, col, nil)
	b.Op(format.OpRsqrt, "rsqrt", nil, []int32{eps}, inv)
	y := b.Activation("y", format.Float32, shape, nil)
	b.Op(format.OpMul, "normalize", nil, []int32{x, inv}, y)
	b.Output(y)
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// F.normalize of rows some of which are zero (padding) calibrates: the
// reciprocal norm of a zero row is left out of Rsqrt's range (it would
// be 1e12), the int8 model maps zero rows to zero and unit rows within a
// few steps of float.
func TestObserveNormalizeOfZeroRows(t *testing.T) {
	const rows = 16
	fm := normalizeModel(t, rows)
	r := rand.New(rand.NewSource(2))
	sample := func() []float32 {
		v := make([]float32, rows*8)
		for i := range v {
			if i/8%3 != 0 { // every third row is padding
				v[i] = float32(r.NormFloat64())
			}
		}
		return v
	}
	samples := [][][]float32{{sample()}, {sample()}, {sample()}}
	ranges, err := Observe(fm, samples, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := fm.Ops[4].Outputs[0]
	if hi := ranges.Max[inv]; hi > 100 {
		t.Fatalf("Rsqrt's observed range reaches %g: the zero rows' reciprocal was counted", hi)
	}
	qm, err := Quantize(fm, ranges)
	if err != nil {
		t.Fatalf("quantize: %v", err)
	}
	x := sample()
	it, err := runtime.New(qm, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	in := it.Input(0)
	for i, v := range x {
		in.Int8()[i] = int8(in.Params.Quantize(v, -128, 127))
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := it.Output(0)
	for row := 0; row < rows; row++ {
		var n float64
		for _, v := range x[row*8 : row*8+8] {
			n += float64(v) * float64(v)
		}
		for j := 0; j < 8; j++ {
			got := out.Params.Dequantize(int32(out.Int8()[row*8+j]))
			want := 0.0
			if n > 0 {
				want = float64(x[row*8+j]) / math.Sqrt(n)
			}
			if math.Abs(float64(got)-want) > 0.2 {
				t.Errorf("row %d value %d: int8 %.3f, float %.3f", row, j, got, want)
			}
		}
	}
}
