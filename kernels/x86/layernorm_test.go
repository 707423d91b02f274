package x86

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// TestLayerNormFloatWithinTolerance: m and r at most 1 ulp from ref's, so
// |out − ref| ≤ 8·2^−23·(|γ|·r·(|x| + |m|) + |β|) (layernorm.go), over row
// lengths below 8, multiples of 8 and 16 and neither, constant rows,
// large means, large magnitudes and outlying first values, in place too.
func TestLayerNormFloatWithinTolerance(t *testing.T) {
	checkFloat(t)
	forWidths(t, testLayerNormFloat)
}

func testLayerNormFloat(t *testing.T) {
	g := newGen(44)
	same, all := 0, 0
	for i := 0; i < iters(200); i++ {
		rows, d := 1+g.IntN(7), 1+g.IntN(400)
		switch i % 5 {
		case 0:
			d = 8 * (1 + g.IntN(40))
		case 1:
			d = 1 + g.IntN(24)
		case 2:
			d = 192
		}
		x, gamma, beta := g.F32(rows*d), g.F32(d), g.F32(d)
		scale := []float32{1, 1e-3, 30, 1e4}[i%4]
		for j := range x {
			x[j] *= scale
		}
		if i%6 == 5 {
			for j := range x[:d] {
				x[j] = 3 // a constant row: variance 0, rstd 1/sqrt(eps)
			}
		}
		if i%7 == 3 {
			for j := range x {
				x[j] = x[j]*1e-3 + 100 // a large mean
			}
		}
		if i%8 == 4 {
			for r := 0; r < rows; r++ {
				x[r*d] = 1e4 * scale // the first value, the zmm path's shift, far out
			}
		}
		eps := []float32{1e-5, 1e-6, 0}[i%3]
		what := fmt.Sprintf("case %d rows=%d d=%d eps=%g", i, rows, d, eps)
		want, got := make([]float32, rows*d), guarded(rows*d)
		ref.LayerNormFloat(rows, d, eps, x, gamma, beta, want)
		LayerNormFloat(rows, d, eps, x, gamma, beta, got)
		checkGuard(t, what, got)
		same += kerneltest.LayerNormWithin(t, what, rows, d, eps, x, gamma, beta, got, want)
		all += rows * d
		LayerNormFloat(rows, d, eps, x, gamma, beta, x)
		sameBits(t, what+", in place", x, got)
	}
	t.Logf("%d of %d outputs have ref's bits", same, all)
}

// TestLayerNormStatsLanes: sumF64 and ssF64 add value i in lane i mod 16
// and the lanes as sumLanes does (the Go twins' order), bit for bit.
func TestLayerNormStatsLanes(t *testing.T) {
	g := newGen(45)
	for i := 0; i < iters(200); i++ {
		n8 := 1 + g.IntN(50)
		x := g.F32(8 * n8)
		for j := range x {
			x[j] *= float32(math.Exp2(float64(g.IntN(40) - 20))) // sums that round
		}
		mean := float64(x[g.IntN(len(x))])
		var s, ss [16]float64
		for j, v := range x {
			s[j%16] += float64(v)
			t := float64(v) - mean
			ss[j%16] = math.FMA(t, t, ss[j%16])
		}
		if got, want := sumF64(&x[0], n8), sumLanes(&s); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("case %d n8=%d: sumF64 = %v, lanes give %v", i, n8, got, want)
		}
		if got, want := ssF64(&x[0], n8, mean), sumLanes(&ss); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("case %d n8=%d: ssF64 = %v, lanes give %v", i, n8, got, want)
		}
	}
}

// TestLayerNormStatsWideLanes: statsF64Z adds value i − c in lane i mod
// 32 and the lanes as sumLanes32, bit for bit.
func TestLayerNormStatsWideLanes(t *testing.T) {
	if !hasAVX512F() {
		t.Skip("no AVX-512F: only the ymm helpers run here")
	}
	g := newGen(49)
	for i := 0; i < iters(200); i++ {
		n8 := 1 + g.IntN(50)
		x := g.F32(8 * n8)
		for j := range x {
			x[j] *= float32(math.Exp2(float64(g.IntN(40) - 20)))
		}
		c := float64(x[g.IntN(len(x))])
		var s, ss [32]float64
		for j, v := range x {
			t := float64(v) - c
			s[j%32] += t
			ss[j%32] = math.FMA(t, t, ss[j%32])
		}
		gs, gss := statsF64Z(&x[0], n8, c)
		if math.Float64bits(gs) != math.Float64bits(sumLanes32(&s)) || math.Float64bits(gss) != math.Float64bits(sumLanes32(&ss)) {
			t.Fatalf("case %d n8=%d: statsF64Z = %v, %v; lanes give %v, %v", i, n8, gs, gss, sumLanes32(&s), sumLanes32(&ss))
		}
	}
}

func TestLayerNormFloatNoAllocs(t *testing.T) {
	g := newGen(46)
	x, gamma, beta := g.F32(197*192), g.F32(192), g.F32(192)
	out := make([]float32, len(x))
	if n := testing.AllocsPerRun(3, func() { LayerNormFloat(197, 192, 1e-6, x, gamma, beta, out) }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
