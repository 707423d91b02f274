//go:build amd64 && !purego

package x86

// The LayerNormFloat row helpers (AVX2 + FMA; layernorm_amd64.s). n8 ≥ 1.

// sumF64 returns the float64 sum of n8·8 float32 values: value i in lane
// i mod 16, then the lanes pairwise as sumLanes.
//
//go:noescape
func sumF64(x *float32, n8 int) float64

// ssF64 returns Σ (x − mean)² over n8·8 values in float64, lanes as
// sumF64, one rounding per multiply-add.
//
//go:noescape
func ssF64(x *float32, n8 int, mean float64) float64

// lnRowF32 writes out = ((x − m)·r)·γ + β for n8·8 values, mr = {m, r},
// each operation rounded to float32.
//
//go:noescape
func lnRowF32(x, out *float32, n8 int, gamma, beta *float32, mr *[2]float32)

// statsF64Z returns s = Σ (x − c) and ss = Σ (x − c)² over n8·8 values
// in float64 (AVX-512F): value i in lane i mod 32, lanes j and j + 16
// added, then as sumLanes (sumLanes32).
//
//go:noescape
func statsF64Z(x *float32, n8 int, c float64) (s, ss float64)

// lnRowF32Z is lnRowF32 for n ≥ 1 values (AVX-512F).
//
//go:noescape
func lnRowF32Z(x, out *float32, n int, gamma, beta *float32, mr *[2]float32)
