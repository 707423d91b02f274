package neon

import (
	"fmt"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// fshape returns M, N, K for the float GEMM: tiles of 8 rows and 12
// columns with their tails, K around the 4-step loop and the 256 K block.
func (g gen) fshape(i int) (m, n, k int) {
	m, n, k = 1+g.IntN(30), 1+g.IntN(60), 1+g.IntN(100)
	switch i % 6 {
	case 0:
		m, n = 8*(1+g.IntN(4)), 12*(1+g.IntN(5))
	case 1:
		k = []int{1, 2, 3, 4, 5, 7, 8}[g.IntN(7)]
	case 2:
		k = 256*(1+g.IntN(2)) + g.IntN(9) - 4 // K blocks and their tails
		m, n = 1+g.IntN(20), 1+g.IntN(40)
	case 3:
		m, n, k = 197, 24+g.IntN(40), 192
	}
	return m, n, k
}

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

func TestFullyConnectedFloatWithinTolerance(t *testing.T) {
	g := newGen(21)
	for i := 0; i < iters(240); i++ {
		m, n, k := g.fshape(i)
		p := kernels.FCFloatParams{M: m, N: n, K: k, ActMin: float32(math.Inf(-1)), ActMax: float32(math.Inf(1))}
		switch i % 4 {
		case 1:
			p.ActMin, p.ActMax = 0, 6
		case 3:
			p.ActMin = 0
		}
		x, w := g.F32(m*k), g.F32(n*k)
		if i%2 == 0 {
			p.Bias = g.F32(n)
		}
		if i%17 == 5 { // a NaN and infinities reach the output as ref's
			x[g.IntN(len(x))] = float32(math.NaN())
			w[g.IntN(len(w))] = float32(math.Inf(1))
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
		what := fmt.Sprintf("case %d M=%d N=%d K=%d", i, m, n, k)
		if i%17 == 5 {
			for j := range want {
				if wn, gn := want[j] != want[j], got[j] != got[j]; wn != gn || !wn && math.IsInf(float64(want[j]), 0) && want[j] != got[j] {
					t.Fatalf("%s: out[%d] = %v, ref %v", what, j, got[j], want[j])
				}
			}
		} else {
			within(t, what, got, want, mag, k)
		}
		// Any split of rows (threads) gives the same bits.
		split := make([]float32, m*n)
		for r0 := 0; r0 < m; {
			r1 := min(m, r0+1+g.IntN(12))
			q := p
			q.M = r1 - r0
			FullyConnectedFloat(&q, x[r0*k:r1*k], pk, split[r0*n:r1*n])
			r0 = r1
		}
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(split[j]) {
				t.Fatalf("%s: row split changes out[%d]: %v vs %v", what, j, split[j], got[j])
			}
		}
	}
}

func TestMatMulFloatWithinTolerance(t *testing.T) {
	g := newGen(22)
	for i := 0; i < iters(200); i++ {
		m, n, k := g.fshape(i)
		if i%11 == 3 {
			m, k, n = 1+g.IntN(5), 100+g.IntN(300), 100+g.IntN(400) // several blocks
		}
		if i%23 == 7 {
			k = 1000 + g.IntN(100) // over 1024·12 floats: ref
		}
		if i%19 == 9 {
			m, n, k = 1+g.IntN(9), 1300+g.IntN(300), 1+g.IntN(20) // column blocks, both layouts
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
	g := newGen(23)
	for i := 0; i < iters(100); i++ {
		p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(12), W: 1 + g.IntN(20), Cin: 1 + g.IntN(20),
			KH: 1 + g.IntN(3), KW: 1 + g.IntN(3), Cout: 1 + g.IntN(40),
			StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1 + g.IntN(2), DilationW: 1 + g.IntN(2),
			ActMin: float32(math.Inf(-1)), ActMax: float32(math.Inf(1))}
		switch i % 5 {
		case 0:
			p.KH, p.KW, p.StrideH, p.StrideW, p.DilationH, p.DilationW = 1, 1, 1, 1, 1, 1
		case 1: // a patch embedding: K over the K block, few pixels per batch
			p.KH, p.KW, p.StrideH, p.StrideW, p.DilationH, p.DilationW = 8, 8, 8, 8, 1, 1
			p.H, p.W, p.Cin = 8*(1+g.IntN(3)), 8*(1+g.IntN(5)), 3+g.IntN(4)
		case 2:
			p.ActMin, p.ActMax = 0, 6
		}
		if g.IntN(2) == 0 && i%5 > 1 {
			p.PadTop, p.PadLeft = g.IntN(p.KH), g.IntN(p.KW)
		}
		kerneltest.FitOutput(&p)
		k := p.KH * p.KW * p.Cin
		p.BiasF = g.F32(p.Cout)
		rows := p.N * p.OH
		x, w := g.F32(p.N*p.H*p.W*p.Cin), g.F32(p.Cout*k)
		want := make([]float32, p.N*p.OH*p.OW*p.Cout)
		got := make([]float32, len(want))
		p.RowLo, p.RowHi = 0, rows
		ref.Conv2DFloat(&p, x, w, want)
		pk := PackConvFloat(&p, w)
		// Rows in two slices (two threads): the same bits as one.
		mid := g.IntN(rows + 1)
		p.RowLo, p.RowHi = 0, mid
		Conv2DFloat(&p, x, pk, got)
		p.RowLo, p.RowHi = mid, rows
		Conv2DFloat(&p, x, pk, got)
		abs := func(v []float32) []float32 {
			o := make([]float32, len(v))
			for j, x := range v {
				o[j] = float32(math.Abs(float64(x)))
			}
			return o
		}
		pa := p
		pa.RowLo, pa.BiasF = 0, abs(p.BiasF)
		mag := make([]float32, len(want))
		ref.Conv2DFloat(&pa, abs(x), abs(w), mag)
		within(t, fmt.Sprintf("case %d %+v", i, p), got, want, mag, k)
	}
}

// TestGemmF32Definition checks the micro-kernel against its definition
// bit for bit: 0, one fused multiply-add per k in increasing k (float64
// FMA rounded to float32 differs from a float32 FMA only on a double
// rounding, which these small integers never hit), the bias, the clamp.
func TestGemmF32Definition(t *testing.T) {
	g := newGen(24)
	for i := 0; i < iters(60); i++ {
		m, n, k := 1+g.IntN(20), 1+g.IntN(40), 1+g.IntN(300)
		small := func(c int) []float32 {
			v := make([]float32, c)
			for j := range v {
				v[j] = float32(g.IntN(17) - 8)
			}
			return v
		}
		x, w, bias := small(m*k), small(n*k), small(n)
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if i%2 == 1 {
			lo, hi = -40, 50
		}
		p := kernels.FCFloatParams{M: m, N: n, K: k, Bias: bias, ActMin: lo, ActMax: hi}
		got := make([]float32, m*n)
		FullyConnectedFloat(&p, x, PackFCFloat(&p, w), got)
		for r := 0; r < m; r++ {
			for c := 0; c < n; c++ {
				var acc float32
				for kk := 0; kk < k; kk++ {
					acc = float32(math.FMA(float64(x[r*k+kk]), float64(w[c*k+kk]), float64(acc)))
				}
				want := min(max(acc+bias[c], lo), hi)
				if got[r*n+c] != want {
					t.Fatalf("case %d M=%d N=%d K=%d: out[%d,%d] = %v, want %v", i, m, n, k, r, c, got[r*n+c], want)
				}
			}
		}
	}
}

func TestFloatGEMMNoAllocs(t *testing.T) {
	g := newGen(25)
	p := kernels.FCFloatParams{M: 20, N: 30, K: 300, ActMin: 0, ActMax: 6}
	x, w, out := g.F32(20*300), g.F32(30*300), make([]float32, 20*30)
	pk := PackFCFloat(&p, w)
	mp := kernels.MatMulParams{M: 20, N: 30, K: 300, AdjY: true}
	if n := testing.AllocsPerRun(5, func() {
		FullyConnectedFloat(&p, x, pk, out)
		MatMulFloat(&mp, x, w, out)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
