//go:build arm64 && !purego

package neon

// copyRuns copies rows runs of run16·16 bytes from src, stride bytes
// apart, to dst, one after another (rows, run16 ≥ 1).
//
//go:noescape
func copyRuns(dst, src *byte, rows, run16, stride int)
