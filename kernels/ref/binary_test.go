package ref

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

func TestNewBroadcast(t *testing.T) {
	for _, c := range []struct {
		a, b, out  []int
		shape      [6]int
		aStr, bStr [6]int
		n          int
	}{
		{[]int{3, 1, 5}, []int{1, 4, 1}, []int{3, 4, 5},
			[6]int{1, 1, 1, 3, 4, 5}, [6]int{0, 0, 0, 5, 0, 1}, [6]int{0, 0, 0, 0, 1, 0}, 60},
		{[]int{}, []int{2, 3}, []int{2, 3},
			[6]int{1, 1, 1, 1, 2, 3}, [6]int{}, [6]int{0, 0, 0, 0, 3, 1}, 6},
		{[]int{2, 3}, []int{3}, nil,
			[6]int{1, 1, 1, 1, 2, 3}, [6]int{0, 0, 0, 0, 3, 1}, [6]int{0, 0, 0, 0, 0, 1}, 6},
		{[]int{2, 1, 3, 1, 1, 2}, []int{4, 1, 1}, []int{2, 1, 3, 4, 1, 2},
			[6]int{2, 1, 3, 4, 1, 2}, [6]int{6, 0, 2, 0, 0, 1}, [6]int{0, 0, 0, 1, 0, 0}, 48},
		{[]int{0, 3}, []int{1, 3}, []int{0, 3},
			[6]int{1, 1, 1, 1, 0, 3}, [6]int{0, 0, 0, 0, 3, 1}, [6]int{0, 0, 0, 0, 0, 1}, 0},
		// Leading 1s on the output are allowed.
		{[]int{4}, []int{4}, []int{1, 1, 4},
			[6]int{1, 1, 1, 1, 1, 4}, [6]int{0, 0, 0, 0, 0, 1}, [6]int{0, 0, 0, 0, 0, 1}, 4},
	} {
		p, err := NewBroadcast(c.a, c.b, c.out)
		if err != nil {
			t.Errorf("NewBroadcast(%v, %v, %v): %v", c.a, c.b, c.out, err)
			continue
		}
		want := kernels.Broadcast{OutShape: c.shape, AStride: c.aStr, BStride: c.bStr, N: c.n}
		if p != want {
			t.Errorf("NewBroadcast(%v, %v, %v) = %+v, want %+v", c.a, c.b, c.out, p, want)
		}
	}
	for _, c := range []struct {
		a, b, out []int
		msg       string
	}{
		{[]int{2, 3}, []int{4, 3}, nil, "dimension -2 is 2 and 4"},
		{[]int{2, 3}, []int{4, 3}, []int{4, 3}, "dimension"},
		{[]int{3, 1, 5}, []int{1, 4, 1}, []int{3, 4, 1}, "output shape"},
		{[]int{3}, []int{3}, []int{2, 3}, "output shape"},
		{[]int{1, 1, 1, 1, 1, 1, 1}, []int{1}, nil, "rank"},
		{[]int{-1}, []int{1}, nil, "negative"},
	} {
		_, err := NewBroadcast(c.a, c.b, c.out)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("NewBroadcast(%v, %v, %v) = %v, want an error about %q", c.a, c.b, c.out, err, c.msg)
		}
	}
}

// ewBinaryCase is a random broadcasting pattern: the output shape and two
// operand shapes, each operand dim either the output's or 1, operands
// possibly of lower rank.
type ewBinaryCase struct{ a, b, out []int }

func ewRandomBroadcast(r *rand.Rand) ewBinaryCase {
	rank := r.IntN(7)
	out := make([]int, rank)
	for i := range out {
		out[i] = 1 + r.IntN(4)
		if rank >= 5 {
			out[i] = 1 + r.IntN(3)
		}
	}
	operand := func() []int {
		s := slices.Clone(out[r.IntN(rank+1):])
		for i := range s {
			if r.IntN(3) == 0 {
				s[i] = 1
			}
		}
		return s
	}
	c := ewBinaryCase{operand(), operand(), out}
	// The broadcast of the two operands may be smaller than out; make one
	// operand carry the full shape on half of the cases, else shrink out.
	if r.IntN(2) == 0 {
		c.a = slices.Clone(out)
	} else {
		c.out = ewBroadcastShape(c.a, c.b)
	}
	return c
}

