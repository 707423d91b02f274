package ref

import (
	"math"
	"slices"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
)

func sameFloats(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool {
		return math.Float32bits(x) == math.Float32bits(y) || x != x && y != y
	})
}

func TestDivAndFloorDivFloat(t *testing.T) {
	// a [2,3] over b [3], broadcast.
	bc, err := NewBroadcast([]int{2, 3}, []int{3}, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	inf := float32(math.Inf(1))
	a := []float32{7, -7, 1, 7.5, -0.5, 0}
	b := []float32{2, -2, 0}
	out := make([]float32, 6)
	DivFloat(&bc, a, b, out, float32(math.Inf(-1)), inf)
	if want := []float32{3.5, 3.5, inf, 3.75, 0.25, float32(math.NaN())}; !sameFloats(out, want) {
		t.Errorf("DivFloat = %v, want %v", out, want)
	}
	FloorDivFloat(&bc, a, b, out, float32(math.Inf(-1)), inf)
	if want := []float32{3, 3, inf, 3, 0, float32(math.NaN())}; !sameFloats(out, want) {
		t.Errorf("FloorDivFloat = %v, want %v", out, want)
	}
	// Negative quotients floor toward −∞; a ReLU6 clamp applies after.
	a2 := []float32{-7, 7, -1, 13, -13, 100}
	FloorDivFloat(&bc, a2, b, out, 0, 6)
	// −7/2 → −4 → 0; 7/−2 → −4 → 0; −1/0 → −Inf → 0; 13/2 → 6; −13/−2 → 6; 100/0 → +Inf → 6.
	if want := []float32{0, 0, 0, 6, 6, 6}; !sameFloats(out, want) {
		t.Errorf("FloorDivFloat with ReLU6 = %v, want %v", out, want)
	}
	// The quotient is floored in float64: 16777215/16777216 rounds to 1
	// in float32, but its floor is 0.
	one, _ := NewBroadcast([]int{1}, []int{1}, []int{1})
	q := make([]float32, 1)
	FloorDivFloat(&one, []float32{16777215}, []float32{16777216}, q, float32(math.Inf(-1)), inf)
	if q[0] != 0 {
		t.Errorf("FloorDivFloat(16777215, 16777216) = %v, want 0", q[0])
	}
}

func TestInt32Arithmetic(t *testing.T) {
	bc, err := NewBroadcast([]int{6}, []int{6}, []int{6})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := int32(math.MinInt32), int32(math.MaxInt32)
	a := []int32{7, -7, 7, -7, 5, math.MinInt32}
	b := []int32{2, 2, -2, -2, 0, -1}
	out := make([]int32, 6)
	for _, c := range []struct {
		name string
		f    func(*kernels.Broadcast, []int32, []int32, []int32, int32, int32)
		want []int32
	}{
		{"FloorDiv", FloorDivInt32, []int32{3, -4, -4, 3, 0, math.MinInt32}},
		{"Div", DivInt32, []int32{3, -3, -3, 3, 0, math.MinInt32}},
		{"Add", AddInt32, []int32{9, -5, 5, -9, 5, math.MaxInt32}},
		{"Sub", SubInt32, []int32{5, -9, 9, -5, 5, math.MinInt32 + 1}},
		{"Mul", MulInt32, []int32{14, -14, -14, 14, 0, math.MinInt32}},
	} {
		c.f(&bc, a, b, out, lo, hi)
		if !slices.Equal(out, c.want) {
			t.Errorf("%sInt32(%v, %v) = %v, want %v", c.name, a, b, out, c.want)
		}
	}
	// MoveNet's decoder: a flat index over a 48-wide grid split into row
	// and column, broadcasting the scalar width, with a ReLU on the rest.
	sc, err := NewBroadcast([]int{1, 4}, []int{}, []int{1, 4})
	if err != nil {
		t.Fatal(err)
	}
	idx, w := []int32{0, 47, 48, 2303}, []int32{48}
	row, back, col := make([]int32, 4), make([]int32, 4), make([]int32, 4)
	FloorDivInt32(&sc, idx, w, row, lo, hi)
	MulInt32(&sc, row, w, back, lo, hi)
	bc4, _ := NewBroadcast([]int{1, 4}, []int{1, 4}, []int{1, 4})
	SubInt32(&bc4, idx, back, col, 0, hi)
	if !slices.Equal(row, []int32{0, 0, 1, 47}) || !slices.Equal(col, []int32{0, 47, 0, 47}) {
		t.Errorf("rows %v, columns %v, want [0 0 1 47] and [0 47 0 47]", row, col)
	}
	SubInt32(&bc4, []int32{-5, 3, 10, 6}, []int32{0, 0, 0, 0}, col, 0, 6)
	if !slices.Equal(col, []int32{0, 3, 6, 6}) {
		t.Errorf("SubInt32 with ReLU6 = %v, want [0 3 6 6]", col)
	}
}

func TestSqrtCastGatherND(t *testing.T) {
	x := []float32{0, 1, 2, 6.25, -1, float32(math.Inf(1))}
	out := make([]float32, len(x))
	SqrtFloat(x, out)
	if want := []float32{0, 1, 1.4142135, 2.5, float32(math.NaN()), float32(math.Inf(1))}; !sameFloats(out, want) {
		t.Errorf("SqrtFloat = %v, want %v", out, want)
	}
	if Sqrt(-4) != 0 || Sqrt(9) != 3 {
		t.Errorf("Sqrt(−4), Sqrt(9) = %v, %v, want 0, 3", Sqrt(-4), Sqrt(9))
	}

	f := make([]float32, 4)
	CastInt32ToFloat([]int32{-3, 0, 16777217, math.MaxInt32}, f)
	if want := []float32{-3, 0, 16777216, 2147483648}; !slices.Equal(f, want) {
		t.Errorf("CastInt32ToFloat = %v, want %v", f, want)
	}
	i := make([]int32, 7)
	CastFloatToInt32([]float32{2.9, -2.9, float32(math.NaN()), 3e9, -3e9, 0.5, -2147483648}, i)
	if want := []int32{2, -2, 0, math.MaxInt32, math.MinInt32, 0, math.MinInt32}; !slices.Equal(i, want) {
		t.Errorf("CastFloatToInt32 = %v, want %v", i, want)
	}

	// params [2,3,2] bytes 0..11; K = 2 picks rows of 2 bytes.
	in := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	g := make([]byte, 8)
	for k := range g {
		g[k] = 0xee
	}
	GatherNDBytes([]int{2, 3}, 2, []int32{1, 2, 0, 0, 2, 0, 0, -1}, in, g)
	if want := []byte{10, 11, 0, 1, 0, 0, 0, 0}; !slices.Equal(g, want) {
		t.Errorf("GatherNDBytes K=2 = %v, want %v (rows out of range read as zeros)", g, want)
	}
	// K = 3 picks single elements; int32 slices of 4 bytes with K = 1.
	s := make([]byte, 2)
	GatherNDBytes([]int{2, 3, 2}, 1, []int32{1, 1, 1, 0, 2, 0}, in, s)
	if want := []byte{9, 4}; !slices.Equal(s, want) {
		t.Errorf("GatherNDBytes K=3 = %v, want %v", s, want)
	}
	w := make([]byte, 8)
	GatherNDBytes([]int{3}, 4, []int32{2, 0}, in, w)
	if want := []byte{8, 9, 10, 11, 0, 1, 2, 3}; !slices.Equal(w, want) {
		t.Errorf("GatherNDBytes K=1 = %v, want %v", w, want)
	}
}
