package x86

import (
	"math"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// addConsts holds AddInt8's output stage in the vector forms addInt8
// loads (field offsets are fixed by the assembly).
type addConsts struct {
	m      [8]int32
	zp     [8]int16
	lo, hi [16]int8
	one    [8]int32
	s1     int64
	c128   [8]int32
}

// HasLookup reports whether LookupInt8 runs in assembly here (AVX-512
// VBMI's VPERMI2B; AVX2 has no byte lookup faster than Go's for a
// 256-entry table), and why.
func HasLookup() (bool, string) { return hasVBMI() }

// LookupInt8 is ref.LookupInt8: 64 elements at a time with two VPERMI2B
// lookups (entries 0–127 and 128–255 of the table rotated by 128, so the
// byte indexes it as it is) and a blend on its sign bit, the last
// len(x) mod 64 in Go. Without VBMI it runs ref.
func LookupInt8(t *quant.Table, x, out []int8) {
	n := len(x)
	if ok, _ := hasVBMI(); !ok || n < 64 {
		ref.LookupInt8(t, x, out)
		return
	}
	out = out[:n]
	var r [256]int8 // r[u] = t[u ^ 0x80]
	copy(r[:128], t[128:])
	copy(r[128:], t[:128])
	n64 := n / 64
	lookupVBMI(&r, &x[0], &out[0], n64)
	for i := 64 * n64; i < n; i++ {
		out[i] = r[uint8(x[i])]
	}
}

// AddInt8 is ref.AddInt8. Operands of the output's shape (no
// broadcasting) run in assembly when the output stage is binaryEpilogue's:
// in XNNPACK's arithmetic (FixedShift > 0) 16 elements at a time
// (addFixed: the fixed-point products and the rounding shift in int32);
// in TFLite's, with RoundSingle and an output multiplier below 1/2, 8 at
// a time, the rescaled operands from the same two 256-entry tables ref
// builds (gathered), the sum requantized as the GEMM epilogue does.
// Anything else, and fewer than 8 (16) elements, run ref's arithmetic.
func AddInt8(p *kernels.BinaryParams, a, b, out []int8) { addSub(p, a, b, out, false) }

// SubInt8 is ref.SubInt8: AddInt8's kernels with the second operand's
// multiplier (XNNPACK) or table (TFLite) negated, which gives ref's a' −
// b' in int32 with the same wrap-around.
func SubInt8(p *kernels.BinaryParams, a, b, out []int8) { addSub(p, a, b, out, true) }

func addSub(p *kernels.BinaryParams, a, b, out []int8, sub bool) {
	n := p.N
	if p.Broadcast.Dense() { // the kernels read and write n values from each start
		a, b, out = a[:n], b[:n], out[:n]
	}
	dense := p.Broadcast.Dense() && binaryEpilogue(p)
	if p.FixedShift > 0 && dense && n >= 16 {
		bm := p.BFixed
		if sub {
			bm = -bm
		}
		// ref's (a − AZP)·AFixed + (b − BZP)·bm + round, regrouped in
		// int32 (a ring: the same wrap-around).
		q := binConsts{k0: p.AFixed, k1: bm, k2: int32(1)<<uint(p.FixedShift-1) - p.AZP*p.AFixed - p.BZP*bm,
			shift: int64(p.FixedShift)}
		binary16(binAddFixed, a, b, out, n, q.stage(p))
		return
	}
	if !asm || n < 8 || p.FixedShift != 0 || p.Rounding != quant.RoundSingle || !fastRequant(p.OutMult) || !dense {
		if sub {
			ref.SubInt8(p, a, b, out)
		} else {
			ref.AddInt8(p, a, b, out)
		}
		return
	}
	var ta, tb [256]int32
	for i := range ta {
		ta[i] = p.AMult.Apply((int32(i) - 128 - p.AZP) << uint(p.LeftShift))
		tb[i] = p.BMult.Apply((int32(i) - 128 - p.BZP) << uint(p.LeftShift))
		if sub {
			tb[i] = -tb[i]
		}
	}
	var q addConsts
	s := int64(1)
	if p.OutMult.Shift <= -1 {
		s = int64(-p.OutMult.Shift)
	}
	q.s1 = s - 1
	for i := range q.lo {
		q.lo[i], q.hi[i] = int8(p.ActMin), int8(p.ActMax)
	}
	for i := range q.m {
		q.m[i], q.zp[i], q.one[i], q.c128[i] = p.OutMult.M, int16(p.OutZP), 1, 128
	}
	n8 := n / 8
	addInt8(&a[0], &b[0], &out[0], n8, &ta, &tb, &q)
	for i := 8 * n8; i < n; i++ {
		v := int64(p.OutZP) + int64(p.OutMult.Apply(ta[uint8(a[i])^0x80]+tb[uint8(b[i])^0x80]))
		out[i] = int8(max(int64(p.ActMin), min(int64(p.ActMax), v)))
	}
}

// MulInt8 is ref.MulInt8. Operands of the output's shape (no
// broadcasting) with binaryEpilogue's output stage run in assembly 16
// elements at a time: with XNNPACK's finite MulScale, mulScale (the
// product converted, scaled and rounded in float32 as requantTile does);
// in TFLite's arithmetic with RoundSingle and a multiplier below 1/2,
// mulMult (the GEMM epilogue's requantization). Anything else, and fewer
// than 16 elements, run kernels/ref.
func MulInt8(p *kernels.BinaryParams, a, b, out []int8) {
	n := p.N
	q := binConsts{k0: p.AZP, k1: p.BZP}
	k := 0
	switch {
	case n < 16 || !p.Broadcast.Dense() || !binaryEpilogue(p):
	case p.MulScale > 0:
		if p.MulScale <= math.MaxFloat32 {
			k, q.k2 = binMulScale, int32(math.Float32bits(p.MulScale))
		}
	case p.Rounding == quant.RoundSingle && fastRequant(p.OutMult):
		k, q.k2, q.shift = binMulMult, p.OutMult.M, 0
		if p.OutMult.Shift <= -1 {
			q.shift = int64(-p.OutMult.Shift) - 1
		}
	}
	if k == 0 {
		ref.MulInt8(p, a, b, out)
		return
	}
	binary16(k, a, b, out, n, q.stage(p))
}

// binConsts holds a binary kernel's parameters (offsets fixed by the
// assembly): addFixed's AFixed, ±BFixed and constant term, or Mul's AZP,
// BZP and MulScale's bits (mulScale) or OutMult.M (mulMult) in k0…k2; the
// output zero point and clamp; addFixed's FixedShift or mulMult's s − 1.
type binConsts struct {
	k0, k1, k2 int32
	zp         int16
	lo, hi     int8
	shift      int64
}

// stage sets q's zero point and clamp from p (binaryEpilogue's) and
// returns q.
func (q *binConsts) stage(p *kernels.BinaryParams) *binConsts {
	q.zp, q.lo, q.hi = int16(p.OutZP), int8(p.ActMin), int8(p.ActMax)
	return q
}

// The binary kernels binary16 runs.
const (
	binAddFixed = iota + 1
	binMulScale
	binMulMult
)

// binary16 runs kernel k over n ≥ 16 elements of same-shape operands, 16
// at a time, the last n mod 16 through a 16-byte block holding the last
// 16 of each operand (copied first: out may be a or b). Direct calls: a
// function value would make q escape.
func binary16(k int, a, b, out []int8, n int, q *binConsts) {
	a, b, out = a[:n], b[:n], out[:n]
	n16, tail := n/16, n%16
	var ta, tb, to [16]int8
	if tail != 0 {
		copy(ta[:], a[n-16:])
		copy(tb[:], b[n-16:])
	}
	binaryKernel(k, &a[0], &b[0], &out[0], n16, q)
	if tail != 0 {
		binaryKernel(k, &ta[0], &tb[0], &to[0], 1, q)
		copy(out[16*n16:], to[16-tail:])
	}
}

func binaryKernel(k int, a, b, out *int8, n16 int, q *binConsts) {
	switch k {
	case binAddFixed:
		addFixed(a, b, out, n16, q)
	case binMulScale:
		mulScale(a, b, out, n16, q)
	default:
		mulMult(a, b, out, n16, q)
	}
}

// QuantizeFloat is ref.QuantizeFloat: float32 to int8 (uint8 when
// unsigned), round(x/scale) + zp clamped, the division in float64, 8
// values at a time in assembly (quantizeF32, quantizeF32U), the last
// len(x) mod 8 in ref.
func QuantizeFloat(x []float32, out []byte, p quant.Params, unsigned bool) {
	n := len(x)
	if n < 8 {
		ref.QuantizeFloat(x, out, p, unsigned)
		return
	}
	out = out[:n]
	q := [4]float64{float64(p.Scale), float64(p.ZeroPoint), quant.Int8Min, quant.Int8Max}
	n8 := n / 8
	o := (*int8)(unsafe.Pointer(&out[0]))
	if unsigned {
		q[2], q[3] = quant.UInt8Min, quant.UInt8Max
		quantizeF32U(&x[0], o, n8, &q)
	} else {
		quantizeF32(&x[0], o, n8, &q)
	}
	if 8*n8 < n {
		ref.QuantizeFloat(x[8*n8:], out[8*n8:], p, unsigned)
	}
}

// binaryEpilogue reports whether addInt8's epilogue (int8Epilogue's
// steps, but VPMAXSB by ActMin before VPMINSB by ActMax) gives ref's bytes
// for p: int8Epilogue's bounds and a clamp that is not empty (ref's finish
// gives ActMin below it and ActMax above it when ActMin > ActMax).
func binaryEpilogue(p *kernels.BinaryParams) bool {
	return in8(p.ActMin) && in8(p.ActMax) && p.ActMin <= p.ActMax && p.OutZP >= -32640 && p.OutZP <= 32640
}

// LayerNormInt8 is ref.LayerNormInt8: rows whose length D is a multiple
// of 16 (at most 2^16) run 8 elements at a time with ref's float32 steps,
// each rounded on its own, and its rounding; the row statistics are ref's
// (ref.LayerNormRowScale). Other rows run ref.
func LayerNormInt8(p *kernels.LayerNormParams, x, out []int8) {
	d := p.D
	if !asm || d%16 != 0 || d > 1<<16 {
		ref.LayerNormInt8(p, x, out)
		return
	}
	for r := range p.Rows {
		row := x[r*d : (r+1)*d]
		s, ss := rowStats(&row[0], d/16)
		var mr [2]float32
		mr[0], mr[1] = ref.LayerNormRowScale(p, int64(s), int64(ss))
		layerNormRow(&row[0], &out[r*d], d/8, &p.Gamma[0], &p.Beta[0], &mr)
	}
}

// SoftmaxInt8 is ref.SoftmaxInt8: the row maximum, the sum of table
// entries (gathered) and the quotients (float64 division of integers
// below 2^45, whose floor is exact) 8 elements at a time, the last D mod 8
// with ref's integer formula. Tables with an entry above 2^16 (ref's
// table never has one for β ≥ 0) and rows over 16384 run ref.
func SoftmaxInt8(p *kernels.SoftmaxParams, x, out []int8) {
	d := p.D
	if !asm || d < 16 || d > 1<<14 || !smallTable(p.Exp) {
		ref.SoftmaxInt8(p, x, out)
		return
	}
	exp := p.Exp
	n16, n8 := d/16, d/8
	for r := range p.Rows {
		row := x[r*d : (r+1)*d]
		o := out[r*d : (r+1)*d]
		mx := maxBytes(&row[0], n16)
		for _, q := range row[16*n16:] {
			mx = max(mx, q)
		}
		sum := uint64(softmaxSum(&row[0], n8, int(mx), exp))
		for _, q := range row[8*n8:] {
			sum += uint64(exp[uint8(int(mx)-int(q))])
		}
		half := sum / 2
		sh := [2]float64{float64(half), float64(sum)}
		softmaxRow(&row[0], &o[0], n8, int(mx), exp, &sh)
		for i := 8 * n8; i < d; i++ {
			v := (uint64(exp[uint8(int(mx)-int(row[i]))])<<8 + half) / sum
			o[i] = int8(int32(min(v, 255)) - 128)
		}
	}
}

// smallTable reports whether every entry of t is at most 2^16.
func smallTable(t *[256]uint32) bool {
	var m uint32
	for _, v := range t {
		m = max(m, v)
	}
	return m <= 1<<16
}
