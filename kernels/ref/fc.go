// Accumulator limits of the int8 GEMM-like kernels (this file, matmul.go,
// conv.go, pool.go, mean.go): they accumulate in int32. A product
// (x − zp)·w with int8 x and a symmetric weight in [−127, 127] is at most
// 255·127 = 32,385 in magnitude, so a reduction length K ≤ 66,000
// (2^31/32,385 ≈ 66,311, less the bias) cannot overflow; BatchMatMul, whose
// two operands both carry zero points, and FC/Conv with legacy asymmetric
// weights (WZP ≠ 0, |w − WZP| ≤ 255), are safe up to K ≤ 33,000
// (2^31/255²). Every model edgeinfer targets is orders of magnitude below
// these limits. Float kernels compute in float32 and apply the fused
// activation as a clamp to [ActMin, ActMax] (±Inf when there is none).

package ref

import "github.com/edgeinfer/edgeinfer/kernels"

// FullyConnectedInt8 computes, for m < p.M and n < p.N,
//
//	out[m·N+n] = p.Out.Requantize(Bias[n] + Σ_k (x[m·K+k] − InZP)·(w[n·K+k] − WZP), n)
//
// with x [M,K], w [N,K] (one row per output channel) and out [M,N]. A nil
// Bias counts as zero.
//
// Rows of x are taken four at a time, so that each weight is loaded once
// for four products, and the zero point is applied once per output as
// Σ_k (x−zp)·w = Σ_k x·w − zp·Σ_k w; int32 wrap-around cannot change the
// result, which fits int32 (see the limits above).
func FullyConnectedInt8(p *kernels.FCParams, x, w, out []int8) {
	M, N, K := p.M, p.N, p.K
	x = x[:M*K]
	w = w[:N*K]
	out = out[:M*N]
	zp := p.InZP
	m := 0
	for ; m+4 <= M; m += 4 {
		x0, x1, x2, x3 := x[m*K:(m+1)*K], x[(m+1)*K:(m+2)*K], x[(m+2)*K:(m+3)*K], x[(m+3)*K:(m+4)*K]
		o0, o1, o2, o3 := out[m*N:(m+1)*N], out[(m+1)*N:(m+2)*N], out[(m+2)*N:(m+3)*N], out[(m+3)*N:(m+4)*N]
		for n := range o0 {
			var b int32
			if p.Bias != nil {
				b = p.Bias[n]
			}
			s0, s1, s2, s3, sw := dot4Int8(x0, x1, x2, x3, w[n*K:n*K+K], p.WZP)
			b -= zp * sw
			o0[n] = p.Out.Requantize(b+s0, n)
			o1[n] = p.Out.Requantize(b+s1, n)
			o2[n] = p.Out.Requantize(b+s2, n)
			o3[n] = p.Out.Requantize(b+s3, n)
		}
	}
	for ; m < M; m++ {
		xr := x[m*K : m*K+K]
		or := out[m*N : m*N+N]
		for n := range or {
			var acc int32
			if p.Bias != nil {
				acc = p.Bias[n]
			}
			acc += dotWeights(xr, w[n*K:n*K+K], zp, p.WZP)
			or[n] = p.Out.Requantize(acc, n)
		}
	}
}

// FullyConnectedFloat computes, for m < p.M and n < p.N,
//
//	out[m·N+n] = clamp(Bias[n] + Σ_k x[m·K+k]·w[n·K+k], ActMin, ActMax)
//
// in float32, with x [M,K], w [N,K] and out [M,N]. A nil Bias counts as
// zero. Rows of x are taken four at a time, as in FullyConnectedInt8.
func FullyConnectedFloat(p *kernels.FCFloatParams, x, w, out []float32) {
	M, N, K := p.M, p.N, p.K
	x = x[:M*K]
	w = w[:N*K]
	out = out[:M*N]
	m := 0
	for ; m+4 <= M; m += 4 {
		x0, x1, x2, x3 := x[m*K:(m+1)*K], x[(m+1)*K:(m+2)*K], x[(m+2)*K:(m+3)*K], x[(m+3)*K:(m+4)*K]
		o0, o1, o2, o3 := out[m*N:(m+1)*N], out[(m+1)*N:(m+2)*N], out[(m+2)*N:(m+3)*N], out[(m+3)*N:(m+4)*N]
		for n := range o0 {
			var b float32
			if p.Bias != nil {
				b = p.Bias[n]
			}
			s0, s1, s2, s3 := dot4Float(x0, x1, x2, x3, w[n*K:n*K+K])
			o0[n] = clampF(b+s0, p.ActMin, p.ActMax)
			o1[n] = clampF(b+s1, p.ActMin, p.ActMax)
			o2[n] = clampF(b+s2, p.ActMin, p.ActMax)
			o3[n] = clampF(b+s3, p.ActMin, p.ActMax)
		}
	}
	for ; m < M; m++ {
		xr := x[m*K : m*K+K]
		or := out[m*N : m*N+N]
		for n := range or {
			var acc float32
			if p.Bias != nil {
				acc = p.Bias[n]
			}
			acc += dotFloat(xr, w[n*K:n*K+K])
			or[n] = clampF(acc, p.ActMin, p.ActMax)
		}
	}
}

