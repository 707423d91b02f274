//go:build !arm64 || purego

package neon

import (
	"math"
	"unsafe"
)

// asm reports that the kernels are assembly, not the Go twins.
const asm = false

// hasDotProd: the Go twin of the dot-product kernel runs anywhere.
func hasDotProd() bool { return true }

// gemmDot is the Go twin of the SDOT micro-kernel: same packed layout, same
// arithmetic (int32 accumulation with wrap-around, exact requantization).
func gemmDot(a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int) {
	gemmTwin(dotLayout, a, lda, rows, nch, s1, b, np, cd, rb, out, ldc, mode, zp, lo, hi)
}

// gemmV80 is the Go twin of the Armv8.0 micro-kernel.
func gemmV80(a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int) {
	gemmTwin(v80Layout, a, lda, rows, nch, s1, b, np, cd, rb, out, ldc, mode, zp, lo, hi)
}

func gemmTwin(l layout, a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int) {
	pw := l.pw
	panelBytes := nch * 16 * pw
	for p := 0; p < np; p++ {
		bp := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(b), p*panelBytes)), panelBytes)
		cdp := unsafe.Slice((*int32)(unsafe.Add(unsafe.Pointer(cd), p*cdBytes(pw))), cdBytes(pw)/4)
		for m := 0; m < l.mr; m++ {
			if m >= rows {
				break
			}
			ar := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(a), m*lda)), s1+16*(nch-1))
			var rbias int32
			if mode&modeRowBias != 0 {
				rbias = *(*int32)(unsafe.Add(unsafe.Pointer(rb), 4*m))
			}
			for j := 0; j < pw; j++ {
				acc := cdp[j] + rbias
				for c := 0; c < nch; c++ {
					st := chunkStart(c, s1)
					for i := 0; i < 16; i++ {
						acc += int32(ar[st+i]) * int32(bp[l.offset(c, j, i)])
					}
				}
				o := unsafe.Add(out, m*ldc)
				if mode&modeInt8 == 0 {
					*(*int32)(unsafe.Add(o, 4*(p*pw+j))) = acc
					continue
				}
				g := cdp[pw+16*(j/4):]
				mul := g[j%4]
				var v int32
				if mode&modeFastReq != 0 {
					// SQDMULH, then SRSHL by Shift.
					q := int32((int64(acc) * int64(mul)) >> 31)
					v = int32(sqrshl(int64(q), g[12+j%4]))
				} else {
					v = sat32(sqrshl(int64(acc)*int64(mul), g[4+2*(j%4)]))
				}
				v = sat32(int64(v) + int64(zp)) // SQADD (VADD in the fast path, which cannot overflow)
				v = min(v, int32(hi), 127)
				v = max(v, int32(lo), -128)
				*(*int8)(unsafe.Add(o, p*pw+j)) = int8(v)
			}
		}
	}
}

// sqrshl is SQRSHL on one 64-bit lane: a rounding (half up) arithmetic
// shift right for negative s, a saturating shift left otherwise.
func sqrshl(x int64, s int32) int64 {
	if s < 0 {
		n := uint(-s)
		if n >= 64 {
			return 0
		}
		// (x + 2^(n−1)) >> n without overflow: split off the low bits.
		return x>>n + (x>>(n-1))&1
	}
	for ; s > 0; s-- {
		if x > 1<<62-1 {
			return 1<<63 - 1
		}
		if x < -1<<62 {
			return -1 << 63
		}
		x <<= 1
	}
	return x
}

func sat32(v int64) int32 {
	return int32(min(max(v, -1<<31), 1<<31-1))
}

// dwConv3x3 is the Go twin of the depthwise micro-kernel.
func dwConv3x3(taps *[9]*int8, stride, npix int, w *int8, cd *int32, out *int8, ostride, zp, lo, hi int) {
	ws := unsafe.Slice(w, 9*16)
	cds := unsafe.Slice(cd, 64)
	for px := 0; px < npix; px++ {
		for j := 0; j < 16; j++ {
			acc := cds[j]
			for t := 0; t < 9; t++ {
				xv := *(*int8)(unsafe.Add(unsafe.Pointer(taps[t]), px*stride+j))
				acc += int32(xv) * int32(ws[t*16+j])
			}
			g := cds[16+12*(j/4):]
			v := sat32(int64(sat32(sqrshl(int64(acc)*int64(g[j%4]), g[4+2*(j%4)]))) + int64(zp))
			v = max(min(v, int32(hi), 127), int32(lo), -128)
			*(*int8)(unsafe.Add(unsafe.Pointer(out), px*ostride+j)) = int8(v)
		}
	}
}

