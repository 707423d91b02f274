// Package ref holds edgeinfer's reference kernels: portable Go, the source
// of truth that every accelerated implementation must match bit for bit.
// Kernels follow the conventions of package kernels: caller-owned slices,
// parameters filled once at load by the New* helpers, no allocation.
package ref

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

const last = kernels.MaxRank - 1

// AddLeftShift is the headroom, in bits, that int8 Add and Sub give the
// zero-point-corrected operands before rescaling them to a common scale
// (TFLite's value for int8). (q − zp) is in [−255, 255], so the shifted
// value stays below 255·2^20 < 2^28 and the sum of two rescaled operands
// (each at most half of it) fits in int32.
const AddLeftShift = 20

// SquaredDifferenceLeftShift is the headroom that int8 SquaredDifference
// gives the operands (TFLite's value). The rescaled difference is at most
// 255·2^7 = 32640 in magnitude, so its square, at most 1 065 369 600, fits
// in int32 exactly.
const SquaredDifferenceLeftShift = 7

// NewBroadcast returns the broadcasting plan of a binary op with operand
// shapes a and b and output shape out, under numpy rules: shapes are
// right-aligned and every dimension pair must be equal or contain a 1. out
// must be the broadcast shape up to leading 1s; a nil out means "compute
// it". Ranks must not
// exceed kernels.MaxRank and dimensions must not be negative.
func NewBroadcast(a, b, out []int) (kernels.Broadcast, error) {
	var p kernels.Broadcast
	if len(a) > kernels.MaxRank || len(b) > kernels.MaxRank || len(out) > kernels.MaxRank {
		return p, fmt.Errorf("broadcast %v with %v: rank above %d", a, b, kernels.MaxRank)
	}
	var sa, sb [kernels.MaxRank]int
	alignShape(&sa, a)
	alignShape(&sb, b)
	for _, s := range [][]int{a, b, out} {
		for _, d := range s {
			if d < 0 {
				return p, fmt.Errorf("broadcast %v with %v: negative dimension in %v", a, b, s)
			}
		}
	}
	for i := range kernels.MaxRank {
		switch {
		case sa[i] == sb[i]:
			p.OutShape[i] = sa[i]
		case sa[i] == 1:
			p.OutShape[i] = sb[i]
		case sb[i] == 1:
			p.OutShape[i] = sa[i]
		default:
			return p, fmt.Errorf("broadcast %v with %v: dimension %d is %d and %d", a, b,
				i-kernels.MaxRank, sa[i], sb[i])
		}
	}
	if out != nil {
		var so [kernels.MaxRank]int
		alignShape(&so, out)
		if so != p.OutShape {
			return p, fmt.Errorf("broadcast %v with %v: output shape %v, want %v", a, b, out,
				p.OutShape[kernels.MaxRank-max(len(a), len(b)):])
		}
	}
	p.N = 1
	strideA, strideB := 1, 1
	for i := kernels.MaxRank - 1; i >= 0; i-- {
		if sa[i] == p.OutShape[i] && sa[i] != 1 {
			p.AStride[i] = strideA
		}
		if sb[i] == p.OutShape[i] && sb[i] != 1 {
			p.BStride[i] = strideB
		}
		strideA *= sa[i]
		strideB *= sb[i]
		p.N *= p.OutShape[i]
	}
	return p, nil
}

// alignShape writes s right-aligned into dst, padding with leading 1s.
func alignShape(dst *[kernels.MaxRank]int, s []int) {
	k := kernels.MaxRank - len(s)
	for i := range dst {
		dst[i] = 1
		if i >= k {
			dst[i] = s[i-k]
		}
	}
}

// cursor walks the outer MaxRank−1 output dimensions of a Broadcast in
// row-major order and keeps the matching operand offsets.
type cursor struct {
	idx  [kernels.MaxRank - 1]int
	a, b int
}

func (c *cursor) next(p *kernels.Broadcast) {
	for d := kernels.MaxRank - 2; d >= 0; d-- {
		c.idx[d]++
		c.a += p.AStride[d]
		c.b += p.BStride[d]
		if c.idx[d] < p.OutShape[d] {
			return
		}
		c.a -= c.idx[d] * p.AStride[d]
		c.b -= c.idx[d] * p.BStride[d]
		c.idx[d] = 0
	}
}

