package x86

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// LayerNormFloat is ref.LayerNormFloat with the row statistics summed in
// sixteen float64 lanes (sumF64, ssF64: value i in lane i mod 16, the
// lanes added pairwise, the squares with one rounding per multiply-add)
// instead of in index order, then the float32 affine step
// ((x − m)·r)·γ + β, each operation rounded as in ref, 8 values at a time.
// A float64 sum of float32 values loses nothing to its order at these
// lengths unless the magnitudes differ by 2^29, so m and r are ref's but
// for a float64 rounding: at most 1 ulp apart in float32, and
//
//	|out − ref| ≤ 8·2^−23·(|γ|·r·(|x| + |m|) + |β|)
//
// (tested; in practice the bits agree). Each row depends on itself only,
// so any split of rows over threads gives the same bits. Values past the
// last multiple of 8 in a row are summed and mapped in Go, in the same
// order on every architecture (the Go twins give the assembly's bits).
func LayerNormFloat(rows, d int, eps float32, x, gamma, beta, out []float32) {
	n8 := d / 8
	if n8 == 0 {
		ref.LayerNormFloat(rows, d, eps, x, gamma, beta, out)
		return
	}
	gamma, beta = gamma[:d], beta[:d]
	x, out = x[:rows*d], out[:rows*d]
	for r := range rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		s := sumF64(&row[0], n8)
		for _, v := range row[8*n8:] {
			s += float64(v)
		}
		mean := s / float64(d)
		ss := ssF64(&row[0], n8, mean)
		for _, v := range row[8*n8:] {
			t := float64(v) - mean
			ss = math.FMA(t, t, ss)
		}
		rstd := 0.0
		if den := ss/float64(d) + float64(eps); den > 0 {
			rstd = 1 / math.Sqrt(den)
		}
		m, rs := float32(mean), float32(rstd)
		mr := [2]float32{m, rs}
		lnRowF32(&row[0], &o[0], n8, &gamma[0], &beta[0], &mr)
		for i := 8 * n8; i < d; i++ {
			t := float32(row[i] - m)
			u := float32(t * rs)
			v := float32(u * gamma[i])
			o[i] = float32(v + beta[i])
		}
	}
}