// ewBroadcastShape is numpy's rule, restated.
func ewBroadcastShape(a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range out {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		out[i] = max(da, db)
		if da == 0 || db == 0 {
			out[i] = 0
		}
	}
	return out
}

// ewOperandIndex returns the flat index into an operand of shape s for
// the output multi-index idx (numpy broadcasting, right-aligned).
func ewOperandIndex(s, idx []int) int {
	k := len(idx) - len(s)
	f := 0
	for i, d := range s {
		j := idx[k+i]
		if d == 1 {
			j = 0
		}
		f = f*d + j
	}
	return f
}

// ewEachOutput calls f with every output flat index and the matching
// operand indices.
func ewEachOutput(c ewBinaryCase, f func(o, ia, ib int)) {
	idx := make([]int, len(c.out))
	for o := range ewCount(c.out) {
		ewUnravel(c.out, o, idx)
		f(o, ewOperandIndex(c.a, idx), ewOperandIndex(c.b, idx))
	}
}

type ewInt8Op struct {
	name   string
	params func(a, b, out quant.Params) (kernels.BinaryParams, error)
	kernel func(*kernels.BinaryParams, []int8, []int8, []int8)
	// exact is the documented integer definition, restated with the exact
	// multiplier reference.
	exact func(p *kernels.BinaryParams, x, y int8) int8
	// real is the float op on dequantized operands.
	real func(x, y float64) float64
}

func ewRescaled(p *kernels.BinaryParams, x, y int8) (int32, int32) {
	sa := (int32(x) - p.AZP) * (1 << p.LeftShift)
	sb := (int32(y) - p.BZP) * (1 << p.LeftShift)
	return ewApply(p.AMult, sa, p.Rounding), ewApply(p.BMult, sb, p.Rounding)
}

var ewInt8Ops = []ewInt8Op{
	{
		"Add",
		func(a, b, out quant.Params) (kernels.BinaryParams, error) { return NewAddParams(a, b, out, false) },
		AddInt8,
		func(p *kernels.BinaryParams, x, y int8) int8 {
			ra, rb := ewRescaled(p, x, y)
			return ewClamp(int64(p.OutZP)+int64(ewApply(p.OutMult, ra+rb, p.Rounding)), p.ActMin, p.ActMax)
		},
		func(x, y float64) float64 { return x + y },
	},
	{
		"Sub",
		func(a, b, out quant.Params) (kernels.BinaryParams, error) { return NewAddParams(a, b, out, true) },
		SubInt8,
		func(p *kernels.BinaryParams, x, y int8) int8 {
			ra, rb := ewRescaled(p, x, y)
			return ewClamp(int64(p.OutZP)+int64(ewApply(p.OutMult, ra-rb, p.Rounding)), p.ActMin, p.ActMax)
		},
		func(x, y float64) float64 { return x - y },
	},
	{
		"Mul",
		NewMulParams,
		MulInt8,
		func(p *kernels.BinaryParams, x, y int8) int8 {
			prod := (int32(x) - p.AZP) * (int32(y) - p.BZP)
			return ewClamp(int64(p.OutZP)+int64(ewApply(p.OutMult, prod, p.Rounding)), p.ActMin, p.ActMax)
		},
		func(x, y float64) float64 { return x * y },
	},
	{
		"SquaredDifference",
		NewSquaredDifferenceParams,
		SquaredDifferenceInt8,
		func(p *kernels.BinaryParams, x, y int8) int8 {
			ra, rb := ewRescaled(p, x, y)
			d := int64(ra) - int64(rb)
			if d*d > math.MaxInt32 {
				panic("squared difference overflows int32")
			}
			return ewClamp(int64(p.OutZP)+int64(ewApply(p.OutMult, int32(d*d), p.Rounding)), p.ActMin, p.ActMax)
		},
		func(x, y float64) float64 { return (x - y) * (x - y) },
	},
}

