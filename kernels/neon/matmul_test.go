package neon

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// packCase returns a reduction length covering K = 16 (one chunk), K a
// multiple of 16, chunk 1 overlapping chunk 0 by 1…15 bytes, and DeiT's
// head size and token count.
func packCase(g gen, i int) int {
	switch i % 6 {
	case 0:
		return []int{16, 17, 31, 32, 33, 64, 197}[g.IntN(7)]
	case 1:
		return 16 * (1 + g.IntN(10))
	}
	return 16 + g.IntN(300)
}

// TestBatchMatMulPackingKernels checks the per-call packing of
// BatchMatMul's B for the dot-product layout (packRowsDot for B stored
// [N,K], packColsDotBlock for [K,N]), the column biases from the packed
// bytes (colBiasDot) and the row sums (rowSums) against packB and plain
// sums, over random K (tails of every length), N off the panel, strides
// and int8 extremes. On arm64 these are the assembly; elsewhere the Go
// twins; colBiasDot (SDOT) runs where the CPU has the dot product.
func TestBatchMatMulPackingKernels(t *testing.T) {
	dot := slices.Contains(paths(t), DotProd)
	g := newGen(21)
	for i := 0; i < iters(200); i++ {
		k := packCase(g, i)
		n := 1 + g.IntN(70)
		if i%9 == 4 {
			n = 197
		}
		n = min(n, 25*16) // one block
		nch, s1 := geometry(k)
		np := (n + 15) / 16
		panelBytes := nch * 256
		mask := chunk1Mask(s1)
		what := fmt.Sprintf("case %d N=%d K=%d", i, n, k)

		// Reference: packB, then columns past n as each kernel leaves them.
		check := func(name string, got []int8, src []int8, sn, sk int, pad func(j int) int) {
			t.Helper()
			want := make([]int8, len(got))
			packB(dotLayout, want, src, n, k, sn, sk, nil)
			for col := n; col < 16*np; col++ {
				p, j := col/16, col%16
				for c := 0; c < nch; c++ {
					for b := 0; b < 16; b++ {
						if c == 1 && b < 16-s1 {
							continue
						}
						if r := pad(col); r >= 0 {
							want[p*panelBytes+dotLayout.offset(c, j, b)] = src[r*sn+(chunkStart(c, s1)+b)*sk]
						}
					}
				}
			}
			for x := range want {
				if got[x] != want[x] {
					t.Fatalf("%s %s: packed byte %d = %d, want %d", what, name, x, got[x], want[x])
				}
			}
		}

		// B stored [N,K], rows ld ≥ K apart; rows past n repeat row n−1.
		ld := k + g.IntN(3)*g.IntN(40)
		src := g.I8((n-1)*ld+k, i%2 == 0)
		got := make([]int8, np*panelBytes)
		for x := range got {
			got[x] = 99 // every byte must be written
		}
		packRowsDot(&got[0], &src[0], ld, n, np, nch, s1, &mask)
		check("packRowsDot", got, src, ld, 1, func(int) int { return n - 1 })

		// B stored [K,N], rows ld ≥ N apart; columns past n are zero.
		ld = n + g.IntN(3)*g.IntN(40)
		src = g.I8((k-1)*ld+n, i%2 == 1)
		for x := range got {
			got[x] = 99
		}
		packColsDotBlock(got, src, n, k, ld, &mask)
		check("packColsDotBlock", got, src, 1, ld, func(int) int { return -1 })

		// Column biases from the packed bytes: kzz − azp·Σ_k b[k,n].
		sums := make([]int32, n)
		packB(dotLayout, make([]int8, np*panelBytes), src, n, k, 1, ld, sums)
		azp := int32([]int{-128, 127, g.IntN(256) - 128}[g.IntN(3)])
		kzz := int32(g.Uint32())
		cd := make([]int32, np*20)
		if dot {
			colBiasDot(&got[0], np, nch, &cd[0], 80, int(kzz), int(azp))
		}
		for col := 0; col < n && dot; col++ {
			if got, want := cd[(col/16)*20+col%16], kzz-azp*sums[col]; got != want {
				t.Fatalf("%s: column %d bias %d, want %d", what, col, got, want)
			}
		}

		// The v80 layout: 8-column panels, the smallest byte for the
		// unpaired loop, column biases.
		np8 := (n + 7) / 8
		v80 := make([]int8, np8*nch*128)
		want8 := make([]int8, len(v80))
		hasMin := packB(v80Layout, want8, src, n, k, 1, ld, sums)
		for x := range v80 {
			v80[x] = 99
		}
		if got := packColsV80Block(v80, src, n, k, ld, &mask); got != hasMin || !slices.Equal(v80, want8) {
			t.Fatalf("%s: packColsV80Block differs from packB (−128 %v, want %v)", what, got, hasMin)
		}
		cd8 := make([]int32, np8*40)
		colBiasV80(&v80[0], np8, nch, &cd8[0], 160, int(kzz), int(azp))
		for col := 0; col < n; col++ {
			if got, want := cd8[(col/8)*40+col%8], kzz-azp*sums[col]; got != want {
				t.Fatalf("%s: v80 column %d bias %d, want %d", what, col, got, want)
			}
		}
		rsrc := g.I8((n-1)*(k+3)+k, i%3 == 0)
		packB(v80Layout, want8, rsrc, n, k, k+3, 1, nil)
		for col := n; col < 8*np8; col++ { // rows past n repeat row n−1
			for c := 0; c < nch; c++ {
				for b := 0; b < 16; b++ {
					if c == 1 && b < 16-s1 {
						continue
					}
					want8[(col/8)*nch*128+v80Layout.offset(c, col%8, b)] = rsrc[(n-1)*(k+3)+chunkStart(c, s1)+b]
				}
			}
		}
		mn := int8(127)
		for r := 0; r < n; r++ {
			mn = min(mn, slices.Min(rsrc[r*(k+3):r*(k+3)+k]))
		}
		if got := packRowsV80(&v80[0], &rsrc[0], k+3, n, np8, nch, s1, &mask); got != mn || !slices.Equal(v80, want8) {
			t.Fatalf("%s: packRowsV80 differs from packB (min %d, want %d)", what, got, mn)
		}

		// Row sums of 1…4 rows, lda ≥ K.
		rows := 1 + g.IntN(4)
		lda := k + g.IntN(30)
		a := g.I8((rows-1)*lda+k, true)
		bzp := []int{-128, 127, g.IntN(256) - 128}[g.IntN(3)]
		var rb [4]int32
		rowSums(&a[0], lda, rows, nch, s1, &mask, bzp, &rb)
		for m := 0; m < 4; m++ {
			r := min(m, rows-1)
			if want := -int32(bzp) * sumInt8(a[r*lda:r*lda+k]); rb[m] != want {
				t.Fatalf("%s: rows=%d row %d sum term %d, want %d", what, rows, m, rb[m], want)
			}
		}
	}
}

