//go:build arm64 && !purego

package neon

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// gemmDot computes one 4-row tile of np 16-column panels with SDOT (by
// element), FEAT_DotProd. See gen_asm.go for the argument contract.
//
//go:noescape
func gemmDot(a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int)

// gemmV80 computes one 2-row tile of np 8-column panels with
// SMULL/SMLAL2/SADALP (Armv8.0 Advanced SIMD).
//
//go:noescape
func gemmV80(a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int)

// asm reports that the kernels are assembly, not the Go twins.
const asm = true

func hasDotProd() bool { return cpu.ARM64.HasASIMDDP }

// dwConv3x3 computes npix output pixels of one 16-channel group of a 3×3
// depthwise convolution (see gen_asm.go).
//
//go:noescape
func dwConv3x3(taps *[9]*int8, stride, npix int, w *int8, cd *int32, out *int8, ostride, zp, lo, hi int)

// dwConv3x3Scale is dwConv3x3 for XNNPACK's float32 output stage: int16
// weights w − WZP, and cd holds the folded bias then the 16 channels'
// float32 scales (see gen_asm.go).
//
//go:noescape
func dwConv3x3Scale(taps *[9]*int8, stride, npix int, w *int16, cd *int32, out *int8, ostride, zp, lo, hi int)

// requantTile applies XNNPACK's float32 output stage to rows rows of
// n8·8 int32 accumulators (rows accStride bytes apart) into int8 rows
// (outStride apart), 8 columns a step, their scales at scale and every
// next 8 scaleStep bytes on (32: one per column; 0: the same 8 repeated)
// (see gen_asm.go).
//
//go:noescape
func requantTile(acc *int32, accStride, rows, n8 int, scale *float32, scaleStep int, out *int8, outStride, zp, lo, hi int)

// sumBlocks returns the sum of the n16·16 bytes at p (n16 ≥ 1).
//
//go:noescape
func sumBlocks(p *int8, n16 int) int32

// minBlocks returns the smallest of the n16·16 bytes at p (n16 ≥ 1).
//
//go:noescape
func minBlocks(p *int8, n16 int) int8

// addInt8 computes n16·16 elements of same-shape int8 Add (see gen_asm.go).
//
//go:noescape
func addInt8(a, b, out *int8, n16 int, q *[11]int64)

// addInt8Fast is addInt8 with every multiplier below 1/2 (see gen_asm.go).
//
//go:noescape
func addInt8Fast(a, b, out *int8, n16 int, q *[12]int64)

// addInt8FastNC is addInt8Fast for the clamp [−128, 127] (see gen_asm.go).
//
//go:noescape
func addInt8FastNC(a, b, out *int8, n16 int, q *[12]int64)

// addInt8FastL is addInt8Fast for 16 ≤ LeftShift ≤ 23, q[11] = LeftShift
// − 16 (see gen_asm.go).
//
//go:noescape
func addInt8FastL(a, b, out *int8, n16 int, q *[12]int64)

// addInt8FastLNC is addInt8FastL for the clamp [−128, 127].
//
//go:noescape
func addInt8FastLNC(a, b, out *int8, n16 int, q *[12]int64)
