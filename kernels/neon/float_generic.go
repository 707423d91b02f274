//go:build !arm64 || purego

package neon

import (
	"math"
	"unsafe"
)

// gemmF32 is the Go twin of the FMLA micro-kernel: the product of step
// 0, then the same fused multiply-adds in the same order (math.FMA in float64, then rounded to
// float32; the tolerance against ref covers either), the same packed
// layouts and mode bits.
func gemmF32(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32) {
	gemmF32Cols(a, kc, b, ldb, pstride, np, out, ldo, rows, mode, bias, clip, 12)
}

// gemmF32n8 is the Go twin of the 8-column tail kernel.
func gemmF32n8(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32) {
	gemmF32Cols(a, kc, b, ldb, pstride, np, out, ldo, rows, mode, bias, clip, 8)
}

// gemmF32n4 is the Go twin of the 4-column tail kernel.
func gemmF32n4(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32) {
	gemmF32Cols(a, kc, b, ldb, pstride, np, out, ldo, rows, mode, bias, clip, 4)
}

// gemmF32m6 is the Go twin of the 6-row kernel.
func gemmF32m6(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32) {
	gemmF32Cols(a, kc, b, ldb, pstride, np, out, ldo, rows, mode, bias, clip, 12)
}

// gemmF32m4 is the Go twin of the 4-row kernel.
func gemmF32m4(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32) {
	gemmF32Cols(a, kc, b, ldb, pstride, np, out, ldo, rows, mode, bias, clip, 12)
}

func gemmF32Cols(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32, cols int) {
	as := unsafe.Slice(a, 8*kc)
	for p := 0; p < np; p++ {
		bp := unsafe.Add(unsafe.Pointer(b), p*pstride)
		bat := func(kk, j int) float32 { return *(*float32)(unsafe.Add(bp, kk*ldb+4*j)) }
		bi := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(bias), 48*p)), 12)
		for r := 0; r < rows; r++ {
			o := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(out), r*ldo+4*cols*p)), cols)
			for j := 0; j < cols; j++ {
				var acc float32
				kk := 0
				if mode&1 != 0 {
					acc = o[j]
				} else {
					acc = float32(float64(as[r]) * float64(bat(0, j))) // step 0: the product, rounded once
					kk = 1
				}
				for ; kk < kc; kk++ {
					acc = float32(math.FMA(float64(as[8*kk+r]), float64(bat(kk, j)), float64(acc)))
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
func packA8(a *float32, lda, k4 int, dst *float32) { packRowsF32(a, lda, k4, dst, 8) }

// packB12 is the Go twin of the B packer.
func packB12(a *float32, lda, k4 int, dst *float32) { packRowsF32(a, lda, k4, dst, 12) }

func packRowsF32(a *float32, lda, k4 int, dst *float32, rows int) {
	d := unsafe.Slice(dst, rows*4*k4)
	for r := 0; r < rows; r++ {
		row := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(a), r*lda)), 4*k4)
		for kk, v := range row {
			d[rows*kk+r] = v
		}
	}
}

// fma32 is one fused multiply-add rounded to float32 (a float64 FMA, then
// the rounding; the tolerances cover a double rounding).
func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }

