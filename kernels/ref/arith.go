package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
)

// DivFloat computes out = clamp(a/b, actMin, actMax) over float32 tensors
// broadcast per p, with IEEE division (x/0 is ±Inf, 0/0 NaN), as AddFloat.
func DivFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	binaryFloatFunc(p, a, b, out, actMin, actMax, func(x, y float32) float32 { return x / y })
}

// FloorDivFloat computes out = clamp(⌊a/b⌋, actMin, actMax) over float32
// tensors broadcast per p: the quotient is formed in float64 and floored
// there, then rounded to float32 (TFLite's FLOOR_DIV), so a float32
// quotient that rounds up to an integer does not move the floor.
func FloorDivFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	binaryFloatFunc(p, a, b, out, actMin, actMax, func(x, y float32) float32 {
		return float32(math.Floor(float64(x) / float64(y)))
	})
}

func binaryFloatFunc(p *kernels.Broadcast, a, b, out []float32, lo, hi float32, f func(x, y float32) float32) {
	inner := p.OutShape[last]
	as, bs := p.AStride[last], p.BStride[last]
	var c cursor
	for o := 0; o < p.N; o += inner {
		row := out[o : o+inner]
		ia, ib := c.a, c.b
		for j := range row {
			row[j] = clampFloat(f(a[ia], b[ib]), lo, hi)
			ia += as
			ib += bs
		}
		c.next(p)
	}
}

// AddInt32 computes out = clamp(a + b, actMin, actMax) over int32 tensors
// broadcast per p, wrapping on overflow (two's complement). Pass
// math.MinInt32 and math.MaxInt32 for no activation.
func AddInt32(p *kernels.Broadcast, a, b, out []int32, actMin, actMax int32) {
	binaryInt32(p, a, b, out, actMin, actMax, func(x, y int32) int32 { return x + y })
}

// SubInt32 computes out = clamp(a − b, actMin, actMax), as AddInt32.
func SubInt32(p *kernels.Broadcast, a, b, out []int32, actMin, actMax int32) {
	binaryInt32(p, a, b, out, actMin, actMax, func(x, y int32) int32 { return x - y })
}

// MulInt32 computes out = clamp(a·b, actMin, actMax), as AddInt32 (the
// low 32 bits of the product).
func MulInt32(p *kernels.Broadcast, a, b, out []int32, actMin, actMax int32) {
	binaryInt32(p, a, b, out, actMin, actMax, func(x, y int32) int32 { return x * y })
}

// DivInt32 computes out = clamp(a/b, actMin, actMax), the quotient
// truncated toward zero (TFLite's int32 DIV); a zero divisor gives 0 and
// MinInt32/−1 wraps to MinInt32, so no input can make the kernel panic.
func DivInt32(p *kernels.Broadcast, a, b, out []int32, actMin, actMax int32) {
	binaryInt32(p, a, b, out, actMin, actMax, func(x, y int32) int32 {
		if y == 0 {
			return 0
		}
		return x / y
	})
}

// FloorDivInt32 computes out = clamp(⌊a/b⌋, actMin, actMax), the exact
// quotient rounded toward −∞ (TFLite's FLOOR_DIV: 7 floordiv −2 is −4);
// a zero divisor gives 0 and MinInt32 floordiv −1 wraps to MinInt32.
func FloorDivInt32(p *kernels.Broadcast, a, b, out []int32, actMin, actMax int32) {
	binaryInt32(p, a, b, out, actMin, actMax, FloorDivInt32Value)
}

// FloorDivInt32Value is ⌊x/y⌋ for one pair, 0 when y is 0.
func FloorDivInt32Value(x, y int32) int32 {
	if y == 0 {
		return 0
	}
	q := x / y
	if (x%y != 0) && ((x < 0) != (y < 0)) {
		q--
	}
	return q
}

func binaryInt32(p *kernels.Broadcast, a, b, out []int32, lo, hi int32, f func(x, y int32) int32) {
	inner := p.OutShape[last]
	as, bs := p.AStride[last], p.BStride[last]
	var c cursor
	for o := 0; o < p.N; o += inner {
		row := out[o : o+inner]
		ia, ib := c.a, c.b
		for j := range row {
			row[j] = min(max(f(a[ia], b[ib]), lo), hi)
			ia += as
			ib += bs
		}
		c.next(p)
	}
}

// SqrtFloat computes out = √x, correctly rounded (NaN below 0, as IEEE).
func SqrtFloat(x, out []float32) { unaryFloat(x, out, math.Sqrt) }

// Sqrt is √x for the int8 table: 0 below 0 (a table entry must be a
// number), math.Sqrt elsewhere.
func Sqrt(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return math.Sqrt(x)
}

// CastInt32ToFloat converts int32 values to the nearest float32 (exact up
// to 2^24 in magnitude, ties to even above), as TFLite's CAST does.
func CastInt32ToFloat(x []int32, out []float32) {
	out = out[:len(x)]
	for i, v := range x {
		out[i] = float32(v)
	}
}

// CastFloatToInt32 converts float32 values to int32 truncating toward
// zero (TFLite's CAST, a C++ static_cast). Where that cast is undefined
// this one is total: values beyond the int32 range saturate and NaN
// gives 0.
func CastFloatToInt32(x []float32, out []int32) {
	out = out[:len(x)]
	for i, v := range x {
		switch {
		case v != v:
			out[i] = 0
		case v >= 2147483648:
			out[i] = math.MaxInt32
		case v <= -2147483648:
			out[i] = math.MinInt32
		default:
			out[i] = int32(v)
		}
	}
}

// GatherNDBytes gathers slices of in, viewed as [dims[0], …, dims[K−1],
// sliceBytes], by index rows of K = len(dims) int32 values:
// out[r, :] = in[indices[r·K], …, indices[r·K+K−1], :]. A row with an
// index outside [0, dims[j]) (negative included) yields sliceBytes zero
// bytes, so data-dependent indices cannot make the kernel read out of
// bounds. len(indices) must be a multiple of K and out must hold
// len(indices)/K slices.
func GatherNDBytes(dims []int, sliceBytes int, indices []int32, in, out []byte) {
	k := len(dims)
	rows := len(indices) / k
	for r := range rows {
		dst := out[r*sliceBytes : (r+1)*sliceBytes]
		off, ok := 0, true
		for j, d := range dims {
			ix := int(indices[r*k+j])
			if ix < 0 || ix >= d {
				ok = false
				break
			}
			off = off*d + ix
		}
		if !ok {
			clear(dst)
			continue
		}
		copy(dst, in[off*sliceBytes:(off+1)*sliceBytes])
	}
}
