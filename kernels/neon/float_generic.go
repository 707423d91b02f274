//go:build !arm64 || purego

package neon

import (
	"math"
	"unsafe"
)

// gemmF32 is the Go twin of the FMLA micro-kernel: the same fused
// multiply-adds in the same order (math.FMA in float64, then rounded to
// float32; the tolerance against ref covers either), the same packed
// layouts and mode bits.
func gemmF32(a *float32, kc int, b *float32, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32) {
	as := unsafe.Slice(a, 8*kc)
	for p := 0; p < np; p++ {
		bs := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(b), p*pstride)), 12*kc)
		bi := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(bias), 48*p)), 12)
		for r := 0; r < rows; r++ {
			o := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(out), r*ldo+48*p)), 12)
			for j := 0; j < 12; j++ {
				var acc float32
				if mode&1 != 0 {
					acc = o[j]
				}
				for kk := 0; kk < kc; kk++ {
					acc = float32(math.FMA(float64(as[8*kk+r]), float64(bs[12*kk+j]), float64(acc)))
				}
				if mode&2 != 0 {
					acc += bi[j]
				}
				if mode&4 != 0 {
					if acc < clip[0] {
						acc = clip[0]
					}
					if acc > clip[1] {
						acc = clip[1]
					}
				}
				o[j] = acc
			}
		}
	}
}

// packA8 is the Go twin of the A packer.
func packA8(a *float32, lda, k4 int, dst *float32) {
	d := unsafe.Slice(dst, 32*k4)
	for r := 0; r < 8; r++ {
		row := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(a), r*lda)), 4*k4)
		for kk, v := range row {
			d[8*kk+r] = v
		}
	}
}
