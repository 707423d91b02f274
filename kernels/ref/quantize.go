package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// QuantizeFloat quantizes float32 values with p into int8 (or uint8 when
// unsigned), stored as bytes: out = clamp(round(x/scale) + zp) with the
// division in float64 and round half away from zero, exactly
// quant.Params.Quantize, which also maps NaN to the zero point.
func QuantizeFloat(x []float32, out []byte, p quant.Params, unsigned bool) {
	lo, hi := int32(quant.Int8Min), int32(quant.Int8Max)
	if unsigned {
		lo, hi = quant.UInt8Min, quant.UInt8Max
	}
	out = out[:len(x)]
	for i, v := range x {
		out[i] = byte(p.Quantize(v, lo, hi))
	}
}

// DequantizeInt8 maps int8 values to float32 with p:
// out = scale·float32(q − zp), one float32 product (quant.Params.Dequantize).
func DequantizeInt8(x []int8, out []float32, p quant.Params) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = p.Dequantize(int32(v))
	}
}

// DequantizeUint8 is DequantizeInt8 for uint8 values.
func DequantizeUint8(x []uint8, out []float32, p quant.Params) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = p.Dequantize(int32(v))
	}
}

// Requantize maps int8 or uint8 values (per p.InUnsigned) to int8 or uint8
// (per p.OutUnsigned), both stored as bytes:
//
//	out = clamp(OutZP + Mult(in − InZP))
//
// with Mult applied with p.Rounding, the sum formed without int32
// wrap-around, and the clamp over the output type's range.
func Requantize(p *kernels.RequantizeParams, in, out []byte) {
	lo, hi := int64(quant.Int8Min), int64(quant.Int8Max)
	if p.OutUnsigned {
		lo, hi = quant.UInt8Min, quant.UInt8Max
	}
	out = out[:len(in)]
	for i, b := range in {
		v := int32(int8(b))
		if p.InUnsigned {
			v = int32(b)
		}
		w := int64(p.OutZP) + int64(p.Mult.ApplyMode(v-p.InZP, p.Rounding))
		w = min(max(w, lo), hi)
		out[i] = byte(w)
	}
}

// NewRequantizeXNNPACK returns XNNPACK's 8-bit convert multiplier for the
// scale ratio s_in/s_out (computed in float32): round(256·ratio), ties to
// even; ok is false outside [2^−8, 2^7], the ratios XNNPACK (and so
// LiteRT's CPU path) accepts.
func NewRequantizeXNNPACK(inScale, outScale float32) (mult int32, ok bool) {
	r := inScale / outScale
	if !(r >= 1.0/256 && r <= 128) {
		return 0, false
	}
	return int32(math.RoundToEven(float64(256 * r))), true
}

// RequantizeXNNPACK maps int8 values with zero point inZP to int8 with
// zero point outZP as XNNPACK's QS8/QU8 convert does: the ratio of scales
// as an 8-bit fixed-point multiplier (NewRequantizeXNNPACK) and
//
//	out = clamp(outZP + ((in − inZP)·mult + 128) >> 8)
//
// (an arithmetic shift). Legacy uint8 models shifted to int8 give the
// same results, the zero points moving with the values.
func RequantizeXNNPACK(in, out []int8, inZP, outZP, mult int32) {
	out = out[:len(in)]
	for i, v := range in {
		w := outZP + ((int32(v)-inZP)*mult+128)>>8
		out[i] = int8(min(max(w, quant.Int8Min), quant.Int8Max))
	}
}
