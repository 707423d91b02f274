package ref

import "math"

// NewSoftmaxTableXNNPACK returns the exponential table of XNNPACK's int8
// and uint8 softmax over rows of d values, which LiteRT's CPU path uses
// (quant.RoundXNNPACK): Exp[k] = roundEven(q·exp(−s_in·k)) with
// q = min((2^32 − 1)/d, 2^23 − 1), so that a row's sum fits 32 bits. With
// SoftmaxInt8's normalisation ⌊(256·e + ⌊sum/2⌋)/sum⌋ this is XNNPACK's
// arithmetic exactly (it requires β = 1, as LiteRT's delegate does).
func NewSoftmaxTableXNNPACK(d int, inScale float32) *[256]uint32 {
	q := math.Min(float64(math.MaxUint32)/float64(max(d, 1)), 8388607)
	var t [256]uint32
	for k := range t {
		t[k] = uint32(math.RoundToEven(q * math.Exp(-float64(k)*float64(inScale))))
	}
	return &t
}
