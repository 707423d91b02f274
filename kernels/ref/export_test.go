package ref

// Plan returns a resize's sampling plan along the rows (or the columns):
// the lower and upper input index and the Q11 weight of the upper one.
func (r *ResizeBilinear) Plan(rows bool) (lo, hi []int, q11 []int32) {
	a, b, w := r.left, r.right, r.wx
	if rows {
		a, b, w = r.top, r.bottom, r.wy
	}
	for i := range a {
		lo, hi = append(lo, int(a[i])), append(hi, int(b[i]))
	}
	return lo, hi, w
}
