package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// naiveResize is the bilinear resize from its definition in float64:
// sample positions by mode, the two neighbours clamped to the input.
func naiveResize(x []float64, h, w, oh, ow, c int, align, half bool) []float64 {
	pos := func(o, in, out int) (int, int, float64) {
		s := float64(in) / float64(out)
		p := float64(o) * s
		switch {
		case align && out > 1:
			p = float64(o) * float64(in-1) / float64(out-1)
		case half:
			p = math.Min(math.Max((float64(o)+0.5)*s-0.5, 0), float64(in-1))
		}
		lo := int(p)
		return lo, min(lo+1, in-1), p - float64(lo)
	}
	out := make([]float64, oh*ow*c)
	for oy := 0; oy < oh; oy++ {
		t, b, fy := pos(oy, h, oh)
		for ox := 0; ox < ow; ox++ {
			l, r, fx := pos(ox, w, ow)
			for k := 0; k < c; k++ {
				tv := x[(t*w+l)*c+k] + (x[(t*w+r)*c+k]-x[(t*w+l)*c+k])*fx
				bv := x[(b*w+l)*c+k] + (x[(b*w+r)*c+k]-x[(b*w+l)*c+k])*fx
				out[(oy*ow+ox)*c+k] = tv + (bv-tv)*fy
			}
		}
	}
	return out
}

// TestResizeBilinear checks the float kernel against the definition in
// each of the three modes, and the int8 kernel (XNNPACK's Q11 weights)
// to within one step of the exact interpolation of its inputs.
func TestResizeBilinear(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < 60; it++ {
		h, w, c := g.between(1, 7), g.between(1, 7), g.between(1, 3)
		oh, ow := g.between(1, 17), g.between(1, 17)
		align, half := false, false
		switch it % 3 {
		case 1:
			align = true
		case 2:
			half = true
		}
		r, err := ref.NewResizeBilinear(h, w, oh, ow, c, align, half)
		if err != nil {
			t.Fatal(err)
		}
		xf, x8 := g.f32(h*w*c), g.i8(h*w*c)
		x64, x864 := make([]float64, len(xf)), make([]float64, len(x8))
		for i := range xf {
			x64[i], x864[i] = float64(xf[i]), float64(x8[i])
		}
		gotF := make([]float32, oh*ow*c)
		r.Float(xf, gotF, 1)
		got8 := make([]int8, oh*ow*c)
		r.Int8(x8, got8, 1)
		wantF, want8 := naiveResize(x64, h, w, oh, ow, c, align, half), naiveResize(x864, h, w, oh, ow, c, align, half)
		for i := range gotF {
			if math.Abs(float64(gotF[i])-wantF[i]) > 1e-5 {
				t.Fatalf("%d×%d→%d×%d align %v half %v: float [%d] = %g, want %g", h, w, oh, ow, align, half, i, gotF[i], wantF[i])
			}
			if math.Abs(float64(got8[i])-want8[i]) > 1 {
				t.Fatalf("%d×%d→%d×%d align %v half %v: int8 [%d] = %d, want %.3f ± 1", h, w, oh, ow, align, half, i, got8[i], want8[i])
			}
		}
	}
	if _, err := ref.NewResizeBilinear(2, 2, 4, 4, 1, true, true); err == nil {
		t.Error("align_corners with half_pixel_centers accepted")
	}
}

// TestArgMax: the first index of the largest value along the middle axis.
func TestArgMax(t *testing.T) {
	x := []int8{1, 5, 5, 2, 9, 0, 3, 9, -1, 4, 4, 9} // [2, 3, 2]; a tie of 9s
	got := make([]int32, 4)
	ref.ArgMaxInt8(x, got, 2, 3, 2)
	want := []int32{2, 0, 2, 0} // the first of the tied 9s
	xf := make([]float32, len(x))
	for i, v := range x {
		xf[i] = float32(v)
	}
	gotF := make([]int32, 4)
	ref.ArgMaxFloat(xf, gotF, 2, 3, 2)
	for i := range want {
		if got[i] != want[i] || gotF[i] != want[i] {
			t.Fatalf("argmax int8 %v, float %v, want %v", got, gotF, want)
		}
	}
	// A contiguous last axis (inner 1, a class map's): [3, 4].
	x = []int8{-128, -128, -128, -128, 3, 7, 7, 1, 0, 0, 0, 127}
	got = make([]int32, 3)
	ref.ArgMaxInt8(x, got, 3, 4, 1)
	if want := []int32{0, 1, 3}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("argmax over the last axis %v, want %v", got, want)
	}
}

// resizeInt8PerPixel is XNNPACK's integer bilinear interpolation computed
// per output value, as the kernel did before it reused the horizontal
// pass: the oracle the row-range kernel must match bit for bit.
func resizeInt8PerPixel(r *ref.ResizeBilinear, x []int8, n int, top, bottom, left, right, wy, wx []int32) []int8 {
	C := r.C
	out := make([]int8, n*r.OH*r.OW*C)
	for b := 0; b < n; b++ {
		xb := x[b*r.H*r.W*C:]
		for oy := 0; oy < r.OH; oy++ {
			for ox := 0; ox < r.OW; ox++ {
				for c := 0; c < C; c++ {
					at := func(y, x int) int32 { return int32(xb[(y*r.W+x)*C+c]) }
					tl, tr := at(int(top[oy]), int(left[ox])), at(int(top[oy]), int(right[ox]))
					bl, br := at(int(bottom[oy]), int(left[ox])), at(int(bottom[oy]), int(right[ox]))
					vt := tl<<11 + (tr-tl)*wx[ox]
					vb := bl<<11 + (br-bl)*wx[ox]
					out[((b*r.OH+oy)*r.OW+ox)*C+c] = int8((vt<<11 + (vb-vt)*wy[oy] + 1<<21) >> 22)
				}
			}
		}
	}
	return out
}

// TestResizeInt8Rows: any split of the output rows, batches, up- and
// downscaling in every mode give the per-value oracle's bits.
func TestResizeInt8Rows(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < 80; it++ {
		h, w, c, n := g.between(1, 9), g.between(1, 9), g.between(1, 21), g.between(1, 3)
		oh, ow := g.between(1, 40), g.between(1, 20)
		align, half := it%3 == 1, it%3 == 2
		r, err := ref.NewResizeBilinear(h, w, oh, ow, c, align, half)
		if err != nil {
			t.Fatal(err)
		}
		top, bottom, wy := r.Plan(true)
		left, right, wx := r.Plan(false)
		x := g.i8(n * h * w * c)
		want := resizeInt8PerPixel(&r, x, n, top, bottom, left, right, wy, wx)
		got := make([]int8, len(want))
		scratch := make([]int32, r.ScratchLen())
		for lo := 0; lo < n*oh; {
			hi := min(n*oh, lo+g.between(1, 7))
			r.Int8Rows(x, got, lo, hi, scratch)
			lo = hi
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("case %d %d×%d→%d×%d ×%d, N %d: value %d = %d, want %d", it, h, w, oh, ow, c, n, i, got[i], want[i])
			}
		}
	}
}
