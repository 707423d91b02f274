package neon

import (
	"fmt"
	"slices"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// TestArgMaxMatchesRef: ArgMaxInt8 equals ref.ArgMaxInt8 (the first of
// equal maxima) over random row counts and axis lengths (below 16, 16 to
// 32, longer, whole blocks and not), rows that are random, all equal,
// drawn from two or three values (ties everywhere), with a single maximum
// at the first or the last position or at a block boundary, and at the
// extremes −128 and 127; x is exactly outer·axis long (argmaxShort's last
// rows) and nothing is written past out. A few non-contiguous layouts
// (inner > 1) check the fallback.
func TestArgMaxMatchesRef(t *testing.T) {
	g := newGen(47)
	axes := []int{1, 2, 3, 7, 15, 16, 17, 20, 21, 31, 32, 33, 47, 48, 49, 64, 65, 100, 255, 256, 300}
	for i := 0; i < iters(1500); i++ {
		axis := axes[g.IntN(len(axes))]
		if i%3 == 0 {
			axis = 1 + g.IntN(70)
		}
		outer := 1 + g.IntN(40)
		if i%7 == 0 {
			outer = 1 + g.IntN(3)
		}
		inner := 1
		if i%50 == 49 {
			inner = 2 + g.IntN(3)
		}
		x := make([]int8, outer*axis*inner)
		kind := i % 8
		for r := 0; r < outer*inner; r++ {
			row := x[r*axis : (r+1)*axis]
			switch kind {
			case 0, 1: // random, half of the cases with many extremes
				copy(row, g.I8(axis, kind == 1))
			case 2: // all equal
				v := []int8{-128, 127, 0, int8(g.IntN(256) - 128)}[g.IntN(4)]
				for j := range row {
					row[j] = v
				}
			case 3: // two values: ties everywhere
				a := []int8{-128, 126, int8(g.IntN(255) - 128)}[g.IntN(3)]
				for j := range row {
					row[j] = a + int8(g.IntN(2))
				}
			case 4: // three values at the top end
				for j := range row {
					row[j] = int8(125 + g.IntN(3))
				}
			case 5, 6: // one maximum (127, or just above the rest) at the first, last or a block-edge position
				top := int8(127)
				if kind == 6 {
					top = int8(g.IntN(255) - 127)
				}
				for j := range row {
					row[j] = int8(g.IntN(int(top)+129) - 128)
					if row[j] == top {
						row[j]--
					}
				}
				pos := []int{0, axis - 1, min(15, axis-1), min(16, axis-1), max(0, axis-16), g.IntN(axis)}[g.IntN(6)]
				row[pos] = top
				if g.IntN(3) == 0 { // and a later tie
					row[pos+g.IntN(axis-pos)] = top
				}
			case 7: // −128 everywhere but a few
				for j := range row {
					row[j] = -128
					if g.IntN(axis+1) == 0 {
						row[j] = -127
					}
				}
			}
		}
		n := outer * inner
		want := make([]int32, n)
		got := make([]int32, n+1)
		got[n] = -7
		ref.ArgMaxInt8(x, want, outer, axis, inner)
		ArgMaxInt8(x, got[:n], outer, axis, inner)
		if got[n] != -7 {
			t.Fatalf("case %d (outer %d axis %d inner %d): wrote past out", i, outer, axis, inner)
		}
		if !slices.Equal(got[:n], want) {
			for r := range want {
				if got[r] != want[r] {
					t.Fatalf("case %d kind %d (outer %d axis %d inner %d): row %d = %d, want %d; row %v",
						i, kind, outer, axis, inner, r, got[r], want[r], rowOf(x, r, axis, inner))
				}
			}
		}
	}
}

// rowOf returns the values along the axis at position r of [outer, inner].
func rowOf(x []int8, r, axis, inner int) string {
	o, in := r/inner, r%inner
	v := make([]int8, axis)
	for a := range v {
		v[a] = x[(o*axis+a)*inner+in]
	}
	return fmt.Sprint(v)
}
