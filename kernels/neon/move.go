package neon

import (
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// CopyView is ref.CopyView (a transpose or slice as a strided view of its
// input, written out contiguously): when the last dim is a run of whole
// 16-byte blocks in the input, the runs along the dim above go through
// copyRuns (LD1/ST1 of 64 bytes); otherwise ref.CopyView.
func CopyView(shape, stride *[kernels.MaxRank]int, off, elemSize int, in, out []byte) {
	const last = kernels.MaxRank - 1
	run := shape[last] * elemSize
	rows, rst := shape[last-1], stride[last-1]
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n == 0 || stride[last] != elemSize || run%16 != 0 || rst < 0 {
		ref.CopyView(shape, stride, off, elemSize, in, out)
		return
	}
	out = out[:n*elemSize]
	// Outer dims (all but the last two), walked in row-major order.
	var idx [kernels.MaxRank - 2]int
	src := off
	for o := 0; o < len(out); o += rows * run {
		// The block's last source byte: bounds-checks the whole block.
		_ = in[src+(rows-1)*rst+run-1]
		copyRuns(&out[o], &in[src], rows, run/16, rst)
		for d := last - 2; d >= 0; d-- {
			idx[d]++
			src += stride[d]
			if idx[d] < shape[d] {
				break
			}
			src -= idx[d] * stride[d]
			idx[d] = 0
		}
	}
}