// NewAddParams returns the rescaling of int8 Add (sub false) or Sub (sub
// true) with operand parameters aS, bS and output parameters outS, as in
// TFLite: with m = 2·max(s_a, s_b), AMult = s_a/m, BMult = s_b/m (both at
// most 1/2), OutMult = m/(2^LeftShift·s_out), LeftShift = AddLeftShift.
// The zero points are copied; ActMin/ActMax are set to the full int8
// range. The caller sets Broadcast, the fused activation's ActMin/ActMax
// and Rounding. The multipliers do not depend on sub; it only names the op
// in errors.
func NewAddParams(aS, bS, outS quant.Params, sub bool) (kernels.BinaryParams, error) {
	name := "add"
	if sub {
		name = "sub"
	}
	p, err := binaryBase(name, aS, bS, outS)
	if err != nil {
		return p, err
	}
	m := 2 * math.Max(float64(aS.Scale), float64(bS.Scale))
	p.LeftShift = AddLeftShift
	if p.AMult, err = quant.NewMultiplier(float64(aS.Scale) / m); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	if p.BMult, err = quant.NewMultiplier(float64(bS.Scale) / m); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	if p.OutMult, err = quant.NewMultiplier(m / (float64(int64(1)<<AddLeftShift) * float64(outS.Scale))); err != nil {
		return p, fmt.Errorf("%s: output scale %g too small for input scales %g, %g: %w",
			name, outS.Scale, aS.Scale, bS.Scale, err)
	}
	return p, nil
}

// NewMulParams returns the rescaling of int8 Mul: OutMult = s_a·s_b/s_out,
// LeftShift 0, AMult and BMult unused (zero). Zero points are copied and
// ActMin/ActMax set to the full int8 range; the caller sets Broadcast,
// ActMin/ActMax and Rounding.
func NewMulParams(aS, bS, outS quant.Params) (kernels.BinaryParams, error) {
	p, err := binaryBase("mul", aS, bS, outS)
	if err != nil {
		return p, err
	}
	real := float64(aS.Scale) * float64(bS.Scale) / float64(outS.Scale)
	if p.OutMult, err = quant.NewMultiplier(real); err != nil {
		return p, fmt.Errorf("mul: output scale %g too small for input scales %g, %g: %w",
			outS.Scale, aS.Scale, bS.Scale, err)
	}
	return p, nil
}

// NewSquaredDifferenceParams returns the rescaling of int8
// SquaredDifference, TFLite's scheme: with m = 2·max(s_a, s_b),
// AMult = s_a/m, BMult = s_b/m, LeftShift = SquaredDifferenceLeftShift and
// OutMult = m²/(2^(2·LeftShift)·s_out). Zero points are copied and
// ActMin/ActMax set to the full int8 range; the caller sets Broadcast,
// ActMin/ActMax and Rounding.
func NewSquaredDifferenceParams(aS, bS, outS quant.Params) (kernels.BinaryParams, error) {
	p, err := binaryBase("squared difference", aS, bS, outS)
	if err != nil {
		return p, err
	}
	m := 2 * math.Max(float64(aS.Scale), float64(bS.Scale))
	p.LeftShift = SquaredDifferenceLeftShift
	if p.AMult, err = quant.NewMultiplier(float64(aS.Scale) / m); err != nil {
		return p, fmt.Errorf("squared difference: %w", err)
	}
	if p.BMult, err = quant.NewMultiplier(float64(bS.Scale) / m); err != nil {
		return p, fmt.Errorf("squared difference: %w", err)
	}
	real := m * m / (float64(int64(1)<<(2*SquaredDifferenceLeftShift)) * float64(outS.Scale))
	if p.OutMult, err = quant.NewMultiplier(real); err != nil {
		return p, fmt.Errorf("squared difference: output scale %g too small for input scales %g, %g: %w",
			outS.Scale, aS.Scale, bS.Scale, err)
	}
	return p, nil
}

func binaryBase(name string, aS, bS, outS quant.Params) (kernels.BinaryParams, error) {
	var p kernels.BinaryParams
	for _, t := range []struct {
		what string
		q    quant.Params
	}{{"first input", aS}, {"second input", bS}, {"output", outS}} {
		if err := t.q.Validate(quant.Int8Min, quant.Int8Max); err != nil {
			return p, fmt.Errorf("%s: %s: %w", name, t.what, err)
		}
	}
	p.AZP, p.BZP, p.OutZP = aS.ZeroPoint, bS.ZeroPoint, outS.ZeroPoint
	p.ActMin, p.ActMax = quant.Int8Min, quant.Int8Max
	return p, nil
}

type binaryOp uint8

const (
	opAdd binaryOp = iota
	opSub
	opMul
	opSquaredDifference
)

