package neon

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
// CPU model must select ("v80" on cortex-a72, "dotprod" on cortex-a76 and
// max). A lane whose CPU lacks the feature it should have fails.
const ExpectEnv = "EDGEINFER_EXPECT_KERNELS"

func TestExpectedPath(t *testing.T) {
	want := os.Getenv(ExpectEnv)
	best, why := Best()
	t.Logf("best path %v (%s), assembly %v", best, why, Asm())
	if want == "" {
		return
	}
	if !Asm() {
		t.Fatalf("%s=%s but the kernels are the Go twins (GOARCH or -tags purego)", ExpectEnv, want)
	}
	if best.String() != want {
		t.Fatalf("%s=%s but this CPU selects %v (%s)", ExpectEnv, want, best, why)
	}
}

// paths returns every path this CPU runs. On an arm64 lane that expects
// dotprod, a CPU without it is a failure, not a skip.
func paths(t *testing.T) []Path {
	ps := []Path{V80}
	if ok, why := Supported(DotProd); ok {
		ps = append(ps, DotProd)
	} else if os.Getenv(ExpectEnv) == "dotprod" {
		t.Fatalf("dotprod expected but unsupported: %s", why)
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

// iters returns n, or fewer with -short (the emulated CI lanes): a third
// for the assembly, a tenth for the Go twins (the 32-bit arm lane), which
// the native test run covers in full.
func iters(n int) int {
	switch {
	case testing.Short() && !Asm():
		return n / 10
	case testing.Short():
		return n / 3
	}
	return n
}

// gen is the shared test data source (see kerneltest.Gen).
type gen struct{ kerneltest.Gen }

func newGen(seed uint64) gen { return gen{kerneltest.NewGen(seed)} }

var diff8 = kerneltest.Diff8

// shape returns M, N, K covering tiles, tails and tiny sizes.
func (g gen) shape(i int) (m, n, k int) {
	pick := func(small, large int) int {
		if g.IntN(2) == 0 {
			return 1 + g.IntN(small)
		}
		return 1 + g.IntN(large)
	}
	m, n, k = pick(9, 70), pick(20, 80), pick(40, 300)
	switch i % 7 {
	case 0:
		k = 1 + g.IntN(15) // K < 16: falls back to ref
	case 1:
		k = 16 * (1 + g.IntN(8))
	case 2:
		m, n, k = 197, 48+g.IntN(40), 192
	}
	return m, n, k
}

func TestFullyConnectedMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(1)
		for i := 0; i < iters(300); i++ {
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
				if k >= 16 {
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

// TestUnpairedWeights covers weights holding −128 (outside the symmetric
// contract): the Armv8.0 kernel must not pair two −128·−128 products in an
// int16 lane.
func TestUnpairedWeights(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(2)
		for i := 0; i < 40; i++ {
			m, n, k := 1+g.IntN(9), 1+g.IntN(40), 16+g.IntN(100)
			p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128)}
			p.Out = g.Stage(n, 128*128*float64(k), quant.RoundSingle)
			x := make([]int8, m*k)
			w := make([]int8, n*k)
			for j := range x {
				x[j] = -128
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

func TestGemmInt32MatchesDefinition(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(3)
		for i := 0; i < iters(100); i++ {
			m, n, k := g.shape(i)
			k = max(k, 16)
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

func TestMatMulMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(4)
		for i := 0; i < iters(300); i++ {
			m, n, k := g.shape(i)
			if i%11 == 3 {
				m, k, n = 1+g.IntN(5), 16+g.IntN(60), 600+g.IntN(400) // several blocks of packed panels
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
		for i := 0; i < iters(120); i++ {
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

func TestConv2DMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(5)
		for i := 0; i < iters(200); i++ {
			p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(12), W: 1 + g.IntN(12), Cin: 1 + g.IntN(40),
				KH: 1 + g.IntN(3), KW: 1 + g.IntN(3), Cout: 1 + g.IntN(40),
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
				if k >= 16 {
					t.Fatalf("PackConv(K=%d) = nil", k)
				}
				continue
			}
			Conv2DInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, p.Cout)
		}
	})
}

func TestDepthwiseMatchesRef(t *testing.T) {
	g := newGen(6)
	for i := 0; i < iters(200); i++ {
		C := 16 + g.IntN(50)
		if i%3 == 0 {
			C = 16 * (1 + g.IntN(4))
		}
		p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(14), W: 1 + g.IntN(14), Cin: C, Cout: C,
			KH: 3, KW: 3, StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1, DilationW: 1, DepthMultiplier: 1}
		if i%7 == 6 {
			p.DilationH, p.DilationW = 2, 2
		}
		if i%9 == 8 {
			wideRows(g, &p)
			C = p.Cout
		}
		if i%10 == 9 {
			narrowRows(g, &p)
			C = p.Cout
		}
		if g.IntN(4) > 0 {
			p.PadTop, p.PadLeft = p.DilationH, p.DilationW
		}
		kerneltest.FitOutput(&p)
		p.InZP = int32(g.IntN(256) - 128)
		p.Bias = g.Bias(C)
		p.Out = g.Stage(C, 60*3*64, quant.RoundSingle)
		rows := p.N * p.OH
		p.RowLo = g.IntN(rows)
		p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
		x, w := g.I8(p.N*p.H*p.W*C, true), g.W8(9*C)
		want := make([]int8, p.N*p.OH*p.OW*C)
		got := make([]int8, len(want))
		ref.DepthwiseConv2DInt8(&p, x, w, want)
		pk := PackDepthwise(&p, w)
		if pk == nil {
			t.Fatalf("case %d: PackDepthwise = nil", i)
		}
		DepthwiseConv2DInt8(&p, x, pk, got)
		diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, C)
	}
}

// narrowRows gives p fewer than 16 channels (1, 2, 4 or 8: 16/C output
// pixels share the kernel's lanes), stride 1 across, and at least 16/C + 1
// output columns, often not a multiple of 16/C.
func narrowRows(g gen, p *kernels.ConvParams) {
	p.Cin = []int{1, 2, 4, 8, 8, 8}[g.IntN(6)]
	p.Cout = p.Cin
	p.StrideW = 1
	p.W = 16/p.Cin + 2*p.DilationW + 1 + g.IntN(30)
}

// TestDepthwiseNarrowDeclined: channel counts below 16 that do not divide
// 16, or with a stride across, or too few output columns for one step of
// the kernel, stay with ref.
func TestDepthwiseNarrowDeclined(t *testing.T) {
	g := newGen(26)
	for _, c := range []struct{ C, sw, W int }{{3, 1, 20}, {8, 2, 20}, {12, 1, 20}, {4, 1, 5}, {1, 1, 17}} {
		p := kernels.ConvParams{N: 1, H: 4, W: c.W, Cin: c.C, Cout: c.C, KH: 3, KW: 3, StrideH: 1, StrideW: c.sw,
			DilationH: 1, DilationW: 1, DepthMultiplier: 1}
		p.OH, p.OW = 2, (c.W-3)/c.sw+1
		p.Out = g.Stage(c.C, 60*3*64, quant.RoundSingle)
		if pk := PackDepthwise(&p, g.W8(9*c.C)); pk != nil {
			t.Errorf("C=%d stride %d, %d output columns: packed", c.C, c.sw, p.OW)
		}
	}
}

// wideRows gives p rows wider than one stack buffer holds (hundreds of
// channels, dilation up to 4; rarely more channels than a buffer holds
// for one pixel's taps, which ref then computes), so that
// DepthwiseConv2DInt8 splits rows into chunks.
func wideRows(g gen, p *kernels.ConvParams) {
	p.Cin = 16*(8+g.IntN(60)) + g.IntN(16)
	if g.IntN(8) == 0 {
		p.Cin = dwRowBuf/3 + 1 + g.IntN(64)
	}
	p.Cout = p.Cin
	p.H, p.W = 1+g.IntN(6), 8+g.IntN(40)
	d := 1 + g.IntN(4)
	p.DilationH, p.DilationW = d, d
}

// TestDepthwiseScaleMatchesRef compares the 3×3 depthwise kernel under
// XNNPACK's float32 output stage (dwConv3x3Scale, legacy uint8 models)
// with ref: channel counts around the 16-channel groups, strides 1 and 2,
// dilation, padding, per-tensor and per-channel scales, weights w − WZP up
// to ±255, tight clamps, and scales that round ties, underflow, or push
// float32(acc)·scale beyond ±2^30 (ref clamps there, FCVTNS saturates) or
// to ±Inf.
func TestDepthwiseScaleMatchesRef(t *testing.T) {
	g := newGen(24)
	for i := 0; i < iters(240); i++ {
		C := []int{16, 17, 31, 32 + g.IntN(16), 16 + g.IntN(80)}[i%5]
		p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(12), W: 1 + g.IntN(12), Cin: C, Cout: C,
			KH: 3, KW: 3, StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1, DilationW: 1, DepthMultiplier: 1}
		if i%6 == 5 {
			p.DilationH, p.DilationW = 1+g.IntN(3), 1+g.IntN(3)
		}
		if i%8 == 7 {
			wideRows(g, &p)
			C = p.Cout
		}
		if i%10 == 9 {
			narrowRows(g, &p)
			C = p.Cout
		}
		if g.IntN(4) > 0 {
			p.PadTop, p.PadLeft = g.IntN(p.DilationH+1), g.IntN(p.DilationW+1)
		}
		kerneltest.FitOutput(&p)
		p.InZP, p.WZP = int32(g.IntN(256)-128), g.WZP(i)
		p.Bias = g.Bias(C)
		p.Out = g.Stage(C, 250*3*64, quant.RoundSingle)
		g.XNNPACK(&p.Out)
		for c := range p.Out.Scale {
			switch g.IntN(12) {
			case 0:
				p.Out.Scale[c] = float32(math.Exp2(float64(g.IntN(4) - 4))) // exact halves: ties to even
			case 1:
				p.Out.Scale[c] = float32(math.Exp2(float64(10 + g.IntN(20)))) // beyond ±2^30
			case 2:
				p.Out.Scale[c] = 3e38 // ±Inf for |acc| ≥ 2
			case 3:
				p.Out.Scale[c] = 1e-44 // subnormal
			case 4:
				p.Out.Scale[c] = 0
			}
		}
		rows := p.N * p.OH
		p.RowLo = g.IntN(rows)
		p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
		w := g.U8W(9 * C)
		if i%4 == 0 {
			// w − WZP = ±255 across every tap.
			p.WZP = []int32{-128, 127}[g.IntN(2)]
			for j := range w {
				w[j] = int8(-1 - p.WZP)
			}
		}
		if i%4 == 2 {
			// Small accumulators and scales 1/2, 1/4: many results in
			// range, half of them exact ties.
			for j := range w {
				w[j] = int8(max(-128, min(127, p.WZP+int32(g.IntN(3)-1))))
			}
			for c := range p.Bias {
				p.Bias[c] = int32(g.IntN(101) - 50)
			}
			for c := range p.Out.Scale {
				p.Out.Scale[c] = float32(math.Exp2(-1 - float64(g.IntN(2))))
			}
		}
		x := g.I8(p.N*p.H*p.W*C, true)
		want := make([]int8, p.N*p.OH*p.OW*C)
		got := make([]int8, len(want))
		ref.DepthwiseConv2DInt8(&p, x, w, want)
		pk := PackDepthwise(&p, w)
		if pk == nil || pk.wq == nil {
			t.Fatalf("case %d: PackDepthwise did not pack for the float32 stage", i)
		}
		DepthwiseConv2DInt8(&p, x, pk, got)
		diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, C)
		if i == 0 {
			if n := testing.AllocsPerRun(5, func() { DepthwiseConv2DInt8(&p, x, pk, got) }); n != 0 {
				t.Fatalf("DepthwiseConv2DInt8 allocates %v times per call", n)
			}
		}
	}
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

func TestMinInt8(t *testing.T) {
	g := newGen(9)
	for n := 0; n < 300; n++ {
		v := g.I8(n, false)
		if n > 0 && n%4 == 0 {
			v[g.IntN(n)] = -128
		}
		want := int8(127)
		for _, x := range v {
			want = min(want, x)
		}
		if got := minInt8(v); got != want {
			t.Fatalf("len %d: minInt8 = %d, want %d", n, got, want)
		}
	}
}

func TestAddMatchesRef(t *testing.T) {
	g := newGen(10)
	fast, sqdmulh, lw := 0, 0, 0
	for i := 0; i < iters(300); i++ {
		shape := []int{1 + g.IntN(40), 1 + g.IntN(70)}
		if i%5 == 0 {
			shape = []int{1 + g.IntN(3), 1 + g.IntN(9)} // below 16 elements: ref
		}
		qp := func() quant.Params {
			return quant.Params{Scale: float32(math.Exp2(g.Float64()*10 - 8)), ZeroPoint: int32(g.IntN(256) - 128)}
		}
		pa, pb, po := qp(), qp(), qp()
		if i%6 == 5 {
			// An output multiplier ≥ 1/2: the general rescale (SMULL, SQRSHL).
			po.Scale = max(pa.Scale, pb.Scale) * float32(math.Exp2(-19-g.Float64()))
		}
		p, err := ref.NewAddParams(pa, pb, po, false)
		if err != nil {
			continue // scale ratio outside what Add supports
		}
		bshape := shape
		if i%7 == 3 {
			bshape = []int{1, shape[1]} // broadcast: ref
		}
		if p.Broadcast, err = ref.NewBroadcast(shape, bshape, shape); err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 {
			p.ActMin, p.ActMax = int32(g.IntN(100)-128), int32(g.IntN(100)+28)
		}
		if i%8 == 6 {
			// LeftShift outside 16…23: addInt8Fast's SRSHL rather than
			// addInt8FastL's int16 shift and ZIP (the sum may wrap in
			// int32 for 24 and more, as ref).
			p.LeftShift = []int{0, 8, 15, 24}[g.IntN(4)]
		}
		n := shape[0] * shape[1]
		a, b := g.I8(n, i%2 == 0), g.I8(bshape[0]*bshape[1], i%3 == 0)
		want, got := make([]int8, n), make([]int8, n)
		ref.AddInt8(&p, a, b, want)
		AddInt8(&p, a, b, got)
		diff8(t, fmt.Sprintf("case %d shape %v + %v", i, shape, bshape), got, want, shape[1])
		if n >= 16 && p.Broadcast.Dense() {
			fast++
			if addFast(&p) {
				sqdmulh++
				if p.LeftShift >= 16 && p.LeftShift <= 23 {
					lw++
				}
			}
			// In place, into either operand (a residual Add may be).
			a2, b2 := append([]int8(nil), a...), append([]int8(nil), b...)
			AddInt8(&p, a2, b, a2)
			diff8(t, fmt.Sprintf("case %d shape %v, out = a", i, shape), a2, want, shape[1])
			AddInt8(&p, a, b2, b2)
			diff8(t, fmt.Sprintf("case %d shape %v, out = b", i, shape), b2, want, shape[1])
		}
	}
	if fast < iters(300)/3 || sqdmulh < fast/4 || fast-sqdmulh < fast/10 || lw < sqdmulh/2 || sqdmulh-lw < sqdmulh/20 {
		t.Errorf("%d cases reached the assembly, %d of them SQDMULH's, %d with the int16 left shift", fast, sqdmulh, lw)
	}
	t.Logf("%d cases through the assembly, %d through SQDMULH's, %d with the int16 left shift", fast, sqdmulh, lw)
}

// TestFastRequantBoundaries drives the SQDMULH + SRSHL requantization
// (every multiplier below 1/2) at its edges: multipliers just below 1/2
// and at tiny scales, accumulators near ±2^31 through large biases, and
// rounding ties.
func TestFastRequantBoundaries(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(12)
		for i := 0; i < iters(60); i++ {
			m, n, k := 1+g.IntN(9), 1+g.IntN(40), 16+g.IntN(40)
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
				t.Fatal("multipliers below 1/2 should take the fast requantization")
			}
			FullyConnectedInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d", i), got, want, n)
		}
	})
}
