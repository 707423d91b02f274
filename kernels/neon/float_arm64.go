//go:build arm64 && !purego

package neon

// gemmF32 computes an 8-row tile of np 12-column panels of the float32
// GEMM with FMLA (by element); see gen_float.go for the argument contract.
//
//go:noescape
func gemmF32(a *float32, kc int, b *float32, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32)

// packA8 packs 8 rows of A (lda bytes apart) × 4·k4 columns into k-major
// steps of 8 floats at dst.
//
//go:noescape
func packA8(a *float32, lda, k4 int, dst *float32)
