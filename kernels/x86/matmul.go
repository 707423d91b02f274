package x86

import (
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// Sizes of the per-call stack buffers that hold BatchMatMul's B operand
// in a path's layout, a block of panels at a time.
const (
	matMulB  = 64 << 10
	matMulCD = 4 << 10 // int32 words of column data: 64 units of 16 columns
)

// MatMulInt8 is ref.MatMulInt8 on path: B, an activation, is packed per
// call into a buffer on the stack (a block of column panels at a time),
// its column sums folded into the column bias; A's row sums fold B's zero
// point. Transposed A (AdjX), K < 4 and K too large for the buffer go to
// kernels/ref. The strides of p are honored.
func MatMulInt8(path Path, p *kernels.MatMulParams, a, b, out []int8) {
	l := layoutOf(path)
	M, N, K := p.M, p.N, p.K
	G, _, _ := l.groups(K)
	panelBytes := G * l.units * 64
	if p.AdjX || K < minK || panelBytes > matMulB || (path == AVX2 && K > maxAVX2K) || p.Out.Scale != nil {
		ref.MatMulInt8(p, a, b, out)
		return
	}
	if M == 0 || N == 0 {
		return
	}
	lda, ldb, ldo := p.Strides()
	na, nbb, no := p.Extents()
	a, b, out = a[:na], b[:nbb], out[:no]
	var bbuf [matMulB]int8
	var cdbuf [matMulCD]int32
	var sums [matMulCD / cdWords * 16]int32
	perBlock := min(matMulB/panelBytes*l.units*16, len(sums))
	azp, bzp := p.AZP, p.BZP
	m := p.Out.Mult[0]
	kzz := int32(K) * azp * bzp
	fast := fastRequant(m)
	for n0 := 0; n0 < N; n0 += perBlock {
		nb := min(perBlock, N-n0)
		bytes, words := l.packedSize(nb, K)
		if p.AdjY {
			l.packB(bbuf[:bytes], b[n0*ldb:], nb, K, ldb, 1, sums[:nb])
		} else {
			l.packB(bbuf[:bytes], b[n0:], nb, K, 1, ldb, sums[:nb])
		}
		cd := cdbuf[:words]
		clear(cd)
		for j := 0; j < nb; j++ {
			setColumn(cd[(j/16)*cdWords:], j%16, kzz-azp*sums[j], m)
		}
		g := gemm{path: path, n: nb, k: K, b: bbuf[:bytes], cd: cd, fastReq: fast, os: &p.Out, bzp: bzp}
		g.run(a, lda, M, out[n0:], nil, ldo)
	}
}
