package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
)

// SoftmaxInt8 computes softmax over each of p.Rows rows of p.D int8
// values, in integers only. The output has the fixed quantization
// quant.SoftmaxOutput (scale 1/256, zero point −128). Per row, with
// mx = max q, e_i = Exp[mx − q_i] and sum = Σ e_i in uint64 (≥ Exp[0] > 0):
//
//	out_i = min(−128 + ⌊(256·e_i + ⌊sum/2⌋)/sum⌋, 127)
//
// that is 256·e_i/sum rounded to nearest, ties (possible only for an even
// sum) up. Exp comes from NewSoftmaxTable, which folds in β and the input
// scale.
func SoftmaxInt8(p *kernels.SoftmaxParams, x, out []int8) {
	d := p.D
	if d <= 0 {
		return
	}
	exp := p.Exp
	for r := range p.Rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		mx := row[0]
		for _, q := range row {
			mx = max(mx, q)
		}
		var sum uint64
		for _, q := range row {
			sum += uint64(exp[uint8(int(mx)-int(q))])
		}
		half := sum / 2
		for i, q := range row {
			v := (uint64(exp[uint8(int(mx)-int(q))])<<8 + half) / sum
			o[i] = int8(int32(min(v, 255)) - 128)
		}
	}
}

// SoftmaxFloat computes softmax of beta·x over each of rows rows of d
// float32 values: with z = beta·x in float64, out = exp(z − max z)/Σ exp(z − max z),
// summed in float64 in index order and rounded to float32 once.
func SoftmaxFloat(rows, d int, beta float32, x, out []float32) {
	if d <= 0 {
		return
	}
	b := float64(beta)
	for r := range rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, b*float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(b*float64(v) - mx)
		}
		for i, v := range row {
			o[i] = float32(math.Exp(b*float64(v)-mx) / sum)
		}
	}
}
