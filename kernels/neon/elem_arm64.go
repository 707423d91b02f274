//go:build arm64 && !purego

package neon

// maxBlocks returns the largest of the n16·16 bytes at p (n16 ≥ 1).
//
//go:noescape
func maxBlocks(p *int8, n16 int) int8

// lookupInt8 maps n16·16 bytes at x through t into out (see gen_asm.go).
//
//go:noescape
func lookupInt8(t *[256]int8, x, out *int8, n16 int)

// softmaxRows writes the Softmax of rows rows of d values (16 ≤ d ≤
// 2^13) with the exp table t (t.split held, entry 0 ≥ 3), using e (d
// values) as the row buffer; mask is softmaxMask (see SoftmaxInt8).
//
//go:noescape
func softmaxRows(x, out *int8, rows, d int, t *softmaxTables, e *uint32, mask *[32]uint8)

// lnStats sums the n16·16 values at x: res[0:4] partial sums of q,
// res[4:8] of q².
//
//go:noescape
func lnStats(x *int8, n16 int, res *[8]int32)

// lnStatsDot is lnStats with SDOT (FEAT_DotProd).
//
//go:noescape
func lnStatsDot(x *int8, n16 int, res *[8]int32)

// lnRow writes the n16·16 outputs of one LayerNorm row; mr holds the
// row's mean and reciprocal standard deviation, then −128 and 127.
//
//go:noescape
func lnRow(x, out *int8, n16 int, gamma, beta *float32, mr *[4]float32)

// lnRowSat is lnRow without the float clamp: FCVTAS then saturating
// narrows, for rows where no NaN can arise (see LayerNormInt8).
//
//go:noescape
func lnRowSat(x, out *int8, n16 int, gamma, beta *float32, mr *[4]float32)

// addFixed writes n16·16 outputs of XNNPACK's int8 Add (Sub with BFixed
// negated) of same-shape operands; q holds AFixed, BFixed, −FixedShift,
// the zero points of A, B and the output, ActMin and ActMax.
//
//go:noescape
func addFixed(a, b, out *int8, n16 int, q *[8]int64)

// mulScale writes n16·16 outputs of XNNPACK's int8 Mul of same-shape
// operands; q holds MulScale's float32 bits, the zero points of A, B and
// the output, ActMin and ActMax.
//
//go:noescape
func mulScale(a, b, out *int8, n16 int, q *[6]int64)

// quantizeFloat writes n16·16 int8 quantizations of float32 values (see
// QuantizeFloat); q holds the float64 bits of the scale and the zero
// point. quantizeFloatU writes uint8.
//
//go:noescape
func quantizeFloat(x *float32, out *int8, n16 int, q *[2]int64)

//go:noescape
func quantizeFloatU(x *float32, out *int8, n16 int, q *[2]int64)

// dequantF32 writes n16·16 float32 values of int8 or uint8 codes (see
// Dequantize); k holds the XOR byte, the zero point byte and the scale.
//
//go:noescape
func dequantF32(x *byte, out *float32, n16 int, k *[2]uint32)
