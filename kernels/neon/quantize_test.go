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

// TestDequantizeMatchesRef: int8 and uint8 Dequantize, in assembly, gives
// ref's float32 bits over every code, random lengths (below 16, tails),
// zero points at the ends of the range (and outside it: ref's path) and
// scales whose products are subnormal or overflow to +Inf; it allocates
// nothing.
func TestDequantizeMatchesRef(t *testing.T) {
	g := newGen(48)
	for i := 0; i < iters(200); i++ {
		unsigned := i%2 == 1
		n := 1 + g.IntN(600)
		if i%4 == 0 {
			n = 16 * (1 + g.IntN(20))
		}
		zp := int32(g.IntN(256))
		if !unsigned {
			zp -= 128
		}
		switch i % 10 {
		case 2:
			zp = [2]int32{-128, 0}[i/10%2]
			if unsigned {
				zp += 128
			}
		case 3:
			zp = [2]int32{127, 255}[i/10%2]
		case 5:
			zp = [2]int32{300, -129}[i/10%2] // outside the type: ref
		}
		scale := float32(math.Exp2(float64(g.IntN(40)-20))) * float32(0.5+g.Float64())
		switch i % 7 {
		case 1:
			scale = 1e-44 // subnormal products
		case 4:
			scale = 3e36 // products beyond MaxFloat32: +Inf
		}
		p := quant.Params{Scale: scale, ZeroPoint: zp}
		x := make([]byte, n)
		for j := range x {
			x[j] = byte(j*7 + i) // every code, in a shuffled order
		}
		want, got := make([]float32, n), make([]float32, n)
		if unsigned {
			ref.DequantizeUint8(x, want, p)
		} else {
			xi := make([]int8, n)
			for j, b := range x {
				xi[j] = int8(b)
			}
			ref.DequantizeInt8(xi, want, p)
		}
		Dequantize(x, got, p, unsigned)
		sameBits(t, fmt.Sprintf("case %d n=%d unsigned=%v scale %g zp %d", i, n, unsigned, scale, zp), got, want)
	}
	x, out := make([]byte, 1000), make([]float32, 1000)
	if a := testing.AllocsPerRun(5, func() {
		Dequantize(x, out, quant.Params{Scale: 0.1, ZeroPoint: 3}, false)
		Dequantize(x, out, quant.Params{Scale: 0.1, ZeroPoint: 200}, true)
	}); a != 0 {
		t.Errorf("%v allocations per call", a)
	}
}