// ewOutParams picks output parameters that cover the op's real range on
// operands with parameters a and b, scaled by slack (below 1 saturates).
func ewOutParams(r *rand.Rand, name string, a, b quant.Params, slack float64) quant.Params {
	ra := float64(a.Scale) * 255
	rb := float64(b.Scale) * 255
	var span float64
	switch name {
	case "Add", "Sub":
		span = 2 * (ra + rb)
	case "Mul":
		span = 2 * ra * rb
	case "SquaredDifference":
		span = (ra + rb) * (ra + rb)
	}
	s := float32(span * slack / 255)
	zp := int32(r.IntN(256) - 128)
	if name == "SquaredDifference" && r.IntN(2) == 0 {
		zp = -128 // the natural choice for a non-negative result
	}
	return quant.Params{Scale: s, ZeroPoint: zp}
}

func TestBinaryInt8Random(t *testing.T) {
	r := ewRand(t, 2)
	for _, op := range ewInt8Ops {
		var exactChecked, realChecked int
		for iter := range ewIters(300) {
			c := ewRandomBroadcast(r)
			aS, bS := ewParams(r, 1e-3, 1), ewParams(r, 1e-3, 1)
			if iter%4 == 0 {
				bS = aS // equal scales, the common residual case
			}
			slack := 1.0
			if iter%5 == 0 {
				slack = 0.05 // heavy saturation
			}
			outS := ewOutParams(r, op.name, aS, bS, slack)
			p, err := op.params(aS, bS, outS)
			if err != nil {
				t.Fatalf("%s params %v %v %v: %v", op.name, aS, bS, outS, err)
			}
			if p.Broadcast, err = NewBroadcast(c.a, c.b, c.out); err != nil {
				t.Fatalf("%s broadcast %v %v %v: %v", op.name, c.a, c.b, c.out, err)
			}
			p.Rounding = quant.Rounding(iter % 2)
			if iter%3 == 0 { // fused ReLU
				p.ActMin = max(outS.ZeroPoint, quant.Int8Min)
			}
			a, b := ewInt8s(r, ewCount(c.a)), ewInt8s(r, ewCount(c.b))
			out := make([]int8, ewCount(c.out)+1)
			out[len(out)-1] = 42 // guard
			op.kernel(&p, a, b, out[:len(out)-1])
			if out[len(out)-1] != 42 {
				t.Fatalf("%s wrote past its output", op.name)
			}
			ewEachOutput(c, func(o, ia, ib int) {
				x, y := a[ia], b[ib]
				if want := op.exact(&p, x, y); out[o] != want {
					t.Fatalf("%s %v (%v) ⊕ %v (%v) → %v (%v), rounding %v: got %d, want %d",
						op.name, c.a, aS, c.b, bS, c.out, outS, p.Rounding, out[o], want)
				}
				exactChecked++
				// The dequantized result tracks the real op.
				xr := float64(aS.Scale) * float64(int32(x)-aS.ZeroPoint)
				yr := float64(bS.Scale) * float64(int32(y)-bS.ZeroPoint)
				want := op.real(xr, yr)/float64(outS.Scale) + float64(outS.ZeroPoint)
				want = math.Min(math.Max(want, float64(p.ActMin)), float64(p.ActMax))
				tol := 1.0
				if op.name == "SquaredDifference" {
					// Both operands are rescaled to units of m/2^7 and rounded:
					// the difference is off by δ ≤ m/2^7, its square by
					// (2|x−y| + δ)·δ.
					m := 2 * math.Max(float64(aS.Scale), float64(bS.Scale))
					delta := m / (1 << SquaredDifferenceLeftShift)
					tol += (2*math.Abs(xr-yr) + delta) * delta / float64(outS.Scale)
				}
				if d := math.Abs(float64(out[o]) - want); d > tol {
					t.Fatalf("%s: %v (%v) ⊕ %v (%v): got %d, real %.3f (tolerance %.3f)",
						op.name, x, aS, y, bS, out[o], want, tol)
				}
				realChecked++
			})
		}
		if exactChecked < 1000 && !testing.Short() {
			t.Errorf("%s: only %d elements checked", op.name, exactChecked)
		}
	}
}

