//go:build arm64 && !purego

package neon

// resizeH writes the horizontal pass (t + 1024, see ResizeBilinear) of
// one input row in into t: ow output columns of c ≥ 8 channels, cols
// holding four int32 per column (left·c, right·c, 2048 − αx, αx).
//
//go:noescape
func resizeH(in *int8, t *int32, ow, c int, cols *int32)

// resizeV writes n ≥ 16 outputs of the vertical step: the top byte of
// t·w[0] + b·w[1].
//
//go:noescape
func resizeV(t, b *int32, out *int8, n int, w *[2]int32)
