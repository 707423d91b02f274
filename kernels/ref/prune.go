package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// GELUGrad returns the derivative of the exact (erf) GELU:
// Φ(x) + x·φ(x).
func GELUGrad(x float64) float64 {
	return 0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
}

// actGrad returns the derivative of the MLP's activation at z.
func actGrad(z float64, relu bool) float64 {
	if relu {
		if z > 0 {
			return 1
		}
		return 0
	}
	return GELUGrad(z)
}

// ZOSensitivityFloat computes the zeroth-order sensitivity of every token
// (see kernels.ZOSensitivityParams) in modes ZOJVP, ZOLowRankJVP and
// ZOFroDiag, from z [Rows, F] (fc1's output before GELU), the direction
// images a [M, F] (a_j = W1·u_j; unused by ZOFroDiag) and w ([R, F]: fc2's
// weights or S_r·V_rᵀ; ZOFroDiag: [F] with w_c = ‖W2[:,c]‖²·‖W1[c,:]‖²).
// Everything runs in float64; t is scratch of F float64.
//
// ZOJVP is the exact limit h → 0 of ZOO-Prune's central difference
// mean_j ‖P(x+h·u_j) − P(x−h·u_j)‖/(2h) for P = fc2∘GELU∘fc1:
// the difference quotient tends to W2·(GELU′(z) ⊙ W1·u_j).
func ZOSensitivityFloat(p *kernels.ZOSensitivityParams, z, a, w []float32, t []float64, s []float32) {
	F := p.F
	for i := 0; i < p.Rows; i++ {
		zi := z[i*F : (i+1)*F]
		if p.Mode == kernels.ZOFroDiag {
			var ss float64
			for c, v := range zi {
				g := actGrad(float64(v), p.ReLU)
				ss += float64(float64(g*g) * float64(w[c]))
			}
			s[i] = float32(math.Sqrt(ss))
			continue
		}
		var tot float64
		for j := 0; j < p.M; j++ {
			aj := a[j*F : (j+1)*F]
			for c, v := range zi {
				t[c] = float64(actGrad(float64(v), p.ReLU) * float64(aj[c]))
			}
			var n2 float64
			for o := 0; o < p.R; o++ {
				wo := w[o*F : (o+1)*F]
				var y float64
				for c, v := range wo {
					y += float64(float64(v) * t[c])
				}
				n2 += float64(y * y)
			}
			tot += math.Sqrt(n2)
		}
		s[i] = float32(tot / float64(p.M))
	}
}

// ZOCentralDiffFloat computes ZOO-Prune's estimator literally, for
// validation: s_i = mean_j ‖W2·(GELU(W1(x_i+h·u_j)+b1) − GELU(W1(x_i−h·u_j)+b1))‖/(2h)
// with x [Rows, DIn], u [M, DIn], w1 [F, DIn], b1 [F] (may be nil) and
// w2 [R, F] (fc2's bias cancels), all in float64. t is scratch of
// F+DIn float64.
func ZOCentralDiffFloat(p *kernels.ZOSensitivityParams, x, u, w1, b1, w2 []float32, t []float64, s []float32) {
	F, DI := p.F, p.DIn
	h := float64(p.H)
	diff, xp := t[:F], t[F:F+DI]
	mlp1 := func(sign float64, j int, xi []float32) {
		uj := u[j*DI : (j+1)*DI]
		for k := range xp {
			xp[k] = float64(xi[k]) + float64(sign*h*float64(uj[k]))
		}
		for c := 0; c < F; c++ {
			var acc float64
			if b1 != nil {
				acc = float64(b1[c])
			}
			for k, wv := range w1[c*DI : (c+1)*DI] {
				acc += float64(float64(wv) * xp[k])
			}
			if p.ReLU {
				diff[c] += sign * math.Max(acc, 0)
			} else {
				diff[c] += sign * GELU(acc)
			}
		}
	}
	for i := 0; i < p.Rows; i++ {
		xi := x[i*DI : (i+1)*DI]
		var tot float64
		for j := 0; j < p.M; j++ {
			clear(diff)
			mlp1(1, j, xi)
			mlp1(-1, j, xi)
			var n2 float64
			for o := 0; o < p.R; o++ {
				var y float64
				for c, wv := range w2[o*F : (o+1)*F] {
					y += float64(float64(wv) * diff[c])
				}
				n2 += float64(y * y)
			}
			tot += math.Sqrt(n2) / (2 * h)
		}
		s[i] = float32(tot / float64(p.M))
	}
}

// NewZOGradTable returns the activation's derivative (GELU′, or ReLU′
// with relu) at the 256 codes of an int8 tensor with parameters z, in Q14
// (GELU′ lies in [−0.17, 1.13], so it fits int16).
func NewZOGradTable(z quant.Params, relu bool) *[256]int16 {
	t := new([256]int16)
	for i := range t {
		x := float64(z.Scale) * float64(int32(i)+quant.Int8Min-z.ZeroPoint)
		t[i] = int16(math.Round(actGrad(x, relu) * (1 << 14)))
	}
	return t
}

