//go:build amd64 && !purego

package x86

// dwConv3x3 runs ow output pixels of one 16-channel group of a 3×3
// depthwise convolution (AVX2; gen_asm.go documents the arguments): rows
// holds the three input rows at the group's first channel, the taps of a
// row dC bytes apart and a pixel's step bytes after the one before; w and
// cd are the group's packed weights and column data (PackedDW); output
// pixel o goes to out + o·ldo. scale 1 selects XNNPACK's float32 stage.
//
//go:noescape
func dwConv3x3(rows *[3]*int8, dC, step, ow int, w *int16, cd *int32, out *int8, ldo int, q *epilogue, scale int)