// AddInt8 computes out = a + b over int8 tensors, broadcast per p:
//
//	a' = AMult((a − AZP)·2^LeftShift), b' = BMult((b − BZP)·2^LeftShift)
//	out = clamp(OutZP + OutMult(a' + b'), ActMin, ActMax)
//
// where each Multiplier is applied with p.Rounding (quant.ApplyMode) and
// the sum OutZP + OutMult(…) is formed without int32 wrap-around. With
// NewAddParams' values no intermediate overflows int32 (see AddLeftShift).
func AddInt8(p *kernels.BinaryParams, a, b, out []int8) { binaryInt8(p, a, b, out, opAdd) }

// SubInt8 is AddInt8 with a' − b' in place of a' + b'.
func SubInt8(p *kernels.BinaryParams, a, b, out []int8) { binaryInt8(p, a, b, out, opSub) }

// MulInt8 computes out = a·b over int8 tensors, broadcast per p:
//
//	out = clamp(OutZP + OutMult((a − AZP)·(b − BZP)), ActMin, ActMax)
//
// The product is at most 255² in magnitude; OutMult is applied with
// p.Rounding.
func MulInt8(p *kernels.BinaryParams, a, b, out []int8) { binaryInt8(p, a, b, out, opMul) }

// SquaredDifferenceInt8 computes out = (a − b)² over int8 tensors,
// broadcast per p:
//
//	a' = AMult((a − AZP)·2^LeftShift), b' = BMult((b − BZP)·2^LeftShift)
//	out = clamp(OutZP + OutMult((a' − b')²), ActMin, ActMax)
//
// With NewSquaredDifferenceParams' values (LeftShift 7, AMult and BMult at
// most 1/2) |a' − b'| ≤ 32640 and the square fits in int32 exactly.
func SquaredDifferenceInt8(p *kernels.BinaryParams, a, b, out []int8) {
	binaryInt8(p, a, b, out, opSquaredDifference)
}

func binaryInt8(p *kernels.BinaryParams, a, b, out []int8, op binaryOp) {
	// Add, Sub and SquaredDifference rescale each operand on its own, so
	// a' and b' are functions of one int8 value: tabulate them once per
	// call (on the stack) instead of once per element. Same numbers.
	var ta, tb [256]int32
	if p.FixedShift > 0 && (op == opAdd || op == opSub) {
		fixedAddSub(p, a, b, out, op == opSub, &ta, &tb)
		return
	}
	if op != opMul {
		for i := range ta {
			ta[i] = p.AMult.ApplyMode((int32(i)-128-p.AZP)<<uint(p.LeftShift), p.Rounding)
			tb[i] = p.BMult.ApplyMode((int32(i)-128-p.BZP)<<uint(p.LeftShift), p.Rounding)
		}
	}
	inner := p.OutShape[last]
	as, bs := p.AStride[last], p.BStride[last]
	var c cursor
	for o := 0; o < p.N; o += inner {
		row := out[o : o+inner]
		ia, ib := c.a, c.b
		switch op {
		case opAdd:
			for j := range row {
				s := ta[uint8(a[ia])^0x80] + tb[uint8(b[ib])^0x80]
				row[j] = finish(p, p.OutMult.ApplyMode(s, p.Rounding))
				ia += as
				ib += bs
			}
		case opSub:
			for j := range row {
				s := ta[uint8(a[ia])^0x80] - tb[uint8(b[ib])^0x80]
				row[j] = finish(p, p.OutMult.ApplyMode(s, p.Rounding))
				ia += as
				ib += bs
			}
		case opMul:
			for j := range row {
				prod := (int32(a[ia]) - p.AZP) * (int32(b[ib]) - p.BZP)
				if p.MulScale > 0 {
					// |prod| ≤ 2^16: exact in float32; the clamp keeps
					// the conversion exact.
					f := float32(float32(prod) * p.MulScale)
					row[j] = finish(p, int32(math.RoundToEven(float64(max(-1<<30, min(1<<30, f))))))
				} else {
					row[j] = finish(p, p.OutMult.ApplyMode(prod, p.Rounding))
				}
				ia += as
				ib += bs
			}
		case opSquaredDifference:
			for j := range row {
				d := ta[uint8(a[ia])^0x80] - tb[uint8(b[ib])^0x80]
				row[j] = finish(p, p.OutMult.ApplyMode(d*d, p.Rounding))
				ia += as
				ib += bs
			}
		}
		c.next(&p.Broadcast)
	}
}

