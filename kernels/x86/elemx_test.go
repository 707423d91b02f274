package x86

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// binaryCase is one random same-shape int8 binary op: its name, the x86
// kernel, ref's, and its parameters.
type binaryCase struct {
	name   string
	f, ref func(p *kernels.BinaryParams, a, b, out []int8)
	p      kernels.BinaryParams
}

// randomBinary returns case i: XNNPACK's Add or Sub (from
// NewAddParamsXNNPACK, or raw multipliers across int32 with shifts 1 to
// 40 and zero points beyond int8), TFLite's Sub (NewAddParams), Mul with
// XNNPACK's MulScale (ties at 1/2 and 1/4, subnormal, tiny, huge and
// MaxFloat32 scales; +Inf, NaN, 0 and negative ones, which run ref) or in
// TFLite's arithmetic (NewMulParams: multipliers below and above 1/2,
// both roundings); output zero points up to ±32640 and clamps within
// int8, and now and then an odd stage (kerneltest.OddStages: ref).
func randomBinary(g gen, i int) binaryCase {
	qp := func() quant.Params {
		return quant.Params{Scale: float32(math.Exp2(g.Float64()*12 - 10)), ZeroPoint: int32(g.IntN(256) - 128)}
	}
	var c binaryCase
	var err error
	switch op := i % 5; op {
	case 0, 1:
		sub := op == 1
		c.name, c.f, c.ref = "Add XNNPACK", AddInt8, ref.AddInt8
		if sub {
			c.name, c.f, c.ref = "Sub XNNPACK", SubInt8, ref.SubInt8
		}
		if g.IntN(2) == 0 {
			if c.p, err = ref.NewAddParamsXNNPACK(qp(), qp(), qp(), sub); err == nil {
				break
			}
		}
		wide := func() int32 {
			switch g.IntN(4) {
			case 0:
				return []int32{math.MinInt32, math.MaxInt32, 1 << 21, -1 << 21, 0, 1, -1}[g.IntN(7)]
			case 1:
				return int32(g.Uint32())
			}
			return int32(g.IntN(1<<22) - 1<<21)
		}
		c.p = kernels.BinaryParams{AFixed: wide(), BFixed: wide(), FixedShift: 1 + g.IntN(40),
			AZP: int32(g.IntN(256) - 128), BZP: int32(g.IntN(256) - 128)}
		if g.IntN(4) == 0 {
			c.p.AZP, c.p.BZP = int32(g.Uint32()), int32(g.IntN(2001)-1000)
		}
	case 2:
		c.name, c.f, c.ref = "Sub TFLite", SubInt8, ref.SubInt8
		for c.p, err = ref.NewAddParams(qp(), qp(), qp(), true); err != nil; c.p, err = ref.NewAddParams(qp(), qp(), qp(), true) {
		}
	case 3:
		c.name, c.f, c.ref = "Mul XNNPACK", MulInt8, ref.MulInt8
		c.p, _ = ref.NewMulParams(quant.Params{Scale: 1}, quant.Params{Scale: 1}, quant.Params{Scale: 1})
		c.p.AZP, c.p.BZP = int32(g.IntN(256)-128), int32(g.IntN(256)-128)
		c.p.MulScale = []float32{0.5, 0.25, 1, 1e-45, 1e-40, 1e-38, 1e30, math.MaxFloat32,
			float32(math.Inf(1)), float32(math.NaN()), -0.5, 0,
			float32(math.Exp2(g.Float64()*30 - 24)), float32(g.Float64() * 0.01)}[g.IntN(14)]
		if g.IntN(4) == 0 {
			c.p.AZP, c.p.BZP = int32(g.Uint32()), int32(g.IntN(2001)-1000)
		}
	default:
		c.name, c.f, c.ref = "Mul TFLite", MulInt8, ref.MulInt8
		for c.p, err = ref.NewMulParams(qp(), qp(), qp()); err != nil; c.p, err = ref.NewMulParams(qp(), qp(), qp()) {
		}
		if g.IntN(5) == 0 {
			c.p.Rounding = quant.RoundDouble
		}
	}
	switch g.IntN(6) {
	case 0:
		c.p.OutZP = []int32{-32640, 32640, int32(g.IntN(65281) - 32640)}[g.IntN(3)]
	case 1:
		st := kerneltest.OddStages[g.IntN(len(kerneltest.OddStages))]
		c.p.OutZP, c.p.ActMin, c.p.ActMax = st.ZP, st.Lo, st.Hi
		return c
	default:
		c.p.OutZP = int32(g.IntN(256) - 128)
	}
	c.p.ActMin, c.p.ActMax = -128, 127
	if g.IntN(3) == 0 {
		c.p.ActMin = int32(g.IntN(200) - 128)
		c.p.ActMax = c.p.ActMin + int32(g.IntN(int(128-c.p.ActMin)))
	}
	return c
}

