package neon

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// mathConsts are the constants of the vector exp and erf (gen_float.go),
// in the order the assembly broadcasts them into V10…V29.
type mathConsts [20]float32

var vecConsts = &mathConsts{
	-87.3, 88.3762626647949, 1.44269504088896341, 0.693359375, -2.12194440e-4, // exp range
	1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1, // exp poly
	1, math.Float32frombits(127 << 23), // 1, the 2^n bias
	1 / math.Sqrt2, 0.3275911, // erf: z = |x|/√2, t = 1/(1 + p·z)
	1.061405429 / 2, -1.453152027 / 2, 1.421413741 / 2, -0.284496736 / 2, 0.254829592 / 2, // erf a5…a1, halved
}

// The float32 GELU and Softmax (FMLA/FMLS, Armv8.0), within tolerances of
// kernels/ref's float64 evaluations (tested), the operations and
// constants of kernels/x86's:
//
//   - GELUFloat (the erf form): |out − ref| ≤ 4e−7·max(1, |x|).
//   - SoftmaxFloat: |out − ref| ≤ 4e−6·ref + 1e−30 per element (an exp
//     of a few ulp, a float32 sum in 4 lanes, a reciprocal).
//
// Elements past the last multiple of 4 take ref's float64 formulas. Rows
// are independent, so any split of rows over threads gives the same bits.

// GELUFloat computes out = GELU(x) (the exact, erf form; the tanh
// approximation runs ref).
func GELUFloat(x, out []float32, approximate bool) {
	n4 := len(x) / 4
	if approximate || n4 == 0 {
		ref.GELUFloat(x, out, approximate)
		return
	}
	_ = out[len(x)-1]
	geluF32(&x[0], &out[0], n4, vecConsts)
	ref.GELUFloat(x[4*n4:], out[4*n4:len(x)], false)
}

// SoftmaxFloat computes softmax of β·x over each of rows rows of d values.
func SoftmaxFloat(rows, d int, beta float32, x, out []float32) {
	n4 := d / 4
	if n4 == 0 {
		ref.SoftmaxFloat(rows, d, beta, x, out)
		return
	}
	b := float64(beta)
	x, out = x[:rows*d], out[:rows*d]
	for r := range rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		mx := math.Inf(-1)
		if beta >= 0 {
			mx = float64(maxF32(&row[0], n4))
			for _, v := range row[4*n4:] {
				mx = math.Max(mx, float64(v))
			}
			mx *= b
		} else {
			for _, v := range row {
				mx = math.Max(mx, b*float64(v))
			}
		}
		bm := [2]float32{beta, float32(mx)}
		sum := float64(expSumF32(&row[0], &o[0], n4, &bm, vecConsts))
		var tail [4]float64
		t := d - 4*n4
		if t > 0 && beta > 0 {
			// The last values through the vector exp too, the lanes past
			// the row at −∞: each adds e^−87.3 (the exp's floor, 1.2e−38)
			// to a sum of at least 1.
			pad := [4]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
			copy(pad[:], row[4*n4:])
			sum += float64(expSumF32(&pad[0], &pad[0], 1, &bm, vecConsts))
			for i := range t {
				tail[i] = float64(pad[i])
			}
		} else {
			for i := 4 * n4; i < d; i++ {
				tail[i-4*n4] = math.Exp(b*float64(row[i]) - mx)
				sum += tail[i-4*n4]
			}
		}
		scaleF32(&o[0], n4, float32(1/sum))
		for i := 4 * n4; i < d; i++ {
			o[i] = float32(tail[i-4*n4] / sum)
		}
	}
}

// AddFloat is ref.AddFloat, bit for bit: operands of the output's shape
// (kernels.Broadcast.Dense) run 16 values at a time in NEON, the rest
// (and any broadcast) in ref.
func AddFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	if !p.Dense() || p.N < 16 {
		ref.AddFloat(p, a, b, out, actMin, actMax)
		return
	}
	denseFloat(p.N, a, b, out, actMin, actMax, false)
}

// DivFloat is ref.DivFloat, bit for bit (IEEE division in every lane), as
// AddFloat.
func DivFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	if !p.Dense() || p.N < 16 {
		ref.DivFloat(p, a, b, out, actMin, actMax)
		return
	}
	denseFloat(p.N, a, b, out, actMin, actMax, true)
}

// denseFloat writes out = a + b (a / b with div) for n ≥ 16 values, the
// first n/16·16 in NEON, then clamps as ref's clampFloat.
func denseFloat(n int, a, b, out []float32, actMin, actMax float32, div bool) {
	n16 := n / 16
	a, b, out = a[:n], b[:n], out[:n]
	clip := [2]float32{actMin, actMax}
	clamp := 0
	if !math.IsInf(float64(actMin), -1) || !math.IsInf(float64(actMax), 1) {
		clamp = 1
	}
	if div {
		divF32(&a[0], &b[0], &out[0], n16, &clip, clamp)
	} else {
		addF32(&a[0], &b[0], &out[0], n16, &clip, clamp)
	}
	for i := 16 * n16; i < n; i++ {
		v := a[i] + b[i]
		if div {
			v = a[i] / b[i]
		}
		if v < actMin {
			v = actMin
		}
		if v > actMax {
			v = actMax
		}
		out[i] = v
	}
}

// LayerNormFloat is ref.LayerNormFloat with the row statistics summed in
// eight float64 lanes (sumF64, ssF64) instead of in index order, then the
// float32 affine step ((x − m)·r)·γ + β, each operation rounded, 16 values
// at a time. A float64 sum of float32 values of similar magnitude is exact
// in any order, so m and r are ref's but for a float64 rounding: at most
// 1 ulp apart in float32 (the tolerance below is tested; in practice the
// bits agree).
func LayerNormFloat(rows, d int, eps float32, x, gamma, beta, out []float32) {
	n16 := d / 16
	if n16 == 0 {
		ref.LayerNormFloat(rows, d, eps, x, gamma, beta, out)
		return
	}
	kernels.LayerNormRows(&lnLanes, rows, d, eps, x, gamma, beta, out)
}

// lnLanes are the NEON steps of LayerNormFloat.
var lnLanes = kernels.LayerNormLanes{W: 16, Sum: sumF64, SS: ssF64,
	Affine: func(x, out *float32, n int, gamma, beta *float32, mr [2]float32) {
		lnRowF32(x, out, n, gamma, beta, &mr)
	}}
