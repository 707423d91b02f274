package x86

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

func TestAddMatchesRef(t *testing.T) {
	g := newGen(31)
	fast := 0
	for i := 0; i < iters(400); i++ {
		shape := []int{1 + g.IntN(40), 1 + g.IntN(200)}
		if i%9 == 0 {
			shape = []int{1, 1 + g.IntN(7)} // below 8 elements: ref
		}
		qp := func() quant.Params {
			return quant.Params{Scale: float32(math.Exp2(g.Float64()*10 - 8)), ZeroPoint: int32(g.IntN(256) - 128)}
		}
		p, err := ref.NewAddParams(qp(), qp(), qp(), false)
		if err != nil {
			continue // scale ratio outside what Add supports
		}
		bshape := shape
		if i%7 == 3 {
			bshape = []int{1, shape[1]} // broadcast: ref
		}
		if p.Broadcast, err = ref.NewBroadcast(shape, bshape, shape); err != nil {
			t.Fatal(err)
		}
		if i%4 == 1 {
			p.ActMin, p.ActMax = int32(g.IntN(100)-128), int32(g.IntN(100)+28)
		}
		n := shape[0] * shape[1]
		a, b := g.I8(n, i%2 == 0), g.I8(bshape[0]*bshape[1], i%3 == 0)
		want, got := make([]int8, n), make([]int8, n)
		ref.AddInt8(&p, a, b, want)
		AddInt8(&p, a, b, got)
		diff8(t, fmt.Sprintf("case %d shape %v + %v", i, shape, bshape), got, want, shape[1])
		if n >= 8 && p.Broadcast.Dense() && fastRequant(p.OutMult) {
			fast++
		}
	}
	if Asm() && fast < iters(400)/3 {
		t.Errorf("only %d cases reached the assembly", fast)
	}
	t.Logf("%d cases through the assembly", fast)
}

func TestLayerNormMatchesRef(t *testing.T) {
	g := newGen(32)
	for i := 0; i < iters(200); i++ {
		rows, d := 1+g.IntN(20), 16*(1+g.IntN(50))
		if i%5 == 0 {
			d = 1 + g.IntN(100) // not a multiple of 16: ref
		}
		in := quant.Params{Scale: float32(math.Exp2(g.Float64()*8 - 6)), ZeroPoint: int32(g.IntN(256) - 128)}
		out := quant.Params{Scale: float32(math.Exp2(g.Float64()*6 - 6)), ZeroPoint: int32(g.IntN(256) - 128)}
		gamma, beta := make([]float32, d), make([]float32, d)
		for j := range gamma {
			gamma[j] = float32(g.NormFloat64())
			beta[j] = float32(g.NormFloat64())
		}
		eps := float32(1e-5)
		if i%7 == 2 {
			eps = 0
		}
		p, err := ref.NewLayerNormParams(rows, d, eps, gamma, beta, in, out)
		if err != nil {
			t.Fatal(err)
		}
		x := g.I8(rows*d, i%2 == 0)
		if i%11 == 4 { // constant rows: zero variance
			for j := range x {
				x[j] = int8(j / d)
			}
		}
		if i%13 == 6 { // ties and saturation: Gamma and Beta on half-integers
			for j := range p.Gamma {
				p.Gamma[j], p.Beta[j] = 0, float32(g.IntN(600)-300)/2
			}
		}
		if i%17 == 8 {
			p.Beta[g.IntN(d)] = float32(math.NaN())
			p.Gamma[g.IntN(d)] = float32(math.Inf(1))
		}
		want, got := make([]int8, rows*d), make([]int8, rows*d)
		ref.LayerNormInt8(&p, x, want)
		LayerNormInt8(&p, x, got)
		diff8(t, fmt.Sprintf("case %d rows=%d D=%d", i, rows, d), got, want, d)
	}
}

func TestSoftmaxMatchesRef(t *testing.T) {
	g := newGen(33)
	for i := 0; i < iters(200); i++ {
		rows, d := 1+g.IntN(20), 1+g.IntN(300)
		scale := float32(math.Exp2(g.Float64()*8 - 8))
		p := kernels.SoftmaxParams{Rows: rows, D: d, Exp: ref.NewSoftmaxTable(1, scale)}
		if i%9 == 4 {
			p.Exp = ref.NewSoftmaxTableXNNPACK(d, scale) // entries above 2^16: ref
		}
		x := g.I8(rows*d, i%2 == 0)
		if i%10 == 3 {
			for j := range x {
				x[j] = 127 // all equal: ties
			}
		}
		want, got := make([]int8, rows*d), make([]int8, rows*d)
		ref.SoftmaxInt8(&p, x, want)
		SoftmaxInt8(&p, x, got)
		diff8(t, fmt.Sprintf("case %d rows=%d D=%d", i, rows, d), got, want, d)
	}
}

// TestLookupMatchesRef: random tables (and the identity, a constant, a
// step at the sign bit) over lengths 0–700, in place too. Without VBMI
// LookupInt8 is ref.LookupInt8 and the test says so.
func TestLookupMatchesRef(t *testing.T) {
	if ok, why := HasLookup(); !ok {
		t.Logf("LookupInt8 runs ref here: %s", why)
	}
	g := newGen(33)
	for i := 0; i < iters(300); i++ {
		var tab quant.Table
		for j := range tab {
			switch i % 4 {
			case 0:
				tab[j] = int8(g.IntN(256) - 128)
			case 1:
				tab[j] = int8(j - 128) // identity
			case 2:
				tab[j] = -7
			default:
				tab[j] = int8(j / 128 * 100) // 0 below index 128, 100 from it
			}
		}
		n := g.IntN(700)
		if i%10 == 0 {
			n = 64 * (1 + g.IntN(5))
		}
		x := g.I8(n, i%2 == 0)
		want, got := make([]int8, n), make([]int8, n)
		ref.LookupInt8(&tab, x, want)
		LookupInt8(&tab, x, got)
		diff8(t, fmt.Sprintf("case %d, %d values", i, n), got, want, max(1, n))
		LookupInt8(&tab, x, x)
		diff8(t, fmt.Sprintf("case %d, %d values, in place", i, n), x, want, max(1, n))
	}
}
