package ref

import "github.com/edgeinfer/edgeinfer/kernels"

// accTile is the number of outputs that kernels walking a non-contiguous
// reduction keep in a stack array of accumulators, so that their inner loop
// runs over contiguous memory.
const accTile = 16

// MatMulInt8 computes one batch of BatchMatMul: for m < p.M and n < p.N,
//
//	out[m·LDO+n] = p.Out.Requantize(Σ_k (A[m,k] − AZP)·(B[k,n] − BZP), n)
//
// where A[m,k] is a[m·LDA+k], or a[k·LDA+m] with AdjX, and B[k,n] is
// b[k·LDB+n], or b[n·LDB+k] with AdjY (strides as in p.Strides: dense
// unless set). The sum runs over k in increasing order.
func MatMulInt8(p *kernels.MatMulParams, a, b, out []int8) {
	M, N, K := p.M, p.N, p.K
	lda, ldb, ldo := p.Strides()
	na, nb, no := p.Extents()
	a, b, out = a[:na], b[:nb], out[:no]
	azp, bzp := p.AZP, p.BZP
	m := 0
	if p.AdjY && !p.AdjX {
		// Both operands contiguous along k: four rows of a per row of b,
		// with Σ (a−azp)(b−bzp) = Σ a·(b−bzp) − azp·Σ (b−bzp).
		for ; m+4 <= M; m += 4 {
			a0, a1, a2, a3 := a[m*lda:m*lda+K], a[(m+1)*lda:(m+1)*lda+K], a[(m+2)*lda:(m+2)*lda+K], a[(m+3)*lda:(m+3)*lda+K]
			o0, o1, o2, o3 := out[m*ldo:m*ldo+N], out[(m+1)*ldo:(m+1)*ldo+N], out[(m+2)*ldo:(m+2)*ldo+N], out[(m+3)*ldo:(m+3)*ldo+N]
			for n := range o0 {
				s0, s1, s2, s3, sb := dot4Int8(a0, a1, a2, a3, b[n*ldb:n*ldb+K], bzp)
				c := azp * sb
				o0[n] = p.Out.Requantize(s0-c, n)
				o1[n] = p.Out.Requantize(s1-c, n)
				o2[n] = p.Out.Requantize(s2-c, n)
				o3[n] = p.Out.Requantize(s3-c, n)
			}
		}
	}
	for ; m < M; m++ {
		or := out[m*ldo : m*ldo+N]
		switch {
		case p.AdjY && !p.AdjX: // both operands contiguous along k
			ar := a[m*lda : m*lda+K]
			for n := range or {
				or[n] = p.Out.Requantize(dotInt8ZP(ar, b[n*ldb:n*ldb+K], azp, bzp), n)
			}
		case p.AdjY: // a strided along k: rare, keep it plain
			for n := range or {
				br := b[n*ldb : n*ldb+K]
				var acc int32
				for k, bv := range br {
					acc += (int32(a[k*lda+m]) - azp) * (int32(bv) - bzp)
				}
				or[n] = p.Out.Requantize(acc, n)
			}
		default: // B rows contiguous along n: accumulate a accTile of outputs
			for n0 := 0; n0 < N; n0 += accTile {
				nb := min(accTile, N-n0)
				var accBuf [accTile]int32
				acc := accBuf[:nb]
				for k := 0; k < K; k++ {
					var av int32
					if p.AdjX {
						av = int32(a[k*lda+m]) - azp
					} else {
						av = int32(a[m*lda+k]) - azp
					}
					br := b[k*ldb+n0 : k*ldb+n0+nb]
					br = br[:len(acc)]
					for j := range acc {
						acc[j] += av * (int32(br[j]) - bzp)
					}
				}
				for j, v := range acc {
					or[n0+j] = p.Out.Requantize(v, n0+j)
				}
			}
		}
	}
}

// MatMulFloat computes one batch of float BatchMatMul: for m < p.M and
// n < p.N,
//
//	out[m·LDO+n] = Σ_k A[m,k]·B[k,n]
//
// with A, B and the strides as in MatMulInt8. Every sum adds its terms
// one at a time in increasing k, starting from +0, so it is never −0 and
// adding ±0 leaves it unchanged: a product whose trailing terms are zeros
// (of finite operands) is bit for bit the product over the leading terms
// alone. The quantization fields of p are ignored; there is no fused
// activation.
func MatMulFloat(p *kernels.MatMulParams, a, b, out []float32) {
	M, N, K := p.M, p.N, p.K
	lda, ldb, ldo := p.Strides()
	na, nb, no := p.Extents()
	a, b, out = a[:na], b[:nb], out[:no]
	for m := 0; m < M; m++ {
		or := out[m*ldo : m*ldo+N]
		switch {
		case p.AdjY && !p.AdjX:
			ar := a[m*lda : m*lda+K]
			for n := range or {
				or[n] = dotFloat(ar, b[n*ldb:n*ldb+K])
			}
		case p.AdjY:
			for n := range or {
				br := b[n*ldb : n*ldb+K]
				var acc float32
				for k, bv := range br {
					acc += float32(a[k*lda+m] * bv)
				}
				or[n] = acc
			}
		default:
			for n0 := 0; n0 < N; n0 += accTile {
				nb := min(accTile, N-n0)
				var accBuf [accTile]float32
				acc := accBuf[:nb]
				for k := 0; k < K; k++ {
					var av float32
					if p.AdjX {
						av = a[k*lda+m]
					} else {
						av = a[m*lda+k]
					}
					br := b[k*ldb+n0 : k*ldb+n0+nb]
					br = br[:len(acc)]
					for j := range acc {
						acc[j] += float32(av * br[j])
					}
				}
				copy(or[n0:n0+nb], acc)
			}
		}
	}
}
