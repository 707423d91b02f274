package kernels

import "math"

// LayerNormLanes are the vector steps of an accelerated float32 LayerNorm
// (kernels/x86, kernels/neon) that LayerNormRows drives, each over n
// groups of W values. Affine takes {m, r} by value: a pointer passed
// through a func value would move it to the heap.
type LayerNormLanes struct {
	W      int                                                               // values per group
	Sum    func(x *float32, n int) float64                                   // Σx in float64
	SS     func(x *float32, n int, mean float64) float64                     // Σ(x − mean)² in float64
	Affine func(x, out *float32, n int, gamma, beta *float32, mr [2]float32) // ((x − m)·r)·γ + β, mr = {m, r}
}

// LayerNormRows is the LayerNorm of rows rows of d ≥ l.W values: per
// row, the float64 sum by l.Sum over the first W·⌊d/W⌋ values and the
// rest added in index order; mean = sum/d; the squared deviations by l.SS
// and the rest with one rounding per multiply-add; r = 1/√(ss/d + eps), 0
// where ss/d + eps is not positive; then ((x − m)·r)·γ + β with m and r
// rounded to float32, by l.Affine and the rest in Go, each operation
// rounded to float32. Rows depend on themselves only.
func LayerNormRows(l *LayerNormLanes, rows, d int, eps float32, x, gamma, beta, out []float32) {
	n := d / l.W
	tail := l.W * n
	gamma, beta = gamma[:d], beta[:d]
	x, out = x[:rows*d], out[:rows*d]
	for r := range rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		s := l.Sum(&row[0], n)
		for _, v := range row[tail:] {
			s += float64(v)
		}
		mean := s / float64(d)
		ss := l.SS(&row[0], n, mean)
		for _, v := range row[tail:] {
			t := float64(v) - mean
			ss = math.FMA(t, t, ss)
		}
		rstd := 0.0
		if den := ss/float64(d) + float64(eps); den > 0 {
			rstd = 1 / math.Sqrt(den)
		}
		m, rs := float32(mean), float32(rstd)
		l.Affine(&row[0], &o[0], n, &gamma[0], &beta[0], [2]float32{m, rs})
		for i := tail; i < d; i++ {
			t := float32(row[i] - m)
			u := float32(t * rs)
			v := float32(u * gamma[i])
			o[i] = float32(v + beta[i])
		}
	}
}
