package neon

import "github.com/edgeinfer/edgeinfer/kernels/ref"

// argmaxLanes is the ArgMax kernels' constant: the lane numbers 0…15,
// then the ranks 16…1 (an earlier lane ranks higher).
var argmaxLanes = [32]int8{
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
}

// ArgMaxInt8 is ref.ArgMaxInt8, bit for bit (the first of equal maxima).
// A contiguous axis (inner == 1, a class map's last axis) runs the
// kernels: argmaxShort for fewer than 16 values (a 16-byte window from
// each row's start, its lanes past the row masked to −128; the last rows,
// whose window would pass the end of x, run ref), argmax32 for 16 to 32
// and argmaxLong beyond. Any other layout runs ref.
func ArgMaxInt8(x []int8, out []int32, outer, axis, inner int) {
	if inner != 1 || axis < 1 || outer < 1 {
		ref.ArgMaxInt8(x, out, outer, axis, inner)
		return
	}
	x, out = x[:outer*axis], out[:outer]
	switch {
	case axis > 32:
		argmaxLong(&x[0], &out[0], outer, axis, &argmaxLanes)
	case axis >= 16:
		argmax32(&x[0], &out[0], outer, axis, &argmaxLanes)
	default:
		n := 0 // rows with 16 bytes from their start inside x
		if len(x) >= 16 {
			n = min(outer, (len(x)-16)/axis+1)
		}
		if n > 0 {
			argmaxShort(&x[0], &out[0], n, axis, &argmaxLanes)
		}
		ref.ArgMaxInt8(x[n*axis:], out[n:], outer-n, axis, 1)
	}
}
