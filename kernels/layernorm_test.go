package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// goLanes are LayerNormRows' steps in plain Go over groups of w values,
// in index order; calls counts them and checks each gets n = ⌊d/w⌋.
func goLanes(t *testing.T, w int, n *int, calls *int) *kernels.LayerNormLanes {
	check := func(got int) {
		t.Helper()
		if *calls++; got != *n {
			t.Fatalf("a step got %d groups, want %d", got, *n)
		}
	}
	return &kernels.LayerNormLanes{W: w,
		Sum: func(x *float32, n int) float64 {
			check(n)
			var s float64
			for _, v := range unsafe.Slice(x, n*w) {
				s += float64(v)
			}
			return s
		},
		SS: func(x *float32, n int, mean float64) float64 {
			check(n)
			var ss float64
			for _, v := range unsafe.Slice(x, n*w) {
				t := float64(v) - mean
				ss = math.FMA(t, t, ss)
			}
			return ss
		},
		Affine: func(x, out *float32, n int, gamma, beta *float32, mr [2]float32) {
			check(n)
			o, g, b := unsafe.Slice(out, n*w), unsafe.Slice(gamma, n*w), unsafe.Slice(beta, n*w)
			for i, v := range unsafe.Slice(x, n*w) {
				o[i] = float32(float32(float32(v-mr[0])*mr[1])*g[i]) + b[i]
			}
		},
	}
}

// TestLayerNormRows: with index-order steps, LayerNormRows is ref's
// LayerNorm but for the fused squares, so within 8·2^−23·(|γ|·r·(|x| +
// |m|) + |β|) of it, whatever part of a row the steps cover; each step
// runs once per row over ⌊d/W⌋ groups.
func TestLayerNormRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 300; i++ {
		w := []int{1, 4, 8, 16}[i%4]
		rows, d := 1+rng.IntN(5), w+rng.IntN(100)
		x, gamma, beta := make([]float32, rows*d), make([]float32, d), make([]float32, d)
		for _, s := range [][]float32{x, gamma, beta} {
			for j := range s {
				s[j] = float32(rng.NormFloat64())
			}
		}
		if i%5 == 0 {
			for j := range x {
				x[j] += 100
			}
		}
		n, calls := d/w, 0
		want, got := make([]float32, rows*d), make([]float32, rows*d)
		ref.LayerNormFloat(rows, d, 1e-5, x, gamma, beta, want)
		kernels.LayerNormRows(goLanes(t, w, &n, &calls), rows, d, 1e-5, x, gamma, beta, got)
		if calls != 3*rows {
			t.Fatalf("case %d: %d step calls for %d rows", i, calls, rows)
		}
		kerneltest.LayerNormWithin(t, fmt.Sprintf("case %d W=%d", i, w), rows, d, 1e-5, x, gamma, beta, got, want)
	}
}
