package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/quant"
)

// Scalar definitions of the unary activations. The float kernels below
// evaluate them in float64 and round to float32 once; int8 kernels use
// tables built from the same functions with quant.BuildTable, e.g.
// quant.BuildTable(in, out, ref.GELU).

// GELU returns x·Φ(x) = x/2·(1 + erf(x/√2)), the exact GELU.
func GELU(x float64) float64 {
	return 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
}

// GELUTanh returns the tanh approximation of GELU:
// x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func GELUTanh(x float64) float64 {
	const k = 0.7978845608028654 // √(2/π)
	return 0.5 * x * (1 + math.Tanh(k*(x+0.044715*x*x*x)))
}

// HardSwish returns x·ReLU6(x + 3)/6.
func HardSwish(x float64) float64 {
	return x * math.Min(math.Max(x+3, 0), 6) / 6
}

// HardSigmoid returns the function clamp(alpha·x + beta, 0, 1).
func HardSigmoid(alpha, beta float32) func(float64) float64 {
	a, b := float64(alpha), float64(beta)
	return func(x float64) float64 { return math.Min(math.Max(a*x+b, 0), 1) }
}

// Logistic returns 1/(1 + e^−x).
func Logistic(x float64) float64 {
	return 1 / (1 + math.Exp(-x))
}

// Rsqrt returns 1/√x: +Inf at 0 and NaN below. In a table built from it,
// a real input of 0 saturates to the output maximum and a negative one
// gives the output zero point (quant.BuildTable's rule for NaN).
func Rsqrt(x float64) float64 {
	return 1 / math.Sqrt(x)
}

// LookupInt8 maps every element through a table: out[i] = t[x[i]+128].
// Tables come from quant.BuildTable at load.
func LookupInt8(t *quant.Table, x, out []int8) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = t[uint8(v)^0x80]
	}
}

// GELUFloat computes out = GELU(x), or GELUTanh(x) when approximate.
func GELUFloat(x, out []float32, approximate bool) {
	if approximate {
		unaryFloat(x, out, GELUTanh)
		return
	}
	unaryFloat(x, out, GELU)
}

// LogisticFloat computes out = Logistic(x).
func LogisticFloat(x, out []float32) { unaryFloat(x, out, Logistic) }

// TanhFloat computes out = tanh(x).
func TanhFloat(x, out []float32) { unaryFloat(x, out, math.Tanh) }

// HardSwishFloat computes out = HardSwish(x).
func HardSwishFloat(x, out []float32) { unaryFloat(x, out, HardSwish) }

// HardSigmoidFloat computes out = HardSigmoid(alpha, beta)(x).
func HardSigmoidFloat(x, out []float32, alpha, beta float32) {
	unaryFloat(x, out, HardSigmoid(alpha, beta))
}

// RsqrtFloat computes out = Rsqrt(x).
func RsqrtFloat(x, out []float32) { unaryFloat(x, out, Rsqrt) }

// unaryFloat evaluates f in float64 and rounds once to float32.
func unaryFloat(x, out []float32, f func(float64) float64) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = float32(f(float64(v)))
	}
}

// ReLUFloat computes out = max(x, 0); NaN stays NaN.
func ReLUFloat(x, out []float32) {
	out = out[:len(x)]
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		out[i] = v
	}
}

// ReLU6Float computes out = min(max(x, 0), 6); NaN stays NaN.
func ReLU6Float(x, out []float32) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = clampFloat(v, 0, 6)
	}
}
