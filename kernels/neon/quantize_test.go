package neon

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// TestQuantizeFloatMatchesRef: float32 Quantize to int8 and uint8, in
// assembly, gives ref's bytes over random lengths (below 16, tails),
// scales from subnormal to huge, zero points at the ends of the range,
// and values with exact ties (k + 1/2 times the scale), ±0, ±Inf, NaN,
// subnormals, ±MaxFloat32 and values far outside the output range; it
// allocates nothing.
func TestQuantizeFloatMatchesRef(t *testing.T) {
	g := newGen(47)
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32, 1e9, -1e9, 3e4, -3e4, 2.5e9}
	asm := 0
	for i := 0; i < iters(600); i++ {
		n := g.ElemLength(i)
		unsigned := i%2 == 1
		p := quant.Params{Scale: []float32{0.5, 1, 0.0078125, 1e-45, 1e-30, 1e30, 3e38,
			float32(math.Exp2(g.Float64()*20 - 12)), float32(g.Float64())}[g.IntN(9)]}
		if p.Scale == 0 {
			p.Scale = 0.25
		}
		if unsigned {
			p.ZeroPoint = []int32{0, 255, 128, int32(g.IntN(256))}[g.IntN(4)]
		} else {
			p.ZeroPoint = []int32{-128, 127, 0, int32(g.IntN(256) - 128)}[g.IntN(4)]
		}
		x := make([]float32, n)
		for j := range x {
			switch g.IntN(6) {
			case 0:
				x[j] = special[g.IntN(len(special))]
			case 1: // a tie: (k + 1/2)·scale, where exact
				x[j] = (float32(g.IntN(600)-300) + 0.5) * p.Scale
			default:
				x[j] = float32((g.Float64()*400 - 200)) * p.Scale
			}
		}
		want, got := make([]byte, n), make([]byte, n)
		ref.QuantizeFloat(x, want, p, unsigned)
		QuantizeFloat(x, got, p, unsigned)
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("case %d (n %d, unsigned %v, scale %g, zp %d): x[%d] = %g: got %d, want %d",
					i, n, unsigned, p.Scale, p.ZeroPoint, j, x[j], got[j], want[j])
			}
		}
		if n >= 16 {
			asm++
			if i%50 == 1 {
				if k := testing.AllocsPerRun(5, func() { QuantizeFloat(x, got, p, unsigned) }); k != 0 {
					t.Errorf("case %d: %v allocations per call", i, k)
				}
			}
		}
	}
	if asm < iters(600)/3 {
		t.Errorf("only %d cases reached the assembly", asm)
	}
	// A zero point outside the output type: ref.
	x := make([]float32, 40)
	for j := range x {
		x[j] = float32(j) - 20
	}
	for _, u := range []bool{false, true} {
		p := quant.Params{Scale: 0.5, ZeroPoint: 300}
		want, got := make([]byte, 40), make([]byte, 40)
		ref.QuantizeFloat(x, want, p, u)
		QuantizeFloat(x, got, p, u)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("zero point 300, unsigned %v: got %v, want %v", u, got, want)
		}
	}
}
