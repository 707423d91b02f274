package x86

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// expConsts are the constants of the vector exp and erf (gen_asm.go),
// each broadcast to 8 lanes; the order is fixed by the assembly.
type expConsts [25][8]float32

var vecConsts = func() *expConsts {
	var k expConsts
	vals := []float32{
		-87.3, 88.3762626647949, 1.44269504088896341, 0.693359375, -2.12194440e-4,
		1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
		1, 0, // 2^n bias, set below
		1 / math.Sqrt2, 0, // abs mask, set below
		0.3275911, 1,
		1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592,
		0, // sign mask, set below
		2, 0.5,
	}
	for i, v := range vals {
		for j := range k[i] {
			k[i][j] = v
		}
	}
	for j := 0; j < 8; j++ {
		k[12][j] = math.Float32frombits(127 << 23)
		k[14][j] = math.Float32frombits(0x7fffffff)
		k[22][j] = math.Float32frombits(0x80000000)
	}
	return &k
}()

// The float32 GELU and Softmax (AVX2 + FMA), within tolerances of
// kernels/ref's float64 evaluations (tested):
//
//   - GELUFloat (the erf form): |out − ref| ≤ 4e−7·max(1, |x|).
//   - SoftmaxFloat: |out − ref| ≤ 4e−6·ref + 1e−30 per element (an exp
//     of a few ulp, a float32 sum in 8 lanes — 16 with AVX-512F — and a
//     reciprocal).
//
// With AVX-512F every value runs in the kernels, the last d mod 16 under
// a mask; the ymm kernels leave the values past the last multiple of 8 to
// ref's float64 formulas.

// GELUFloat computes out = GELU(x) (the exact, erf form; the tanh
// approximation runs ref).
func GELUFloat(x, out []float32, approximate bool) {
	out = out[:len(x)] // the kernels write len(x) values from &out[0]
	n8 := len(x) / 8
	if asm && floatWide && !approximate && len(x) > 0 {
		geluF32Z(&x[0], &out[0], len(x), vecConsts)
		return
	}
	if !asm || approximate || n8 == 0 {
		ref.GELUFloat(x, out, approximate)
		return
	}
	geluF32(&x[0], &out[0], n8, vecConsts)
	ref.GELUFloat(x[8*n8:], out[8*n8:len(x)], false)
}

// AddFloat is ref.AddFloat, bit for bit: operands of the output's shape
// (kernels.Broadcast.Dense) 8 values at a time, the rest and any
// broadcast in ref.
func AddFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	n8 := p.N / 8
	if !asm || !p.Dense() || n8 == 0 {
		ref.AddFloat(p, a, b, out, actMin, actMax)
		return
	}
	a, b, out = a[:p.N], b[:p.N], out[:p.N]
	clip := [2]float32{actMin, actMax}
	addF32(&a[0], &b[0], &out[0], n8, &clip)
	tail := kernels.DenseBroadcast(p.N - 8*n8)
	ref.AddFloat(&tail, a[8*n8:], b[8*n8:], out[8*n8:], actMin, actMax)
}

// SoftmaxFloat computes softmax of β·x over each of rows rows of d values.
// A row holding NaN or ±Inf runs ref (NaN out, as there): the kernels'
// maximum and exp clamp would turn those into finite values.
func SoftmaxFloat(rows, d int, beta float32, x, out []float32) {
	if !asm || d == 0 || !floatWide && d < 8 {
		ref.SoftmaxFloat(rows, d, beta, x, out)
		return
	}
	softmaxRow := softmaxRow8
	if floatWide {
		softmaxRow = softmaxRowWide
	}
	x, out = x[:rows*d], out[:rows*d]
	for r := range rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		if !rowFinite(row) {
			ref.SoftmaxFloat(1, d, beta, row, o)
			continue
		}
		softmaxRow(beta, row, o)
	}
}

// softmaxRow8 is one finite row of SoftmaxFloat in ymm registers
// (len(row) ≥ 8): the values past the last multiple of 8 in ref's float64
// formulas.
func softmaxRow8(beta float32, row, o []float32) {
	b := float64(beta)
	d, n8 := len(row), len(row)/8
	mx := math.Inf(-1)
	if beta >= 0 {
		mx = float64(maxF32(&row[0], n8))
		for _, v := range row[8*n8:] {
			mx = math.Max(mx, float64(v))
		}
		mx *= b
	} else {
		for _, v := range row {
			mx = math.Max(mx, b*float64(v))
		}
	}
	bm := [2]float32{beta, float32(mx)}
	sum := float64(expSumF32(&row[0], &o[0], n8, &bm, vecConsts))
	var tail [8]float64
	for i := 8 * n8; i < d; i++ {
		tail[i-8*n8] = math.Exp(b*float64(row[i]) - mx)
		sum += tail[i-8*n8]
	}
	scaleF32(&o[0], n8, float32(1/sum))
	for i := 8 * n8; i < d; i++ {
		o[i] = float32(tail[i-8*n8] / sum)
	}
}

// softmaxRowWide is one finite row of SoftmaxFloat in zmm registers
// (floatWide), every value in the vector exp, the last len(row) mod 16
// under a mask: one softmaxRowZ call for β ≥ 0, expSumF32Z between ref's
// float64 maximum and a float64 1/sum otherwise.
func softmaxRowWide(beta float32, row, o []float32) {
	if beta >= 0 {
		softmaxRowZ(&row[0], &o[0], len(row), beta, vecConsts)
		return
	}
	b := float64(beta)
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, b*float64(v))
	}
	bm := [2]float32{beta, float32(mx)}
	s := float32(1 / float64(expSumF32Z(&row[0], &o[0], len(row), &bm, vecConsts)))
	for i := range o {
		o[i] *= s
	}
}

// rowFinite reports whether every value of row is finite: nonFiniteF32
// over its multiples of 8, the rest in Go.
func rowFinite(row []float32) bool {
	n8 := len(row) / 8
	if n8 > 0 && nonFiniteF32(&row[0], n8) {
		return false
	}
	return finiteF32(row[8*n8:])
}

// finiteF32 reports whether every value of v is finite (its exponent not
// all ones).
func finiteF32(v []float32) bool {
	for _, f := range v {
		if math.Float32bits(f)&0x7f800000 == 0x7f800000 {
			return false
		}
	}
	return true
}
