package neon

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// xnnClamp sets a random clamp within int8 on some cases (never inverted).
func xnnClamp(g gen, i int, p *kernels.BinaryParams) {
	p.ActMin, p.ActMax = -128, 127
	if i%3 == 1 {
		lo := int32(g.IntN(200) - 128)
		p.ActMin, p.ActMax = lo, lo+int32(g.IntN(int(128-lo)))
	}
}

// TestFixedAddSubMatchesRef: XNNPACK's Add and Sub (FixedShift > 0) of
// same-shape operands, in assembly, give ref's bytes over random lengths
// (below 16, tails), parameters from NewAddParamsXNNPACK and raw ones
// across their whole range (|AFixed|, |BFixed| up to 2^21 of either sign,
// FixedShift 1 to 31, zero points ±128/127, clamps), in place, and
// allocate nothing; broadcasting and out-of-range parameters run ref.
func TestFixedAddSubMatchesRef(t *testing.T) {
	g := newGen(41)
	asm := 0
	for i := 0; i < iters(600); i++ {
		n := g.ElemLength(i)
		var p kernels.BinaryParams
		sub := i%2 == 1
		if i%5 < 2 {
			sa, sb, so := float32(math.Exp2(g.Float64()*10-12)), float32(math.Exp2(g.Float64()*10-12)), float32(math.Exp2(g.Float64()*10-12))
			zp := func() int32 { return int32(g.IntN(256) - 128) }
			var err error
			p, err = ref.NewAddParamsXNNPACK(quant.Params{Scale: sa, ZeroPoint: zp()}, quant.Params{Scale: sb, ZeroPoint: zp()},
				quant.Params{Scale: so, ZeroPoint: zp()}, sub)
			if err != nil {
				continue
			}
		} else {
			fx := func() int32 {
				switch g.IntN(5) {
				case 0:
					return []int32{1 << 21, -1 << 21, 0, 1, -1}[g.IntN(5)]
				case 1:
					return int32(g.IntN(1<<22+1) - 1<<21)
				}
				return int32(g.IntN(1 << 21))
			}
			ez := func() int32 { return []int32{-128, 127, 0, int32(g.IntN(256) - 128)}[g.IntN(4)] }
			p.AFixed, p.BFixed, p.FixedShift = fx(), fx(), 1+g.IntN(31)
			p.AZP, p.BZP, p.OutZP = ez(), ez(), ez()
		}
		xnnClamp(g, i, &p)
		p.Broadcast = kernels.DenseBroadcast(n)
		a, b := g.I8(n, i%3 == 0), g.I8(n, i%4 == 0)
		want, got := make([]int8, n), make([]int8, n)
		f, rf := AddInt8, ref.AddInt8
		if sub {
			f, rf = SubInt8, ref.SubInt8
		}
		rf(&p, a, b, want)
		f(&p, a, b, got)
		what := fmt.Sprintf("case %d (sub %v, n %d, %+d·a %+d·b >> %d, zp %d %d %d, clamp %d %d)", i, sub, n,
			p.AFixed, p.BFixed, p.FixedShift, p.AZP, p.BZP, p.OutZP, p.ActMin, p.ActMax)
		diff8(t, what, got, want, max(n, 1))
		if n >= 16 {
			asm++
			a2, b2 := append([]int8(nil), a...), append([]int8(nil), b...)
			f(&p, a2, b, a2)
			diff8(t, what+", out = a", a2, want, n)
			f(&p, a, b2, b2)
			diff8(t, what+", out = b", b2, want, n)
			if i%50 == 1 {
				if k := testing.AllocsPerRun(5, func() { f(&p, a, b, got) }); k != 0 {
					t.Errorf("%s: %v allocations per call", what, k)
				}
			}
		}
	}
	if asm < iters(600)/3 {
		t.Errorf("only %d cases reached the assembly", asm)
	}
	// Broadcasting, and parameters the assembly does not take: ref.
	for i, mod := range []func(p *kernels.BinaryParams){
		func(p *kernels.BinaryParams) { p.AFixed = 1<<21 + 1 },
		func(p *kernels.BinaryParams) { p.BFixed = -1<<21 - 1 },
		func(p *kernels.BinaryParams) { p.FixedShift = 32 },
		func(p *kernels.BinaryParams) { p.OutZP = 300 },
		func(p *kernels.BinaryParams) { p.ActMin, p.ActMax = 10, -10 },
		func(p *kernels.BinaryParams) {
			p.Broadcast, _ = ref.NewBroadcast([]int{4, 16}, []int{1, 16}, []int{4, 16})
		},
	} {
		p := kernels.BinaryParams{AFixed: 1 << 20, BFixed: 3 << 18, FixedShift: 20, AZP: 3, BZP: -7, OutZP: 5,
			ActMin: -128, ActMax: 127, Broadcast: kernels.DenseBroadcast(64)}
		mod(&p)
		a, b := g.I8(64, true), g.I8(64, true)
		for _, sub := range []bool{false, true} {
			want, got := make([]int8, 64), make([]int8, 64)
			if sub {
				ref.SubInt8(&p, a, b, want)
				SubInt8(&p, a, b, got)
			} else {
				ref.AddInt8(&p, a, b, want)
				AddInt8(&p, a, b, got)
			}
			diff8(t, fmt.Sprintf("fallback %d sub %v", i, sub), got, want, 64)
		}
	}
}

