//go:build !amd64 || purego

package x86

// No Go twins: floatWide is false here, GELUFloat and SoftmaxFloat run ref.

func geluF32Z(x, out *float32, n int, k *expConsts)                         { panic("unreachable") }
func expSumF32Z(x, e *float32, n int, bm *[2]float32, k *expConsts) float32 { panic("unreachable") }
func softmaxRowZ(x, out *float32, n int, beta float32, k *expConsts)        { panic("unreachable") }
