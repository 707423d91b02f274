package x86

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

func TestGELUFloatWithinTolerance(t *testing.T) {
	checkFloat(t)
	forWidths(t, testGELUFloat)
}

// forWidths runs test with the ymm kernels and, where the CPU has
// AVX-512F, with the zmm ones.
func forWidths(t *testing.T, test func(t *testing.T)) {
	defer func(w bool) { floatWide = w }(floatWide)
	for _, wide := range []bool{false, true} {
		if wide && !hasAVX512F() {
			t.Log("no AVX-512F: only the ymm kernels run here")
			continue
		}
		floatWide = wide
		t.Run(map[bool]string{false: "ymm", true: "zmm"}[wide], test)
	}
}

func testGELUFloat(t *testing.T) {
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
		want, got := make([]float32, n), guarded(n)
		ref.GELUFloat(x, want, false)
		GELUFloat(x, got, false)
		checkGuard(t, fmt.Sprintf("case %d", i), got)
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
	checkFloat(t)
	forWidths(t, testSoftmaxFloat)
}

func testSoftmaxFloat(t *testing.T) {
	g := newGen(42)
	worst := 0.0
	for i := 0; i < iters(100); i++ {
		rows, d := 1+g.IntN(10), 1+g.IntN(400)
		beta := []float32{1, 0.125, 2, -1}[i%4]
		x := make([]float32, rows*d)
		for j := range x {
			x[j] = float32(g.NormFloat64() * []float64{1, 5, 30, 1000}[i%4])
		}
		want, got := make([]float32, rows*d), guarded(rows*d)
		ref.SoftmaxFloat(rows, d, beta, x, want)
		SoftmaxFloat(rows, d, beta, x, got)
		checkGuard(t, fmt.Sprintf("case %d", i), got)
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

// TestSoftmaxFloatNonFinite: a row holding NaN, +Inf or −Inf (anywhere:
// first, in a block, in the tail) gives ref's output — NaN where ref's is
// — and the finite rows around it stay within tolerance.
func TestSoftmaxFloatNonFinite(t *testing.T) {
	checkFloat(t)
	forWidths(t, func(t *testing.T) {
		g := newGen(44)
		special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
		for i := 0; i < iters(200); i++ {
			rows, d := 1+g.IntN(4), 1+g.IntN(70)
			beta := []float32{1, 0.5, -1}[i%3]
			x := make([]float32, rows*d)
			for j := range x {
				x[j] = float32(g.NormFloat64() * 3)
			}
			r := g.IntN(rows)
			switch i % 4 {
			case 0: // every value of the row −Inf: ref's max is −Inf, its output NaN
				for j := range x[r*d : (r+1)*d] {
					x[r*d+j] = float32(math.Inf(-1))
				}
			default:
				for k := 1 + g.IntN(2); k > 0; k-- {
					x[r*d+g.IntN(d)] = special[g.IntN(len(special))]
				}
			}
			want, got := make([]float32, rows*d), guarded(rows*d)
			ref.SoftmaxFloat(rows, d, beta, x, want)
			SoftmaxFloat(rows, d, beta, x, got)
			checkGuard(t, fmt.Sprintf("case %d", i), got)
			for j := range want {
				w, o := want[j], got[j]
				if w != w || o != o {
					if w == w || o == o {
						t.Fatalf("case %d rows=%d d=%d β=%v row %d: out[%d] = %v, ref %v", i, rows, d, beta, r, j, o, w)
					}
					continue
				}
				if diff := math.Abs(float64(o - w)); !(diff <= 4e-6*float64(w)+1e-30) {
					t.Fatalf("case %d rows=%d d=%d β=%v: out[%d] = %v, ref %v", i, rows, d, beta, j, o, w)
				}
			}
		}
	})
}

// TestGELUFloatWideSameBits: the zmm GELU runs the ymm kernel's
// instructions, so it gives its bits wherever that one runs (the values
// before the last multiple of 8).
func TestGELUFloatWideSameBits(t *testing.T) {
	checkFloat(t)
	if !hasAVX512F() {
		t.Skip("no AVX-512F: only the ymm kernel runs here")
	}
	defer func(w bool) { floatWide = w }(floatWide)
	g := newGen(48)
	for i := 0; i < iters(40); i++ {
		n := 8 * (1 + g.IntN(300))
		x := make([]float32, n)
		for j := range x {
			x[j] = float32(g.NormFloat64() * []float64{0.1, 1, 4, 100}[i%4])
		}
		narrow, wide := make([]float32, n), make([]float32, n)
		floatWide = false
		GELUFloat(x, narrow, false)
		floatWide = true
		GELUFloat(x, wide, false)
		sameBits(t, fmt.Sprintf("case %d, %d values", i, n), wide, narrow)
	}
}

// TestAddFloatMatchesRef: bit for bit, clamped or not, lengths 0–700, NaN,
// ±Inf and signed zeros included, in place too; broadcasts run ref.
func TestAddFloatMatchesRef(t *testing.T) {
	checkFloat(t)
	g := newGen(43)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 6, -1}
	for i := 0; i < iters(300); i++ {
		n := g.IntN(700)
		a, b := make([]float32, n), make([]float32, n)
		for j := range a {
			a[j], b[j] = float32(g.NormFloat64()*4), float32(g.NormFloat64()*4)
			if j%37 == 5 {
				a[j] = special[g.IntN(len(special))]
			}
		}
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		switch i % 3 {
		case 1:
			lo, hi = 0, 6 // ReLU6
		case 2:
			lo = 0 // ReLU
		}
		bc := kernels.DenseBroadcast(n)
		want, got := make([]float32, n), make([]float32, n)
		ref.AddFloat(&bc, a, b, want, lo, hi)
		AddFloat(&bc, a, b, got, lo, hi)
		sameBits(t, fmt.Sprintf("case %d, %d values", i, n), got, want)
		AddFloat(&bc, a, b, a, lo, hi)
		sameBits(t, fmt.Sprintf("case %d, %d values, in place", i, n), a, want)
	}
}

// guarded returns n values followed, past the slice's length, by 16
// sentinels that checkGuard verifies: a masked tail must not store
// beyond the row.
func guarded(n int) []float32 {
	b := make([]float32, n+16)
	for i := n; i < len(b); i++ {
		b[i] = -12345
	}
	return b[:n]
}

func checkGuard(t *testing.T, what string, b []float32) {
	t.Helper()
	for i, v := range b[len(b):cap(b)] {
		if v != -12345 {
			t.Fatalf("%s: value %d past the output's end overwritten (%v)", what, i, v)
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for j := range want {
		if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
			t.Fatalf("%s: value %d is %v, ref %v", what, j, got[j], want[j])
		}
	}
}
