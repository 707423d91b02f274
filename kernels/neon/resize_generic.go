//go:build !arm64 || purego

package neon

import "unsafe"

// resizeH is the Go twin of the horizontal kernel.
func resizeH(in *int8, t *int32, ow, c int, cols *int32) {
	cs := unsafe.Slice(cols, 4*ow)
	ts := unsafe.Slice(t, ow*c)
	for ox := range ow {
		col := cs[4*ox : 4*ox+4]
		l := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(in), col[0])), c)
		r := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(in), col[1])), c)
		o := ts[ox*c : (ox+1)*c]
		for i, lv := range l {
			o[i] = int32(lv)*col[2] + int32(r[i])*col[3] + 1024
		}
	}
}

// resizeV is the Go twin of the vertical kernel.
func resizeV(t, b *int32, out *int8, n int, w *[2]int32) {
	resizeVertical(unsafe.Slice(t, n), unsafe.Slice(b, n), unsafe.Slice(out, n), w)
}
