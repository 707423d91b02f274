//go:build amd64 && !purego

package x86

// transpose8F32 writes dst[kk·16 + j] = src[j·ld + kk] for j < 8 and
// kk < 8·k8 (k8 ≥ 1; AVX, pack_amd64.s).
//
//go:noescape
func transpose8F32(src *float32, ld, k8 int, dst *float32)
