package x86

import "unsafe"

// sumLanes adds sumF64's sixteen lanes in the assembly's order: the four
// ymm accumulators (lanes 0–3, 4–7, 8–11, 12–15) as (a0 + a1) + (a2 + a3),
// then the high 128 bits onto the low, then the two doubles.
func sumLanes(acc *[16]float64) float64 {
	var v [4]float64
	for k := range v {
		v[k] = (acc[k] + acc[k+4]) + (acc[k+8] + acc[k+12])
	}
	return (v[0] + v[2]) + (v[1] + v[3])
}

// sumLanes32 adds statsF64Z's 32 lanes in its order: lane j and j + 16,
// then the 16 as sumLanes.
func sumLanes32(acc *[32]float64) float64 {
	var b [16]float64
	for j := range b {
		b[j] = acc[j] + acc[j+16]
	}
	return sumLanes(&b)
}

// unsafeF32 is the n float32 values at p.
func unsafeF32(p *float32, n int) []float32 { return unsafe.Slice(p, n) }
