//go:build !amd64 || purego

package x86

import (
	"math"
	"unsafe"
)

// asm reports that the kernels are assembly, not the Go twins.
const asm = false

func cpuSupports(p Path) (bool, string) { return false, "not amd64 assembly" }

// The Go twins of the micro-kernels: same packed layouts, same arithmetic
// (int32 accumulation with wrap-around, the same requantization steps).

func gemmVNNI1(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue) {
	gemmTwin(true, 1, a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
}

func gemmVNNI2(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue) {
	gemmTwin(true, 2, a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
}

func gemmVNNI3(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue) {
	gemmTwin(true, 3, a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
}

func gemmVNNI4(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue) {
	gemmTwin(true, 4, a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
}

func gemmAVX2(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue) {
	gemmTwin(false, 1, a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
}

func gemmTwin(vnni bool, nv int, a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue) {
	groups := kg
	if vnni && ktail != 0 {
		groups++
	}
	panelBytes := groups * nv * 64
	rbs := unsafe.Slice(rb, mr)
	for p := 0; p < np; p++ {
		bp := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(b), p*panelBytes)), panelBytes)
		cdp := unsafe.Slice((*int32)(unsafe.Add(unsafe.Pointer(cd), 4*p*nv*cdWords)), nv*cdWords)
		for r := 0; r < rows; r++ {
			ar := unsafe.Add(unsafe.Pointer(a), r*lda)
			for j := 0; j < 16*nv; j++ {
				u, l := j/16, j%16
				c := cdp[u*cdWords:]
				acc := c[l] + rbs[r]
				for g := 0; g < groups; g++ {
					grp := bp[(g*nv+u)*64:]
					if vnni {
						k0 := 4 * g
						if g == kg {
							k0 = ktail
						}
						for i := 0; i < 4; i++ {
							av := *(*int8)(unsafe.Add(ar, k0+i))
							acc += int32(av) * int32(uint8(grp[4*l+i]))
						}
						continue
					}
					for i := 0; i < 2; i++ {
						av := *(*int16)(unsafe.Add(ar, 4*g+2*i))
						bv := *(*int16)(unsafe.Pointer(&grp[(l/8)*32+(l%8)*4+2*i]))
						acc += int32(av) * int32(bv)
					}
				}
				o := unsafe.Add(out, r*ldc+p*nv*16*(1+3*(1-int8o)))
				if int8o == 0 {
					*(*int32)(unsafe.Add(o, 4*j)) = acc
					continue
				}
				qv := int32((int64(acc) * int64(c[16+l])) >> 31)
				v := ((qv >> c[48+l]) + 1) >> 1
				v = max(-32768, min(32767, v))
				v = max(-32768, min(32767, v+int32(q.zp[0])))
				v = max(int32(q.lo[0]), min(int32(q.hi[0]), v))
				*(*int8)(unsafe.Add(o, j)) = int8(v)
			}
		}
	}
}

// sumBytes is the Go twin of the byte-sum helper.
func sumBytes(p *int8, n32 int) int32 {
	var s int32
	for _, v := range unsafe.Slice(p, 32*n32) {
		s += int32(v)
	}
	return s
}

// widen is the Go twin of the widening helper.
func widen(src *int8, dst *int16, n16 int) {
	d := unsafe.Slice(dst, 16*n16)
	for i, v := range unsafe.Slice(src, 16*n16) {
		d[i] = int16(v)
	}
}

func cpuFloat() (bool, string) { return true, "Go twin of the FMA kernel" }

// gemmF32 is the Go twin of the float32 micro-kernel: the same fused
// multiply-adds in the same order (math.FMA in float64, then rounded to
// float32; the tolerance against ref covers either).
func gemmF32(a *float32, lda, rows, k int, b *float32, np int, bias, out *float32, ldc int, clip *[2]float32) {
	bs := unsafe.Slice(b, np*16*k)
	bi := unsafe.Slice(bias, np*16)
	for p := 0; p < np; p++ {
		for r := 0; r < rows; r++ {
			ar := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(a), r*lda)), k)
			o := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(out), r*ldc+64*p)), 16)
			for j := 0; j < 16; j++ {
				var acc float32
				for kk, av := range ar {
					acc = float32(math.FMA(float64(av), float64(bs[(p*k+kk)*16+j]), float64(acc)))
				}
				v := acc + bi[16*p+j]
				if v < clip[0] {
					v = clip[0]
				}
				if v > clip[1] {
					v = clip[1]
				}
				o[j] = v
			}
		}
	}
}

