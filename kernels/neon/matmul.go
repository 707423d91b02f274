package neon

import (
	"unsafe"

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
// zero point. Transposed A (AdjX), K < 16, K too large for the buffer and
// per-column output stages (several multipliers or scales) go to
// kernels/ref. The strides of p are honored (the kernels take row strides
// already).
func MatMulInt8(path Path, p *kernels.MatMulParams, a, b, out []int8) {
	l := layoutOf(path)
	M, N, K := p.M, p.N, p.K
	nch, s1 := geometry(K)
	panelBytes := nch * 16 * l.pw
	// One multiplier for every column (set once per block below); a
	// per-column stage goes to ref.
	if p.AdjX || K < 16 || panelBytes > matMulB || len(p.Out.Mult) > 1 || len(p.Out.Scale) > 1 {
		ref.MatMulInt8(p, a, b, out)
		return
	}
	lda, ldb, ldo := p.Strides()
	na, nbb, no := p.Extents()
	if M == 0 || N == 0 {
		return
	}
	a, b, out = a[:na], b[:nbb], out[:no]
	var bbuf [matMulB]int8
	var cdbuf [matMulCD]int32
	cdWords := cdBytes(l.pw) / 4
	perBlock := min(matMulB/panelBytes, matMulCD/cdWords)
	azp, bzp := p.AZP, p.BZP
	m := p.Out.Mult[0]
	kzz := int32(K) * azp * bzp
	// Every panel's requantization words are the same (one multiplier):
	// set them in the first panel and copy.
	maxPanels := min(perBlock, (N+l.pw-1)/l.pw)
	for j := 0; j < l.pw; j++ {
		setRequant(cdbuf[:cdWords], l.pw, j, m)
	}
	for q := 1; q < maxPanels; q++ {
		copy(cdbuf[q*cdWords+l.pw:(q+1)*cdWords], cdbuf[l.pw:cdWords])
	}
	mask := chunk1Mask(s1)
	for n0 := 0; n0 < N; n0 += perBlock * l.pw {
		nb := min(perBlock*l.pw, N-n0)
		np := (nb + l.pw - 1) / l.pw
		w := Packed{path: path, n: nb, k: K, nch: nch, s1: s1, np: np, rounding: p.Out.Rounding}
		w.b, w.cd = bbuf[:np*panelBytes], cdbuf[:np*cdWords]
		switch {
		case l.dot && p.AdjY:
			packRowsDot(&w.b[0], &b[n0*ldb], ldb, nb, np, nch, s1, &mask)
		case l.dot:
			packColsDotBlock(w.b, b[n0:], nb, K, ldb, &mask)
		case p.AdjY:
			w.unpaired = packRowsV80(&w.b[0], &b[n0*ldb], ldb, nb, np, nch, s1, &mask) == -128
		default:
			w.unpaired = packColsV80Block(w.b, b[n0:], nb, K, ldb, &mask)
		}
		if l.dot {
			colBiasDot(&w.b[0], np, nch, &w.cd[0], 4*cdWords, int(kzz), int(azp))
		} else {
			colBiasV80(&w.b[0], np, nch, &w.cd[0], 4*cdWords, int(kzz), int(azp))
		}
		g := gemmArgs{w: &w, b: w.b, cd: w.cd, unpaired: w.unpaired, fastReq: fastRequant(m), os: &p.Out, bzp: bzp}
		g.run(a, lda, M, out[n0:], nil, ldo)
	}
}

// zeroRow stands in for the rows of chunk 1 below k = 16 when packing
// B stored [K,N]: a block has at most matMulCD/80 panels of 16 columns.
var zeroRow [matMulCD / 80 * 16]int8

// packColsDotBlock packs B[k,n] = src[k·ld+n] (n < N, k < K) into dst in
// the dot-product layout: full 16-column panels by packColsDot, four
// source rows (one k-group) at a time, the last partial panel in Go.
// Column sums come from the packed bytes (colBiasDot).
func packColsDotBlock(dst, src []int8, n, k, ld int, mask *[16]int8) {
	nch, s1 := geometry(k)
	panelBytes := nch * 256
	full := n / 16
	if full > 0 {
		var r [4]*int8
		rows := func(k0 int) {
			for i := range r {
				r[i] = &src[(k0+i)*ld]
			}
		}
		rows(0)
		packColsDot(&dst[0], &r, ld, 4, full, panelBytes)
		c := 1
		if nch > 1 && s1 < 16 {
			// Chunk 1's rows below k = 16 belong to chunk 0: zeros.
			for q := 0; q < 4; q++ {
				for i := range r {
					if kk := s1 + 4*q + i; kk < 16 {
						r[i] = &zeroRow[0]
					} else {
						r[i] = &src[kk*ld]
					}
				}
				packColsDot(&dst[256+64*q], &r, 0, 1, full, panelBytes)
			}
			c = 2
		}
		if c < nch {
			rows(chunkStart(c, s1))
			packColsDot(&dst[c*256], &r, ld, 4*(nch-c), full, panelBytes)
		}
	}
	if rem := n - 16*full; rem > 0 {
		panel := dst[full*panelBytes : (full+1)*panelBytes]
		clear(panel)
		for kk := 0; kk < k; kk++ {
			c, i := 0, kk
			if kk >= 16 {
				c = 1 + (kk-s1)/16
				i = kk - chunkStart(c, s1)
			}
			row := src[kk*ld+16*full : kk*ld+16*full+rem]
			for j, v := range row {
				panel[dotLayout.offset(c, j, i)] = v
			}
		}
	}
}

// packColsV80Block packs B[k,n] = src[k·ld+n] (n < N, k < K) into dst in
// the v80 layout: full 8-column panels by packColsV80, the last partial
// panel in Go. It reports whether any byte is −128.
func packColsV80Block(dst, src []int8, n, k, ld int, mask *[16]int8) (hasMin bool) {
	nch, s1 := geometry(k)
	panelBytes := nch * 128
	full := n / 8
	if full > 0 {
		hasMin = packColsV80(&dst[0], &src[0], ld, full, nch, s1, mask) == -128
	}
	if rem := n - 8*full; rem > 0 {
		panel := dst[full*panelBytes : (full+1)*panelBytes]
		clear(panel)
		for kk := 0; kk < k; kk++ {
			c, i := 0, kk
			if kk >= 16 {
				c = 1 + (kk-s1)/16
				i = kk - chunkStart(c, s1)
			}
			row := src[kk*ld+8*full : kk*ld+8*full+rem]
			for j, v := range row {
				panel[v80Layout.offset(c, j, i)] = v
				hasMin = hasMin || v == -128
			}
		}
	}
	return hasMin
}

// sumInt8 returns Σ v.
func sumInt8(v []int8) int32 {
	if n16 := len(v) / 16; n16 > 0 {
		s := sumBlocks(&v[0], n16)
		return s + sumTail(v[16*n16:])
	}
	return sumTail(v)
}

// packRows packs B[n,k] = src[n·ld+k] (rows along k, BatchMatMul with
// AdjY) like packB, moving 4 (dot) or 16 (v80) bytes at a time. The −128
// scan matters to the v80 kernel only.
func packRows(l layout, dst, src []int8, n, k, ld int, colSum []int32) (hasMin bool) {
	nch, s1 := geometry(k)
	pw := l.pw
	np := (n + pw - 1) / pw
	dst = dst[:np*nch*16*pw]
	clear(dst)
	for col := 0; col < n; col++ {
		row := src[col*ld : col*ld+k]
		colSum[col] = sumInt8(row)
		if !l.dot && !hasMin {
			hasMin = minInt8(row) == -128
		}
		panel := dst[(col/pw)*nch*16*pw : (col/pw+1)*nch*16*pw]
		j := col % pw
		for c := 0; c < nch; c++ {
			st := chunkStart(c, s1)
			if c == 1 && st < 16 {
				for i := 16 - st; i < 16; i++ {
					panel[l.offset(c, j, i)] = row[st+i]
				}
				continue
			}
			src := unsafe.Pointer(&row[st])
			if l.dot {
				o := unsafe.Pointer(&panel[c*16*pw+j*4])
				for q := 0; q < 4; q++ {
					*(*uint32)(unsafe.Add(o, q*4*pw)) = *(*uint32)(unsafe.Add(src, 4*q))
				}
			} else {
				o := unsafe.Pointer(&panel[c*16*pw+j*16])
				*(*[16]byte)(o) = *(*[16]byte)(src)
			}
		}
	}
	return hasMin
}

// minInt8 returns the smallest of v (127 for none).
func minInt8(v []int8) int8 {
	m := int8(127)
	if n16 := len(v) / 16; n16 > 0 {
		m = minBlocks(&v[0], n16)
		v = v[16*n16:]
	}
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func sumTail(v []int8) int32 {
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
