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
	g := newGen(51)
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
			a[g.IntN(len(a))] = float32(math.NaN())
			a[g.IntN(len(a))] = float32(math.Inf(-1))
			a[0], b[0] = float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1)) // −0 + −0 = −0 passes a 0 clamp
		}
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		switch i % 3 {
		case 1:
			lo = 0
		case 2:
			lo, hi = 0, 6
		}
		want, got := make([]float32, bc.N), make([]float32, bc.N)
		ref.AddFloat(&bc, a, b, want, lo, hi)
		AddFloat(&bc, a, b, got, lo, hi)
		sameBits(t, fmt.Sprintf("case %d shape %v + %v clamp [%v, %v]", i, shape, bshape, lo, hi), got, want)
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
		LayerNormFloat(197, 192, 1e-5, x, gamma, beta, out)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