// TestMulScaleMatchesRef: XNNPACK's Mul (MulScale) of same-shape operands,
// in assembly, gives ref's bytes over random lengths, scales across
// float32 (ties at 1/2 and 1/4, subnormal, tiny, huge, MaxFloat32), zero
// points ±128/127 and clamps, in place, and allocates nothing; +Inf, NaN,
// zero and negative scales and broadcasting run ref.
func TestMulScaleMatchesRef(t *testing.T) {
	g := newGen(43)
	asm := 0
	for i := 0; i < iters(600); i++ {
		n := g.ElemLength(i)
		var p kernels.BinaryParams
		p.MulScale = []float32{0.5, 0.25, 1, 1e-45, 1e-38, 1e30, math.MaxFloat32, 3.0757405e-05,
			float32(math.Exp2(g.Float64()*40 - 30)), float32(g.Float64()), float32(g.Float64() * 0.01)}[g.IntN(11)]
		ez := func() int32 { return []int32{-128, 127, 0, int32(g.IntN(256) - 128)}[g.IntN(4)] }
		p.AZP, p.BZP, p.OutZP = ez(), ez(), ez()
		xnnClamp(g, i, &p)
		p.Broadcast = kernels.DenseBroadcast(n)
		a, b := g.I8(n, i%3 == 0), g.I8(n, i%4 == 0)
		want, got := make([]int8, n), make([]int8, n)
		ref.MulInt8(&p, a, b, want)
		MulInt8(&p, a, b, got)
		what := fmt.Sprintf("case %d (n %d, scale %g, zp %d %d %d, clamp %d %d)", i, n, p.MulScale, p.AZP, p.BZP, p.OutZP, p.ActMin, p.ActMax)
		diff8(t, what, got, want, max(n, 1))
		if n >= 16 {
			asm++
			a2, b2 := append([]int8(nil), a...), append([]int8(nil), b...)
			MulInt8(&p, a2, b, a2)
			diff8(t, what+", out = a", a2, want, n)
			MulInt8(&p, a, b2, b2)
			diff8(t, what+", out = b", b2, want, n)
			if i%50 == 1 {
				if k := testing.AllocsPerRun(5, func() { MulInt8(&p, a, b, got) }); k != 0 {
					t.Errorf("%s: %v allocations per call", what, k)
				}
			}
		}
	}
	if asm < iters(600)/3 {
		t.Errorf("only %d cases reached the assembly", asm)
	}
	for i, mod := range []func(p *kernels.BinaryParams){
		func(p *kernels.BinaryParams) { p.MulScale = float32(math.Inf(1)) },
		func(p *kernels.BinaryParams) { p.MulScale = float32(math.NaN()) },
		func(p *kernels.BinaryParams) { p.MulScale = 0; p.OutMult = quant.MustMultiplier(0.003) },
		func(p *kernels.BinaryParams) { p.AZP = 200 },
		func(p *kernels.BinaryParams) {
			p.Broadcast, _ = ref.NewBroadcast([]int{4, 16}, []int{1, 16}, []int{4, 16})
		},
	} {
		p := kernels.BinaryParams{MulScale: 0.0021, AZP: 3, BZP: -7, OutZP: 5, ActMin: -128, ActMax: 127,
			Broadcast: kernels.DenseBroadcast(64)}
		mod(&p)
		a, b := g.I8(64, true), g.I8(64, true)
		want, got := make([]int8, 64), make([]int8, 64)
		ref.MulInt8(&p, a, b, want)
		MulInt8(&p, a, b, got)
		diff8(t, fmt.Sprintf("fallback %d", i), got, want, 64)
	}
}
