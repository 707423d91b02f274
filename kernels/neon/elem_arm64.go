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

// softmaxSum sums the exp table entries of n16·16 values at x with row
// maximum mx: res[0:4] hold uint32 partial sums of the entries' low 16
// bits, res[4:8] int16 partial counts, negated, of entries equal to 2^16.
// The second argument is unused (softmaxOut's out).
//
//go:noescape
func softmaxSum(x, _ *int8, n16 int, t *softmaxTables, mx int, res *[8]uint32)

// softmaxOut writes n16·16 outputs of a row with maximum mx, entry sum
// sum < 2^29, half = ⌊sum/2⌋ and rcp the bits of float32(1/sum).
//
//go:noescape
func softmaxOut(x, out *int8, n16 int, t *softmaxTables, mx, half, sum, rcp int)

// lnStats sums the n16·16 values at x: res[0:4] partial sums of q,
// res[4:8] of q².
//
//go:noescape
func lnStats(x *int8, n16 int, res *[8]int32)

// lnRow writes the n16·16 outputs of one LayerNorm row; mr holds the
// row's mean and reciprocal standard deviation, then −128 and 127.
//
//go:noescape
func lnRow(x, out *int8, n16 int, gamma, beta *float32, mr *[4]float32)
