//go:build !amd64 || purego

package x86

import "math"

// The Go twins of layernorm_amd64.s, same lanes and the same order, so
// the same bits.

func sumF64(x *float32, n8 int) float64 {
	var acc [16]float64
	for i, v := range unsafeF32(x, 8*n8) {
		acc[i%16] += float64(v)
	}
	return sumLanes(&acc)
}

func ssF64(x *float32, n8 int, mean float64) float64 {
	var acc [16]float64
	for i, v := range unsafeF32(x, 8*n8) {
		t := float64(v) - mean
		acc[i%16] = math.FMA(t, t, acc[i%16])
	}
	return sumLanes(&acc)
}

func lnRowF32(x, out *float32, n8 int, gamma, beta *float32, mr *[2]float32) {
	xs, os := unsafeF32(x, 8*n8), unsafeF32(out, 8*n8)
	g, b := unsafeF32(gamma, 8*n8), unsafeF32(beta, 8*n8)
	m, r := mr[0], mr[1]
	for i, v := range xs {
		t := float32(v - m)
		u := float32(t * r)
		w := float32(u * g[i])
		os[i] = float32(w + b[i])
	}
}

// No Go twins of the AVX-512F helpers: floatWide is false here.

func statsF64Z(x *float32, n8 int, c float64) (s, ss float64) { panic("unreachable") }
func lnRowF32Z(x, out *float32, n int, gamma, beta *float32, mr *[2]float32) {
	panic("unreachable")
}
