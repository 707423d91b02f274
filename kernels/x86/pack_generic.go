//go:build !amd64 || purego

package x86

import "unsafe"

// transpose8F32 is the Go twin of pack_amd64.s: dst[kk·16 + j] =
// src[j·ld + kk] for j < 8 and kk < 8·k8.
func transpose8F32(src *float32, ld, k8 int, dst *float32) {
	s := unsafe.Slice(src, 7*ld+8*k8)
	d := unsafe.Slice(dst, 16*(8*k8-1)+8)
	for j := 0; j < 8; j++ {
		for kk := 0; kk < 8*k8; kk++ {
			d[kk*16+j] = s[j*ld+kk]
		}
	}
}
