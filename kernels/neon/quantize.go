package neon

import (
	"math"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// QuantizeFloat is ref.QuantizeFloat: float32 to int8 (uint8 when
// unsigned), round(x/scale) + zp clamped, the division in float64. Runs
// of 16 go through assembly (quantizeFloat, quantizeFloatU: FCVTL, FDIV
// and FCVTAS on float64 lanes, saturating narrows), the last n mod 16
// through a 16-value block; fewer than 16 values, or a zero point outside
// the output type, run kernels/ref.
func QuantizeFloat(x []float32, out []byte, p quant.Params, unsigned bool) {
	n := len(x)
	lo, hi := int32(-128), int32(127)
	if unsigned {
		lo, hi = 0, 255
	}
	if n < 16 || p.ZeroPoint < lo || p.ZeroPoint > hi {
		ref.QuantizeFloat(x, out, p, unsigned)
		return
	}
	out = out[:n]
	q := [2]int64{int64(math.Float64bits(float64(p.Scale))), int64(p.ZeroPoint)}
	n16, tail := n/16, n%16
	o := (*int8)(unsafe.Pointer(&out[0]))
	if unsigned {
		quantizeFloatU(&x[0], o, n16, &q)
	} else {
		quantizeFloat(&x[0], o, n16, &q)
	}
	if tail != 0 {
		var tx [16]float32
		var to [16]int8
		copy(tx[:], x[n-16:])
		if unsigned { // direct calls: through a function value the blocks would escape
			quantizeFloatU(&tx[0], &to[0], 1, &q)
		} else {
			quantizeFloat(&tx[0], &to[0], 1, &q)
		}
		for i := range tail {
			out[16*n16+i] = byte(to[16-tail+i])
		}
	}
}

// Dequantize is ref.DequantizeInt8 (ref.DequantizeUint8 when unsigned)
// over codes stored as bytes, bit for bit: runs of 16 go through
// assembly (dequantF32: q − zp in int16, SCVTF, one FMUL), the last
// n mod 16 through quant.Params.Dequantize; a zero point outside the
// input type runs kernels/ref.
func Dequantize(x []byte, out []float32, p quant.Params, unsigned bool) {
	n := len(x)
	flip, lo, hi := uint32(0), int32(-128), int32(127)
	if unsigned {
		flip, lo, hi = 0x80, 0, 255
	}
	if p.ZeroPoint < lo || p.ZeroPoint > hi {
		if unsigned {
			ref.DequantizeUint8(x, out, p)
		} else {
			ref.DequantizeInt8(unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(x))), n), out, p)
		}
		return
	}
	out = out[:n]
	zp := uint32(uint8(p.ZeroPoint ^ int32(flip))) // uint8: zp − 128 as int8
	k := [2]uint32{flip | zp<<8, math.Float32bits(p.Scale)}
	if n16 := n / 16; n16 > 0 {
		dequantF32(&x[0], &out[0], n16, &k)
	}
	for i := n &^ 15; i < n; i++ {
		q := int32(int8(x[i]))
		if unsigned {
			q = int32(x[i])
		}
		out[i] = p.Dequantize(q)
	}
}
