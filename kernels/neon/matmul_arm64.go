//go:build arm64 && !purego

package neon

// packRowsDot packs np 16-column panels of B stored [N,K] (row r of n at
// src + r·ld; rows past n repeat row n−1) into the dot-product layout at
// dst; mask clears chunk 1's bytes below k = 16 (see gen_asm.go).
//
//go:noescape
func packRowsDot(dst, src *int8, ld, n, np, nch, s1 int, mask *[16]int8)

// packColsDot packs ngroups consecutive k-groups of np full 16-column
// panels (pstride bytes apart) of B stored [K,N]: group g reads the rows
// r[i] + 4·g·ld, i < 4.
//
//go:noescape
func packColsDot(dst *int8, r *[4]*int8, ld, ngroups, np, pstride int)

// colBiasDot writes kzz − azp·Σ_k b[k,n] into the first 16 words of each
// panel's column data (cdStride bytes apart) for np dot-layout panels.
//
//go:noescape
func colBiasDot(b *int8, np, nch int, cd *int32, cdStride int, kzz, azp int)

// rowSums sets rb[m] = −bzp·Σ_k a[m,k] for the 4 A rows of a tile (rows
// past rows repeat the last), reading K in the micro-kernels' chunks.
//
//go:noescape
func rowSums(a *int8, lda, rows, nch, s1 int, mask *[16]int8, bzp int, rb *[4]int32)

// packColsV80 packs np full 8-column panels of B stored [K,N] (rows ld
// apart, from src) into the v80 layout at dst, chunk 1's bytes below k =
// 16 cleared by mask; it returns the smallest byte read.
//
//go:noescape
func packColsV80(dst, src *int8, ld, np, nch, s1 int, mask *[16]int8) int8

// packRowsV80 packs np 8-column panels of B stored [N,K] (row r of n at
// src + r·ld; rows past n repeat row n−1) into the v80 layout at dst; it
// returns the smallest byte read.
//
//go:noescape
func packRowsV80(dst, src *int8, ld, n, np, nch, s1 int, mask *[16]int8) int8

// colBiasV80 writes kzz − azp·Σ_k b[k,n] into the first 8 words of each
// panel's column data (cdStride bytes apart) for np v80-layout panels.
//
//go:noescape
func colBiasV80(b *int8, np, nch int, cd *int32, cdStride int, kzz, azp int)
