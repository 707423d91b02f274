package ref

import "github.com/edgeinfer/edgeinfer/kernels"

// DiverseSelectDots is the greedy selection of DiverseSelectInt8 and
// DiverseSelectFloat for an accelerated kernel that computes the dot
// products itself: sc.Norm must hold the norms of the candidate rows
// Prefix…Rows−1, and dot(a, b) the dot product of rows a and b, exactly
// as DiverseSelectInt8 (or Float) would; the output is then identical.
func DiverseSelectDots(p *kernels.DiverseSelectParams, s []float32, sc *SelectScratch, dot func(a, b int) float64, idx []int16) {
	diverseSelect(p, s, sc, dot, idx)
}
