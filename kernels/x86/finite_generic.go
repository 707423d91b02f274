//go:build !amd64 || purego

package x86

// nonFiniteF32 is finite_amd64.s's twin: whether any of the n8·8 values
// from x is NaN or ±Inf.
func nonFiniteF32(x *float32, n8 int) bool {
	return !finiteF32(unsafeF32(x, 8*n8))
}
