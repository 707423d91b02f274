package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// mmIndex returns the positions of A[m,k] in a and B[k,n] in b.
func mmIndex(p *kernels.MatMulParams, m, n, k int) (ia, ib int) {
	ia, ib = m*p.K+k, k*p.N+n
	if p.AdjX {
		ia = k*p.M + m
	}
	if p.AdjY {
		ib = n*p.K + k
	}
	return ia, ib
}

func naiveMatMulInt8(t testing.TB, p *kernels.MatMulParams, a, b []int8) []int8 {
	out := make([]int8, p.M*p.N)
	for m := 0; m < p.M; m++ {
		for n := 0; n < p.N; n++ {
			var acc int64
			for k := 0; k < p.K; k++ {
				ia, ib := mmIndex(p, m, n, k)
				acc += (int64(a[ia]) - int64(p.AZP)) * (int64(b[ib]) - int64(p.BZP))
			}
			out[m*p.N+n] = exRequant(t, &p.Out, acc, n)
		}
	}
	return out
}

func naiveMatMulFloat(p *kernels.MatMulParams, a, b []float32) (want, tol []float64) {
	want = make([]float64, p.M*p.N)
	tol = make([]float64, p.M*p.N)
	for m := 0; m < p.M; m++ {
		for n := 0; n < p.N; n++ {
			var acc, abs float64
			for k := 0; k < p.K; k++ {
				ia, ib := mmIndex(p, m, n, k)
				v := float64(a[ia]) * float64(b[ib])
				acc += v
				abs += math.Abs(v)
			}
			want[m*p.N+n] = acc
			tol[m*p.N+n] = sumTol(abs, p.K)
		}
	}
	return want, tol
}

func TestMatMulInt8ByHand(t *testing.T) {
	// A − 1 = [[1 2 3] [−1 0 4]] (2×3), B − (−2) = [[1 0] [2 −1] [0 3]] (3×2).
	// A·B = [[5 7] [−1 12]]; times 1/2 with OutZP −1, half toward +∞:
	// [[2.5→3 3.5→4] [−0.5→0 6]] − 1.
	a := []int8{2, 3, 4, 0, 1, 5}
	b := []int8{-1, -2, 0, -3, -2, 1}
	p := kernels.MatMulParams{M: 2, N: 2, K: 3, AZP: 1, BZP: -2,
		Out: kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.5)}, OutZP: -1, ActMin: -128, ActMax: 127}}
	want := []int8{2, 3, -1, 5}
	out := make([]int8, 4)
	ref.MatMulInt8(&p, a, b, out)
	diffInt8(t, "plain", out, want)

	// The same product with both operands stored transposed.
	at := []int8{2, 0, 3, 1, 4, 5}
	bt := []int8{-1, 0, -2, -2, -3, 1}
	for _, tc := range []struct {
		adjX, adjY bool
		a, b       []int8
	}{{true, false, at, b}, {false, true, a, bt}, {true, true, at, bt}} {
		p.AdjX, p.AdjY = tc.adjX, tc.adjY
		ref.MatMulInt8(&p, tc.a, tc.b, out)
		diffInt8(t, "adj", out, want)
	}

	af := []float32{1, 2, 3, -1, 0, 4}
	bf := []float32{1, 0, 2, -1, 0, 3}
	pf := kernels.MatMulParams{M: 2, N: 2, K: 3}
	outf := make([]float32, 4)
	ref.MatMulFloat(&pf, af, bf, outf)
	for i, w := range []float32{5, 7, -1, 12} {
		if outf[i] != w {
			t.Errorf("float out[%d] = %g, want %g", i, outf[i], w)
		}
	}
}

func (g kgen) mmShape() (M, N, K int) {
	switch g.IntN(5) {
	case 0:
		return g.between(1, 3), g.between(1, 3), 1
	case 1:
		if small() {
			return g.between(1, 20), g.between(1, 40), g.between(30, 120)
		}
		return g.between(1, 50), g.between(1, 70), g.between(50, 300)
	default:
		return g.between(1, 9), g.between(1, 37), g.between(1, 37)
	}
}

