//go:build amd64 && !purego

package x86

// nonFiniteF32 reports whether any of the n8·8 values from x (n8 ≥ 1) is
// NaN or ±Inf (finite_amd64.s).
//
//go:noescape
func nonFiniteF32(x *float32, n8 int) bool
