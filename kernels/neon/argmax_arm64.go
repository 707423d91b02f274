//go:build arm64 && !purego

package neon

// argmaxShort writes the ArgMax of rows rows of axis values (1 ≤ axis <
// 16), rows axis bytes apart, 16 bytes readable from each row's start.
// lanes is argmaxLanes.
//
//go:noescape
func argmaxShort(x *int8, out *int32, rows, axis int, lanes *[32]int8)

// argmax32 is argmaxShort for 16 ≤ axis ≤ 32.
//
//go:noescape
func argmax32(x *int8, out *int32, rows, axis int, lanes *[32]int8)

// argmaxLong is argmaxShort for axis > 32.
//
//go:noescape
func argmaxLong(x *int8, out *int32, rows, axis int, lanes *[32]int8)
