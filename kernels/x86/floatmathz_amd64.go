//go:build amd64 && !purego

package x86

// The AVX-512F float32 GELU and Softmax helpers (floatmathz_amd64.s),
// used where floatWide: each takes n ≥ 1 values, the last n mod 16 under
// a mask.

//go:noescape
func geluF32Z(x, out *float32, n int, k *expConsts)

//go:noescape
func expSumF32Z(x, e *float32, n int, bm *[2]float32, k *expConsts) float32

// softmaxRowZ is one row of SoftmaxFloat for β ≥ 0: the largest value,
// expSumF32Z's exps and sum, the scale by 1/sum, in one call.
//
//go:noescape
func softmaxRowZ(x, out *float32, n int, beta float32, k *expConsts)
