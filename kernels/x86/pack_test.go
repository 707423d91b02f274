package x86

import (
	"fmt"
	"math"
	"testing"
)

// TestPackF32Layout: packF32 (row copies, 8×8 transposes, the value by
// value rest) writes the panel layout PackedF32 documents, every value in
// place and the padding zero, for B's rows contiguous, its columns
// contiguous (with strides over the row length) and neither.
func TestPackF32Layout(t *testing.T) {
	g := newGen(47)
	for i := 0; i < iters(300); i++ {
		n, k := 1+g.IntN(70), 1+g.IntN(90)
		if i%4 == 0 {
			n, k = 16*(1+g.IntN(5)), 8*(1+g.IntN(12))
		}
		var sn, sk int
		switch i % 3 {
		case 0: // B[k][n], as BatchMatMul without AdjY
			sn, sk = 1, n+g.IntN(5)
		case 1: // B[n][k], FullyConnected weights, BatchMatMul with AdjY
			sn, sk = k+g.IntN(5), 1
		default:
			sn, sk = 2, 2*n+1
		}
		src := g.F32((n-1)*sn + (k-1)*sk + 1)
		var bias []float32
		if i%5 == 0 {
			bias = g.F32(n)
		}
		np := (n + 15) / 16
		dst, dbias := make([]float32, np*16*k), make([]float32, np*16)
		for j := range dst {
			dst[j] = float32(math.NaN()) // stale values must not survive
		}
		for j := range dbias {
			dbias[j] = 7
		}
		packF32(dst, src, n, k, sn, sk, bias, dbias)
		what := fmt.Sprintf("case %d n=%d k=%d sn=%d sk=%d", i, n, k, sn, sk)
		for c := 0; c < np*16; c++ {
			p, j := c/16, c%16
			var wb float32
			if c < n && bias != nil {
				wb = bias[c]
			}
			if dbias[c] != wb {
				t.Fatalf("%s: bias[%d] = %v, want %v", what, c, dbias[c], wb)
			}
			for kk := 0; kk < k; kk++ {
				var want float32
				if c < n {
					want = src[c*sn+kk*sk]
				}
				if got := dst[p*16*k+kk*16+j]; math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s: panel %d row %d lane %d = %v, want B[%d][%d] = %v", what, p, kk, j, got, c, kk, want)
				}
			}
		}
	}
}
