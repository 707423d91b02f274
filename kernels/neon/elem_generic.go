//go:build !arm64 || purego

package neon

import (
	"math"
	"unsafe"
)

// maxBlocks is the Go twin of the SMAX kernel.
func maxBlocks(p *int8, n16 int) int8 {
	m := int8(-128)
	for _, v := range unsafe.Slice(p, 16*n16) {
		m = max(m, v)
	}
	return m
}

// lookupInt8 is the Go twin of the TBL kernel.
func lookupInt8(t *[256]int8, x, out *int8, n16 int) {
	xs, os := unsafe.Slice(x, 16*n16), unsafe.Slice(out, 16*n16)
	for i, v := range xs {
		os[i] = t[uint8(v)^0x80]
	}
}

// softmaxEntry is an exp table entry rebuilt from its planes, as the
// kernels do: the two bytes, and bit 16 from b16 (0 from distance 16).
func softmaxEntry(t *softmaxTables, mx int, q int8) uint32 {
	d := uint8(mx - int(q))
	e := uint32(t.p0[d]) | uint32(t.p1[d])<<8
	if d < 16 {
		e |= uint32(t.b16[d]) << 16
	}
	return e
}

// softmaxRows is the Go twin of the Softmax kernel: per row the
// maximum, the entries and their sum, and the division as the kernel
// does it: SQDMULH's y = ⌊2·x·m / 2^32⌋ for x = 256·entry (x, m < 2^31:
// no saturation), URSHL's ⌊(y + 2^(l−2)) / 2^(l−1)⌋ (the same from the
// high half for l ≥ 24), or for 18 ≤ l ≤ 23 UQRSHRN's ⌊(⌊y/2^16⌋ + 1)/2⌋,
// the unsigned saturating narrow.
func softmaxRows(x, out *int8, rows, d int, t *softmaxTables, e *uint32, mask *[32]uint8) {
	xs, os := unsafe.Slice(x, rows*d), unsafe.Slice(out, rows*d)
	es := unsafe.Slice(e, d)
	for r := range rows {
		row, o := xs[r*d:(r+1)*d], os[r*d:(r+1)*d]
		mx := int8(-128)
		for _, q := range row {
			mx = max(mx, q)
		}
		var sum uint32
		for i, q := range row {
			v := softmaxEntry(t, int(mx), q)
			es[i] = v << 8
			sum += v
		}
		l, m := divMagic(uint64(sum))
		for i, v := range es {
			q := (uint64(v)*m>>31 + 1<<(l-2)) >> (l - 1)
			if divFixed(l) {
				q = (uint64(v)*divMagicFixed(uint64(sum))>>31>>16 + 1) >> 1
			}
			o[i] = int8(int32(min(q, 255)) - 128)
		}
	}
}

// lnStats is the Go twin of the row-sum kernel (whole sums in res[0] and
// res[4]).
func lnStats(x *int8, n16 int, res *[8]int32) {
	*res = [8]int32{}
	for _, q := range unsafe.Slice(x, 16*n16) {
		res[0] += int32(q)
		res[4] += int32(q) * int32(q)
	}
}

// lnStatsDot is the Go twin of the SDOT row-sum kernel.
func lnStatsDot(x *int8, n16 int, res *[8]int32) { lnStats(x, n16, res) }

// lnRow is the Go twin of the affine kernel: the same float32 operations,
// each rounded on its own (the explicit conversions keep the compiler
// from fusing a multiply-add), FMAXNM/FMINNM's clamp (a NaN becomes the
// low bound) and FCVTAS's rounding, half away from zero.
func lnRow(x, out *int8, n16 int, gamma, beta *float32, mr *[4]float32) {
	n := 16 * n16
	xs, os := unsafe.Slice(x, n), unsafe.Slice(out, n)
	gs, bs := unsafe.Slice(gamma, n), unsafe.Slice(beta, n)
	for i, q := range xs {
		t := float32(float32(q) - mr[0])
		u := float32(t * mr[1])
		v := float32(u * gs[i])
		y := float32(v + bs[i])
		if !(y >= mr[2]) {
			y = mr[2]
		}
		y = min(y, mr[3])
		os[i] = int8(math.Round(float64(y)))
	}
}

