//go:build !arm64 || purego

package neon

import "unsafe"

// tapCell is the Go twin of the TokenAwareAvgPool cell kernel: the same
// three passes in the same int32 arithmetic (wrap-around), and the
// requantization as SQDMULH then SRSHL.
func tapCell(taps **int8, nb int, coef *int32, n16 int, acc *int32, out *int8, q *[4]int32) {
	n := 16 * n16
	ts := unsafe.Slice(taps, 1+8*nb)
	cs := unsafe.Slice(coef, 1+nb)
	as := unsafe.Slice(acc, n)
	row := func(t *int8) []int8 { return unsafe.Slice(t, n) }
	for i, v := range row(ts[0]) {
		as[i] = q[0] + cs[0]*int32(v)
	}
	for b := 0; b < nb; b++ {
		for i := range as {
			var s int32
			for _, t := range ts[1+8*b : 9+8*b] {
				s += int32(row(t)[i])
			}
			as[i] += cs[1+b] * s
		}
	}
	os := unsafe.Slice(out, n)
	for i, v := range as {
		r := int32((int64(v) * int64(q[1])) >> 31) // SQDMULH (no saturation: q[1] > −2^31)
		r = int32(sqrshl(int64(r), q[2])) + q[3]
		os[i] = int8(max(-128, min(127, r)))
	}
}

// zoDigits is the Go twin of the ZOSensitivity digit kernel.
func zoDigits(gz *int16, a *int8, n16 int, dig *int8, f int) {
	n := 16 * n16
	gs, as := unsafe.Slice(gz, n), unsafe.Slice(a, n)
	ds := unsafe.Slice(dig, 2*f+n)
	for c, g := range gs {
		t := int32(g) * int32(as[c])
		t1 := (t + 128) >> 8
		ds[c], ds[f+c], ds[2*f+c] = int8(t), int8(t1), int8((t1+128)>>8)
	}
}
