package x86

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
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
	if floatWide {
		layerNormWide(rows, d, eps, x[:rows*d], gamma[:d], beta[:d], out[:rows*d])
		return
	}
	kernels.LayerNormRows(&lnLanes, rows, d, eps, x, gamma, beta, out)
}

// lnLanes are the ymm steps of LayerNormFloat.
var lnLanes = kernels.LayerNormLanes{W: 8, Sum: sumF64, SS: ssF64,
	Affine: func(x, out *float32, n int, gamma, beta *float32, mr [2]float32) {
		lnRowF32(x, out, n, gamma, beta, &mr)
	}}

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
