//go:build amd64 && !purego

package x86

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// asm reports that the kernels are assembly, not the Go twins.
const asm = true

// cpuSupports reports whether the CPU and the operating system (the
// vector state saved on context switch, which x/sys/cpu checks in XCR0)
// support path p, and why.
func cpuSupports(p Path) (bool, string) {
	switch p {
	case AVX2:
		if cpu.X86.HasAVX2 {
			return true, "cpu.X86.HasAVX2=true"
		}
		return false, "cpu.X86.HasAVX2=false"
	case AVX512VNNI:
		has := cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
		why := "cpu.X86.HasAVX512VNNI=" + yes(cpu.X86.HasAVX512VNNI)
		if cpu.X86.HasAVX512VNNI && !has {
			why += " but AVX512F/BW/VL missing"
		}
		return has, why
	}
	return false, "unknown path"
}

// hasVBMI reports whether LookupInt8 can use VPERMI2B, and why.
func hasVBMI() (bool, string) {
	has := cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VBMI
	return has, "cpu.X86.HasAVX512VBMI=" + yes(cpu.X86.HasAVX512VBMI)
}

func yes(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// The micro-kernels (gen_asm.go documents the arguments): a 6-row tile
// over np panels of 1…4 sixteen-column vectors with VPDPBUSD, or of 16
// columns with VPMADDWD on int16-widened A.
//
//go:noescape
func gemmVNNI1(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue)

//go:noescape
func gemmVNNI2(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue)

//go:noescape
func gemmVNNI3(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue)

//go:noescape
func gemmVNNI4(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue)

//go:noescape
func gemmAVX2(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue)

// requantTile applies XNNPACK's float32 output stage to rows rows of
// n8·8 int32 accumulators (rows accStride bytes apart) into int8 rows
// (outStride apart), 8 columns a step, their scales at scale and every
// next 8 scaleStep bytes on (32: one per column; 0: the same 8 repeated);
// the scales finite, −128 ≤ lo, hi ≤ 127 and |zp| ≤ 32640 (AVX2; see
// gen_asm.go for why the bytes are OutputStage.Requantize's).
//
//go:noescape
func requantTile(acc *int32, accStride, rows, n8 int, scale *float32, scaleStep int, out *int8, outStride, zp, lo, hi int)

// sumBytes returns the sum of the n32·32 signed bytes at p (n32 ≥ 1).
//
//go:noescape
func sumBytes(p *int8, n32 int) int32

// widen sign-extends n16·16 bytes from src into dst (n16 ≥ 1).
//
//go:noescape
func widen(src *int8, dst *int16, n16 int)

func cpuFloat() (bool, string) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return true, "cpu.X86.HasAVX2=true, HasFMA=true"
	}
	return false, "cpu.X86.HasAVX2=" + yes(cpu.X86.HasAVX2) + ", HasFMA=" + yes(cpu.X86.HasFMA)
}

// gemmF32 is the float32 micro-kernel (VFMADD231PS; see gen_asm.go).
//
//go:noescape
func gemmF32(a *float32, lda, rows, k int, b *float32, np int, bias, out *float32, ldc int, clip *[2]float32)

// The elementwise helpers (AVX2; see gen_asm.go).

// addF32 is AddFloat's loop over n8·8 values (AVX).
//
//go:noescape
func addF32(a, b, out *float32, n8 int, clip *[2]float32)

// lookupVBMI maps n64·64 bytes at x through t, indexed by the unsigned
// byte (AVX-512 VBMI).
//
//go:noescape
func lookupVBMI(t *[256]int8, x, out *int8, n64 int)

//go:noescape
func addInt8(a, b, out *int8, n8 int, ta, tb *[256]int32, q *addConsts)

// The same-shape int8 binary kernels (see gen_asm.go's binaryOps), 16
// elements a step, and the float32 Quantize kernels, 8 values a step.

//go:noescape
func addFixed(a, b, out *int8, n16 int, q *binConsts)

//go:noescape
func mulScale(a, b, out *int8, n16 int, q *binConsts)

//go:noescape
func mulMult(a, b, out *int8, n16 int, q *binConsts)

//go:noescape
func quantizeF32(x *float32, out *int8, n8 int, q *[4]float64)

//go:noescape
func quantizeF32U(x *float32, out *int8, n8 int, q *[4]float64)

//go:noescape
func rowStats(x *int8, n16 int) (s, ss int32)

//go:noescape
func layerNormRow(x, out *int8, n8 int, gamma, beta *float32, mr *[2]float32)

//go:noescape
func maxBytes(x *int8, n16 int) int8

//go:noescape
func softmaxSum(x *int8, n8, mx int, exp *[256]uint32) uint32

//go:noescape
func softmaxRow(x, out *int8, n8, mx int, exp *[256]uint32, sh *[2]float64)

// packColsVNNI packs kg groups of one 16-column unit of a row-major B (see
// gen_asm.go).
//
//go:noescape
func packColsVNNI(src *int8, ld, kg int, dst *int8, gstride int, sums *[16]int32)

// The float32 GELU and Softmax helpers (AVX2 + FMA; see gen_asm.go).

//go:noescape
func geluF32(x, out *float32, n8 int, k *expConsts)

//go:noescape
func maxF32(x *float32, n8 int) float32

//go:noescape
func expSumF32(x, e *float32, n8 int, bm *[2]float32, k *expConsts) float32

//go:noescape
func scaleF32(x *float32, n8 int, s float32)

// hasAVX512F reports AVX-512F, and BMI2, whose SHLX the zmm kernels'
// tail masks use.
func hasAVX512F() bool { return cpu.X86.HasAVX512F && cpu.X86.HasBMI2 }

func hasAVX512VL() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL }

// gemmF32T is gemmF32 for the first cols (1…8) columns of one panel over
// tiles·12 rows, in ymm registers with masked stores (AVX-512F and VL).
//
//go:noescape
func gemmF32T(a *float32, lda, tiles, k int, b *float32, bias, out *float32, ldc, cols int, clip *[2]float32)

// gemmF32TZ is gemmF32T for 1…15 columns in zmm registers (AVX-512F).
//
//go:noescape
func gemmF32TZ(a *float32, lda, tiles, k int, b *float32, bias, out *float32, ldc, cols int, clip *[2]float32)

// gemmF32W is gemmF32 over four adjacent panels at once in zmm registers
// (AVX-512F; np counts groups of four panels).
//
//go:noescape
func gemmF32W(a *float32, lda, rows, k int, b *float32, np int, bias, out *float32, ldc int, clip *[2]float32)