// The Go twins of the same-shape binary kernels and the float32 Quantize
// kernels, lane by lane as the assembly computes them.

func addFixed(a, b, out *int8, n16 int, q *binConsts) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	for i := range os {
		s := int32(as[i])*q.k0 + int32(bs[i])*q.k1 + q.k2
		os[i] = q.finish(s >> uint64(q.shift))
	}
}

func mulScale(a, b, out *int8, n16 int, q *binConsts) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	sc := math.Float32frombits(uint32(q.k2))
	for i := range os {
		p := (int32(as[i]) - q.k0) * (int32(bs[i]) - q.k1)
		f := float32(float32(p) * sc)
		os[i] = q.finish(int32(math.RoundToEven(float64(max(-1<<30, min(1<<30, f))))))
	}
}

func mulMult(a, b, out *int8, n16 int, q *binConsts) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	for i := range os {
		p := (int32(as[i]) - q.k0) * (int32(bs[i]) - q.k1)
		v := int32((int64(p) * int64(q.k2)) >> 31)
		os[i] = q.finish(((v >> uint64(q.shift)) + 1) >> 1)
	}
}

// finish is the binary kernels' epilogue: int16 saturation, the
// saturating add of the zero point, int8 saturation, the clamp by hi and
// lo.
func (q *binConsts) finish(v int32) int8 {
	v = max(-32768, min(32767, v))
	v = max(-32768, min(32767, v+int32(q.zp)))
	v = max(-128, min(127, v))
	return int8(max(int32(q.lo), min(int32(q.hi), v)))
}

func quantizeF32(x *float32, out *int8, n8 int, q *[4]float64) { quantizeTwin(x, out, n8, q) }

func quantizeF32U(x *float32, out *int8, n8 int, q *[4]float64) { quantizeTwin(x, out, n8, q) }

// quantizeTwin is the float32 Quantize kernels' twin: the float64
// quotient, truncated, ±1 where the fraction is at least 1/2, NaN to 0,
// plus the zero point, clamped.
func quantizeTwin(x *float32, out *int8, n8 int, q *[4]float64) {
	xs, os := unsafe.Slice(x, 8*n8), unsafe.Slice(out, 8*n8)
	for i, v := range xs {
		y := float64(v) / q[0]
		t := math.Trunc(y)
		if math.Abs(y-t) >= 0.5 {
			t += math.Copysign(1, y)
		}
		if math.IsNaN(t) {
			t = 0
		}
		os[i] = int8(int32(max(q[2], min(q[3], t+q[1]))))
	}
}

// The other elementwise helpers have no Go twins: off amd64 (and with
// -tags purego) AddInt8 in TFLite's arithmetic, LayerNormInt8 and
// SoftmaxInt8 run kernels/ref.

func hasVBMI() (bool, string) { return false, "not amd64 assembly" }

func addF32(a, b, out *float32, n8 int, clip *[2]float32) { panic("unreachable") }

func lookupVBMI(t *[256]int8, x, out *int8, n64 int) { panic("unreachable") }

func addInt8(a, b, out *int8, n8 int, ta, tb *[256]int32, q *addConsts) { panic("unreachable") }
func rowStats(x *int8, n16 int) (s, ss int32)                           { panic("unreachable") }
func layerNormRow(x, out *int8, n8 int, gamma, beta *float32, mr *[2]float32) {
	panic("unreachable")
}
func maxBytes(x *int8, n16 int) int8                                        { panic("unreachable") }
func softmaxSum(x *int8, n8, mx int, exp *[256]uint32) uint32               { panic("unreachable") }
func softmaxRow(x, out *int8, n8, mx int, exp *[256]uint32, sh *[2]float64) { panic("unreachable") }

