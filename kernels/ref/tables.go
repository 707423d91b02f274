package ref

import "math"

// NewSoftmaxTable returns the exponential table of int8 Softmax
// (kernels.SoftmaxParams.Exp) for softmax β and input scale inScale:
//
//	Exp[d] = round(2^16 · exp(−(β·s_in)·d)),  d = 0 … 255
//
// computed in float64 (β·s_in first), rounded half away from zero and
// clamped to [0, 2^32 − 1]. Exp[0] is 2^16 whatever β is, so a row's sum
// is never zero; a NaN entry (NaN β or scale) becomes 0. β is expected to
// be positive; a negative β makes entries grow and saturate.
func NewSoftmaxTable(beta, inScale float32) *[256]uint32 {
	t := new([256]uint32)
	k := float64(beta) * float64(inScale)
	for d := range t {
		v := math.Round(65536 * math.Exp(-k*float64(d)))
		switch {
		case d == 0:
			v = 65536
		case !(v >= 0): // NaN
			v = 0
		case v > math.MaxUint32:
			v = math.MaxUint32
		}
		t[d] = uint32(v)
	}
	return t
}