// TestBinaryInt8Exhaustive runs every pair of int8 values through each op
// for a few parameter sets, comparing with the exact definition.
func TestBinaryInt8Exhaustive(t *testing.T) {
	r := ewRand(t, 3)
	a := make([]int8, 256*256)
	b := make([]int8, 256*256)
	for i := range a {
		a[i] = int8(i/256 - 128)
		b[i] = int8(i%256 - 128)
	}
	out := make([]int8, len(a))
	bc, err := NewBroadcast([]int{len(a)}, []int{len(b)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	step := 5 // coprime with 256: every a and every b value still occurs
	if testing.Short() {
		step = 37
	}
	for _, op := range ewInt8Ops {
		for k := range 3 {
			aS, bS := ewParams(r, 1e-3, 1), ewParams(r, 1e-3, 1)
			outS := ewOutParams(r, op.name, aS, bS, 0.5)
			p, err := op.params(aS, bS, outS)
			if err != nil {
				t.Fatal(err)
			}
			p.Broadcast = bc
			p.Rounding = quant.Rounding(k % 2)
			op.kernel(&p, a, b, out)
			for i := 0; i < len(a); i += step {
				if want := op.exact(&p, a[i], b[i]); out[i] != want {
					t.Fatalf("%s(%d, %d) with %v %v → %v, %v: got %d, want %d",
						op.name, a[i], b[i], aS, bS, outS, p.Rounding, out[i], want)
				}
			}
		}
	}
}

func TestBinaryInt8Hand(t *testing.T) {
	one := func(bp kernels.BinaryParams, err error, k func(*kernels.BinaryParams, []int8, []int8, []int8),
		x, y int8, r quant.Rounding) int8 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		bp.Broadcast, err = NewBroadcast([]int{1}, []int{1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		bp.Rounding = r
		out := []int8{0}
		k(&bp, []int8{x}, []int8{y}, out)
		return out[0]
	}
	half := quant.Params{Scale: 0.5}
	unit := quant.Params{Scale: 1}
	// 1.5 + 2 = 3.5 → 4 under both roundings; −1.5 + −2 = −3.5 → −3 when
	// rounding half up (RoundSingle), −4 half away from zero (RoundDouble).
	p, err := NewAddParams(half, half, unit, false)
	if p.LeftShift != 20 || p.AMult != (quant.Multiplier{M: 1 << 30, Shift: 0}) ||
		p.OutMult != (quant.Multiplier{M: 1 << 30, Shift: -19}) || p.ActMin != -128 || p.ActMax != 127 {
		t.Errorf("NewAddParams(0.5, 0.5, 1) = %+v", p)
	}
	for _, c := range []struct {
		x, y int8
		r    quant.Rounding
		want int8
	}{
		{3, 4, quant.RoundSingle, 4}, {3, 4, quant.RoundDouble, 4},
		{-3, -4, quant.RoundSingle, -3}, {-3, -4, quant.RoundDouble, -4},
		{127, 127, quant.RoundSingle, 127}, {-128, -128, quant.RoundSingle, -128},
	} {
		if got := one(p, err, AddInt8, c.x, c.y, c.r); got != c.want {
			t.Errorf("Add(%d, %d) %v = %d, want %d", c.x, c.y, c.r, got, c.want)
		}
	}
	// Sub: a = 0.1·(20 − 10) = 1, b = 0.2·(5 + 5) = 2; 1 − 2 = −1 →
	// 3 + round(−1/0.3) = 3 − 3 = 0.
	p, err = NewAddParams(quant.Params{Scale: 0.1, ZeroPoint: 10}, quant.Params{Scale: 0.2, ZeroPoint: -5},
		quant.Params{Scale: 0.3, ZeroPoint: 3}, true)
	if got := one(p, err, SubInt8, 20, 5, quant.RoundSingle); got != 0 {
		t.Errorf("Sub = %d, want 0", got)
	}
	// Mul: 0.5·(5 − 1) · 0.25·(10 + 2) = 2·3 = 6 → 6/0.1 = 60.
	p, err = NewMulParams(quant.Params{Scale: 0.5, ZeroPoint: 1}, quant.Params{Scale: 0.25, ZeroPoint: -2},
		quant.Params{Scale: 0.1})
	if got := one(p, err, MulInt8, 5, 10, quant.RoundSingle); got != 60 {
		t.Errorf("Mul = %d, want 60", got)
	}
	// Mul saturates: 6/0.01 = 600 → 127; −6 → −128.
	p, err = NewMulParams(quant.Params{Scale: 0.5, ZeroPoint: 1}, quant.Params{Scale: 0.25, ZeroPoint: -2},
		quant.Params{Scale: 0.01})
	if got := one(p, err, MulInt8, 5, 10, quant.RoundSingle); got != 127 {
		t.Errorf("Mul = %d, want 127", got)
	}
	if got := one(p, err, MulInt8, -3, 10, quant.RoundSingle); got != -128 {
		t.Errorf("Mul = %d, want -128", got)
	}
	// A saturating multiplier result plus a positive zero point must not
	// wrap: (127·127)·2^20 saturates int32, + 100 stays 127.
	p, err = NewMulParams(unit, unit, quant.Params{Scale: 1.0 / (1 << 20), ZeroPoint: 100})
	if got := one(p, err, MulInt8, 127, 127, quant.RoundSingle); got != 127 {
		t.Errorf("saturating Mul = %d, want 127", got)
	}
	// SquaredDifference: (0.5·10 − 0.5·4)² = 9 → −128 + 9 = −119. In
	// integers: a' = 1280/2 = 640, b' = 256, (384)² = 147456, ·2^−14 = 9.
	p, err = NewSquaredDifferenceParams(half, half, quant.Params{Scale: 1, ZeroPoint: -128})
	if p.LeftShift != 7 || p.OutMult.Real() != 1.0/(1<<14) {
		t.Errorf("NewSquaredDifferenceParams = %+v", p)
	}
	if got := one(p, err, SquaredDifferenceInt8, 10, 4, quant.RoundSingle); got != -119 {
		t.Errorf("SquaredDifference = %d, want -119", got)
	}
	// The largest difference: (127 − (−128))·0.5 = 127.5, squared 16256.25
	// at scale 1 → saturates to 127.
	if got := one(p, err, SquaredDifferenceInt8, 127, -128, quant.RoundSingle); got != 127 {
		t.Errorf("SquaredDifference = %d, want 127", got)
	}
	// Fused ReLU: 0.5·(−4) + 0.5·(2) = −1 → clamped to the zero point.
	p, err = NewAddParams(half, half, quant.Params{Scale: 0.25, ZeroPoint: -20}, false)
	p.ActMin = -20
	if got := one(p, err, AddInt8, -4, 2, quant.RoundSingle); got != -20 {
		t.Errorf("Add+ReLU = %d, want -20", got)
	}
}

func TestBinaryParamsErrors(t *testing.T) {
	good := quant.Params{Scale: 0.1}
	for _, c := range []struct {
		name string
		err  error
		msg  string
	}{
		{"zero scale", ew2(NewAddParams(quant.Params{}, good, good, false)), "add: first input: scale 0"},
		{"zero point", ew2(NewAddParams(good, quant.Params{Scale: 1, ZeroPoint: 200}, good, true)), "sub: second input: zero point 200"},
		{"output", ew2(NewMulParams(good, good, quant.Params{Scale: float32(math.Inf(1))})), "mul: output"},
		{"tiny output", ew2(NewMulParams(quant.Params{Scale: 1e30}, quant.Params{Scale: 1e30}, quant.Params{Scale: 1e-30})), "too small"},
		{"tiny output", ew2(NewAddParams(quant.Params{Scale: 1e20}, good, quant.Params{Scale: 1e-20}, false)), "too small"},
		{"tiny output", ew2(NewSquaredDifferenceParams(quant.Params{Scale: 1e20}, good, quant.Params{Scale: 1e-20})), "too small"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.msg)
		}
	}
}

func ew2(_ kernels.BinaryParams, err error) error { return err }

func TestBinaryFloat(t *testing.T) {
	r := ewRand(t, 4)
	ops := []struct {
		name   string
		kernel func(*kernels.Broadcast, []float32, []float32, []float32, float32, float32)
		f      func(x, y float32) float32
	}{
		{"Add", AddFloat, func(x, y float32) float32 { return x + y }},
		{"Sub", SubFloat, func(x, y float32) float32 { return x - y }},
		{"Mul", MulFloat, func(x, y float32) float32 { return x * y }},
		{"SquaredDifference", SquaredDifferenceFloat, func(x, y float32) float32 { d := x - y; return d * d }},
	}
	inf := float32(math.Inf(1))
	for _, op := range ops {
		for iter := range ewIters(200) {
			c := ewRandomBroadcast(r)
			p, err := NewBroadcast(c.a, c.b, c.out)
			if err != nil {
				t.Fatal(err)
			}
			a, b := ewFloats(r, ewCount(c.a), -4, 4), ewFloats(r, ewCount(c.b), -4, 4)
			lo, hi := -inf, inf
			switch iter % 3 {
			case 1:
				lo = 0
			case 2:
				lo, hi = 0, 6
			}
			out := make([]float32, ewCount(c.out))
			op.kernel(&p, a, b, out, lo, hi)
			ewEachOutput(c, func(o, ia, ib int) {
				want := min(max(op.f(a[ia], b[ib]), lo), hi)
				if out[o] != want {
					t.Fatalf("%s %v ⊕ %v: out[%d] = %v, want %v", op.name, c.a, c.b, o, out[o], want)
				}
			})
		}
	}
	// Hand case: [3,1] + [1,2] with ReLU6.
	p, _ := NewBroadcast([]int{3, 1}, []int{1, 2}, []int{3, 2})
	out := make([]float32, 6)
	AddFloat(&p, []float32{-1, 2, 5}, []float32{0.5, 3}, out, 0, 6)
	if want := []float32{0, 2, 2.5, 5, 5.5, 6}; !slices.Equal(out, want) {
		t.Errorf("AddFloat = %v, want %v", out, want)
	}
	// NaN passes through the clamp.
	p, _ = NewBroadcast([]int{1}, []int{1}, nil)
	MulFloat(&p, []float32{float32(math.NaN())}, []float32{1}, out[:1], 0, 6)
	if out[0] == out[0] {
		t.Errorf("MulFloat(NaN) = %v, want NaN", out[0])
	}
}

func TestBinaryAllocs(t *testing.T) {
	r := ewRand(t, 5)
	bp, err := NewAddParams(ewParams(r, 0.01, 0.1), ewParams(r, 0.01, 0.1), ewParams(r, 0.01, 0.1), false)
	if err != nil {
		t.Fatal(err)
	}
	bp.Broadcast, _ = NewBroadcast([]int{3, 1, 5}, []int{1, 4, 1}, nil)
	a, b, out := ewInt8s(r, 15), ewInt8s(r, 4), make([]int8, 60)
	af, bf, outf := ewFloats(r, 15, -1, 1), ewFloats(r, 4, -1, 1), make([]float32, 60)
	for _, k := range []struct {
		name string
		f    func()
	}{
		{"AddInt8", func() { AddInt8(&bp, a, b, out) }},
		{"SubInt8", func() { SubInt8(&bp, a, b, out) }},
		{"MulInt8", func() { MulInt8(&bp, a, b, out) }},
		{"SquaredDifferenceInt8", func() { SquaredDifferenceInt8(&bp, a, b, out) }},
		{"AddFloat", func() { AddFloat(&bp.Broadcast, af, bf, outf, -1, 1) }},
		{"SubFloat", func() { SubFloat(&bp.Broadcast, af, bf, outf, -1, 1) }},
		{"MulFloat", func() { MulFloat(&bp.Broadcast, af, bf, outf, -1, 1) }},
		{"SquaredDifferenceFloat", func() { SquaredDifferenceFloat(&bp.Broadcast, af, bf, outf, -1, 1) }},
	} {
		ewAllocs(t, k.name, k.f)
	}
}

func BenchmarkAddInt8(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	p, _ := NewAddParams(quant.Params{Scale: 0.02}, quant.Params{Scale: 0.03, ZeroPoint: 5}, quant.Params{Scale: 0.04}, false)
	p.Broadcast, _ = NewBroadcast([]int{197, 192}, []int{197, 192}, nil)
	x, y, out := ewInt8s(r, 197*192), ewInt8s(r, 197*192), make([]int8, 197*192)
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		AddInt8(&p, x, y, out)
	}
}
