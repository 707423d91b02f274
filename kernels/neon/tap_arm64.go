//go:build arm64 && !purego

package neon

// tapCell computes one TokenAwareAvgPool grid cell over n16 groups of 16
// channels (see gen_asm.go and TAPInt8).
//
//go:noescape
func tapCell(taps **int8, nb int, coef *int32, n16 int, acc *int32, out *int8, q *[4]int32)
