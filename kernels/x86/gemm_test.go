package x86

import (
	"fmt"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"math"
	"os"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// ExpectEnv names the environment variable a CI lane sets to the path its
// CPU must select ("avx2" or "avx512vnni"). A lane whose CPU lacks the
// feature it expects fails; it never skips.
const ExpectEnv = "EDGEINFER_EXPECT_KERNELS"

func TestExpectedPath(t *testing.T) {
	want := os.Getenv(ExpectEnv)
	best, why, ok := Best()
	t.Logf("best path %v (%s, usable %v), assembly %v", best, why, ok, Asm())
	if want == "" {
		return
	}
	if !Asm() {
		t.Fatalf("%s=%s but the kernels are the Go twins (GOARCH or -tags purego)", ExpectEnv, want)
	}
	if want == AVX2.String() {
		// An AVX2 lane only needs AVX2: a CPU with VNNI runs both.
		if ok, why := Supported(AVX2); !ok {
			t.Fatalf("%s=avx2 but %s", ExpectEnv, why)
		}
		return
	}
	if !ok || best.String() != want {
		t.Fatalf("%s=%s but this CPU selects %v (%s)", ExpectEnv, want, best, why)
	}
}

// paths returns every path this CPU runs. On a lane that expects a path,
// a CPU without it is a failure, not a skip.
func paths(t *testing.T) []Path {
	var ps []Path
	for _, p := range Paths {
		if ok, why := Supported(p); ok {
			ps = append(ps, p)
		} else if os.Getenv(ExpectEnv) == p.String() || (p == AVX2 && os.Getenv(ExpectEnv) == AVX512VNNI.String()) {
			t.Fatalf("%v expected but unsupported: %s", p, why)
		}
	}
	if len(ps) == 0 {
		t.Logf("no x86 path on this CPU")
	}
	return ps
}

// forEachPath runs f once per implementation, as crypto's
// TestAllImplementations does.
func forEachPath(t *testing.T, f func(t *testing.T, p Path)) {
	for _, p := range paths(t) {
		t.Run(p.String(), func(t *testing.T) { f(t, p) })
	}
}

// iters returns n, or fewer with -short: a third for the assembly, a
// tenth for the Go twins (the emulated arm lanes and purego), which the
// native run covers in full.
func iters(n int) int {
	switch {
	case testing.Short() && !Asm():
		return n / 10
	case testing.Short():
		return n / 3
	}
	return n
}

// gen is the shared test data source with x86's options (see kerneltest.Gen).
type gen struct{ kerneltest.Gen }

func newGen(seed uint64) gen {
	g := kerneltest.NewGen(seed)
	g.AsymmetricWeights, g.SlowStages = true, true
	return gen{g}
}

var diff8 = kerneltest.Diff8

// shape returns M, N, K covering tiles, panel and unit tails, K tails and
// tiny sizes.
func (g gen) shape(i int) (m, n, k int) {
	pick := func(small, large int) int {
		if g.IntN(2) == 0 {
			return 1 + g.IntN(small)
		}
		return 1 + g.IntN(large)
	}
	m, n, k = pick(13, 70), pick(20, 200), pick(40, 300)
	switch i % 7 {
	case 0:
		k = 1 + g.IntN(7) // K < 4 falls back to ref; 4…7 one group and a tail
	case 1:
		k = 4 * (1 + g.IntN(40))
	case 2:
		m, n, k = 197, 48+g.IntN(40), 192
	case 3:
		n = 64 * (1 + g.IntN(4)) // whole VNNI panels
	}
	return m, n, k
}

func TestFullyConnectedMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(1)
		for i := 0; i < iters(400); i++ {
			m, n, k := g.shape(i)
			r := quant.RoundSingle
			if i%5 == 4 {
				r = quant.RoundDouble
			}
			p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128), Bias: g.Bias(n)}
			p.Out = g.Stage(n, 60*math.Sqrt(float64(k))*64, r)
			x, w := g.I8(m*k, i%2 == 0), g.W8(n*k)
			want := make([]int8, m*n)
			ref.FullyConnectedInt8(&p, x, w, want)
			pk := PackFC(path, &p, w)
			if pk == nil {
				if k >= minK {
					t.Fatalf("PackFC(K=%d) = nil", k)
				}
				continue
			}
			got := make([]int8, m*n)
			FullyConnectedInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d %v", i, m, n, k, r), got, want, n)
		}
	})
}

