package onnx_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format/onnx"
)

// importOne imports a one-node graph from x [shape] to y and runs it on x.
func importOne(t *testing.T, nd pbuf, inits []pbuf, in []int64, out []int64, x []float32) []float32 {
	t.Helper()
	b := graphSpec{nodes: []pbuf{nd}, inits: inits, inputs: []pbuf{valueInfo("x", in...)}, outputs: []pbuf{valueInfo("y", out...)}}.encode()
	m, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := onnx.Import(m, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return runModel(t, r.Model, x)[0]
}

func ramp(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%7) - 2.5 + float32(i)/10
	}
	return v
}

// TestPoolCeilModeAndPadding: MaxPool and AveragePool with ceil_mode
// (SqueezeNet, GoogLeNet) keep the last, partial window, and
// count_include_pad averages over the padding too (Inception), as
// PyTorch does: checked against the definitions on a 5×5 input.
func TestPoolCeilModeAndPadding(t *testing.T) {
	x := ramp(25)
	at := func(i, j int) (float64, bool) {
		if i < 0 || j < 0 || i >= 5 || j >= 5 {
			return 0, false
		}
		return float64(x[i*5+j]), true
	}
	// 2×2 windows, stride 2: the floor rule gives 2×2, ceil_mode 3×3 (the
	// last window holds one row or column).
	got := importOne(t, node("MaxPool", "mp", []string{"x"}, []string{"y"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2), aInt("ceil_mode", 1)), nil,
		[]int64{1, 1, 5, 5}, []int64{1, 1, 3, 3}, x)
	var want []float32
	for oi := 0; oi < 3; oi++ {
		for oj := 0; oj < 3; oj++ {
			m := math.Inf(-1)
			for di := 0; di < 2; di++ {
				for dj := 0; dj < 2; dj++ {
					if v, ok := at(2*oi+di, 2*oj+dj); ok {
						m = math.Max(m, v)
					}
				}
			}
			want = append(want, float32(m))
		}
	}
	assertClose(t, "MaxPool ceil_mode", got, want, 0)

	for _, include := range []int64{0, 1} {
		got = importOne(t, node("AveragePool", "ap", []string{"x"}, []string{"y"}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2),
			aInts("pads", 1, 1, 1, 1), aInt("ceil_mode", 1), aInt("count_include_pad", include)), nil,
			[]int64{1, 1, 5, 5}, []int64{1, 1, 3, 3}, x)
		want = want[:0]
		for oi := 0; oi < 3; oi++ {
			for oj := 0; oj < 3; oj++ {
				s, n := 0.0, 0
				for di := 0; di < 3; di++ {
					for dj := 0; dj < 3; dj++ {
						i, j := 2*oi-1+di, 2*oj-1+dj
						if v, ok := at(i, j); ok {
							s, n = s+v, n+1
						} else if include == 1 && i <= 5 && j <= 5 { // explicit padding counts, not beyond it
							n++
						}
					}
				}
				want = append(want, float32(s/float64(n)))
			}
		}
		assertClose(t, "AveragePool count_include_pad", got, want, 1e-6)
	}
}

// TestGroupedConvAndHardSigmoid: a Conv with 2 groups (RegNet, ResNeXt)
// and HardSigmoid (MobileNet v3) against their definitions.
func TestGroupedConvAndHardSigmoid(t *testing.T) {
	x := ramp(4 * 3 * 3)
	w := ramp(6 * 2)
	for i := range w {
		w[i] *= 0.3
	}
	got := importOne(t, node("Conv", "c", []string{"x", "w"}, []string{"y"}, aInt("group", 2), aInts("kernel_shape", 1, 1)),
		[]pbuf{floatTensor("w", []int64{6, 2, 1, 1}, w)}, []int64{1, 4, 3, 3}, []int64{1, 6, 3, 3}, x)
	var want []float32
	for co := 0; co < 6; co++ {
		g := co / 3
		for p := 0; p < 9; p++ {
			s := 0.0
			for ci := 0; ci < 2; ci++ {
				s += float64(x[(2*g+ci)*9+p]) * float64(w[co*2+ci])
			}
			want = append(want, float32(s))
		}
	}
	assertClose(t, "grouped Conv", got, want, 1e-5)

	got = importOne(t, node("HardSigmoid", "hs", []string{"x"}, []string{"y"}, aFloat("alpha", 1.0/6), aFloat("beta", 0.5)), nil,
		[]int64{1, 36}, []int64{1, 36}, x)
	want = want[:0]
	for _, v := range x {
		want = append(want, float32(math.Min(math.Max(float64(v)/6+0.5, 0), 1)))
	}
	assertClose(t, "HardSigmoid", got, want, 1e-6)
}

// TestPadAndBatchNorm: Pad with zeros and a standalone BatchNormalization
// (DenseNet) against their definitions; other Pad modes are refused.
func TestPadAndBatchNorm(t *testing.T) {
	x := ramp(2 * 2 * 3)
	got := importOne(t, node("Pad", "p", []string{"x", "pads"}, []string{"y"}),
		[]pbuf{int64Tensor("pads", []int64{8}, []int64{0, 0, 1, 0, 0, 0, 0, 2})}, []int64{1, 2, 2, 3}, []int64{1, 2, 3, 5}, x)
	var want []float32
	for c := 0; c < 2; c++ {
		for i := -1; i < 2; i++ {
			for j := 0; j < 5; j++ {
				v := float32(0)
				if i >= 0 && j < 3 {
					v = x[(c*2+i)*3+j]
				}
				want = append(want, v)
			}
		}
	}
	assertClose(t, "Pad", got, want, 0)

	scale, bias, mean, vr := []float32{1.5, 0.5}, []float32{0.1, -0.2}, []float32{0.3, -1}, []float32{2, 0.25}
	got = importOne(t, node("BatchNormalization", "bn", []string{"x", "s", "b", "m", "v"}, []string{"y"}, aFloat("epsilon", 1e-3)),
		[]pbuf{floatTensor("s", []int64{2}, scale), floatTensor("b", []int64{2}, bias), floatTensor("m", []int64{2}, mean), floatTensor("v", []int64{2}, vr)},
		[]int64{1, 2, 2, 3}, []int64{1, 2, 2, 3}, x)
	want = want[:0]
	for i, v := range x {
		c := i / 6
		want = append(want, float32((float64(v)-float64(mean[c]))/math.Sqrt(float64(vr[c])+1e-3)*float64(scale[c])+float64(bias[c])))
	}
	assertClose(t, "BatchNormalization", got, want, 1e-5)

	b := graphSpec{nodes: []pbuf{node("Pad", "p", []string{"x", "pads"}, []string{"y"}, aString("mode", "reflect"))},
		inits: []pbuf{int64Tensor("pads", []int64{8}, []int64{0, 0, 1, 0, 0, 0, 0, 2})}, inputs: []pbuf{valueInfo("x", 1, 2, 2, 3)}, outputs: []pbuf{valueInfo("y", 1, 2, 3, 5)}}.encode()
	m, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Import(m, onnx.Options{}); !errors.Is(err, onnx.ErrUnsupported) || !strings.Contains(err.Error(), `mode "reflect"`) {
		t.Errorf("reflect Pad: %v, want ErrUnsupported naming the mode", err)
	}
}
