package neon

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// sameBits fails unless got and want are the same float32 bits.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: out[%d] = %v (%#x), ref %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestAddFloatMatchesRef(t *testing.T) {
	z := float32(math.Copysign(0, -1))
	// NaN and −Inf pass; −0 + −0 = −0 passes a 0 clamp.
	special := [][2]float32{{z, z}, {float32(math.NaN()), 1}, {float32(math.Inf(-1)), 2}}
	binaryFloatMatchesRef(t, 51, "+", ref.AddFloat, AddFloat, special)
}

// TestDivFloatMatchesRef: IEEE division lane by lane, so every bit is
// ref's, with divisors of ±0, ±Inf, NaN and subnormal quotients.
func TestDivFloatMatchesRef(t *testing.T) {
	inf, nan, z := float32(math.Inf(1)), float32(math.NaN()), float32(math.Copysign(0, -1))
	special := [][2]float32{{1, 0}, {-1, 0}, {1, z}, {0, 0}, {z, 3}, {inf, inf}, {-inf, 2}, {3, inf},
		{nan, 1}, {1, nan}, {1e-38, 1e3}, {3e38, 1e-3}, {-3e38, 1e-3}}
	binaryFloatMatchesRef(t, 54, "/", ref.DivFloat, DivFloat, special)
}

type floatBinary func(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32)

// binaryFloatMatchesRef checks f against refOp bit for bit over random
// shapes (dense, and broadcast for ref's path), every clamp, with the
// special operand pairs at the front of every seventh case.
func binaryFloatMatchesRef(t *testing.T, seed uint64, op string, refOp, f floatBinary, special [][2]float32) {
	g := newGen(seed)
	for i := 0; i < iters(120); i++ {
		shape := []int{1 + g.IntN(5), 1 + g.IntN(70)}
		bshape := shape
		if i%5 == 4 {
			bshape = []int{1, shape[1]} // broadcast: ref's path
		}
		bc, err := ref.NewBroadcast(shape, bshape, shape)
		if err != nil {
			t.Fatal(err)
		}
		a, b := g.F32(bc.N), g.F32(bshape[0]*bshape[1])
		if i%7 == 3 {
			for j, s := range special {
				if j < len(a) && j < len(b) {
					a[j], b[j] = s[0], s[1]
				}
			}
		}
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		switch i % 3 {
		case 1:
			lo = 0
		case 2:
			lo, hi = 0, 6
		}
		want, got := make([]float32, bc.N), make([]float32, bc.N)
		refOp(&bc, a, b, want, lo, hi)
		f(&bc, a, b, got, lo, hi)
		sameBits(t, fmt.Sprintf("case %d shape %v %s %v clamp [%v, %v]", i, shape, op, bshape, lo, hi), got, want)
	}
}

// TestLayerNormFloatWithinTolerance: m and r at most 1 ulp from ref's, so
// |out − ref| ≤ 8·2^−23·(|γ|·r·(|x| + |m|) + |β|); the bits agree on all
// but a handful of values.
func TestLayerNormFloatWithinTolerance(t *testing.T) {
	g := newGen(52)
	same, all := 0, 0
	for i := 0; i < iters(120); i++ {
		rows, d := 1+g.IntN(6), 1+g.IntN(100)
		if i%4 == 0 {
			d = 16 * (1 + g.IntN(12))
		}
		x, gamma, beta := g.F32(rows*d), g.F32(d), g.F32(d)
		if i%6 == 5 {
			for j := range x[:d] {
				x[j] = 3 // a constant row: variance 0
			}
		}
		if i%5 == 2 {
			for j := range x {
				x[j] = x[j]*1e-3 + 100 // a large mean
			}
		}
		want, got := make([]float32, rows*d), make([]float32, rows*d)
		ref.LayerNormFloat(rows, d, 1e-5, x, gamma, beta, want)
		LayerNormFloat(rows, d, 1e-5, x, gamma, beta, got)
		same += kerneltest.LayerNormWithin(t, fmt.Sprintf("case %d rows=%d d=%d", i, rows, d), rows, d, 1e-5, x, gamma, beta, got, want)
		all += rows * d
	}
	t.Logf("%d of %d outputs have ref's bits", same, all)
}

func TestFloatElemNoAllocs(t *testing.T) {
	g := newGen(53)
	x, y, gamma, beta := g.F32(197*192), g.F32(197*192), g.F32(192), g.F32(192)
	out := make([]float32, len(x))
	bc, err := ref.NewBroadcast([]int{197, 192}, []int{197, 192}, []int{197, 192})
	if err != nil {
		t.Fatal(err)
	}
	var p kernels.Broadcast = bc
	if n := testing.AllocsPerRun(3, func() {
		AddFloat(&p, x, y, out, 0, 6)
		DivFloat(&p, x, y, out, 0, 6)
		LayerNormFloat(197, 192, 1e-5, x, gamma, beta, out)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