func TestGemmInt32MatchesDefinition(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(3)
		for i := 0; i < iters(150); i++ {
			m, n, k := g.shape(i)
			k = max(k, minK)
			p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128), Bias: g.Bias(n)}
			p.Out = g.Stage(n, 1, quant.RoundSingle)
			x, w := g.I8(m*k, true), g.W8(n*k)
			got := make([]int32, m*n)
			GemmInt32(&p, x, PackFC(path, &p, w), got)
			for mm := 0; mm < m; mm++ {
				for nn := 0; nn < n; nn++ {
					var want int32
					if p.Bias != nil {
						want = p.Bias[nn]
					}
					for kk := 0; kk < k; kk++ {
						want += (int32(x[mm*k+kk]) - p.InZP) * int32(w[nn*k+kk])
					}
					if got[mm*n+nn] != want {
						t.Fatalf("case %d M=%d N=%d K=%d: out[%d,%d] = %d, want %d", i, m, n, k, mm, nn, got[mm*n+nn], want)
					}
				}
			}
		}
	})
}

// TestExtremeOperands: every activation −128 and weights at ±127/−128
// (the largest products VPDPBUSD and VPMADDWD see), long K.
func TestExtremeOperands(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(2)
		for i := 0; i < 40; i++ {
			m, n, k := 1+g.IntN(13), 1+g.IntN(90), 4+g.IntN(1500)
			p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128)}
			p.Out = g.Stage(n, 128*128*float64(k), quant.RoundSingle)
			x := make([]int8, m*k)
			w := make([]int8, n*k)
			for j := range x {
				x[j] = []int8{-128, -128, 127}[g.IntN(3)]
			}
			for j := range w {
				w[j] = int8([]int{-128, -128, 127, 5}[g.IntN(4)])
			}
			want := make([]int8, m*n)
			ref.FullyConnectedInt8(&p, x, w, want)
			got := make([]int8, m*n)
			FullyConnectedInt8(&p, x, PackFC(path, &p, w), got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d", i, m, n, k), got, want, n)
		}
	})
}

func TestMatMulMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(4)
		for i := 0; i < iters(300); i++ {
			m, n, k := g.shape(i)
			if i%11 == 3 {
				m, k, n = 1+g.IntN(5), 100+g.IntN(400), 600+g.IntN(1400) // several blocks of packed panels
			}
			r := quant.RoundSingle
			if i%5 == 4 {
				r = quant.RoundDouble
			}
			p := kernels.MatMulParams{M: m, N: n, K: k, AdjX: i%13 == 5, AdjY: i%2 == 1,
				AZP: int32(g.IntN(256) - 128), BZP: int32(g.IntN(256) - 128)}
			if i%3 == 0 {
				p.BZP = 0
			}
			p.Out = g.Stage(1, 128*math.Sqrt(float64(k))*128, r)
			a, b := g.I8(m*k, i%2 == 0), g.I8(k*n, i%4 < 2)
			want := make([]int8, m*n)
			ref.MatMulInt8(&p, a, b, want)
			got := make([]int8, m*n)
			MatMulInt8(path, &p, a, b, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d AdjX=%v AdjY=%v %v", i, m, n, k, p.AdjX, p.AdjY, r), got, want, n)
		}
	})
}

// TestMatMulStridedMatchesRef: with row strides (a product over the
// leading sub-blocks, as a token budget runs it) the path matches ref and
// writes nothing past N in an output row.
func TestMatMulStridedMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(14)
		for i := 0; i < iters(150); i++ {
			m, n, k := g.shape(i)
			p := kernels.MatMulParams{M: m, N: n, K: k, AdjY: i%2 == 1,
				AZP: int32(g.IntN(256) - 128), BZP: int32(g.IntN(256) - 128)}
			if i%3 == 0 {
				p.BZP = 0
			}
			p.Out = g.Stage(1, 128*math.Sqrt(float64(k))*128, quant.Rounding(i%2))
			bRows, bw := k, n
			if p.AdjY {
				bRows, bw = n, k
			}
			p.LDA, p.LDB, p.LDO = k+g.IntN(20), bw+g.IntN(20), n+1+g.IntN(20)
			a, b := g.I8(m*p.LDA, true), g.I8(bRows*p.LDB, i%4 < 2)
			want := make([]int8, m*p.LDO)
			got := make([]int8, m*p.LDO)
			for j := range want {
				want[j], got[j] = 55, 55
			}
			ref.MatMulInt8(&p, a, b, want)
			MatMulInt8(path, &p, a, b, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d AdjY=%v LD=%d,%d,%d", i, m, n, k, p.AdjY, p.LDA, p.LDB, p.LDO), got, want, p.LDO)
		}
	})
}

