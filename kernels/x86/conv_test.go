package x86

import (
	"fmt"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// TestGroupedConv2DMatchesRef: grouped convolutions, every group its own
// packed operand, give ref's bits, also with XNNPACK's float32 stage; rows
// outside [RowLo, RowHi) stay untouched.
func TestGroupedConv2DMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(15)
		for i := 0; i < iters(300); i++ {
			p, x, w := kerneltest.GroupedConvCase(g.Gen, i)
			if i%7 == 3 {
				g.XNNPACK(&p.Out) // XNNPACK's float32 stage, per group
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
			p, x, w := kerneltest.GroupedConvCase(g.Gen, i)
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
		RowHi: HW, InZP: -9, Bias: g.Bias(C)}
	p.Out = g.Stage(C, 60*math.Sqrt(72)*64, quant.RoundSingle)
	x, w := g.I8(HW*HW*C, false), g.W8(C*72)
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