// packColsVNNI is the Go twin of the column packer.
func packColsVNNI(src *int8, ld, kg int, dst *int8, gstride int, sums *[16]int32) {
	*sums = [16]int32{}
	for g := 0; g < kg; g++ {
		for j := 0; j < 16; j++ {
			for i := 0; i < 4; i++ {
				v := *(*int8)(unsafe.Add(unsafe.Pointer(src), (4*g+i)*ld+j))
				u := uint8(v) ^ 0x80
				*(*uint8)(unsafe.Add(unsafe.Pointer(dst), g*gstride+4*j+i)) = u
				sums[j] += int32(u)
			}
		}
	}
}

// The float32 GELU and Softmax helpers have no Go twins either: off amd64
// GELUFloat and SoftmaxFloat run kernels/ref.

func geluF32(x, out *float32, n8 int, k *expConsts)                         { panic("unreachable") }
func maxF32(x *float32, n8 int) float32                                     { panic("unreachable") }
func expSumF32(x, e *float32, n8 int, bm *[2]float32, k *expConsts) float32 { panic("unreachable") }
func scaleF32(x *float32, n8 int, s float32)                                { panic("unreachable") }

func hasAVX512F() bool { return false }

func hasAVX512VL() bool { return false }

// gemmF32TZ is gemmF32T.
func gemmF32TZ(a *float32, lda, tiles, k int, b *float32, bias, out *float32, ldc, cols int, clip *[2]float32) {
	gemmF32T(a, lda, tiles, k, b, bias, out, ldc, cols, clip)
}

// gemmF32T is gemmF32 for the first cols columns of one panel over
// tiles·12 rows.
func gemmF32T(a *float32, lda, tiles, k int, b *float32, bias, out *float32, ldc, cols int, clip *[2]float32) {
	var tile [16]float32
	for r := 0; r < 12*tiles; r++ {
		gemmF32((*float32)(unsafe.Add(unsafe.Pointer(a), r*lda)), lda, 1, k, b, 1, bias, &tile[0], 64, clip)
		copy(unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(out), r*ldc)), cols), tile[:cols])
	}
}

// gemmF32W is gemmF32 over 4·np panels.
func gemmF32W(a *float32, lda, rows, k int, b *float32, np int, bias, out *float32, ldc int, clip *[2]float32) {
	gemmF32(a, lda, rows, k, b, 4*np, bias, out, ldc, clip)
}

// requantTile is the Go twin of the float32-stage requantization kernel,
// lane by lane as the assembly computes it: float32 conversion and
// product, the clamp to ±2^30, rounding to nearest even, int16
// saturation, the saturating add of the zero point, int8 saturation, then
// the clamp by hi and lo.
func requantTile(acc *int32, accStride, rows, n8 int, scale *float32, scaleStep int, out *int8, outStride, zp, lo, hi int) {
	for r := 0; r < rows; r++ {
		a := unsafe.Add(unsafe.Pointer(acc), r*accStride)
		o := unsafe.Add(unsafe.Pointer(out), r*outStride)
		for c := 0; c < 8*n8; c++ {
			sc := *(*float32)(unsafe.Add(unsafe.Pointer(scale), (c/8)*scaleStep+4*(c%8)))
			f := float32(float32(*(*int32)(unsafe.Add(a, 4*c))) * sc)
			v := int32(math.RoundToEven(float64(max(-1<<30, min(1<<30, f)))))
			v = max(-32768, min(32767, v))
			v = max(-32768, min(32767, v+int32(zp)))
			v = max(-128, min(127, v))
			*(*int8)(unsafe.Add(o, c)) = int8(max(int32(lo), min(int32(hi), v)))
		}
	}
}
