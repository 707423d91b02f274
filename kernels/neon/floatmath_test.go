package neon

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

func TestGELUFloatWithinTolerance(t *testing.T) {

	g := newGen(41)
	for i := 0; i < iters(60); i++ {
		n := 1 + g.IntN(3000)
		x := make([]float32, n)
		for j := range x {
			x[j] = float32(g.NormFloat64() * []float64{0.1, 1, 3, 10}[i%4])
		}
		if i == 1 {
			x[0], x[len(x)-1] = 1e4, -1e4 // exps far below the float32 range
		}
		if i == 0 {
			x = append(x, 0, -0.0, 1e-30, -1e-30, 88, -88, 1e4, -1e4, 5.5, -5.5, 0.5, -0.5, 1, -1, 2, -2)
			n = len(x)
		}
		want, got := make([]float32, n), make([]float32, n)
		ref.GELUFloat(x, want, false)
		GELUFloat(x, got, false)
		worst := 0.0
		for j := range x {
			d := math.Abs(float64(got[j] - want[j]))
			tol := 4e-7 * math.Max(1, math.Abs(float64(x[j])))
			worst = math.Max(worst, d/tol)
			if !(d <= tol) {
				t.Fatalf("case %d: GELU(%v) = %v, ref %v (|diff| %g > %g)", i, x[j], got[j], want[j], d, tol)
			}
		}
		if i == 0 {
			t.Logf("worst error %.2f of the tolerance", worst)
		}
	}
}

func TestSoftmaxFloatWithinTolerance(t *testing.T) {

	g := newGen(42)
	worst := 0.0
	for i := 0; i < iters(100); i++ {
		rows, d := 1+g.IntN(10), 1+g.IntN(400)
		beta := []float32{1, 0.125, 2, -1}[i%4]
		x := make([]float32, rows*d)
		for j := range x {
			x[j] = float32(g.NormFloat64() * []float64{1, 5, 30, 1000}[i%4])
		}
		want, got := make([]float32, rows*d), make([]float32, rows*d)
		ref.SoftmaxFloat(rows, d, beta, x, want)
		SoftmaxFloat(rows, d, beta, x, got)
		for j := range want {
			diff := math.Abs(float64(got[j] - want[j]))
			tol := 4e-6*float64(want[j]) + 1e-30
			worst = math.Max(worst, diff/tol)
			if !(diff <= tol) {
				t.Fatalf("%s: out[%d] = %v, ref %v (|diff| %g > %g)", fmt.Sprintf("case %d rows=%d D=%d β=%v", i, rows, d, beta), j, got[j], want[j], diff, tol)
			}
		}
	}
	t.Logf("worst error %.2f of the tolerance", worst)
}

func TestFloatMathNoAllocs(t *testing.T) {
	g := newGen(43)
	x := g.F32(197 * 197)
	out := make([]float32, len(x))
	if n := testing.AllocsPerRun(3, func() {
		GELUFloat(x, out, false)
		SoftmaxFloat(197, 197, 1, x, out)
	}); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
