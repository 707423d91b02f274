//go:build arm64 && !purego

package neon

// tapCell computes one TokenAwareAvgPool grid cell over n16 groups of 16
// channels (see gen_asm.go and TAPInt8).
//
//go:noescape
func tapCell(taps **int8, nb int, coef *int32, n16 int, acc *int32, out *int8, q *[4]int32)

// zoDigits writes the base-256 digits of gz·a for n16 groups of 16
// columns to dig, dig+f and dig+2f (see gen_asm.go and ZOSensitivity).
//
//go:noescape
func zoDigits(gz *int16, a *int8, n16 int, dig *int8, f int)