// dwConv3x3Scale is the Go twin of the float32-stage depthwise kernel,
// step by step as the assembly computes it: int32 accumulation with
// wrap-around, then scaleLane.
func dwConv3x3Scale(taps *[9]*int8, stride, npix int, w *int16, cd *int32, out *int8, ostride, zp, lo, hi int) {
	ws := unsafe.Slice(w, 9*16)
	cds := unsafe.Slice(cd, 32)
	for px := 0; px < npix; px++ {
		for j := 0; j < 16; j++ {
			acc := cds[j]
			for t := 0; t < 9; t++ {
				xv := *(*int8)(unsafe.Add(unsafe.Pointer(taps[t]), px*stride+j))
				acc += int32(xv) * int32(ws[t*16+j])
			}
			sc := math.Float32frombits(uint32(cds[16+j]))
			*(*int8)(unsafe.Add(unsafe.Pointer(out), px*ostride+j)) = scaleLane(acc, sc, zp, lo, hi)
		}
	}
}

// requantTile is the Go twin of the float32-stage requantization kernel.
func requantTile(acc *int32, accStride, rows, n8 int, scale *float32, scaleStep int, out *int8, outStride, zp, lo, hi int) {
	for r := 0; r < rows; r++ {
		a := unsafe.Add(unsafe.Pointer(acc), r*accStride)
		o := unsafe.Add(unsafe.Pointer(out), r*outStride)
		for c := 0; c < 8*n8; c++ {
			sc := *(*float32)(unsafe.Add(unsafe.Pointer(scale), (c/8)*scaleStep+4*(c%8)))
			*(*int8)(unsafe.Add(o, c)) = scaleLane(*(*int32)(unsafe.Add(a, 4*c)), sc, zp, lo, hi)
		}
	}
}

// scaleLane is XNNPACK's float32 stage on one lane as the NEON kernels
// compute it: SCVTF and FMUL (float32, one rounding each), FCVTNS (round
// to nearest even, saturating to int32; NaN → 0), SQXTN to int16, SQADD
// of the zero point, SQXTN to int8, then the clamp in ref's order.
func scaleLane(acc int32, sc float32, zp, lo, hi int) int8 {
	f := float64(float32(float32(acc) * sc))
	var r int64
	if f == f {
		r = int64(sat32(int64(max(-1<<40, min(1<<40, math.RoundToEven(f))))))
	}
	v := min(max(r, math.MinInt16), math.MaxInt16) + int64(zp)
	v = min(max(v, math.MinInt16), math.MaxInt16)
	v = min(max(v, -128), 127)
	return int8(max(int64(lo), min(int64(hi), v)))
}

// sumBlocks is the Go twin of the byte-sum helper.
func sumBlocks(p *int8, n16 int) int32 {
	var s int32
	for _, v := range unsafe.Slice(p, 16*n16) {
		s += int32(v)
	}
	return s
}

// minBlocks is the Go twin of the byte-minimum helper.
func minBlocks(p *int8, n16 int) int8 {
	m := int8(127)
	for _, v := range unsafe.Slice(p, 16*n16) {
		m = min(m, v)
	}
	return m
}

// addInt8 is the Go twin of the Add micro-kernel.
func addInt8(a, b, out *int8, n16 int, q *[11]int64) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	scale := func(x int32, m, sh int64) int32 { return sat32(sqrshl(int64(x)*m, int32(sh))) }
	for i := range os {
		x := scale(int32(as[i])-int32(q[6]), q[0], q[1]) + scale(int32(bs[i])-int32(q[7]), q[2], q[3])
		v := int64(scale(x, q[4], q[5])) + q[8]
		os[i] = int8(max(min(v, q[10]), q[9]))
	}
}

// addInt8Fast is the Go twin of the fast Add kernel: each rescale is
// SQDMULH (⌊x·M/2^31⌋) then SRSHL by Shift.
func addInt8Fast(a, b, out *int8, n16 int, q *[12]int64) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	scale := func(x int32, m, sh int64) int32 {
		return int32(sqrshl((int64(x)*m)>>31, int32(sh)))
	}
	for i := range os {
		x := scale((int32(as[i])-int32(q[6]))<<q[11], q[0], q[1]) + scale((int32(bs[i])-int32(q[7]))<<q[11], q[2], q[3])
		v := int64(scale(x, q[4], q[5])) + q[8]
		os[i] = int8(max(min(v, q[10]), q[9]))
	}
}

// addInt8FastNC is the Go twin of the fast Add kernel without the clamp
// (the clamp it is used with is all of int8, so clamping changes nothing).
func addInt8FastNC(a, b, out *int8, n16 int, q *[12]int64) { addInt8Fast(a, b, out, n16, q) }

// addInt8FastL is the Go twin of the fast Add kernel for 16 ≤ LeftShift
// ≤ 23 (q[11] = LeftShift − 16): the same values.
func addInt8FastL(a, b, out *int8, n16 int, q *[12]int64) {
	r := *q
	r[11] += 16
	addInt8Fast(a, b, out, n16, &r)
}

// addInt8FastLNC is addInt8FastL without the clamp.
func addInt8FastLNC(a, b, out *int8, n16 int, q *[12]int64) { addInt8FastL(a, b, out, n16, q) }
