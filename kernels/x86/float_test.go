package x86

import (
	"fmt"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// within checks got against ref's want with the documented bound
// K·2^−23·mag[i], mag[i] = |bias| + Σ|x·w| of output i.
func within(t *testing.T, what string, got, want, mag []float32, k int) {
	t.Helper()
	for i := range want {
		tol := float64(k) * math.Exp2(-23) * float64(mag[i])
		if d := math.Abs(float64(got[i] - want[i])); d > tol || math.IsNaN(float64(got[i])) != math.IsNaN(float64(want[i])) {
			t.Fatalf("%s: out[%d] = %v, want %v (|diff| %g > %g)", what, i, got[i], want[i], d, tol)
		}
	}
}

func checkFloat(t *testing.T) {
	t.Helper()
	if ok, why := FloatSupported(); !ok {
		t.Skipf("no float32 kernel on this CPU: %s", why)
	}
}

func TestFullyConnectedFloatWithinTolerance(t *testing.T) {
	checkFloat(t)
	g := newGen(21)
	for i := 0; i < iters(200); i++ {
		m, n, k := g.shape(i)
		p := kernels.FCFloatParams{M: m, N: n, K: k, ActMin: float32(math.Inf(-1)), ActMax: float32(math.Inf(1))}
		if i%3 == 0 {
			p.ActMin, p.ActMax = 0, 6
		}
		x, w := g.F32(m*k), g.F32(n*k)
		if i%2 == 0 {
			p.Bias = g.F32(n)
		}
		want, got, mag := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
		ref.FullyConnectedFloat(&p, x, w, want)
		for r := 0; r < m; r++ {
			for c := 0; c < n; c++ {
				var s float64
				if p.Bias != nil {
					s = math.Abs(float64(p.Bias[c]))
				}
				for kk := 0; kk < k; kk++ {
					s += math.Abs(float64(x[r*k+kk] * w[c*k+kk]))
				}
				mag[r*n+c] = float32(s)
			}
		}
		pk := PackFCFloat(&p, w)
		FullyConnectedFloat(&p, x, pk, got)
		within(t, fmt.Sprintf("case %d M=%d N=%d K=%d", i, m, n, k), got, want, mag, k)
		// Any split of rows (threads) gives the same bits.
		split := make([]float32, m*n)
		for r0 := 0; r0 < m; {
			r1 := min(m, r0+1+g.IntN(8))
			q := p
			q.M = r1 - r0
			FullyConnectedFloat(&q, x[r0*k:r1*k], pk, split[r0*n:r1*n])
			r0 = r1
		}
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(split[j]) {
				t.Fatalf("case %d: row split changes out[%d]: %v vs %v", i, j, split[j], got[j])
			}
		}
	}
}

func TestMatMulFloatWithinTolerance(t *testing.T) {
	checkFloat(t)
	g := newGen(22)
	for i := 0; i < iters(200); i++ {
		m, n, k := g.shape(i)
		if i%11 == 3 {
			m, k, n = 1+g.IntN(5), 100+g.IntN(300), 100+g.IntN(400) // several blocks
		}
		if i%19 == 9 {
			m, n, k = 1+g.IntN(9), 1100+g.IntN(500), 1+g.IntN(12) // short K, blocks bounded by the bias buffer
		}
		p := kernels.MatMulParams{M: m, N: n, K: k, AdjY: i%2 == 1, AdjX: i%13 == 5}
		bRows, bw := k, n
		if p.AdjY {
			bRows, bw = n, k
		}
		if i%3 == 0 && !p.AdjX {
			p.LDA, p.LDB, p.LDO = k+g.IntN(9), bw+g.IntN(9), n+g.IntN(9)
		}
		lda, ldb, ldo := p.Strides()
		aRows := m
		if p.AdjX {
			aRows = k
		}
		a, b := g.F32(aRows*lda), g.F32(bRows*ldb)
		want, got, mag := make([]float32, m*ldo), make([]float32, m*ldo), make([]float32, m*ldo)
		ref.MatMulFloat(&p, a, b, want)
		MatMulFloat(&p, a, b, got)
		at := func(r, kk int) float32 {
			if p.AdjX {
				return a[kk*lda+r]
			}
			return a[r*lda+kk]
		}
		bt := func(kk, c int) float32 {
			if p.AdjY {
				return b[c*ldb+kk]
			}
			return b[kk*ldb+c]
		}
		for r := 0; r < m; r++ {
			for c := 0; c < n; c++ {
				var s float64
				for kk := 0; kk < k; kk++ {
					s += math.Abs(float64(at(r, kk) * bt(kk, c)))
				}
				mag[r*ldo+c] = float32(s)
			}
		}
		within(t, fmt.Sprintf("case %d M=%d N=%d K=%d AdjX=%v AdjY=%v", i, m, n, k, p.AdjX, p.AdjY), got, want, mag, k)
	}
}

