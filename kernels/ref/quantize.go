package ref

import (
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