func TestMatMulInt8Random(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(300); it++ {
		M, N, K := g.mmShape()
		p := kernels.MatMulParams{M: M, N: N, K: K, AdjX: g.IntN(3) == 0, AdjY: g.IntN(2) == 0,
			AZP: int32(g.between(-128, 127)), BZP: int32(g.between(-128, 127))}
		p.Out = g.stage(1, 128*128*math.Sqrt(float64(K)))
		a, b := g.i8(M*K), g.i8(K*N)
		out := make([]int8, M*N)
		ref.MatMulInt8(&p, a, b, out)
		diffInt8(t, "matmul", out, naiveMatMulInt8(t, &p, a, b))
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestMatMulFloatRandom(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(150); it++ {
		M, N, K := g.mmShape()
		p := kernels.MatMulParams{M: M, N: N, K: K, AdjX: g.IntN(3) == 0, AdjY: g.IntN(2) == 0}
		a, b := g.f32(M*K), g.f32(K*N)
		out := make([]float32, M*N)
		ref.MatMulFloat(&p, a, b, out)
		want, tol := naiveMatMulFloat(&p, a, b)
		diffFloat(t, "matmul float", out, want, tol)
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestMatMulAllocs(t *testing.T) {
	g := newKgen(t)
	M, N, K := 5, 21, 6
	a, b, out := g.i8(M*K), g.i8(K*N), make([]int8, M*N)
	af, bf, outf := g.f32(M*K), g.f32(K*N), make([]float32, M*N)
	for _, adj := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		p := kernels.MatMulParams{M: M, N: N, K: K, AdjX: adj[0], AdjY: adj[1], AZP: 3, BZP: -1, Out: g.stage(1, 1000)}
		if n := testing.AllocsPerRun(20, func() { ref.MatMulInt8(&p, a, b, out) }); n != 0 {
			t.Errorf("MatMulInt8 %v: %v allocations per run", adj, n)
		}
		if n := testing.AllocsPerRun(20, func() { ref.MatMulFloat(&p, af, bf, outf) }); n != 0 {
			t.Errorf("MatMulFloat %v: %v allocations per run", adj, n)
		}
	}
}

// BenchmarkMatMulInt8_197x197x64 is one head of DeiT-tiny's attention
// times V (scores [197,197] · V [197,64]).
func BenchmarkMatMulInt8_197x197x64(b *testing.B) { benchMatMul(b, 197, 64, 197, false) }

// BenchmarkMatMulInt8_197x64x197AdjY is one head of DeiT-tiny's Q·Kᵀ
// (Q [197,64] · K [197,64]ᵀ).
func BenchmarkMatMulInt8_197x64x197AdjY(b *testing.B) { benchMatMul(b, 197, 197, 64, true) }

func benchMatMul(b *testing.B, M, N, K int, adjY bool) {
	g := newKgen(b)
	p := kernels.MatMulParams{M: M, N: N, K: K, AdjY: adjY, AZP: -128, BZP: 3,
		Out: kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(1e-4)}, ActMin: -128, ActMax: 127}}
	x, y, out := g.i8(M*K), g.i8(K*N), make([]int8, M*N)
	for b.Loop() {
		ref.MatMulInt8(&p, x, y, out)
	}
	b.ReportMetric(float64(M*N*K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

// embed copies the rows×width matrix v (dense) into a new buffer with row
// stride ld, filling the gaps with fill.
func embed[T any](v []T, rows, width, ld int, fill func() T) []T {
	out := make([]T, rows*ld)
	for i := range out {
		out[i] = fill()
	}
	for r := 0; r < rows; r++ {
		copy(out[r*ld:r*ld+width], v[r*width:(r+1)*width])
	}
	return out
}

// TestMatMulStrides: with row strides the product reads the leading
// sub-blocks of larger matrices and writes only the live part of each
// output row; the result equals the dense product's, bit for bit.
func TestMatMulStrides(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(200); it++ {
		M, N, K := g.mmShape()
		p := kernels.MatMulParams{M: M, N: N, K: K, AdjX: g.IntN(3) == 0, AdjY: g.IntN(2) == 0,
			AZP: int32(g.between(-128, 127)), BZP: int32(g.between(-128, 127))}
		p.Out = g.stage(1, 128*128*math.Sqrt(float64(K)))
		ar, aw := M, K
		if p.AdjX {
			ar, aw = K, M
		}
		br, bw := K, N
		if p.AdjY {
			br, bw = N, K
		}
		s := p
		s.LDA, s.LDB, s.LDO = aw+g.IntN(9), bw+g.IntN(9), N+1+g.IntN(9)
		a, b := g.i8(M*K), g.i8(K*N)
		want := make([]int8, M*N)
		ref.MatMulInt8(&p, a, b, want)
		junk8 := func() int8 { return int8(g.IntN(256) - 128) }
		sa, sb := embed(a, ar, aw, s.LDA, junk8), embed(b, br, bw, s.LDB, junk8)
		out := make([]int8, M*s.LDO)
		for i := range out {
			out[i] = 77
		}
		ref.MatMulInt8(&s, sa, sb, out)
		for m := 0; m < M; m++ {
			diffInt8(t, "strided matmul", out[m*s.LDO:m*s.LDO+N], want[m*N:(m+1)*N])
			for j := m*s.LDO + N; j < (m+1)*s.LDO; j++ {
				if out[j] != 77 {
					t.Fatalf("iteration %d: %+v wrote past N in row %d", it, s, m)
				}
			}
		}
		af, bf := g.f32(M*K), g.f32(K*N)
		wantf := make([]float32, M*N)
		ref.MatMulFloat(&p, af, bf, wantf)
		junkf := func() float32 { return float32(g.NormFloat64()) }
		outf := make([]float32, M*s.LDO)
		ref.MatMulFloat(&s, embed(af, ar, aw, s.LDA, junkf), embed(bf, br, bw, s.LDB, junkf), outf)
		for m := 0; m < M; m++ {
			for n := 0; n < N; n++ {
				if math.Float32bits(outf[m*s.LDO+n]) != math.Float32bits(wantf[m*N+n]) {
					t.Fatalf("iteration %d: %+v: float out[%d,%d] = %g, want %g", it, s, m, n, outf[m*s.LDO+n], wantf[m*N+n])
				}
			}
		}
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, s)
		}
	}
}

// TestMatMulTrailingZeros: contracting over more terms whose A side is
// zero (the zero point, or 0.0 of either sign) gives the same bits as
// contracting over the leading terms only, which is what lets a token
// budget drop the dead keys of P·V.
func TestMatMulTrailingZeros(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(200); it++ {
		M, N, K := g.mmShape()
		live := g.between(0, K)
		p := kernels.MatMulParams{M: M, N: N, K: K, AdjX: g.IntN(3) == 0, AdjY: g.IntN(2) == 0,
			AZP: int32(g.between(-128, 127)), BZP: int32(g.between(-128, 127))}
		p.Out = g.stage(1, 128*128*math.Sqrt(float64(K)))
		a, b := g.i8(M*K), g.i8(K*N)
		af, bf := g.f32(M*K), g.f32(K*N)
		for m := 0; m < M; m++ {
			for k := live; k < K; k++ {
				ia, _ := mmIndex(&p, m, 0, k)
				a[ia] = int8(p.AZP)
				af[ia] = float32(math.Copysign(0, float64(g.IntN(2)*2-1)))
			}
		}
		s := p
		s.K = live
		s.LDA, s.LDB, _ = p.Strides()
		want, got := make([]int8, M*N), make([]int8, M*N)
		ref.MatMulInt8(&p, a, b, want)
		ref.MatMulInt8(&s, a, b, got)
		diffInt8(t, "trimmed matmul", got, want)
		wantf, gotf := make([]float32, M*N), make([]float32, M*N)
		ref.MatMulFloat(&p, af, bf, wantf)
		ref.MatMulFloat(&s, af, bf, gotf)
		for i := range wantf {
			if math.Float32bits(gotf[i]) != math.Float32bits(wantf[i]) {
				t.Fatalf("iteration %d: %+v live %d: float out %d = %g, want %g", it, p, live, i, gotf[i], wantf[i])
			}
		}
		if t.Failed() {
			t.Fatalf("iteration %d: %+v live %d", it, p, live)
		}
	}
}