// exp32 is the Go twin of the vector exp, lane by lane.
func exp32(x float32, k *mathConsts) float32 {
	if x != x {
		return x
	}
	x = max(x, k[0]) // x ≤ 0: no upper clamp
	n := float32(math.RoundToEven(float64(x * k[2])))
	x = fma32(-n, k[3], x)
	x = fma32(-n, k[4], x)
	t := fma32(k[5], x, k[6])
	for i := 7; i <= 10; i++ {
		t = fma32(t, x, k[i])
	}
	x = fma32(t, x*x, x) + k[11]
	return x * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// geluF32 is the Go twin of the vector GELU.
func geluF32(x, out *float32, n4 int, k *mathConsts) {
	xs, os := unsafe.Slice(x, 4*n4), unsafe.Slice(out, 4*n4)
	for i, v := range xs {
		z := float32(math.Abs(float64(v * k[13])))
		t := k[11] / fma32(k[14], z, k[11])
		p := fma32(k[15], t, k[16])
		for j := 17; j <= 19; j++ {
			p = fma32(p, t, k[j])
		}
		q := p * t * exp32(-(z*z), k) // q/2: the coefficients are halved
		if !(v < 0) {
			q = k[11] - q
		}
		os[i] = v * q
	}
}

// maxF32 is the Go twin of the FMAX reduction.
func maxF32(x *float32, n4 int) float32 {
	xs := unsafe.Slice(x, 4*n4)
	m := xs[0]
	for _, v := range xs {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

// expSumF32 is the Go twin of the exp and sum, with the same 4 lanes.
func expSumF32(x, e *float32, n4 int, bm *[2]float32, k *mathConsts) float32 {
	xs, es := unsafe.Slice(x, 4*n4), unsafe.Slice(e, 4*n4)
	var lane [4]float32
	for i, v := range xs {
		es[i] = exp32(float32(v*bm[0])-bm[1], k)
		lane[i%4] += es[i]
	}
	return (lane[0] + lane[1]) + (lane[2] + lane[3])
}

// scaleF32 is the Go twin of the scaling.
func scaleF32(x *float32, n4 int, s float32) {
	for i, v := range unsafe.Slice(x, 4*n4) {
		unsafe.Slice(x, 4*n4)[i] = v * s
	}
}

// addF32 is the Go twin of the vector Add.
func addF32(a, b, out *float32, n16 int, clip *[2]float32, clamp int) {
	binaryF32(a, b, out, n16, clip, clamp, func(x, y float32) float32 { return x + y })
}

// divF32 is the Go twin of the vector Div.
func divF32(a, b, out *float32, n16 int, clip *[2]float32, clamp int) {
	binaryF32(a, b, out, n16, clip, clamp, func(x, y float32) float32 { return x / y })
}

// binaryF32 writes out = f(a, b) for n16·16 values, clamped as the vector
// routines clamp.
func binaryF32(a, b, out *float32, n16 int, clip *[2]float32, clamp int, f func(x, y float32) float32) {
	as, bs, os := unsafe.Slice(a, 16*n16), unsafe.Slice(b, 16*n16), unsafe.Slice(out, 16*n16)
	for i := range os {
		v := f(as[i], bs[i])
		if clamp != 0 {
			if v < clip[0] {
				v = clip[0]
			}
			if v > clip[1] {
				v = clip[1]
			}
		}
		os[i] = v
	}
}

// lnRowF32 is the Go twin of the LayerNorm affine step.
func lnRowF32(x, out *float32, n16 int, gamma, beta *float32, mr *[2]float32) {
	xs, os := unsafe.Slice(x, 16*n16), unsafe.Slice(out, 16*n16)
	gs, bs := unsafe.Slice(gamma, 16*n16), unsafe.Slice(beta, 16*n16)
	for i, v := range xs {
		t := float32(v - mr[0])
		u := float32(t * mr[1])
		w := float32(u * gs[i])
		os[i] = float32(w + bs[i])
	}
}

// sumF64 is the Go twin of the float64 row sum: lanes i%8 summed in
// order, then (0+4 + 2+6) + (1+5 + 3+7) as the assembly reduces them.
func sumF64(x *float32, n16 int) float64 {
	var l [8]float64
	for i, v := range unsafe.Slice(x, 16*n16) {
		l[i%8] += float64(v)
	}
	return reduce8(&l)
}

// ssF64 is the Go twin of the float64 sum of squares.
func ssF64(x *float32, n16 int, mean float64) float64 {
	var l [8]float64
	for i, v := range unsafe.Slice(x, 16*n16) {
		t := float64(v) - mean
		l[i%8] = math.FMA(t, t, l[i%8])
	}
	return reduce8(&l)
}

// reduce8 adds the eight lanes as the assembly does: lanes 2j and 2j+1
// are accumulator V(16+j); V16 + V17 and V18 + V19, then the two, then
// the pair.
func reduce8(l *[8]float64) float64 {
	a := [2]float64{l[0] + l[2], l[1] + l[3]}
	b := [2]float64{l[4] + l[6], l[5] + l[7]}
	c := [2]float64{a[0] + b[0], a[1] + b[1]}
	return c[0] + c[1]
}