// ZOSensitivityInt8 is ZOSensitivityFloat on the int8 fc1 output z:
// GELU′ comes from GradQ14, the products GELU′·a_j are exact int32
// (int8 a_j with per-direction scale DirScale[j]), the products with the
// int8 rows of w (per-row scale WScale[o]) accumulate exactly in int64,
// and the norms, the mean over directions and the output are float64
// (a statistic, not a requantized activation) with explicit roundings.
// ZOFroDiag reads w as float32 [F]. t is scratch of F int32.
func ZOSensitivityInt8(p *kernels.ZOSensitivityParams, z, a, w8 []int8, wf []float32, t []int32, s []float32) {
	F := p.F
	g := p.GradQ14
	for i := 0; i < p.Rows; i++ {
		zi := z[i*F : (i+1)*F]
		if p.Mode == kernels.ZOFroDiag {
			var ss float64
			for c, v := range zi {
				gv := float64(g[uint8(v)^0x80]) / (1 << 14)
				ss += float64(float64(gv*gv) * float64(wf[c]))
			}
			s[i] = float32(math.Sqrt(ss))
			continue
		}
		var tot float64
		for j := 0; j < p.M; j++ {
			aj := a[j*F : (j+1)*F]
			for c, v := range zi {
				t[c] = int32(g[uint8(v)^0x80]) * int32(aj[c])
			}
			var n2 float64
			for o := 0; o < p.R; o++ {
				wo := w8[o*F : (o+1)*F]
				var acc int64
				for c, v := range wo {
					acc += int64(t[c]) * int64(v)
				}
				y := float64(float64(acc) * float64(p.WScale[o]))
				n2 += float64(y * y)
			}
			tot += float64(math.Sqrt(n2) * float64(p.DirScale[j]))
		}
		s[i] = float32(tot / float64(p.M) / (1 << 14))
	}
}

// SelectScratch is the working memory of DiverseSelect for up to Rows
// tokens, allocated once at load.
type SelectScratch struct {
	Norm, DMin, W []float64
	Taken         []bool
}

// NewSelectScratch allocates scratch for rows tokens.
func NewSelectScratch(rows int) *SelectScratch {
	return &SelectScratch{Norm: make([]float64, rows), DMin: make([]float64, rows),
		W: make([]float64, rows), Taken: make([]bool, rows)}
}

// DiverseSelectFloat runs ZOO-Prune's Sensitivity-Aware Diverse Selection
// on feat [Rows, D] and sensitivities s [Rows] (see
// kernels.DiverseSelectParams) and writes the kept row indices to idx:
// 0…Prefix−1, then the selected rows in increasing order, then −1 for
// the unused tail of idx. Choices: when every candidate has the same
// sensitivity the normalized weights are all 1 (pure diversity); a token
// with zero norm is at cosine distance 1 from everything; a NaN score
// never wins.
func DiverseSelectFloat(p *kernels.DiverseSelectParams, feat []float32, s []float32, sc *SelectScratch, idx []int16) {
	if p.TopK {
		topKSelect(p, s, sc, idx)
		return
	}
	D := p.D
	for i := p.Prefix; i < p.Rows; i++ {
		var n2 float64
		for _, v := range feat[i*D : (i+1)*D] {
			n2 += float64(float64(v) * float64(v))
		}
		sc.Norm[i] = math.Sqrt(n2)
	}
	dot := func(a, b int) float64 {
		fa, fb := feat[a*D:(a+1)*D], feat[b*D:(b+1)*D]
		var d float64
		for k, v := range fa {
			d += float64(float64(v) * float64(fb[k]))
		}
		return d
	}
	diverseSelect(p, s, sc, dot, idx)
}

// DiverseSelectInt8 is DiverseSelectFloat on int8 features: dot products
// and squared norms of feat − FeatZP are exact integers, the cosine and
// the scores float64.
func DiverseSelectInt8(p *kernels.DiverseSelectParams, feat []int8, s []float32, sc *SelectScratch, idx []int16) {
	if p.TopK {
		topKSelect(p, s, sc, idx)
		return
	}
	D := p.D
	zp := p.FeatZP
	for i := p.Prefix; i < p.Rows; i++ {
		var n2 int64
		for _, v := range feat[i*D : (i+1)*D] {
			d := int64(int32(v) - zp)
			n2 += d * d
		}
		sc.Norm[i] = math.Sqrt(float64(n2))
	}
	dot := func(a, b int) float64 {
		fa, fb := feat[a*D:(a+1)*D], feat[b*D:(b+1)*D]
		var d int64
		for k, v := range fa {
			d += int64((int32(v) - zp) * (int32(fb[k]) - zp))
		}
		return float64(d)
	}
	diverseSelect(p, s, sc, dot, idx)
}

