package x86

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// groupedConvCase returns a random grouped convolution: 2 to 64 groups,
// group widths (input and output) from 1 to 24, including RegNet's 8 and
// 16, pointwise and 3×3 kernels with strides, padding and dilation, a row
// range, both roundings, and now and then weights of −128; every 50th case
// has 16 groups of 160 to 226 channels (K up to 2034, within AVX2's 2048),
// one or two of whose receptive fields fill the im2col buffer.
func groupedConvCase(g gen, i int) (kernels.ConvParams, []int8, []int8) {
	pick := func(v ...int) int { return v[g.IntN(len(v))] }
	G := pick(2, 3, 4, 6, 8, 16, 32, 64)
	cg, ng := pick(1, 2, 3, 5, 8, 8, 16, 16, 24), pick(1, 3, 8, 8, 16, 17, 24)
	for G*cg*ng > 4096 {
		G /= 2
	}
	G = max(G, 2)
	if i%50 == 49 { // wider than the im2col buffer: a few groups per pass
		G, cg, ng = 16, 160+g.IntN(67), 1+g.IntN(4)
	}
	p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(9), W: 1 + g.IntN(9), Cin: G * cg, Cout: G * ng, Groups: G,
		KH: 3, KW: 3, StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1, DilationW: 1}
	switch i % 4 {
	case 0: // pointwise: one strided GEMM per group when cg is long enough
		p.KH, p.KW, p.StrideH, p.StrideW = 1, 1, 1, 1
	case 1:
		p.KH, p.KW = 1+g.IntN(3), 1+g.IntN(3)
		p.DilationH, p.DilationW = 1+g.IntN(2), 1+g.IntN(2)
	}
	if g.IntN(3) > 0 && i%4 != 0 {
		p.PadTop, p.PadLeft = g.IntN(p.KH), g.IntN(p.KW)
	}
	effH, effW := (p.KH-1)*p.DilationH+1, (p.KW-1)*p.DilationW+1
	if p.H+2*p.PadTop < effH || p.W+2*p.PadLeft < effW {
		p.PadTop, p.PadLeft = effH, effW
	}
	p.OH = (p.H+2*p.PadTop-effH)/p.StrideH + 1
	p.OW = (p.W+2*p.PadLeft-effW)/p.StrideW + 1
	p.InZP = int32(g.IntN(256) - 128)
	p.Bias = g.bias(p.Cout)
	k := p.KH * p.KW * cg
	r := quant.RoundSingle
	if i%5 == 4 {
		r = quant.RoundDouble
	}
	p.Out = g.stage(p.Cout, 60*math.Sqrt(float64(k))*64, r)
	rows := p.N * p.OH
	p.RowLo = g.IntN(rows)
	p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
	x, w := g.i8(p.N*p.H*p.W*p.Cin, true), g.w8(p.Cout*k)
	if i%6 == 5 {
		w[g.IntN(len(w))] = -128
	}
	return p, x, w
}

// TestGroupedConv2DMatchesRef: grouped convolutions, every group its own
// packed operand, give ref's bits, also with XNNPACK's float32 stage; rows
// outside [RowLo, RowHi) stay untouched.
func TestGroupedConv2DMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(15)
		for i := 0; i < iters(300); i++ {
			p, x, w := groupedConvCase(g, i)
			if i%7 == 3 {
				g.xnnpack(&p.Out) // XNNPACK's float32 stage, per group
			}
			want := make([]int8, p.N*p.OH*p.OW*p.Cout)
			for j := range want {
				want[j] = int8(j)
			}
			got := append([]int8(nil), want...)
			ref.Conv2DInt8(&p, x, w, want)
			pk := PackConv(path, &p, w)
			if pk == nil {
				t.Fatalf("case %d: PackConv = nil for %d groups of K=%d", i, p.Groups, p.KH*p.KW*p.Cin/p.Groups)
			}
			Conv2DInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, p.Cout)
		}
	})
}

// TestGroupedConv2DNoAllocs: a grouped convolution allocates nothing.
func TestGroupedConv2DNoAllocs(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(16)
		for i := 0; i < 4; i++ {
			p, x, w := groupedConvCase(g, i)
			out := make([]int8, p.N*p.OH*p.OW*p.Cout)
			pk := PackConv(path, &p, w)
			if n := testing.AllocsPerRun(5, func() { Conv2DInt8(&p, x, pk, out) }); n != 0 {
				t.Errorf("case %d: %v allocations per call", i, n)
			}
		}
	})
}

// BenchmarkGroupedConv runs RegNet-Y-400MF's widest grouped convolution
// (440 channels in 55 groups of 8, 3×3, stride 1, padding 1, on 7×7; 1.55 M
// MACs) with the reference kernel and every path.
func BenchmarkGroupedConv(b *testing.B) {
	const C, G, HW = 440, 55, 7
	g := newGen(12)
	p := kernels.ConvParams{N: 1, H: HW, W: HW, Cin: C, KH: 3, KW: 3, Cout: C, OH: HW, OW: HW,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1, Groups: G,
		RowHi: HW, InZP: -9, Bias: g.bias(C)}
	p.Out = g.stage(C, 60*math.Sqrt(72)*64, quant.RoundSingle)
	x, w := g.i8(HW*HW*C, false), g.w8(C*72)
	out := make([]int8, HW*HW*C)
	b.Run("ref", func(b *testing.B) {
		for range b.N {
			ref.Conv2DInt8(&p, x, w, out)
		}
	})
	for _, path := range Paths {
		if ok, _ := Supported(path); !ok {
			continue
		}
		pk := PackConv(path, &p, w)
		b.Run(path.String(), func(b *testing.B) {
			for range b.N {
				Conv2DInt8(&p, x, pk, out)
			}
		})
	}
}
