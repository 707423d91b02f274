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
// so any split of rows over threads gives the same bits. On the ymm path
// the values past the last multiple of 8 in a row are summed and mapped in
// Go, in the same order on every architecture (the Go twins give the
// assembly's bits); on the zmm path (floatWide: statsF64Z, lnRowF32Z, no
// twins) the kernels take them under a mask.
func LayerNormFloat(rows, d int, eps float32, x, gamma, beta, out []float32) {
	n8 := d / 8
	if n8 == 0 {
		ref.LayerNormFloat(rows, d, eps, x, gamma, beta, out)
		return
	}
	gamma, beta = gamma[:d], beta[:d]
	x, out = x[:rows*d], out[:rows*d]
	if floatWide {
		layerNormWide(rows, d, eps, x, gamma, beta, out)
		return
	}
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

// layerNormWide is LayerNormFloat in zmm registers (floatWide): the row
// statistics in one pass, about the row's first value c, in float64 lanes
// (statsF64Z): mean = c + s/d, var = ss/d − (s/d)². Σ(x − c)²/d is
// var·(1 + (mean − c)²/var) and (x₀ − mean)² ≤ d·var, so the subtraction
// loses at most a factor d + 1 of float64 precision (a relative 2^−40 at
// d = 4096): m and r stay within the 1 ulp of ref's that the tolerance
// above allows. A constant row gives s = ss = 0, var 0, as ref. The
// affine step is lnRowF32's, the row's tail masked (lnRowF32Z).
func layerNormWide(rows, d int, eps float32, x, gamma, beta, out []float32) {
	n8 := d / 8
	for r := range rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		c := float64(row[0])
		s, ss := statsF64Z(&row[0], n8, c)
		for _, v := range row[8*n8:] {
			t := float64(v) - c
			s += t
			ss = math.FMA(t, t, ss)
		}
		dm := s / float64(d)
		mean := c + dm
		variance := max(ss/float64(d)-dm*dm, 0)
		rstd := 0.0
		if den := variance + float64(eps); den > 0 {
			rstd = 1 / math.Sqrt(den)
		}
		mr := [2]float32{float32(mean), float32(rstd)}
		lnRowF32Z(&row[0], &o[0], d, &gamma[0], &beta[0], &mr)
	}
}