// selectStart fills idx with the prefix rows and −1 and returns how many
// candidates to keep.
func selectStart(p *kernels.DiverseSelectParams, idx []int16) int {
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < p.Prefix; i++ {
		idx[i] = int16(i)
	}
	return min(p.Keep, p.Rows-p.Prefix, len(idx)-p.Prefix)
}

// selectEnd lists the taken candidates after the prefix, in increasing
// order.
func selectEnd(p *kernels.DiverseSelectParams, sc *SelectScratch, idx []int16) {
	o := p.Prefix
	for i := p.Prefix; i < p.Rows; i++ {
		if sc.Taken[i] {
			idx[o] = int16(i)
			o++
		}
	}
}

// topKSelect keeps the keep highest scores: repeated arg-max over the
// candidates not yet taken, so ties go to the lowest index and a NaN score
// is taken only when nothing else is left.
func topKSelect(p *kernels.DiverseSelectParams, s []float32, sc *SelectScratch, idx []int16) {
	keep := selectStart(p, idx)
	for i := p.Prefix; i < p.Rows; i++ {
		sc.Taken[i] = false
	}
	for t := 0; t < keep; t++ {
		best := -1
		for i := p.Prefix; i < p.Rows; i++ {
			if !sc.Taken[i] && (best < 0 || s[i] > s[best] || s[best] != s[best] && s[i] == s[i]) {
				best = i
			}
		}
		sc.Taken[best] = true
	}
	selectEnd(p, sc, idx)
}

func diverseSelect(p *kernels.DiverseSelectParams, s []float32, sc *SelectScratch, dot func(a, b int) float64, idx []int16) {
	keep := selectStart(p, idx)
	if keep <= 0 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := p.Prefix; i < p.Rows; i++ {
		lo, hi = math.Min(lo, float64(s[i])), math.Max(hi, float64(s[i]))
		sc.Taken[i] = false
		sc.DMin[i] = math.Inf(1)
	}
	for i := p.Prefix; i < p.Rows; i++ {
		if hi == lo {
			sc.W[i] = 1
		} else {
			sc.W[i] = (float64(s[i]) - lo) / (hi - lo + 1e-8)
		}
	}
	best := -1
	for i := p.Prefix; i < p.Rows; i++ {
		if best < 0 || sc.W[i] > sc.W[best] {
			best = i
		}
	}
	for t := 0; ; t++ {
		sc.Taken[best] = true
		if t+1 == keep {
			break
		}
		last := best
		best = -1
		bestScore := math.Inf(-1)
		for i := p.Prefix; i < p.Rows; i++ {
			if sc.Taken[i] {
				continue
			}
			d := 1.0
			if na, nb := sc.Norm[last], sc.Norm[i]; na > 0 && nb > 0 {
				d = 1 - dot(last, i)/float64(na*nb)
			}
			sc.DMin[i] = math.Min(sc.DMin[i], d)
			score := float64(sc.DMin[i] * sc.W[i])
			if p.AddWeight > 0 {
				score = sc.DMin[i] + float64(p.AddWeight*sc.W[i])
			}
			if best < 0 || score > bestScore {
				best, bestScore = i, score
			}
		}
	}
	selectEnd(p, sc, idx)
}

// ScatterRows is GatherRows' inverse: it writes the fill pattern into
// every row of out (n rows of rowBytes bytes), then row k of x to row
// pos[k] of out for each pos[k] in [0, n).
func ScatterRows(pos []int16, n, rowBytes int, fill []byte, x, out []byte) {
	for b := 0; b < n*rowBytes; b += len(fill) {
		copy(out[b:], fill)
	}
	for k, p := range pos {
		if int(p) < 0 || int(p) >= n {
			continue
		}
		copy(out[int(p)*rowBytes:(int(p)+1)*rowBytes], x[k*rowBytes:(k+1)*rowBytes])
	}
}

// GatherRows copies row idx[k] of x (rows of rowBytes bytes, n rows) to
// row k of out; an index outside [0, n) writes the fill pattern (one
// element of elemBytes bytes repeated): the zero point for int8 tokens,
// 0 for float32, −1 for int16 positions.
func GatherRows(idx []int16, n, rowBytes int, fill []byte, x, out []byte) {
	for k, i := range idx {
		dst := out[k*rowBytes : (k+1)*rowBytes]
		if int(i) < 0 || int(i) >= n {
			for b := 0; b < rowBytes; b += len(fill) {
				copy(dst[b:], fill)
			}
			continue
		}
		copy(dst, x[int(i)*rowBytes:(int(i)+1)*rowBytes])
	}
}
