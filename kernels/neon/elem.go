package neon

import (
	"math/bits"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// LookupInt8 is ref.LookupInt8: 16 elements at a time through the
// 256-byte table held in 16 registers (TBL over the first 64 bytes, TBX
// over each next 64), the last len(x) mod 16 in Go.
func LookupInt8(t *quant.Table, x, out []int8) {
	n := len(x)
	if n < 16 {
		ref.LookupInt8(t, x, out)
		return
	}
	out = out[:n]
	n16 := n / 16
	lookupInt8((*[256]int8)(t), &x[0], &out[0], n16)
	for i := 16 * n16; i < n; i++ {
		out[i] = t[uint8(x[i])^0x80]
	}
}

// softmaxTables is an exp table (kernels.SoftmaxParams.Exp) in the form
// the Softmax kernels look up with TBL: the low and the second byte of
// every entry; whether plane 1 needs its chunk 3 (a zero chunk is
// skipped: TBL's 0 stays); and b16, bit 16 of the entries at distances
// 0-15 (one TBL register): the entries equal to 2^16 are the only ones
// with it, and split lets through only tables where they lead, at most
// 16 of them. The field offsets are fixed by the assembly.
type softmaxTables struct {
	p0, p1 [256]uint8
	p1c3   int64 // 1 where plane 1 has a nonzero byte in chunk 3 (192-255)
	b16    [16]uint8
}

// split fills t from exp and reports whether exp has the shape the
// kernels need: exp[0] > 0, every entry at most 2^16, those equal to 2^16
// leading, and at most 16 of them. NewSoftmaxTable's tables have it
// unless β·scale is below about 2^−21 (they fall from exp[0] = 2^16 as
// the distance grows).
func (t *softmaxTables) split(exp *[256]uint32) bool {
	if exp[0] == 0 {
		return false
	}
	d0 := 0
	for d, e := range exp {
		switch {
		case e > 1<<16:
			return false
		case e == 1<<16:
			if d != d0 {
				return false
			}
			d0++
		}
		t.p0[d], t.p1[d] = uint8(e), uint8(e>>8)
	}
	t.b16 = [16]uint8{}
	for d := range min(d0, 16) {
		t.b16[d] = 1
	}
	t.p1c3 = 0
	for _, v := range t.p1[192:] {
		if v != 0 {
			t.p1c3 = 1
		}
	}
	return d0 <= 16
}

// softmaxMask picks the new lanes of a last partial block: loaded at
// byte t (its t = d mod 16 new values), 16 − t zeros then t ones.
var softmaxMask = [32]uint8{16: 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// SoftmaxInt8 is ref.SoftmaxInt8 for rows of 16 to 8192 values and exp
// tables with entry 0 ≥ 3 and at most 16 entries of 2^16 (others run
// ref), all rows in one assembly call (softmaxRows) with plane 0's first
// chunks of the table held in registers. Per row: the maximum and the
// minimum (SMAX, SMIN, taken during the previous row's division pass);
// every element's table entry, looked up from two byte planes with
// TBL/TBX over only the 64-entry chunks the row's distances reach (a row
// spanning less than 128 keeps its whole table in registers), plus bit
// 16 by a TBL, two blocks of 16 at a time, kept as x = 256·entry in a
// row buffer (ST4 of zero and the three byte planes) and summed exactly
// (pairwise into 16-bit lanes per plane, 128 blocks at most, then
// across); then out = min(⌊(x + ⌊sum/2⌋)/sum⌋, 255) − 128, which is
// ⌊x/sum + 1/2⌋ (sum odd: no ties; even: ties up), by a multiply by the
// invariant sum: with l = ⌈log2 sum⌉ ≥ 2 (sum ≥ entry 0 ≥ 3, sum ≤ 2^29)
// and m = ⌈2^(30+l)/sum⌉ < 2^31, y = ⌊x·m/2^31⌋ (SQDMULH) and a rounding
// right shift by l − 1 (URSHL) give ⌊x·m/2^(30+l) + 1/2⌋, which is
// ⌊x/sum + 1/2⌋ exactly: the error x·(m − 2^(30+l)/sum)/2^(30+l) <
// x/2^(30+l) ≤ 2^(24−30−l) is below 1/(2·sum), the least distance from
// x/sum + 1/2 up to an integer (Granlund and Montgomery's round-up
// method). For l ≥ 24 the shift is the high half (UZP2) shifted by
// l − 17 with rounding, eight lanes an instruction, the same value. For
// 18 ≤ l ≤ 23 (2^17 < sum ≤ 2^23: every DeiT-tiny row) m = ⌈2^48/sum⌉
// < 2^31 instead, and the shift a fixed one: the high half, then UQRSHRN
// by 1, which rounds and narrows to a saturated byte in one instruction;
// the error x·(m − 2^48/sum)/2^48 < 2^24/2^48 ≤ 1/(2·sum) again. A last
// partial block is the row's last 16 values, overlapping the block
// before (the maximum, the buffer values and the outputs are the same
// either way; its sum terms are masked to the new lanes).
func SoftmaxInt8(p *kernels.SoftmaxParams, x, out []int8) {
	d := p.D
	var t softmaxTables
	if d < 16 || d > 1<<13 || !t.split(p.Exp) || p.Exp[0] < 3 {
		ref.SoftmaxInt8(p, x, out)
		return
	}
	if p.Rows <= 0 {
		return
	}
	n := p.Rows * d
	x, out = x[:n], out[:n]
	var e [1 << 13]uint32 // 256·entry of each value of the row
	softmaxRows(&x[0], &out[0], p.Rows, d, &t, &e[0], &softmaxMask)
}

// divMagic returns l = ⌈log2 d⌉ and m = ⌈2^(30+l)/d⌉ for 2 ≤ d ≤ 2^29:
// ⌊n/d⌋ = ⌊n·m/2^(30+l)⌋ for every 0 ≤ n < 2^30, m < 2^31, and for
// d ≥ 3 (l ≥ 2) and 0 ≤ x ≤ 2^24, ⌊(x + ⌊d/2⌋)/d⌋ = ⌊(⌊x·m/2^31⌋ +
// 2^(l−2))/2^(l−1)⌋ (see SoftmaxInt8).
func divMagic(d uint64) (l int, m uint64) {
	l = bits.Len64(d - 1)
	return l, (uint64(1)<<(30+l) + d - 1) / d
}

// divFixed reports whether a sum with ⌈log2 sum⌉ = l divides in the
// fixed-shift form (2^17 < sum ≤ 2^23).
func divFixed(l int) bool { return l >= 18 && l <= 23 }

// divMagicFixed returns m = ⌈2^48/d⌉ for 2^17 < d ≤ 2^23: m < 2^31 and
// ⌊(x + ⌊d/2⌋)/d⌋ = ⌊(⌊x·m/2^47⌋ + 1)/2⌋ for 0 ≤ x ≤ 2^24 (see
// SoftmaxInt8).
func divMagicFixed(d uint64) uint64 { return (1<<48 + d - 1) / d }

// LayerNormInt8 is ref.LayerNormInt8 for rows whose length D is a multiple
// of 16, at most 2^16 (others run ref): Σq and Σq² of each row summed
// exactly in NEON (v80: SADDLP/SADALP, SMULL/SADALP; dotprod: SDOT with
// ones and with the row itself), the row's mean and
// reciprocal standard deviation by ref.LayerNormRowScale, and the affine
// step 16 elements at a time in ref's float32 operations, each rounded on
// its own, and ref's rounding and clamp (see genLayerNorm).
func LayerNormInt8(path Path, p *kernels.LayerNormParams, x, out []int8) {
	d := p.D
	if d%16 != 0 || d > 1<<16 || d <= 0 {
		ref.LayerNormInt8(p, x, out)
		return
	}
	gamma, beta := p.Gamma[:d], p.Beta[:d]
	// With γ and β finite and r ≤ 10^35, no NaN can arise: t = x − m is
	// at most 255 in magnitude, u = t·r finite, v = u·γ finite or ±Inf,
	// v + β the same; ±Inf and values beyond [−128, 127] saturate in
	// FCVTAS and SQXTN as the clamp would, so lnRowSat drops the clamp.
	sat := true
	for i := range gamma {
		if gamma[i]-gamma[i] != 0 || beta[i]-beta[i] != 0 { // ±Inf or NaN
			sat = false
			break
		}
	}
	var res [8]int32
	mr := [4]float32{2: -128, 3: 127}
	for r := range p.Rows {
		row := x[r*d : (r+1)*d]
		if path == DotProd {
			lnStatsDot(&row[0], d/16, &res)
		} else {
			lnStats(&row[0], d/16, &res)
		}
		s := int64(res[0]) + int64(res[1]) + int64(res[2]) + int64(res[3])
		ss := int64(res[4]) + int64(res[5]) + int64(res[6]) + int64(res[7])
		mr[0], mr[1] = ref.LayerNormRowScale(p, s, ss)
		if sat && mr[1] <= 1e35 {
			lnRowSat(&row[0], &out[r*d], d/16, &gamma[0], &beta[0], &mr)
		} else {
			lnRow(&row[0], &out[r*d], d/16, &gamma[0], &beta[0], &mr)
		}
	}
}