// fixedAddSub is Add/Sub in XNNPACK's arithmetic (FixedShift > 0):
// both operands are scaled by integer multipliers into one int32 sum,
// which a rounding shift (ties toward +∞) brings to the output.
func fixedAddSub(p *kernels.BinaryParams, a, b, out []int8, sub bool, ta, tb *[256]int32) {
	bm := p.BFixed
	if sub {
		bm = -bm
	}
	for i := range ta {
		ta[i] = (int32(i) - 128 - p.AZP) * p.AFixed
		tb[i] = (int32(i) - 128 - p.BZP) * bm
	}
	round := int32(1) << uint(p.FixedShift-1)
	shift := uint(p.FixedShift)
	inner := p.OutShape[last]
	as, bs := p.AStride[last], p.BStride[last]
	var c cursor
	for o := 0; o < p.N; o += inner {
		row := out[o : o+inner]
		ia, ib := c.a, c.b
		for j := range row {
			s := ta[uint8(a[ia])^0x80] + tb[uint8(b[ib])^0x80] + round
			row[j] = finish(p, s>>shift)
			ia += as
			ib += bs
		}
		c.next(&p.Broadcast)
	}
}

// NewAddParamsXNNPACK returns the parameters of int8 Add (or Sub) in
// XNNPACK's arithmetic, which LiteRT's CPU path uses (quant.RoundXNNPACK):
// with r_a = s_a/s_out and r_b = s_b/s_out in float32, FixedShift =
// 20 − exponent(max(r_a, r_b)) and AFixed, BFixed = r·2^FixedShift
// rounded to nearest even, so the larger multiplier has 21 bits. The
// ratios must lie in [2^−10, 2^8). Zero points are copied and
// ActMin/ActMax set to the full int8 range; the caller sets Broadcast and
// ActMin/ActMax.
func NewAddParamsXNNPACK(aS, bS, outS quant.Params, sub bool) (kernels.BinaryParams, error) {
	name := "add"
	if sub {
		name = "sub"
	}
	p, err := binaryBase(name, aS, bS, outS)
	if err != nil {
		return p, err
	}
	ra, rb := aS.Scale/outS.Scale, bS.Scale/outS.Scale
	for _, r := range []float32{ra, rb} {
		if !(r >= 1.0/1024 && r < 256) {
			return p, fmt.Errorf("%s: input/output scale ratio %g outside XNNPACK's [2^-10, 2^8)", name, r)
		}
	}
	_, exp := math.Frexp(float64(max(ra, rb))) // max = f·2^exp, f in [0.5, 1)
	shift := 20 - (exp - 1)
	p.FixedShift = shift
	p.AFixed = int32(math.RoundToEven(math.Ldexp(float64(ra), shift)))
	p.BFixed = int32(math.RoundToEven(math.Ldexp(float64(rb), shift)))
	return p, nil
}

// finish adds the output zero point in 64 bits (a saturated multiplier
// result plus a positive zero point must not wrap) and clamps.
func finish(p *kernels.BinaryParams, v int32) int8 {
	w := int64(p.OutZP) + int64(v)
	if w < int64(p.ActMin) {
		return int8(p.ActMin)
	}
	if w > int64(p.ActMax) {
		return int8(p.ActMax)
	}
	return int8(w)
}

// AddFloat computes out = clamp(a + b, actMin, actMax) over float32
// tensors broadcast per p. Pass ±Inf bounds for no activation; NaN passes
// through the clamp.
func AddFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	binaryFloat(p, a, b, out, actMin, actMax, opAdd)
}

// SubFloat computes out = clamp(a − b, actMin, actMax), as AddFloat.
func SubFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	binaryFloat(p, a, b, out, actMin, actMax, opSub)
}

// MulFloat computes out = clamp(a·b, actMin, actMax), as AddFloat.
func MulFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	binaryFloat(p, a, b, out, actMin, actMax, opMul)
}

// SquaredDifferenceFloat computes out = clamp((a − b)², actMin, actMax),
// as AddFloat; the difference is rounded to float32 before it is squared.
func SquaredDifferenceFloat(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32) {
	binaryFloat(p, a, b, out, actMin, actMax, opSquaredDifference)
}

func binaryFloat(p *kernels.Broadcast, a, b, out []float32, lo, hi float32, op binaryOp) {
	inner := p.OutShape[last]
	as, bs := p.AStride[last], p.BStride[last]
	var c cursor
	for o := 0; o < p.N; o += inner {
		row := out[o : o+inner]
		ia, ib := c.a, c.b
		for j := range row {
			x, y := a[ia], b[ib]
			var v float32
			switch op {
			case opAdd:
				v = x + y
			case opSub:
				v = x - y
			case opMul:
				v = x * y
			case opSquaredDifference:
				d := x - y
				v = d * d
			}
			row[j] = clampFloat(v, lo, hi)
			ia += as
			ib += bs
		}
		c.next(p)
	}
}

func clampFloat(v, lo, hi float32) float32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