// TestFastRequantBoundaries drives the vector requantization (every
// multiplier below 1/2) at its edges: multipliers just below 1/2 and at
// tiny scales, accumulators near ±2^31 through large biases, and rounding
// ties.
func TestFastRequantBoundaries(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(12)
		for i := 0; i < iters(90); i++ {
			m, n, k := 1+g.IntN(13), 1+g.IntN(140), 4+g.IntN(60)
			p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128), Bias: make([]int32, n)}
			p.Out = kernels.OutputStage{OutZP: int32(g.IntN(256) - 128), ActMin: -128, ActMax: 127}
			for c := 0; c < n; c++ {
				p.Bias[c] = int32(g.Int64N(1<<32) - 1<<31 + 1<<22)
				real := []float64{0.5 - 1e-9, 0.25, 0.375, 1.0 / 3, math.Exp2(-20), math.Exp2(-31), 0}[g.IntN(7)]
				p.Out.Mult = append(p.Out.Mult, quant.MustMultiplier(real))
			}
			x, w := g.I8(m*k, true), g.W8(n*k)
			want, got := make([]int8, m*n), make([]int8, m*n)
			ref.FullyConnectedInt8(&p, x, w, want)
			pk := PackFC(path, &p, w)
			if !pk.fastReq {
				t.Fatal("multipliers below 1/2 should take the vector requantization")
			}
			FullyConnectedInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d", i), got, want, n)
		}
	})
}

func TestSumInt8(t *testing.T) {
	g := newGen(8)
	for n := 0; n < 300; n++ {
		v := g.I8(n, n%2 == 0)
		if n%3 == 0 {
			for i := range v {
				v[i] = -128
			}
		}
		var want int32
		for _, x := range v {
			want += int32(x)
		}
		if got := sumInt8(v); got != want {
			t.Fatalf("len %d: sumInt8 = %d, want %d", n, got, want)
		}
	}
}

func TestWidenRow(t *testing.T) {
	g := newGen(9)
	for n := 1; n < 100; n++ {
		v := g.I8(n, true)
		dst := make([]int16, n+1)
		for i := range dst {
			dst[i] = 999
		}
		s := widenRow(v, dst)
		var want int32
		for i, x := range v {
			want += int32(x)
			if dst[i] != int16(x) {
				t.Fatalf("len %d: dst[%d] = %d, want %d", n, i, dst[i], x)
			}
		}
		if n%2 == 1 && dst[n] != 0 {
			t.Fatalf("len %d: padding %d, want 0", n, dst[n])
		}
		if s != want {
			t.Fatalf("len %d: sum %d, want %d", n, s, want)
		}
	}
}

func TestConv2DMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(5)
		for i := 0; i < iters(200); i++ {
			p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(12), W: 1 + g.IntN(12), Cin: 1 + g.IntN(40),
				KH: 1 + g.IntN(3), KW: 1 + g.IntN(3), Cout: 1 + g.IntN(80),
				StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1 + g.IntN(2), DilationW: 1 + g.IntN(2)}
			switch i % 4 {
			case 0: // pointwise
				p.KH, p.KW, p.StrideH, p.StrideW, p.DilationH, p.DilationW = 1, 1, 1, 1, 1, 1
			case 1: // patch embedding: stride = kernel
				p.KH, p.KW, p.Cin, p.DilationH, p.DilationW = 4, 4, 3, 1, 1
				p.StrideH, p.StrideW = 4, 4
				p.H, p.W = 4*(1+g.IntN(4)), 4*(1+g.IntN(4))
			}
			if g.IntN(2) == 0 && i%4 != 1 {
				p.PadTop, p.PadLeft = g.IntN(p.KH), g.IntN(p.KW)
			}
			kerneltest.FitOutput(&p)
			p.InZP = int32(g.IntN(256) - 128)
			p.Bias = g.Bias(p.Cout)
			k := p.KH * p.KW * p.Cin
			r := quant.RoundSingle
			if i%5 == 4 {
				r = quant.RoundDouble
			}
			p.Out = g.Stage(p.Cout, 60*math.Sqrt(float64(k))*64, r)
			rows := p.N * p.OH
			p.RowLo = g.IntN(rows)
			p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
			x, w := g.I8(p.N*p.H*p.W*p.Cin, true), g.W8(p.Cout*k)
			want := make([]int8, p.N*p.OH*p.OW*p.Cout)
			got := make([]int8, len(want))
			ref.Conv2DInt8(&p, x, w, want)
			pk := PackConv(path, &p, w)
			if pk == nil {
				if k >= minK {
					t.Fatalf("PackConv(K=%d) = nil", k)
				}
				continue
			}
			Conv2DInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, p.Cout)
		}
	})
}
