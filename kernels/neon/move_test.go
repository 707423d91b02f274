package neon

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// TestCopyViewMatchesRef: transposes and slices through CopyView (copyRuns
// where the last dim is a run of 16-byte blocks) equal kernels/ref's, over
// random shapes, permutations, slices and element sizes, including
// DeiT's head split [197,3,3,64] by [1,2,0,3] and merge [1,3,197,64] by
// [0,2,1,3], and write nothing past their output.
func TestCopyViewMatchesRef(t *testing.T) {
	g := newGen(31)
	for i := 0; i < iters(400); i++ {
		rank := 1 + g.IntN(5)
		shape := make([]int, rank)
		for d := range shape {
			shape[d] = 1 + g.IntN(5)
		}
		// The last dim often a multiple of 16 bytes (runs for copyRuns).
		es := []int{1, 2, 4}[g.IntN(3)]
		if g.IntN(3) > 0 {
			shape[rank-1] = 16 / es * (1 + g.IntN(5))
		}
		perm := g.Perm(rank)
		if g.IntN(2) == 0 {
			perm[rank-1], perm[slicesIndex(perm, rank-1)] = rank-1, perm[rank-1] // last dim stays last
		}
		switch i {
		case 0:
			shape, perm, es = []int{197, 3, 3, 64}, []int{1, 2, 0, 3}, 1
		case 1:
			shape, perm, es = []int{1, 3, 197, 64}, []int{0, 2, 1, 3}, 1
		}
		rank = len(shape)
		n := 1
		for _, d := range shape {
			n *= d
		}
		in := make([]byte, n*es)
		for j := range in {
			in[j] = byte(g.Uint32())
		}
		check := func(what string, m int, refRun, run func(out []byte)) {
			t.Helper()
			want, got := make([]byte, m+1), make([]byte, m+1)
			want[m], got[m] = 0xAA, 0xAA
			refRun(want[:m])
			run(got[:m])
			if !bytes.Equal(got, want) {
				t.Fatalf("case %d %s: CopyView differs from ref", i, what)
			}
		}
		tp, err := ref.NewTranspose(shape, perm)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("transpose %v by %v, element size %d", shape, perm, es), n*es,
			func(out []byte) { ref.TransposeBytes(&tp, es, in, out) },
			func(out []byte) {
				s, st := ref.TransposeView(&tp, es)
				CopyView(&s, &st, 0, es, in, out)
			})
		begin, size := make([]int, rank), make([]int, rank)
		m := es
		for d, v := range shape {
			begin[d] = g.IntN(v)
			size[d] = 1 + g.IntN(v-begin[d])
			if g.IntN(2) == 0 && d > 0 {
				begin[d], size[d] = 0, v // whole inner dims: longer runs
			}
			m *= size[d]
		}
		sp, err := ref.NewSlice(shape, begin, size)
		if err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("slice %v at %v size %v, element size %d", shape, begin, size, es), m,
			func(out []byte) { ref.SliceBytes(&sp, es, in, out) },
			func(out []byte) {
				s, st, off := ref.SliceView(&sp, es)
				CopyView(&s, &st, off, es, in, out)
			})
	}
}

func slicesIndex(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
