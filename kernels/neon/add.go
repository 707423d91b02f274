package neon

import (
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
// point with saturation and clamped. Anything else runs kernels/ref.
func AddInt8(p *kernels.BinaryParams, a, b, out []int8) {
	n := p.N
	if n < 16 || p.FixedShift != 0 || p.Rounding != quant.RoundSingle || !p.Broadcast.Dense() {
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
	addInt8(&a[0], &b[0], &out[0], n16, &q)
	if n%16 != 0 {
		// The last 16 elements again, overlapping: same values.
		addInt8(&a[n-16], &b[n-16], &out[n-16], 1, &q)
	}
}
