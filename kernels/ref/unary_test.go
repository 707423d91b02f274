package ref

import (
	"math"
	"testing"
)

func TestUnaryScalars(t *testing.T) {
	for _, c := range []struct {
		name    string
		f       func(float64) float64
		x, want float64
	}{
		// Φ(1) = 0.841344746068543, Φ(−1) = 0.158655253931457.
		{"GELU", GELU, 0, 0},
		{"GELU", GELU, 1, 0.841344746068543},
		{"GELU", GELU, -1, -0.158655253931457},
		{"GELU", GELU, 3, 3 * 0.998650101968370},
		{"GELU", GELU, -10, 0},
		// tanh(√(2/π)·1.044715) = tanh(0.833540) = 0.682383.
		{"GELUTanh", GELUTanh, 1, 0.5 * (1 + 0.6823839)},
		{"GELUTanh", GELUTanh, 0, 0},
		{"HardSwish", HardSwish, -3, 0},
		{"HardSwish", HardSwish, -4, 0},
		{"HardSwish", HardSwish, 1, 4.0 / 6},
		{"HardSwish", HardSwish, -1, -2.0 / 6},
		{"HardSwish", HardSwish, 3, 3},
		{"HardSwish", HardSwish, 10, 10},
		{"Logistic", Logistic, 0, 0.5},
		{"Logistic", Logistic, math.Log(3), 0.75},
		{"Logistic", Logistic, -1000, 0},
		{"Logistic", Logistic, 1000, 1},
		{"Rsqrt", Rsqrt, 4, 0.5},
		{"Rsqrt", Rsqrt, 0.25, 2},
	} {
		if got := c.f(c.x); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s(%v) = %v, want %v", c.name, c.x, got, c.want)
		}
	}
	if !math.IsInf(Rsqrt(0), 1) || !math.IsNaN(Rsqrt(-1)) {
		t.Errorf("Rsqrt(0), Rsqrt(−1) = %v, %v, want +Inf, NaN", Rsqrt(0), Rsqrt(-1))
	}
	// The tanh form approximates the erf form to about 5e-4.
	for x := -6.0; x <= 6; x += 0.01 {
		if d := math.Abs(GELU(x) - GELUTanh(x)); d > 5e-4 {
			t.Fatalf("GELU and GELUTanh differ by %v at %v", d, x)
		}
	}
}

func TestUnaryFloat(t *testing.T) {
	r := ewRand(t, 30)
	x := ewFloats(r, ewIters(2000), -8, 8)
	x = append(x, 0, float32(math.Copysign(0, -1)), 6, -3, 3, float32(math.Inf(1)), float32(math.Inf(-1)))
	out := make([]float32, len(x))
	for _, c := range []struct {
		name   string
		kernel func(x, out []float32)
		want   func(float32) float32
	}{
		{"GELUFloat", func(x, out []float32) { GELUFloat(x, out, false) }, func(v float32) float32 { return float32(GELU(float64(v))) }},
		{"GELUFloat approximate", func(x, out []float32) { GELUFloat(x, out, true) }, func(v float32) float32 { return float32(GELUTanh(float64(v))) }},
		{"LogisticFloat", LogisticFloat, func(v float32) float32 { return float32(Logistic(float64(v))) }},
		{"TanhFloat", TanhFloat, func(v float32) float32 { return float32(math.Tanh(float64(v))) }},
		{"HardSwishFloat", HardSwishFloat, func(v float32) float32 { return float32(HardSwish(float64(v))) }},
		{"RsqrtFloat", RsqrtFloat, func(v float32) float32 { return float32(1 / math.Sqrt(float64(v))) }},
		{"ReLUFloat", ReLUFloat, func(v float32) float32 { return float32(math.Max(float64(v), 0)) }},
		{"ReLU6Float", ReLU6Float, func(v float32) float32 { return float32(math.Min(math.Max(float64(v), 0), 6)) }},
	} {
		c.kernel(x, out)
		for i, v := range x {
			want := c.want(v)
			same := out[i] == want || (out[i] != out[i] && want != want)
			if !same && !(out[i] == 0 && want == 0) { // ±0 are both fine for ReLU
				t.Errorf("%s(%v) = %v, want %v", c.name, v, out[i], want)
				break
			}
		}
		ewAllocs(t, c.name, func() { c.kernel(x, out) })
	}
	// NaN passes through ReLU and ReLU6.
	nan := []float32{float32(math.NaN())}
	ReLUFloat(nan, out[:1])
	if out[0] == out[0] {
		t.Errorf("ReLUFloat(NaN) = %v", out[0])
	}
	ReLU6Float(nan, out[:1])
	if out[0] == out[0] {
		t.Errorf("ReLU6Float(NaN) = %v", out[0])
	}
	// Hand values.
	in := []float32{-1, 0.5, 7}
	ReLU6Float(in, out[:3])
	if out[0] != 0 || out[1] != 0.5 || out[2] != 6 {
		t.Errorf("ReLU6Float(%v) = %v", in, out[:3])
	}
	HardSwishFloat(in, out[:3])
	if out[0] != float32(-2.0/6) || out[1] != float32(0.5*3.5/6) || out[2] != 7 {
		t.Errorf("HardSwishFloat(%v) = %v", in, out[:3])
	}
}