// TestBinaryOpsMatchRef: same-shape Add and Sub in XNNPACK's arithmetic,
// Sub in TFLite's and Mul in both (randomBinary) give ref's bytes over
// random lengths (below 16, every tail), operands with and without their
// extremes, in place (out = a, out = b), allocating nothing; broadcast
// operands run ref.
func TestBinaryOpsMatchRef(t *testing.T) {
	g := newGen(53)
	fast := map[string]int{}
	for i := 0; i < iters(2000); i++ {
		c := randomBinary(g, i)
		n := g.ElemLength(i)
		shape := []int{n}
		bshape := shape
		if i%11 == 7 && n > 1 {
			bshape = []int{1} // broadcast: ref
		}
		var err error
		if c.p.Broadcast, err = ref.NewBroadcast(shape, bshape, shape); err != nil {
			t.Fatal(err)
		}
		a, b := g.I8(n, i%3 == 0), g.I8(bshape[0], i%4 < 2)
		want, got := make([]int8, n), make([]int8, n)
		c.ref(&c.p, a, b, want)
		c.f(&c.p, a, b, got)
		p := &c.p
		what := fmt.Sprintf("case %d %s n=%d (%d·a %d·b >> %d, Mult %v, MulScale %g, zp %d %d %d, clamp %d %d)", i, c.name, n,
			p.AFixed, p.BFixed, p.FixedShift, p.OutMult, p.MulScale, p.AZP, p.BZP, p.OutZP, p.ActMin, p.ActMax)
		diff8(t, what, got, want, max(n, 1))
		if n < 16 || len(b) != n {
			continue
		}
		a2, b2 := append([]int8(nil), a...), append([]int8(nil), b...)
		c.f(p, a2, b, a2)
		diff8(t, what+", out = a", a2, want, n)
		c.f(p, a, b2, b2)
		diff8(t, what+", out = b", b2, want, n)
		if i%40 == 3 {
			if k := testing.AllocsPerRun(5, func() { c.f(p, a, b, got) }); k != 0 {
				t.Errorf("%s: %v allocations per call", what, k)
			}
		}
		if binaryEpilogue(p) && (p.FixedShift > 0 || p.MulScale > 0 && p.MulScale <= math.MaxFloat32 ||
			p.MulScale == 0 && c.name == "Mul TFLite" && p.Rounding == quant.RoundSingle && fastRequant(p.OutMult) ||
			c.name == "Sub TFLite" && asm && fastRequant(p.OutMult)) {
			fast[c.name]++
		}
	}
	t.Logf("cases through the kernels: %v", fast)
	for _, name := range []string{"Add XNNPACK", "Sub XNNPACK", "Sub TFLite", "Mul XNNPACK", "Mul TFLite"} {
		if (asm || name != "Sub TFLite") && fast[name] < iters(2000)/50 {
			t.Errorf("%s: only %d cases through the kernels", name, fast[name])
		}
	}
}

// TestQuantizeFloatMatchesRef: float32 Quantize to int8 and uint8 gives
// ref's bytes over random lengths (below 8, every tail), scales from
// subnormal to huge, zero points at and beyond the ends of the output
// type, and values with exact ties (k ± 1/2 times the scale, where
// exact), one ulp either side of them, ±0, ±Inf, NaN, subnormals,
// ±MaxFloat32, beyond 2^52 and far outside the output range; it
// allocates nothing.
func TestQuantizeFloatMatchesRef(t *testing.T) {
	g := newGen(54)
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-45, -1e-45, math.MaxFloat32, -math.MaxFloat32, 1 << 53, -(1 << 53) - 2, 1e9, -3e4, 0.5, -0.5, 1.5, -2.5}
	for i := 0; i < iters(1000); i++ {
		n := g.ElemLength(i)
		unsigned := i%2 == 1
		p := quant.Params{Scale: []float32{0.5, 1, 0.0078125, 1e-45, 1e-30, 1e30, 3e38, -0.25,
			float32(math.Exp2(g.Float64()*24 - 12)), float32(g.Float64() + 1e-3)}[g.IntN(10)]}
		lo := int32(-128)
		if unsigned {
			lo = 0
		}
		p.ZeroPoint = lo + []int32{0, 255, 128, int32(g.IntN(256)), -300, 1000}[g.IntN(6)]
		x := make([]float32, n)
		for j := range x {
			switch g.IntN(6) {
			case 0:
				x[j] = special[g.IntN(len(special))]
			case 1, 2: // a tie (k + 1/2)·scale, or one ulp off it
				v := (float32(g.IntN(600)-300) + 0.5) * p.Scale
				switch g.IntN(3) {
				case 1:
					v = math.Nextafter32(v, float32(math.Inf(1)))
				case 2:
					v = math.Nextafter32(v, float32(math.Inf(-1)))
				}
				x[j] = v
			default:
				x[j] = float32(g.Float64()*400-200) * p.Scale
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
		if i%50 == 1 && n >= 8 {
			if k := testing.AllocsPerRun(5, func() { QuantizeFloat(x, got, p, unsigned) }); k != 0 {
				t.Errorf("case %d: %v allocations per call", i, k)
			}
		}
	}
}
