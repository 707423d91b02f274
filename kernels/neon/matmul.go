package neon

import (
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// Sizes of the per-call buffers on the stack that hold BatchMatMul's B
// operand in the micro-kernel layout, a block of panels at a time.
const (
	matMulB  = 32 << 10
	matMulCD = 2 << 10 // int32 words of column data
)

// MatMulInt8 is ref.MatMulInt8 on path: B, an activation, is packed per
// call into a buffer on the stack (a block of column panels at a time),
// with its column sums folded into the column bias; A's row sums fold B's
// zero point. Transposed A (AdjX), K < 16 and K too large for the buffer
// go to kernels/ref.
func MatMulInt8(path Path, p *kernels.MatMulParams, a, b, out []int8) {
	l := layoutOf(path)
	M, N, K := p.M, p.N, p.K
	nch, s1 := geometry(K)
	panelBytes := nch * 16 * l.pw
	if p.AdjX || K < 16 || panelBytes > matMulB {
		ref.MatMulInt8(p, a, b, out)
		return
	}
	a, b, out = a[:M*K], b[:K*N], out[:M*N]
	var bbuf [matMulB]int8
	var cdbuf [matMulCD]int32
	var sums [matMulCD / 4]int32
	cdWords := cdBytes(l.pw) / 4
	perBlock := min(matMulB/panelBytes, matMulCD/cdWords)
	sn, sk := 1, N
	if p.AdjY {
		sn, sk = K, 1
	}
	azp, bzp := p.AZP, p.BZP
	m := p.Out.Mult[0]
	kzz := int32(K) * azp * bzp
	for n0 := 0; n0 < N; n0 += perBlock * l.pw {
		nb := min(perBlock*l.pw, N-n0)
		np := (nb + l.pw - 1) / l.pw
		w := Packed{path: path, n: nb, k: K, nch: nch, s1: s1, np: np, rounding: p.Out.Rounding}
		w.b, w.cd = bbuf[:np*panelBytes], cdbuf[:np*cdWords]
		w.unpaired = packB(l, w.b, b[n0*sn:], nb, K, sn, sk, sums[:nb])
		for p := 0; p < np; p++ {
			c := w.cd[p*cdWords : (p+1)*cdWords]
			for j := 0; j < l.pw; j++ {
				var bias int32
				if p*l.pw+j < nb {
					bias = kzz - azp*sums[p*l.pw+j]
				}
				c[j] = bias
				g := c[l.pw+12*(j/4):]
				g[j%4] = m.M
				sh := int64(m.Shift) - 31
				g[4+2*(j%4)] = int32(sh)
				g[5+2*(j%4)] = int32(sh >> 32)
			}
		}
		g := gemmArgs{w: &w, b: w.b, cd: w.cd, unpaired: w.unpaired, os: &p.Out, bzp: bzp}
		g.run(a, K, M, out[n0:], nil, N)
	}
}

// sumInt8 returns Σ v.
func sumInt8(v []int8) int32 {
	var s0, s1, s2, s3 int32
	for len(v) >= 4 {
		s0 += int32(v[0])
		s1 += int32(v[1])
		s2 += int32(v[2])
		s3 += int32(v[3])
		v = v[4:]
	}
	for _, x := range v {
		s0 += int32(x)
	}
	return s0 + s1 + s2 + s3
}
