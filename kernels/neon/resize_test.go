package neon

import (
	"fmt"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// TestResizeBilinearMatchesRef: ResizeBilinear.Int8Rows equals
// ref.ResizeBilinear.Int8Rows over random plans (up- and downscaling,
// align_corners, half_pixel_centers and neither; 8 to 40 channels and
// 256, rows of fewer than 16 outputs and every tail of 16), batches,
// random splits of the output rows sharing one scratch, inputs random,
// extreme (−128 and 127) or constant; DeepLab v3's shapes scaled down
// (9×9 → 129×129 × 21 with align_corners: 16 output rows per input row)
// and its 1×1 → 33×33 × 256. Nothing is written past the output; fewer
// than 8 channels are declined.
func TestResizeBilinearMatchesRef(t *testing.T) {
	g := newGen(53)
	for i := 0; i < iters(300); i++ {
		h, w, oh, ow := 1+g.IntN(12), 1+g.IntN(12), 1+g.IntN(40), 1+g.IntN(40)
		c := []int{8, 9, 15, 16, 17, 21, 24, 31, 32, 40, 256}[g.IntN(11)]
		n := 1 + g.IntN(3)
		align, half := i%3 == 1, i%3 == 2
		switch i {
		case 0:
			h, w, oh, ow, c, n, align, half = 9, 9, 129, 129, 21, 1, true, false
		case 1:
			h, w, oh, ow, c, n, align, half = 1, 1, 33, 33, 256, 1, true, false
		case 2:
			h, w, oh, ow, c, n = 3, 1, 5, 1, 8, 2 // rows of 8 outputs (Go)
		}
		r, err := ref.NewResizeBilinear(h, w, oh, ow, c, align, half)
		if err != nil {
			t.Fatal(err)
		}
		k := NewResizeBilinear(&r)
		x := g.I8(n*h*w*c, i%4 == 1)
		if i%4 == 2 {
			for j := range x {
				x[j] = []int8{-128, 127}[i/4%2]
			}
		}
		m := n * oh * ow * c
		want, got := make([]int8, m), make([]int8, m+1)
		got[m] = 99
		r.Int8Rows(x, want, 0, n*oh, make([]int32, r.ScratchLen()))
		scratch := make([]int32, r.ScratchLen())
		for lo := 0; lo < n*oh; {
			hi := min(n*oh, lo+1+g.IntN(2*oh))
			k.Int8Rows(x, got, lo, hi, scratch)
			lo = hi
		}
		what := fmt.Sprintf("case %d: %d×%d → %d×%d × %d, N %d, align %v, half %v", i, h, w, oh, ow, c, n, align, half)
		if got[m] != 99 {
			t.Fatalf("%s: wrote past the output", what)
		}
		diff8(t, what, got[:m], want, ow*c)
	}
	r, err := ref.NewResizeBilinear(4, 4, 9, 9, 7, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if NewResizeBilinear(&r) != nil {
		t.Error("7 channels: want nil (ref)")
	}
}
