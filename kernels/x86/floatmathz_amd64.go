//go:build amd64 && !purego

package x86

// The AVX-512F float32 GELU and Softmax helpers (floatmathz_amd64.s),
// used where floatWide: each takes n ≥ 1 values, the last n mod 16 under
// a mask.

//go:noescape
func geluF32Z(x, out *float32, n int, k *expConsts)

//go:noescape
func maxF32Z(x *float32, n int) float32

//go:noescape
func expSumF32Z(x, e *float32, n int, bm *[2]float32, k *expConsts) float32

//go:noescape
func scaleF32Z(x *float32, n int, s float32)
