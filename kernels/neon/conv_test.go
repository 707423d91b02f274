package neon

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
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

// TestShortConv2DMatchesRef: ungrouped convolutions of fewer than 16
// taps (KH·KW·Cin, as a one-channel image's first layer), packed as one
// group padded to 16, give ref's bits, also with XNNPACK's float32 stage;
// with a weight zero point they are not packed.
func TestShortConv2DMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(17)
		pick := func(v ...int) int { return v[g.IntN(len(v))] }
		for i := 0; i < iters(300); i++ {
			p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(12), W: 1 + g.IntN(12), Cin: pick(1, 1, 1, 2, 3),
				Cout: pick(1, 3, 8, 8, 16, 17, 33), StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2),
				DilationH: 1 + g.IntN(2), DilationW: 1 + g.IntN(2)}
			for p.KH, p.KW = 1+g.IntN(3), 1+g.IntN(3); p.KH*p.KW*p.Cin >= 16; p.KH, p.KW = 1+g.IntN(3), 1+g.IntN(3) {
			}
			if g.IntN(3) > 0 {
				p.PadTop, p.PadLeft = g.IntN(p.KH), g.IntN(p.KW)
			}
			kerneltest.FitOutput(&p)
			k := p.KH * p.KW * p.Cin
			p.InZP = int32(g.IntN(256) - 128)
			p.Bias = g.Bias(p.Cout)
			p.Out = g.Stage(p.Cout, 60*math.Sqrt(float64(k))*64, quant.RoundSingle)
			if i%3 == 1 {
				g.XNNPACK(&p.Out)
			}
			rows := p.N * p.OH
			p.RowLo = g.IntN(rows)
			p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
			x, w := g.I8(p.N*p.H*p.W*p.Cin, true), g.W8(p.Cout*k)
			want := make([]int8, p.N*p.OH*p.OW*p.Cout)
			for j := range want {
				want[j] = int8(j)
			}
			got := append([]int8(nil), want...)
			ref.Conv2DInt8(&p, x, w, want)
			pk := PackConv(path, &p, w)
			if pk == nil {
				t.Fatalf("case %d: PackConv = nil for K=%d", i, k)
			}
			Conv2DInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, p.Cout)
			if p.WZP = 3; PackConv(path, &p, w) != nil {
				t.Fatalf("case %d: K=%d with a weight zero point packed", i, k)
			}
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
