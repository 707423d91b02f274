package ref

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// NewLayerNormParams folds LayerNorm's real parameters into the int8
// kernel's (at load; it allocates): Gamma[i] = float32(γ_i/s_out),
// Beta[i] = float32(β_i/s_out + zp_out), Eps = ε/s_in², each computed in
// float64 and rounded once, so every runtime folds to the same bits.
func NewLayerNormParams(rows, d int, eps float32, gamma, beta []float32, in, out quant.Params) (kernels.LayerNormParams, error) {
	p := kernels.LayerNormParams{Rows: rows, D: d}
	if rows < 0 || d <= 0 || len(gamma) != d || len(beta) != d {
		return p, fmt.Errorf("layer norm: %d rows of %d with %d gammas and %d betas", rows, d, len(gamma), len(beta))
	}
	if err := in.Validate(quant.Int8Min, quant.Int8Max); err != nil {
		return p, fmt.Errorf("layer norm: input: %w", err)
	}
	if err := out.Validate(quant.Int8Min, quant.Int8Max); err != nil {
		return p, fmt.Errorf("layer norm: output: %w", err)
	}
	if !(eps >= 0) || math.IsInf(float64(eps), 0) {
		return p, fmt.Errorf("layer norm: epsilon %g is not finite and non-negative", eps)
	}
	p.Gamma, p.Beta = make([]float32, d), make([]float32, d)
	so := float64(out.Scale)
	for i := range d {
		p.Gamma[i] = float32(float64(gamma[i]) / so)
		p.Beta[i] = float32(float64(beta[i])/so + float64(out.ZeroPoint))
	}
	p.Eps = float64(eps) / (float64(in.Scale) * float64(in.Scale))
	return p, nil
}

// LayerNormInt8 normalizes each of p.Rows rows of p.D int8 values. Per row,
// with S = Σq and Q = Σq² summed exactly in int64 (the zero point cancels):
//
//	var  = (D·Q − S²)/D²                    float64
//	rstd = 1/sqrt(var + Eps)                 float64; 0 when var + Eps ≤ 0
//	m    = float32(S/D), r = float32(rstd)
//
// and per element, in float32 with every operation rounded on its own:
//
//	t = float32(q) − m;  u = t·r;  v = u·Gamma[i];  y = v + Beta[i]
//	out = clamp(round(y), −128, 127)
//
// round is half away from zero (as quant.Params.Quantize; NEON FCVTAS).
// A NaN y, reachable only with non-finite Gamma or Beta, gives −128.
// The sums are exact for D ≤ 2^19. p comes from NewLayerNormParams.
func LayerNormInt8(p *kernels.LayerNormParams, x, out []int8) {
	d := p.D
	if d <= 0 {
		return
	}
	gamma, beta := p.Gamma[:d], p.Beta[:d]
	for r := range p.Rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		var s, ss int64
		for _, q := range row {
			v := int64(q)
			s += v
			ss += v * v
		}
		m, rs := LayerNormRowScale(p, s, ss)
		for i, q := range row {
			o[i] = roundClampInt8(affine(float32(q), m, rs, gamma[i], beta[i]))
		}
	}
}

// LayerNormRowScale returns LayerNormInt8's per-row mean m and reciprocal
// standard deviation r from S = Σq and Q = Σq² of a row of p.D values (the
// formulas above), for accelerated kernels that sum the row themselves.
func LayerNormRowScale(p *kernels.LayerNormParams, s, ss int64) (m, r float32) {
	dd := float64(p.D)
	variance := float64(int64(p.D)*ss-s*s) / (dd * dd)
	rstd := 0.0
	if den := variance + p.Eps; den > 0 {
		rstd = 1 / math.Sqrt(den)
	}
	return float32(float64(s) / dd), float32(rstd)
}

// affine returns ((x − m)·r)·g + b with each operation rounded to float32.
//
// The explicit float32 conversions are load-bearing: the Go spec lets a
// compiler fuse x*y + z into one fused multiply-add (it does on arm64,
// ppc64 and s390x, not on amd64), which skips the product's rounding and
// changes the last bit. An explicit conversion forces that rounding, so
// every platform, and the NEON kernel (FSUB, FMUL, FMUL, FADD), produces
// the same bits.
func affine(x, m, r, g, b float32) float32 {
	t := float32(x - m)
	u := float32(t * r)
	v := float32(u * g)
	return float32(v + b)
}

// roundClampInt8 rounds half away from zero and clamps to [−128, 127];
// NaN gives −128.
func roundClampInt8(y float32) int8 {
	r := math.Round(float64(y))
	if r >= 127 {
		return 127
	}
	if r >= -128 {
		return int8(r)
	}
	return -128
}

// LayerNormStats returns LayerNormFloat's float32 mean and reciprocal
// standard deviation of one row (len(row) ≥ 1), computed as documented
// there.
func LayerNormStats(row []float32, eps float32) (m, r float32) {
	var s float64
	for _, v := range row {
		s += float64(v)
	}
	mean := s / float64(len(row))
	var ss float64
	for _, v := range row {
		t := float64(v) - mean
		ss += t * t
	}
	rstd := 0.0
	if den := ss/float64(len(row)) + float64(eps); den > 0 {
		rstd = 1 / math.Sqrt(den)
	}
	return float32(mean), float32(rstd)
}

// LayerNormFloat normalizes each of rows rows of d float32 values over the
// row and applies gamma and beta. Per row, in float64 and in index order:
// mean = Σx/d, var = Σ(x − mean)²/d, rstd = 1/sqrt(var + eps) (0 when
// var + eps ≤ 0); then per element, as LayerNormInt8, in float32 with each
// operation rounded on its own: out = ((x − m)·r)·gamma + beta with
// m = float32(mean), r = float32(rstd).
func LayerNormFloat(rows, d int, eps float32, x, gamma, beta, out []float32) {
	if d <= 0 {
		return
	}
	gamma, beta = gamma[:d], beta[:d]
	for r := range rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		m, rs := LayerNormStats(row, eps)
		for i, v := range row {
			o[i] = affine(v, m, rs, gamma[i], beta[i])
		}
	}
}
