//go:build !arm64 || purego

package neon

import "unsafe"

// packRowsDot is the Go twin of the TRN1/TRN2 packing kernel.
func packRowsDot(dst, src *int8, ld, n, np, nch, s1 int, mask *[16]int8) {
	k := s1 + 16*(nch-1)
	d := unsafe.Slice(dst, np*nch*16*16)
	for col := 0; col < 16*np; col++ {
		r := min(col, n-1)
		row := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(src), r*ld)), k)
		p, j := col/16, col%16
		for c := 0; c < nch; c++ {
			st := chunkStart(c, s1)
			for i := 0; i < 16; i++ {
				v := row[st+i]
				if c == 1 {
					v &= mask[i]
				}
				d[p*nch*256+dotLayout.offset(c, j, i)] = v
			}
		}
	}
}

// packColsDot is the Go twin of the ST4 packing kernel.
func packColsDot(dst *int8, r *[4]*int8, ld, ngroups, np, pstride int) {
	for g := 0; g < ngroups; g++ {
		for p := 0; p < np; p++ {
			o := unsafe.Add(unsafe.Pointer(dst), g*64+p*pstride)
			for i := 0; i < 4; i++ {
				row := unsafe.Add(unsafe.Pointer(r[i]), 4*g*ld+16*p)
				for j := 0; j < 16; j++ {
					*(*int8)(unsafe.Add(o, 4*j+i)) = *(*int8)(unsafe.Add(row, j))
				}
			}
		}
	}
}

// colBiasDot is the Go twin of the SDOT column-sum kernel.
func colBiasDot(b *int8, np, nch int, cd *int32, cdStride int, kzz, azp int) {
	for p := 0; p < np; p++ {
		panel := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(b), p*nch*256)), nch*256)
		c := unsafe.Slice((*int32)(unsafe.Add(unsafe.Pointer(cd), p*cdStride)), 16)
		for j := 0; j < 16; j++ {
			var s int32
			for g := 0; g < 4*nch; g++ {
				for i := 0; i < 4; i++ {
					s += int32(panel[g*64+4*j+i])
				}
			}
			c[j] = int32(kzz) - int32(azp)*s
		}
	}
}

// rowSums is the Go twin of the row-sum kernel.
func rowSums(a *int8, lda, rows, nch, s1 int, mask *[16]int8, bzp int, rb *[4]int32) {
	for m := 0; m < 4; m++ {
		row := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(a), min(m, rows-1)*lda)), s1+16*(nch-1))
		var s int32
		for c := 0; c < nch; c++ {
			st := chunkStart(c, s1)
			for i := 0; i < 16; i++ {
				v := row[st+i]
				if c == 1 {
					v &= mask[i]
				}
				s += int32(v)
			}
		}
		rb[m] = -int32(bzp) * s
	}
}

// packColsV80 is the Go twin of the transposing v80 packing kernel.
func packColsV80(dst, src *int8, ld, np, nch, s1 int, mask *[16]int8) int8 {
	d := unsafe.Slice(dst, np*nch*128)
	m := int8(127)
	for col := 0; col < 8*np; col++ {
		p, j := col/8, col%8
		for c := 0; c < nch; c++ {
			st := chunkStart(c, s1)
			for i := 0; i < 16; i++ {
				v := *(*int8)(unsafe.Add(unsafe.Pointer(src), (st+i)*ld+col))
				m = min(m, v)
				if c == 1 {
					v &= mask[i]
				}
				d[p*nch*128+v80Layout.offset(c, j, i)] = v
			}
		}
	}
	return m
}

// packRowsV80 is the Go twin of the v80 row-copy packing kernel.
func packRowsV80(dst, src *int8, ld, n, np, nch, s1 int, mask *[16]int8) int8 {
	k := s1 + 16*(nch-1)
	d := unsafe.Slice(dst, np*nch*128)
	m := int8(127)
	for col := 0; col < 8*np; col++ {
		row := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(src), min(col, n-1)*ld)), k)
		p, j := col/8, col%8
		for c := 0; c < nch; c++ {
			st := chunkStart(c, s1)
			for i := 0; i < 16; i++ {
				v := row[st+i]
				m = min(m, v)
				if c == 1 {
					v &= mask[i]
				}
				d[p*nch*128+v80Layout.offset(c, j, i)] = v
			}
		}
	}
	return m
}

// colBiasV80 is the Go twin of the v80 column-sum kernel.
func colBiasV80(b *int8, np, nch int, cd *int32, cdStride int, kzz, azp int) {
	for p := 0; p < np; p++ {
		panel := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(b), p*nch*128)), nch*128)
		c := unsafe.Slice((*int32)(unsafe.Add(unsafe.Pointer(cd), p*cdStride)), 8)
		for j := 0; j < 8; j++ {
			var s int32
			for ch := 0; ch < nch; ch++ {
				for i := 0; i < 16; i++ {
					s += int32(panel[v80Layout.offset(ch, j, i)])
				}
			}
			c[j] = int32(kzz) - int32(azp)*s
		}
	}
}
