//go:build arm64 && !purego

package neon

// gemmF32 computes an 8-row tile of np 12-column panels of the float32
// GEMM with FMLA (by element); see gen_float.go for the argument contract.
//
//go:noescape
func gemmF32(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32)

// packA8 packs 8 rows of A (lda bytes apart) × 4·k4 columns into k-major
// steps of 8 floats at dst.
//
//go:noescape
func packA8(a *float32, lda, k4 int, dst *float32)

// geluF32 computes the erf-form GELU of n4·4 values (see gen_float.go).
//
//go:noescape
func geluF32(x, out *float32, n4 int, k *mathConsts)

// maxF32 returns the largest of n4·4 values at x (n4 ≥ 1).
//
//go:noescape
func maxF32(x *float32, n4 int) float32

// expSumF32 writes e = exp(β·x − m) for n4·4 values, bm = {β, m}, and
// returns their sum.
//
//go:noescape
func expSumF32(x, e *float32, n4 int, bm *[2]float32, k *mathConsts) float32

// scaleF32 multiplies n4·4 values at x by s.
//
//go:noescape
func scaleF32(x *float32, n4 int, s float32)

// addF32 writes out = a + b for n16·16 values, clamped to clip when clamp
// is not 0 (see gen_float.go).
//
//go:noescape
func addF32(a, b, out *float32, n16 int, clip *[2]float32, clamp int)

// divF32 writes out = a / b for n16·16 values, clamped to clip when clamp
// is not 0 (see gen_float.go).
//
//go:noescape
func divF32(a, b, out *float32, n16 int, clip *[2]float32, clamp int)

// lnRowF32 writes n16·16 LayerNorm outputs ((x − m)·r)·γ + β, mr = {m, r}.
//
//go:noescape
func lnRowF32(x, out *float32, n16 int, gamma, beta *float32, mr *[2]float32)

// sumF64 returns Σx over n16·16 values in float64 (four 2-lane sums).
//
//go:noescape
func sumF64(x *float32, n16 int) float64

// ssF64 returns Σ(x − mean)² over n16·16 values in float64 (four 2-lane
// sums of fused squares).
//
//go:noescape
func ssF64(x *float32, n16 int, mean float64) float64

// packB12 packs 12 rows of B (lda bytes apart) × 4·k4 columns into k-major
// steps of 12 floats at dst: one panel of a transposed B.
//
//go:noescape
func packB12(a *float32, lda, k4 int, dst *float32)

// gemmF32n8 and gemmF32n4 are gemmF32 for a last panel of at most 8 or 4
// columns: the same contract, 8 or 4 columns written per row.
//
//go:noescape
func gemmF32n8(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32)

//go:noescape
func gemmF32n4(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32)

// gemmF32m6 and gemmF32m4 are gemmF32 for a last block of at most 6 or 4
// rows (18 or 12 FMLA per step instead of 24).
//
//go:noescape
func gemmF32m6(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32)

//go:noescape
func gemmF32m4(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32)