func TestConv2DFloatWithinTolerance(t *testing.T) {
	checkFloat(t)
	g := newGen(23)
	for i := 0; i < iters(100); i++ {
		p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(12), W: 1 + g.IntN(12), Cin: 1 + g.IntN(20),
			KH: 1 + g.IntN(3), KW: 1 + g.IntN(3), Cout: 1 + g.IntN(40),
			StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1 + g.IntN(2), DilationW: 1 + g.IntN(2),
			ActMin: float32(math.Inf(-1)), ActMax: float32(math.Inf(1))}
		if i%4 == 0 {
			p.KH, p.KW, p.StrideH, p.StrideW, p.DilationH, p.DilationW = 1, 1, 1, 1, 1, 1
		}
		if g.IntN(2) == 0 && i%4 != 0 {
			p.PadTop, p.PadLeft = g.IntN(p.KH), g.IntN(p.KW)
		}
		kerneltest.FitOutput(&p)
		k := p.KH * p.KW * p.Cin
		p.BiasF = g.F32(p.Cout)
		rows := p.N * p.OH
		p.RowLo, p.RowHi = 0, rows
		x, w := g.F32(p.N*p.H*p.W*p.Cin), g.F32(p.Cout*k)
		want := make([]float32, p.N*p.OH*p.OW*p.Cout)
		got := make([]float32, len(want))
		ref.Conv2DFloat(&p, x, w, want)
		Conv2DFloat(&p, x, PackConvFloat(&p, w), got)
		// The magnitude |bias| + Σ|x·w| of each output: ref's convolution
		// of the absolute values.
		abs := func(v []float32) []float32 {
			o := make([]float32, len(v))
			for j, x := range v {
				o[j] = float32(math.Abs(float64(x)))
			}
			return o
		}
		pa := p
		pa.BiasF = abs(p.BiasF)
		mag := make([]float32, len(want))
		ref.Conv2DFloat(&pa, abs(x), abs(w), mag)
		within(t, fmt.Sprintf("case %d %+v", i, p), got, want, mag, k)
	}
}

// TestFloatWideSameBits: the zmm kernel over four panels (AVX-512F) gives
// the bits of the ymm kernel, so the float results do not depend on which
// one a CPU runs.
func TestFloatWideSameBits(t *testing.T) {
	checkFloat(t)
	if !hasAVX512F() {
		t.Skip("no AVX-512F: only the ymm kernel runs here")
	}
	defer func(w bool) { floatWide = w }(floatWide)
	g := newGen(24)
	for i := 0; i < iters(60); i++ {
		m, n, k := 1+g.IntN(30), 64*(1+g.IntN(4))+g.IntN(80), 1+g.IntN(300)
		p := kernels.FCFloatParams{M: m, N: n, K: k, Bias: g.F32(n), ActMin: float32(math.Inf(-1)), ActMax: float32(math.Inf(1))}
		if i%3 == 0 {
			p.ActMin, p.ActMax = -1, 1
		}
		x, w := g.F32(m*k), g.F32(n*k)
		pk := PackFCFloat(&p, w)
		narrow, wide := make([]float32, m*n), make([]float32, m*n)
		floatWide = false
		FullyConnectedFloat(&p, x, pk, narrow)
		floatWide = true
		FullyConnectedFloat(&p, x, pk, wide)
		sameBits(t, fmt.Sprintf("case %d M=%d N=%d K=%d: zmm", i, m, n, k), wide, narrow)
	}
}

