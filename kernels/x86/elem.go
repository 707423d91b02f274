package x86

import (
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
// broadcasting), RoundSingle, TFLite-style parameters (FixedShift 0) and
// an output multiplier below 1/2 run 8 elements at a time: the rescaled
// operands come from the same two 256-entry tables ref builds (gathered),
// the sum is requantized as the GEMM epilogue does. Anything else, and the
// last N mod 8 elements, run ref's arithmetic.
func AddInt8(p *kernels.BinaryParams, a, b, out []int8) {
	n := p.N
	if !asm || n < 8 || p.FixedShift != 0 || p.Rounding != quant.RoundSingle || !fastRequant(p.OutMult) || !p.Broadcast.Dense() ||
		!binaryEpilogue(p) {
		ref.AddInt8(p, a, b, out)
		return
	}
	var ta, tb [256]int32
	for i := range ta {
		ta[i] = p.AMult.Apply((int32(i) - 128 - p.AZP) << uint(p.LeftShift))
		tb[i] = p.BMult.Apply((int32(i) - 128 - p.BZP) << uint(p.LeftShift))
	}
	var q addConsts
	s := int64(1)
	if p.OutMult.Shift <= -1 {
		s = int64(-p.OutMult.Shift)
	}
	q.s1 = s - 1
	lo, hi := int8(max(-128, min(127, p.ActMin))), int8(max(-128, min(127, p.ActMax)))
	for i := range q.lo {
		q.lo[i], q.hi[i] = lo, hi
	}
	for i := range q.m {
		q.m[i], q.zp[i], q.one[i], q.c128[i] = p.OutMult.M, int16(max(-32768, min(32767, p.OutZP))), 1, 128
	}
	n8 := n / 8
	addInt8(&a[0], &b[0], &out[0], n8, &ta, &tb, &q)
	for i := 8 * n8; i < n; i++ {
		v := int64(p.OutZP) + int64(p.OutMult.Apply(ta[uint8(a[i])^0x80]+tb[uint8(b[i])^0x80]))
		out[i] = int8(max(int64(p.ActMin), min(int64(p.ActMax), v)))
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
