package quant

import (
	"fmt"
	"math"
)

// Ranges of the integer types used by the contract.
const (
	Int8Min       = -128
	Int8Max       = 127
	WeightMax     = 127 // symmetric weights use [−127, 127]
	UInt8Min      = 0
	UInt8Max      = 255
	Int16Min      = -32768
	Int16Max      = 32767
	softmaxOutZP  = -128
	softmaxOutInv = 256
)

// SoftmaxOutput is the fixed output quantization of int8 softmax:
// scale 1/256, zero point −128, so that [0, 1) uses the whole int8 range.
var SoftmaxOutput = Params{Scale: 1.0 / softmaxOutInv, ZeroPoint: softmaxOutZP}

// Params are per-tensor quantization parameters.
type Params struct {
	Scale     float32
	ZeroPoint int32
}

// Quantize maps a real value to the integer grid of p, rounding half away
// from zero and clamping to [lo, hi]. NaN maps to the zero point (clamped).
func (p Params) Quantize(x float32, lo, hi int32) int32 {
	v := math.Round(float64(x) / float64(p.Scale))
	if math.IsNaN(v) { // int32(NaN) differs between amd64 and arm
		v = 0
	}
	v += float64(p.ZeroPoint)
	if v < float64(lo) {
		return lo
	}
	if v > float64(hi) {
		return hi
	}
	return int32(v)
}

// Dequantize maps an integer back to the real value it stands for.
func (p Params) Dequantize(q int32) float32 {
	return p.Scale * float32(q-p.ZeroPoint)
}

// Validate reports whether p can describe a tensor with integer range
// [lo, hi]: a finite positive scale and a zero point inside the range.
func (p Params) Validate(lo, hi int32) error {
	if !(p.Scale > 0) || math.IsInf(float64(p.Scale), 0) {
		return fmt.Errorf("scale %g is not finite and positive", p.Scale)
	}
	if p.ZeroPoint < lo || p.ZeroPoint > hi {
		return fmt.Errorf("zero point %d outside [%d, %d]", p.ZeroPoint, lo, hi)
	}
	return nil
}

// ChooseAsymmetric returns int8 activation parameters covering [min, max].
// The range is widened to include 0 so that zero (padding, ReLU) is exact.
func ChooseAsymmetric(min, max float32) Params {
	return chooseAsymmetric(min, max, Int8Min, Int8Max)
}

func chooseAsymmetric(min, max float32, qmin, qmax int32) Params {
	if min > 0 {
		min = 0
	}
	if max < 0 {
		max = 0
	}
	if max-min < 1e-8 {
		max = min + 1e-8
	}
	scale := (float64(max) - float64(min)) / float64(qmax-qmin)
	zp := math.Round(float64(qmin) - float64(min)/scale)
	zp = math.Max(float64(qmin), math.Min(float64(qmax), zp))
	return Params{Scale: float32(scale), ZeroPoint: int32(zp)}
}

// SymmetricScale returns the weight scale for values whose largest
// magnitude is absMax: absMax maps to ±127.
func SymmetricScale(absMax float32) float32 {
	if absMax < 1e-12 {
		return 1e-12 / WeightMax
	}
	return absMax / WeightMax
}

// QuantizeWeights quantizes w, laid out with the output channel as the
// outermost dimension (channels rows of len(w)/channels values), to int8
// with one symmetric scale per channel. It returns the values and scales.
func QuantizeWeights(w []float32, channels int) ([]int8, []float32, error) {
	if channels <= 0 || len(w)%channels != 0 {
		return nil, nil, fmt.Errorf("quant: %d weights do not split into %d channels", len(w), channels)
	}
	per := len(w) / channels
	q := make([]int8, len(w))
	scales := make([]float32, channels)
	for c := 0; c < channels; c++ {
		row := w[c*per : (c+1)*per]
		var absMax float32
		for _, v := range row {
			if a := float32(math.Abs(float64(v))); a > absMax {
				absMax = a
			}
		}
		s := SymmetricScale(absMax)
		scales[c] = s
		p := Params{Scale: s}
		for i, v := range row {
			q[c*per+i] = int8(p.Quantize(v, -WeightMax, WeightMax))
		}
	}
	return q, scales, nil
}

// QuantizeBias quantizes a float bias to int32 with scale inScale·wScale[c]
// (one weight scale per output channel, or a single one for all), rounding
// half away from zero and saturating; NaN becomes 0.
func QuantizeBias(b []float32, inScale float32, wScales []float32) []int32 {
	out := make([]int32, len(b))
	for c, v := range b {
		ws := wScales[0]
		if len(wScales) > 1 {
			ws = wScales[c]
		}
		s := float64(inScale) * float64(ws)
		r := math.Round(float64(v) / s)
		if math.IsNaN(r) {
			r = 0
		}
		r = math.Max(math.MinInt32, math.Min(math.MaxInt32, r))
		out[c] = int32(r)
	}
	return out
}

// Table is a 256-entry lookup table for an elementwise function on int8:
// out = Table[in+128].
type Table [256]int8

// BuildTable tabulates f for int8 input with parameters in and int8 output
// with parameters out, rounding half away from zero and clamping; where f
// returns NaN the entry is the output zero point. It is how GELU, tanh,
// logistic and friends run in int8: computed once at load, one lookup per
// element at Invoke.
func BuildTable(in, out Params, f func(float64) float64) Table {
	var t Table
	for i := range t {
		q := int32(i) + Int8Min
		x := float64(in.Scale) * float64(q-in.ZeroPoint)
		y := f(x)
		v := math.Round(y / float64(out.Scale))
		if math.IsNaN(v) { // int8(NaN) is implementation-defined
			v = 0
		}
		v += float64(out.ZeroPoint)
		v = math.Max(Int8Min, math.Min(Int8Max, v))
		t[i] = int8(v)
	}
	return t
}
