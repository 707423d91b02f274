package x86

import (
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
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
// point. Transposed A (AdjX), K < 4, K too large for the buffer and a
// per-column Mult stage (one multiplier a column) go to kernels/ref. The strides of p are honored. XNNPACK's float32 stage
// (OutputStage.Scale, per tensor or per column) requantizes the int32
// tiles as in FullyConnectedInt8.
func MatMulInt8(path Path, p *kernels.MatMulParams, a, b, out []int8) {
	l := layoutOf(path)
	M, N, K := p.M, p.N, p.K
	G, _, _ := l.groups(K)
	panelBytes := G * l.units * 64
	if p.AdjX || K < minK || panelBytes > matMulB || (path == AVX2 && K > maxAVX2K) || len(p.Out.Mult) > 1 && p.Out.Scale == nil {
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
	var m quant.Multiplier // unused by a float32 stage
	if p.Out.Scale == nil {
		m = p.Out.Mult[0]
	}
	kzz := int32(K) * azp * bzp
	fast := p.Out.Scale == nil && fastRequant(m)
	os := p.Out
	for n0 := 0; n0 < N; n0 += perBlock {
		nb := min(perBlock, N-n0)
		bytes, words := l.packedSize(nb, K)
		switch {
		case l.vnni && p.AdjY:
			packVNNIRows(bbuf[:bytes], b[n0*ldb:], nb, K, ldb, sums[:nb])
		case l.vnni:
			packVNNICols(bbuf[:bytes], b[n0:], nb, K, ldb, sums[:nb])
		case p.AdjY:
			l.packB(bbuf[:bytes], b[n0*ldb:], nb, K, ldb, 1, sums[:nb])
		default:
			l.packB(bbuf[:bytes], b[n0:], nb, K, 1, ldb, sums[:nb])
		}
		cd := cdbuf[:words]
		clear(cd)
		for j := 0; j < nb; j++ {
			setColumn(cd[(j/16)*cdWords:], j%16, kzz-azp*sums[j], m)
		}
		if len(p.Out.Scale) > 1 {
			os.Scale = p.Out.Scale[n0 : n0+nb] // the block's columns
		}
		g := gemm{path: path, n: nb, k: K, b: bbuf[:bytes], cd: cd, fastReq: fast, os: &os, bzp: bzp}
		g.run(a, lda, M, out[n0:], nil, ldo)
	}
}

// packVNNIRows is the VNNI layout's packB for B[n,k] = src[n·ld + k]
// (BatchMatMul with AdjY: each column's k contiguous), four bytes at a time.
func packVNNIRows(dst, src []int8, n, k, ld int, colSum []int32) {
	g, kg, ktail := layoutOf(AVX512VNNI).groups(k)
	units := (n + 15) / 16
	clear(dst)
	d32 := unsafe.Slice((*uint32)(unsafe.Pointer(&dst[0])), len(dst)/4)
	// The tail group's bytes below 4·kg are counted by the last full group.
	tailMask := ^uint32(0) << (8 * uint(4*kg-ktail))
	for col := 0; col < n; col++ {
		u, j := col/16, col%16
		p := u / 4
		width := min(4, units-4*p)
		base := (p*4*g*64 + (u%4)*64 + j*4) / 4
		row := src[col*ld : col*ld+k]
		colSum[col] = sumInt8(row)
		for gi := 0; gi < kg; gi++ {
			w := *(*uint32)(unsafe.Pointer(&row[4*gi]))
			d32[base+gi*width*16] = w ^ 0x80808080
		}
		if ktail != 0 {
			w := *(*uint32)(unsafe.Pointer(&row[ktail]))
			d32[base+kg*width*16] = (w ^ 0x80808080) & tailMask
		}
	}
}

// packVNNICols is the VNNI layout's packB for B[n,k] = src[k·ld + n]
// (BatchMatMul without AdjY: rows along n): four source rows make one
// group, their bytes interleaved per column; whole 16-column units go
// through packColsVNNI, the rest (a partial unit, the tail group) here.
func packVNNICols(dst, src []int8, n, k, ld int, colSum []int32) {
	g, kg, ktail := layoutOf(AVX512VNNI).groups(k)
	units := (n + 15) / 16
	clear(dst)
	clear(colSum[:n])
	whole := n / 16
	var sums [16]int32
	for u := 0; u < whole; u++ {
		p := u / 4
		width := min(4, units-4*p)
		packColsVNNI(&src[16*u], ld, kg, &dst[p*4*g*64+(u%4)*64], width*64, &sums)
		for j, s := range sums {
			colSum[16*u+j] = s - 128*int32(4*kg)
		}
	}
	d32 := unsafe.Slice((*uint32)(unsafe.Pointer(&dst[0])), len(dst)/4)
	for gi := 0; gi < g; gi++ {
		k0, skip := 4*gi, 0
		c0 := 16 * whole
		if gi == kg {
			k0, skip, c0 = ktail, 4*kg-ktail, 0
		}
		var rows [4][]int8
		for i := range rows {
			rows[i] = src[(k0+i)*ld : (k0+i)*ld+n]
		}
		for col := c0; col < n; col++ {
			u, j := col/16, col%16
			p := u / 4
			width := min(4, units-4*p)
			var w uint32
			var s int32
			for i := skip; i < 4; i++ {
				v := rows[i][col]
				w |= uint32(uint8(v)^0x80) << (8 * i)
				s += int32(v)
			}
			colSum[col] += s
			d32[(p*4*g*64+(u%4)*64+j*4)/4+gi*width*16] = w
		}
	}
}