// dot4Int8 returns s_r = Σ_k x_r[k]·(w[k] − wzp) for the four rows
// x0..x3 and sw = Σ_k (w[k] − wzp), over len(w) terms, in wrapping int32
// arithmetic. The caller subtracts its own zero point as zp·sw.
func dot4Int8(x0, x1, x2, x3, w []int8, wzp int32) (s0, s1, s2, s3, sw int32) {
	n := len(w)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for k, wv := range w {
		wk := int32(wv) - wzp
		s0 += int32(x0[k]) * wk
		s1 += int32(x1[k]) * wk
		s2 += int32(x2[k]) * wk
		s3 += int32(x3[k]) * wk
		sw += wk
	}
	return s0, s1, s2, s3, sw
}

// dot4Float returns Σ_k x_r[k]·w[k] for the four rows x0..x3, summed in
// order with every product rounded to float32 (no fused multiply-add).
func dot4Float(x0, x1, x2, x3, w []float32) (s0, s1, s2, s3 float32) {
	n := len(w)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for k, wk := range w {
		s0 += float32(x0[k] * wk)
		s1 += float32(x1[k] * wk)
		s2 += float32(x2[k] * wk)
		s3 += float32(x3[k] * wk)
	}
	return s0, s1, s2, s3
}

// dotInt8 returns Σ_k (x[k] − zp)·w[k] over len(x) terms, in int32
// (wrapping on overflow, which the K limits in the package comment rule
// out). w must be at least as long as x.
func dotInt8(x, w []int8, zp int32) int32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 int32
	for len(x) >= 4 && len(w) >= 4 {
		s0 += (int32(x[0]) - zp) * int32(w[0])
		s1 += (int32(x[1]) - zp) * int32(w[1])
		s2 += (int32(x[2]) - zp) * int32(w[2])
		s3 += (int32(x[3]) - zp) * int32(w[3])
		x, w = x[4:], w[4:]
	}
	for i := range x {
		s0 += (int32(x[i]) - zp) * int32(w[i])
	}
	return s0 + s1 + s2 + s3
}

// dotWeights returns Σ_k (x[k] − zp)·(w[k] − wzp), taking dotInt8's
// path for symmetric weights (wzp = 0).
func dotWeights(x, w []int8, zp, wzp int32) int32 {
	if wzp == 0 {
		return dotInt8(x, w, zp)
	}
	return dotInt8ZP(x, w, zp, wzp)
}

// dotInt8ZP returns Σ_k (a[k] − azp)·(b[k] − bzp) over len(a) terms.
func dotInt8ZP(a, b []int8, azp, bzp int32) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	for len(a) >= 4 && len(b) >= 4 {
		s0 += (int32(a[0]) - azp) * (int32(b[0]) - bzp)
		s1 += (int32(a[1]) - azp) * (int32(b[1]) - bzp)
		s2 += (int32(a[2]) - azp) * (int32(b[2]) - bzp)
		s3 += (int32(a[3]) - azp) * (int32(b[3]) - bzp)
		a, b = a[4:], b[4:]
	}
	for i := range a {
		s0 += (int32(a[i]) - azp) * (int32(b[i]) - bzp)
	}
	return s0 + s1 + s2 + s3
}

// dotFloat returns Σ_k x[k]·w[k], summed in order with every product
// rounded to float32 — the same order as dot4Float, so that a row gives the
// same bits whichever path (and so whichever thread split) computes it.
func dotFloat(x, w []float32) float32 {
	w = w[:len(x)]
	var s float32
	for i, xv := range x {
		s += float32(xv * w[i])
	}
	return s
}

// clampF returns v limited to [lo, hi]; NaN passes through.
func clampF(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