// lnRowSat is the Go twin of the saturating affine kernel: where no NaN
// arises (LayerNormInt8's condition), rounding then saturating to int8
// gives lnRow's bytes.
func lnRowSat(x, out *int8, n16 int, gamma, beta *float32, mr *[4]float32) {
	lnRow(x, out, n16, gamma, beta, mr)
}

// addFixed is the Go twin of the XNNPACK Add kernel: SSUBL, SXTL, MUL and
// MLA (int32 wrap), SRSHL by −FixedShift, SQXTN, SQADD of the zero point,
// SQXTN, SMAX, SMIN.
func addFixed(a, b, out *int8, n16 int, q *[8]int64) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	for i := range os {
		da := int16(as[i]) - int16(int8(q[3]))
		db := int16(bs[i]) - int16(int8(q[4]))
		s := int32(da)*int32(q[0]) + int32(db)*int32(q[1])
		v := sqrshl(int64(s), int32(q[2]))
		h := min(max(v, math.MinInt16), math.MaxInt16)
		h = min(max(h+int64(int16(q[5])), math.MinInt16), math.MaxInt16)
		h = min(max(h, -128), 127)
		os[i] = int8(min(max(h, int64(int8(q[6]))), int64(int8(q[7]))))
	}
}

// mulScale is the Go twin of the XNNPACK Mul kernel: SSUBL, SMULL, then
// the float32 stage lane by lane (scaleLane).
func mulScale(a, b, out *int8, n16 int, q *[6]int64) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	sc := math.Float32frombits(uint32(q[0]))
	for i := range os {
		prod := int32(int16(as[i])-int16(int8(q[1]))) * int32(int16(bs[i])-int16(int8(q[2])))
		os[i] = scaleLane(prod, sc, int(int16(q[3])), int(int8(q[4])), int(int8(q[5])))
	}
}

// dequantF32 is the Go twin of the Dequantize kernel: XOR, SSUBL of the
// zero point byte, SCVTF, FMUL by the scale.
func dequantF32(x *byte, out *float32, n16 int, k *[2]uint32) {
	xs, os := unsafe.Slice(x, 16*n16), unsafe.Slice(out, 16*n16)
	flip, zp := byte(k[0]), int16(int8(k[0]>>8))
	sc := math.Float32frombits(k[1])
	for i, b := range xs {
		os[i] = sc * float32(int16(int8(b^flip))-zp)
	}
}

// quantizeFloat is the Go twin of the float32 Quantize kernel: FCVTL,
// FDIV, FCVTAS (NaN 0, saturating), SQXTN to int32 and int16, SQADD of
// the zero point, SQXTN.
func quantizeFloat(x *float32, out *int8, n16 int, q *[2]int64) {
	quantizeFloatTwin(x, out, n16, q, -128, 127)
}

// quantizeFloatU is quantizeFloat with SQXTUN: uint8 bytes.
func quantizeFloatU(x *float32, out *int8, n16 int, q *[2]int64) {
	quantizeFloatTwin(x, out, n16, q, 0, 255)
}

func quantizeFloatTwin(x *float32, out *int8, n16 int, q *[2]int64, lo, hi int64) {
	xs, os := unsafe.Slice(x, 16*n16), unsafe.Slice(out, 16*n16)
	sc := math.Float64frombits(uint64(q[0]))
	for i, v := range xs {
		f := float64(v) / sc
		var r int64 // FCVTAS: ties away from zero, NaN 0, saturating
		switch {
		case f != f:
		case f >= 1<<63:
			r = math.MaxInt64
		case f <= -1<<63:
			r = math.MinInt64
		default:
			r = int64(math.Round(f))
		}
		h := min(max(r, math.MinInt32), math.MaxInt32)
		h = min(max(h, math.MinInt16), math.MaxInt16)
		h = min(max(h+int64(int16(q[1])), math.MinInt16), math.MaxInt16)
		os[i] = int8(byte(min(max(h, lo), hi)))
	}
}
