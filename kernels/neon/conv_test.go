package neon

import (
	"fmt"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
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