// TestGemmF32TSameBits: the 12-row tail kernels (gemmF32T: up to 8
// columns, ymm; gemmF32TZ: up to 15, zmm) give the bits of gemmF32 on the
// first cols columns of the panel, NaN, infinities and signed zeros
// included, and store nothing outside those columns.
func TestGemmF32TSameBits(t *testing.T) {
	checkFloat(t)
	if asm && !hasAVX512VL() {
		t.Skip("no AVX-512VL: gemmF32T does not run here")
	}
	g := newGen(25)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 0, 1e30, -1e-30}
	for i := 0; i < iters(200); i++ {
		zmm := i%2 == 1
		tiles, k, cols := 1+g.IntN(3), 1+g.IntN(90), 1+g.IntN(8)
		if zmm {
			cols = 1 + g.IntN(15)
		}
		lda, ldc := k+g.IntN(5), cols+g.IntN(20)
		m := 12 * tiles
		a, b, bias := g.F32(m*lda), g.F32(16*k), g.F32(16)
		if i%4 == 1 {
			for j := 0; j < 1+g.IntN(4); j++ {
				a[g.IntN(len(a))] = special[g.IntN(len(special))]
				b[g.IntN(len(b))] = special[g.IntN(len(special))]
				bias[g.IntN(len(bias))] = special[g.IntN(len(special))]
			}
		}
		clip := [2]float32{float32(math.Inf(-1)), float32(math.Inf(1))}
		if i%3 == 0 {
			clip = [2]float32{-0.5, 0.75}
		}
		const canary = -12345.5
		got := make([]float32, m*ldc+8)
		for j := range got {
			got[j] = canary
		}
		if zmm {
			gemmF32TZ(&a[0], 4*lda, tiles, k, &b[0], &bias[0], &got[0], 4*ldc, cols, &clip)
		} else {
			gemmF32T(&a[0], 4*lda, tiles, k, &b[0], &bias[0], &got[0], 4*ldc, cols, &clip)
		}
		var tile [mr * 16]float32
		for r0 := 0; r0 < m; r0 += mr {
			gemmF32(&a[r0*lda], 4*lda, mr, k, &b[0], 1, &bias[0], &tile[0], 64, &clip)
			for r := r0; r < r0+mr; r++ {
				for c := 0; c < cols; c++ {
					if w, o := tile[16*(r-r0)+c], got[r*ldc+c]; math.Float32bits(w) != math.Float32bits(o) {
						t.Fatalf("case %d zmm=%v tiles=%d k=%d cols=%d: out[%d][%d] = %v, gemmF32 %v", i, zmm, tiles, k, cols, r, c, o, w)
					}
				}
			}
		}
		for j, v := range got {
			if r, c := j/ldc, j%ldc; (r >= m || c >= cols) && v != canary {
				t.Fatalf("case %d zmm=%v tiles=%d cols=%d ldc=%d: stored %v at row %d column %d", i, zmm, tiles, cols, ldc, v, r, c)
			}
		}
	}
}

// TestFloatTailSameBits: BatchMatMul and FullyConnected give the same
// bits with and without gemmF32T and gemmF32TZ (the attention scores' 197
// columns and other short last panels, row counts around multiples of
// 12).
func TestFloatTailSameBits(t *testing.T) {
	checkFloat(t)
	if asm && !hasAVX512VL() {
		t.Skip("no AVX-512VL: gemmF32T does not run here")
	}
	defer func(v, vl bool) { floatTail, tailVL = v, vl }(floatTail, tailVL)
	g := newGen(26)
	for i := 0; i < iters(80); i++ {
		m, n, k := 1+g.IntN(40), 1+g.IntN(100), 1+g.IntN(120)
		switch i % 5 {
		case 0:
			m, n, k = 197, 197, 64
		case 1:
			m, n = 12*(1+g.IntN(4))+g.IntN(2), 16*g.IntN(6)+1+g.IntN(15)
		}
		tailVL = i%4 != 3 // gemmF32TZ for every width where false
		p := kernels.MatMulParams{M: m, N: n, K: k, AdjY: i%2 == 0}
		if i%3 == 2 {
			p.LDA, p.LDO = k+g.IntN(7), n+g.IntN(7)
		}
		lda, _, ldo := p.Strides()
		a, b := g.F32(m*lda), g.F32(n*k)
		before, after := make([]float32, m*ldo), make([]float32, m*ldo)
		floatTail = false
		MatMulFloat(&p, a, b, before)
		floatTail = true
		MatMulFloat(&p, a, b, after)
		sameBits(t, fmt.Sprintf("case %d M=%d N=%d K=%d: gemmF32T", i, m, n, k), after, before)
		q := kernels.FCFloatParams{M: m, N: n, K: k, Bias: g.F32(n), ActMin: -1, ActMax: 2}
		pk := PackFCFloat(&q, b)
		before, after = before[:m*n], after[:m*n]
		floatTail = false
		FullyConnectedFloat(&q, a[:m*k], pk, before)
		floatTail = true
		FullyConnectedFloat(&q, a[:m*k], pk, after)
		sameBits(t, fmt.Sprintf("case %d FC M=%d N=%d K=%d: gemmF32T", i, m, n, k), after, before)
	}
}
