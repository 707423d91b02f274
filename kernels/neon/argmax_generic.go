//go:build !arm64 || purego

package neon

import "unsafe"

// argmaxRows is the Go twin of the ArgMax kernels: per row the maximum,
// then the first lane holding it, found through the same ranks (lanes
// 16…1 in each 16-byte block, the last block ending at the row's end)
// the kernels take from argmaxLanes. For axis < 16 the row's lanes past
// axis read as −128 and rank below every row lane, as argmaxShort's do.
func argmaxRows(x *int8, out *int32, rows, axis int, lanes *[32]int8) {
	span := max(axis, 16)
	xs := unsafe.Slice(x, (rows-1)*axis+span)
	os := unsafe.Slice(out, rows)
	rank := lanes[16:]
	for r := range os {
		row := xs[r*axis : r*axis+span]
		m := int8(-128)
		for j, v := range row {
			if j >= axis {
				v = -128
			}
			m = max(m, v)
		}
		best := -1
		// Blocks at 0, 16, …, then one ending at the row's end (axis ≥ 16).
		for off := 0; best < 0; off += 16 {
			if off+16 > span {
				off = span - 16
			}
			t := int8(0)
			for j := range 16 {
				v := row[off+j]
				if off+j >= axis {
					v = -128
				}
				if v == m {
					t = max(t, rank[j])
				}
			}
			if t > 0 {
				best = off + 16 - int(t)
			}
		}
		os[r] = int32(best)
	}
}

func argmaxShort(x *int8, out *int32, rows, axis int, lanes *[32]int8) {
	argmaxRows(x, out, rows, axis, lanes)
}

func argmax32(x *int8, out *int32, rows, axis int, lanes *[32]int8) {
	argmaxRows(x, out, rows, axis, lanes)
}

func argmaxLong(x *int8, out *int32, rows, axis int, lanes *[32]int8) {
	argmaxRows(x, out, rows, axis, lanes)
}
