//go:build !amd64 || purego

package x86

import (
	"math"
	"unsafe"
)

// dwConv3x3 is the Go twin of the depthwise micro-kernel: the same packed
// layout and the same arithmetic (int32 sums of the tap pairs, then the
// epilogue's steps with its saturations).
func dwConv3x3(rows *[3]*int8, dC, step, ow int, w *int16, cd *int32, out *int8, ldo int, q *epilogue, scale int) {
	ws := unsafe.Slice(w, dwGroupW)
	c := unsafe.Slice(cd, cdWords)
	for o := 0; o < ow; o++ {
		var taps [10]unsafe.Pointer
		for t := 0; t < 9; t++ {
			taps[t] = unsafe.Add(unsafe.Pointer(rows[t/3]), o*step+(t%3)*dC)
		}
		od := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(out), o*ldo)), 16)
		for k := 0; k < 16; k++ {
			hi, l := k/8, k%8
			acc := c[k]
			for pr := 0; pr < dwPairs; pr++ {
				for j := 0; j < 2; j++ {
					t := 2*pr + j
					if t == 9 {
						continue
					}
					// lane l of accumulator hi: int16 pair 2·(l%4)+j of
					// 128-bit lane l/4 in the pair's vector hi.
					wv := ws[(2*pr+hi)*16+8*(l/4)+2*(l%4)+j]
					xv := *(*int8)(unsafe.Add(taps[t], dwChannel(k)))
					acc += int32(xv) * int32(wv)
				}
			}
			var v int32
			if scale != 0 {
				f := float32(float32(acc) * math.Float32frombits(uint32(c[16+k])))
				v = int32(math.RoundToEven(float64(max(-1<<30, min(1<<30, f)))))
			} else {
				qv := int32((int64(acc) * int64(c[16+k])) >> 31)
				v = ((qv >> c[48+k]) + 1) >> 1
			}
			v = max(-32768, min(32767, v))
			v = max(-32768, min(32767, v+int32(q.zp[0])))
			v = max(int32(q.lo[0]), min(int32(q.hi[0]), v))
			od[dwChannel(k)] = int8(v)
		}
	}
}
