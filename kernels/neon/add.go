package neon

import (
	"math"
	"math/bits"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// AddInt8 is ref.AddInt8. Operands of the same shape (no broadcasting),
// with RoundSingle multipliers and TFLite-style parameters (FixedShift 0),
// run in assembly 16 elements at a time: each operand minus its zero point
// is rescaled exactly (SMULL, SQRSHL by Shift+LeftShift−31, SQXTN: the left
// shift folds into the rounding shift without changing a bit), summed with
// int32 wrap-around, rescaled to the output, offset by the output zero
// point with saturation and clamped (for stages binaryEpilogue accepts).
// Where addFast holds (the usual
// case) each rescale is SQDMULH + SRSHL instead (addInt8Fast, or
// addInt8FastNC without the clamp when it is all of int8; addInt8FastL
// and addInt8FastLNC for the usual LeftShift 16 to 23, shifting in int16
// and widening by a ZIP). In XNNPACK's arithmetic (FixedShift > 0) the
// same shapes run addFixed (see fixedAddSub). Anything else runs
// kernels/ref.
func AddInt8(p *kernels.BinaryParams, a, b, out []int8) {
	n := p.N
	if p.FixedShift > 0 {
		if !fixedAddSub(p, a, b, out, false) {
			ref.AddInt8(p, a, b, out)
		}
		return
	}
	if n < 16 || p.FixedShift != 0 || p.Rounding != quant.RoundSingle || !p.Broadcast.Dense() || !binaryEpilogue(p) {
		ref.AddInt8(p, a, b, out)
		return
	}
	a, b, out = a[:n], b[:n], out[:n]
	ls := int64(p.LeftShift)
	q := [11]int64{
		int64(p.AMult.M), int64(p.AMult.Shift) + ls - 31,
		int64(p.BMult.M), int64(p.BMult.Shift) + ls - 31,
		int64(p.OutMult.M), int64(p.OutMult.Shift) - 31,
		int64(p.AZP), int64(p.BZP), int64(p.OutZP), int64(p.ActMin), int64(p.ActMax),
	}
	n16 := n / 16
	// The last n mod 16 elements: the last 16 of each operand, copied
	// before the main pass (out may be a or b), through a 16-byte block.
	var ta, tb, to [16]int8
	tail := n % 16
	if tail != 0 {
		copy(ta[:], a[n-16:])
		copy(tb[:], b[n-16:])
	}
	var f [12]int64
	fast := addFast(p)
	if fast {
		f = [12]int64{
			int64(p.AMult.M), int64(p.AMult.Shift), int64(p.BMult.M), int64(p.BMult.Shift),
			int64(p.OutMult.M), int64(p.OutMult.Shift),
			int64(p.AZP), int64(p.BZP), int64(p.OutZP), int64(p.ActMin), int64(p.ActMax), ls,
		}
		// Direct calls: through a function value &f would escape.
		nc := p.ActMin <= -128 && p.ActMax >= 127
		switch {
		case ls >= 16 && ls <= 23:
			// The int16 differences shifted and widened by a ZIP: q[11]
			// is LeftShift − 16.
			f[11] = ls - 16
			if nc {
				addInt8FastLNC(&a[0], &b[0], &out[0], n16, &f)
			} else {
				addInt8FastL(&a[0], &b[0], &out[0], n16, &f)
			}
		case nc:
			addInt8FastNC(&a[0], &b[0], &out[0], n16, &f)
		default:
			addInt8Fast(&a[0], &b[0], &out[0], n16, &f)
		}
	} else {
		addInt8(&a[0], &b[0], &out[0], n16, &q)
	}
	if tail != 0 {
		switch {
		case fast && ls >= 16 && ls <= 23:
			addInt8FastL(&ta[0], &tb[0], &to[0], 1, &f) // with the clamp: any clamp
		case fast:
			addInt8Fast(&ta[0], &tb[0], &to[0], 1, &f)
		default:
			addInt8(&ta[0], &tb[0], &to[0], 1, &q)
		}
		copy(out[16*n16:], to[16-tail:])
	}
}

// addFast reports whether Add may rescale with SQDMULH + SRSHL: the
// output multiplier below 1/2 (fastRequant), each operand's too, or of
// Shift 0 with x·M a multiple of 2^31 for every x = d·2^LeftShift
// (trailing zeros of M + LeftShift ≥ 31: TFLite's 1/2 for the operand of
// larger scale), where ⌊x·M/2^31⌋ is exact and so is Apply's rounding.
func addFast(p *kernels.BinaryParams) bool {
	op := func(m quant.Multiplier) bool {
		return fastRequant(m) || m.Shift == 0 && bits.TrailingZeros32(uint32(m.M))+int(p.LeftShift) >= 31
	}
	return fastRequant(p.OutMult) && op(p.AMult) && op(p.BMult)
}

// SubInt8 is ref.SubInt8. Same-shape operands in XNNPACK's arithmetic
// (FixedShift > 0) run in assembly as AddInt8's do (addFixed, BFixed
// negated); anything else runs kernels/ref.
func SubInt8(p *kernels.BinaryParams, a, b, out []int8) {
	if p.FixedShift <= 0 || !fixedAddSub(p, a, b, out, true) {
		ref.SubInt8(p, a, b, out)
	}
}

// fixedAddSub runs XNNPACK's Add (or Sub) of same-shape operands 16
// elements at a time with addFixed, the last n mod 16 through a 16-byte
// block, and reports whether it could: at least 16 elements, no
// broadcasting, the operand zero points in int8, binaryEpilogue, 1 ≤
// FixedShift ≤ 31 and |AFixed|, |BFixed| ≤ 2^21, where no sum overflows
// int32 (255·2^22 + 2^30 < 2^31), so that SRSHL's rounding equals ref's.
func fixedAddSub(p *kernels.BinaryParams, a, b, out []int8, sub bool) bool {
	n := p.N
	small := func(v int32) bool { return v >= -1<<21 && v <= 1<<21 }
	if n < 16 || !p.Broadcast.Dense() || p.FixedShift > 31 || !small(p.AFixed) || !small(p.BFixed) ||
		!in8(p.AZP) || !in8(p.BZP) || !binaryEpilogue(p) {
		return false
	}
	bm := int64(p.BFixed)
	if sub {
		bm = -bm
	}
	q := [8]int64{int64(p.AFixed), bm, -int64(p.FixedShift), int64(p.AZP), int64(p.BZP), int64(p.OutZP),
		int64(p.ActMin), int64(p.ActMax)}
	a, b, out = a[:n], b[:n], out[:n]
	n16, tail := n/16, n%16
	// The last 16 of each operand, copied before the main pass (out may
	// be a or b).
	var ta, tb, to [16]int8
	if tail != 0 {
		copy(ta[:], a[n-16:])
		copy(tb[:], b[n-16:])
	}
	addFixed(&a[0], &b[0], &out[0], n16, &q)
	if tail != 0 {
		addFixed(&ta[0], &tb[0], &to[0], 1, &q)
		copy(out[16*n16:], to[16-tail:])
	}
	return true
}

// MulInt8 is ref.MulInt8. Same-shape operands with XNNPACK's float32
// scale (a finite MulScale > 0) run in assembly 16 elements at a time
// (mulScale); anything else runs kernels/ref.
func MulInt8(p *kernels.BinaryParams, a, b, out []int8) {
	n := p.N
	if n < 16 || !(p.MulScale > 0 && p.MulScale <= math.MaxFloat32) || !p.Broadcast.Dense() ||
		!in8(p.AZP) || !in8(p.BZP) || !binaryEpilogue(p) {
		ref.MulInt8(p, a, b, out)
		return
	}
	q := [6]int64{int64(math.Float32bits(p.MulScale)), int64(p.AZP), int64(p.BZP), int64(p.OutZP),
		int64(p.ActMin), int64(p.ActMax)}
	a, b, out = a[:n], b[:n], out[:n]
	n16, tail := n/16, n%16
	var ta, tb, to [16]int8
	if tail != 0 {
		copy(ta[:], a[n-16:])
		copy(tb[:], b[n-16:])
	}
	mulScale(&a[0], &b[0], &out[0], n16, &q)
	if tail != 0 {
		mulScale(&ta[0], &tb[0], &to[0], 1, &q)
		copy(out[16*n16:], to[16-tail:])
	}
}