// TestMatMulAttentionShapes runs DeiT-tiny's attention products (Q·Kᵀ with
// K = 64, A·V with K = 197) and their neighbours, read in place from a
// wider QKV row as the runtime may, with zero points at the int8 ends.
func TestMatMulAttentionShapes(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(22)
		for i, c := range []struct{ m, n, k int }{{197, 197, 64}, {197, 64, 197}, {50, 197, 64}, {197, 63, 199}, {5, 17, 195}} {
			for _, zp := range [][2]int32{{-128, 127}, {127, -128}, {-128, -128}, {3, -7}} {
				p := kernels.MatMulParams{M: c.m, N: c.n, K: c.k, AdjY: c.k == 64, AZP: zp[0], BZP: zp[1]}
				p.Out = g.Stage(1, 128*math.Sqrt(float64(c.k))*128, 0)
				// A and B rows inside rows of 3·max(N, K) bytes (a QKV layout).
				w := 3 * max(c.n, c.k)
				bRows := c.k
				if p.AdjY {
					bRows = c.n
				}
				p.LDA, p.LDB, p.LDO = w, w, c.n+5
				a, b := g.I8(c.m*w, true), g.I8(bRows*w, i%2 == 0)
				want, got := make([]int8, c.m*p.LDO), make([]int8, c.m*p.LDO)
				ref.MatMulInt8(&p, a, b[w/3:], want)
				MatMulInt8(path, &p, a, b[w/3:], got)
				diff8(t, fmt.Sprintf("M=%d N=%d K=%d zp=%v", c.m, c.n, c.k, zp), got, want, p.LDO)
			}
		}
	})
}

// TestMatMulPerColumnStage: a per-column Mult or float32 stage (one
// multiplier or scale per output column) gives ref's bytes, across more
// columns than one block of packed panels holds.
func TestMatMulPerColumnStage(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(29)
		for i := 0; i < 6; i++ {
			m, n, k := 1+g.IntN(9), 20+g.IntN(40), 16+g.IntN(200)
			if i%3 == 2 {
				n = 700 + g.IntN(600)
			}
			p := kernels.MatMulParams{M: m, N: n, K: k, AdjY: i%2 == 1, AZP: int32(g.IntN(256) - 128), BZP: int32(g.IntN(256) - 128)}
			p.Out = g.Stage(n, 128*math.Sqrt(float64(k))*128, quant.RoundSingle)
			if len(p.Out.Mult) == 1 {
				p.Out.Mult = append(p.Out.Mult, quant.Multiplier{M: p.Out.Mult[0].M / 2, Shift: p.Out.Mult[0].Shift})
				for len(p.Out.Mult) < n {
					p.Out.Mult = append(p.Out.Mult, p.Out.Mult[len(p.Out.Mult)%2])
				}
			}
			if i >= 3 {
				g.XNNPACK(&p.Out)
			}
			a, b := g.I8(m*k, true), g.I8(k*n, false)
			want, got := make([]int8, m*n), make([]int8, m*n)
			ref.MatMulInt8(&p, a, b, want)
			MatMulInt8(path, &p, a, b, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d", i, m, n, k), got, want, n)
		}
	})
}
