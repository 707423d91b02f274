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

// softmaxExp writes e[i] = 256·entry for the n16·16 values at x with row
// maximum mx (the table entry at distance mx − x[i]) and returns the sum
// of the entries (< 2^32 for rows of at most 2^15).
//
//go:noescape
func softmaxExp(x *int8, n16 int, t *softmaxTables, mx int, e *uint32) uint32

// softmaxDiv writes out[i] = min(⌊(e[i] + half)·m / 2^31⌋ >> sh, 255) − 128
// for n16·16 values (see SoftmaxInt8 for m and sh).
//
//go:noescape
func softmaxDiv(e *uint32, out *int8, n16, half, m, sh int)

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
