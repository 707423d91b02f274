//go:build !arm64 || purego

package neon

import "unsafe"

// copyRuns is the Go twin of the run-copy kernel.
func copyRuns(dst, src *byte, rows, run16, stride int) {
	for r := 0; r < rows; r++ {
		copy(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(dst), r*16*run16)), 16*run16),
			unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(src), r*stride)), 16*run16))
	}
}
