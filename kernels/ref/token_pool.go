package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// AdaptiveWindows returns PyTorch's adaptive-average-pool windows for an
// axis of length in pooled to out: output i covers
// [⌊i·in/out⌋, ⌈(i+1)·in/out⌉). Windows may overlap when out does not
// divide in (14 → 8 gives sizes 2,3,3,2,2,3,3,2).
func AdaptiveWindows(in, out int) []kernels.Window {
	w := make([]kernels.Window, out)
	for i := range w {
		w[i] = kernels.Window{Lo: i * in / out, Hi: ((i+1)*in + out - 1) / out}
	}
	return w
}

// gridRows fills rowOf[g] with the input row holding grid cell g, or −1.
// Unmasked: row Prefix+g. Masked: from pos over the live rows (a position
// outside the grid or repeated keeps its first row).
func gridRows(rowOf []int32, rows, prefix int, pos []int16, masked bool) {
	if !masked {
		for g := range rowOf {
			rowOf[g] = int32(prefix + g)
		}
		return
	}
	for g := range rowOf {
		rowOf[g] = -1
	}
	for r := 0; r < rows && r < len(pos); r++ {
		g := int(pos[r])
		if g >= 0 && g < len(rowOf) && rowOf[g] < 0 {
			rowOf[g] = int32(r)
		}
	}
}

// AdaptiveTokenPoolFloat pools the grid tokens of x into out (see
// kernels.AdaptiveTokenPoolParams). Each window's sum runs in float64 in
// row-major window order and is divided by the number of present tokens;
// a window with none gives 0. rowOf is scratch of GridH·GridW entries;
// pos is read only when p.Masked.
func AdaptiveTokenPoolFloat(p *kernels.AdaptiveTokenPoolParams, x []float32, pos []int16, rowOf []int32, out []float32) {
	D := p.D
	gridRows(rowOf, p.Rows, p.Prefix, pos, p.Masked)
	o := 0
	if p.KeepPrefix {
		copy(out[:p.Prefix*D], x[:p.Prefix*D])
		o = p.Prefix
	}
	var sum [accTile]float64
	for oh, rw := range p.RowWin {
		for ow, cw := range p.ColWin {
			dst := out[(o+oh*p.OutW+ow)*D : (o+oh*p.OutW+ow+1)*D]
			for c0 := 0; c0 < D; c0 += accTile {
				s := sum[:min(accTile, D-c0)]
				clear(s)
				n := 0
				for ih := rw.Lo; ih < rw.Hi; ih++ {
					for iw := cw.Lo; iw < cw.Hi; iw++ {
						r := rowOf[ih*p.GridW+iw]
						if r < 0 {
							continue
						}
						n++
						src := x[int(r)*D+c0:]
						for j := range s {
							s[j] += float64(src[j])
						}
					}
				}
				for j, v := range s {
					if n == 0 {
						dst[c0+j] = 0
					} else {
						dst[c0+j] = float32(v / float64(n))
					}
				}
			}
		}
	}
}

// AdaptiveTokenPoolInt8 is AdaptiveTokenPoolFloat on int8 tokens whose
// quantization the output shares: each window's integer sum is divided by
// its count rounding half away from zero (exact); an empty window gives
// the zero point.
func AdaptiveTokenPoolInt8(p *kernels.AdaptiveTokenPoolParams, x []int8, pos []int16, rowOf []int32, out []int8) {
	D := p.D
	gridRows(rowOf, p.Rows, p.Prefix, pos, p.Masked)
	o := 0
	if p.KeepPrefix {
		copy(out[:p.Prefix*D], x[:p.Prefix*D])
		o = p.Prefix
	}
	var sum [accTile]int32
	for oh, rw := range p.RowWin {
		for ow, cw := range p.ColWin {
			dst := out[(o+oh*p.OutW+ow)*D : (o+oh*p.OutW+ow+1)*D]
			for c0 := 0; c0 < D; c0 += accTile {
				s := sum[:min(accTile, D-c0)]
				clear(s)
				n := int32(0)
				for ih := rw.Lo; ih < rw.Hi; ih++ {
					for iw := cw.Lo; iw < cw.Hi; iw++ {
						r := rowOf[ih*p.GridW+iw]
						if r < 0 {
							continue
						}
						n++
						src := x[int(r)*D+c0:]
						for j := range s {
							s[j] += int32(src[j])
						}
					}
				}
				for j, v := range s {
					if n == 0 {
						dst[c0+j] = int8(p.ZP)
					} else {
						dst[c0+j] = int8(quant.Clamp(divRoundAway(v, n), quant.Int8Min, quant.Int8Max))
					}
				}
			}
		}
	}
}

// neighbours3 returns the in-grid rows [h0, h1) and columns [w0, w1) of
// the 3×3 window (stride 1, padding 1) around grid cell (h, w).
func neighbours3(h, w, gh, gw int) (h0, h1, w0, w1 int) {
	return max(0, h-1), min(gh, h+2), max(0, w-1), min(gw, w+2)
}

// PoolMixerFloat computes PoolFormer's mixer on the grid rows of x:
// out = (Σ valid 3×3 neighbours)/count − x, with the sum in float64 in
// row-major tap order; the Prefix rows of out are 0, so that a residual
// add leaves the class token unchanged.
func PoolMixerFloat(p *kernels.PoolMixerParams, x, out []float32) {
	D := p.D
	clear(out[:p.Prefix*D])
	g := x[p.Prefix*D:]
	o := out[p.Prefix*D:]
	var sum [accTile]float64
	for h := 0; h < p.GridH; h++ {
		for w := 0; w < p.GridW; w++ {
			h0, h1, w0, w1 := neighbours3(h, w, p.GridH, p.GridW)
			n := float64((h1 - h0) * (w1 - w0))
			cell := (h*p.GridW + w) * D
			for c0 := 0; c0 < D; c0 += accTile {
				s := sum[:min(accTile, D-c0)]
				clear(s)
				for ih := h0; ih < h1; ih++ {
					for iw := w0; iw < w1; iw++ {
						src := g[(ih*p.GridW+iw)*D+c0:]
						for j := range s {
							s[j] += float64(src[j])
						}
					}
				}
				for j, v := range s {
					o[cell+c0+j] = float32(v/n - float64(g[cell+c0+j]))
				}
			}
		}
	}
}

// PoolMixerInt8 is PoolMixerFloat in integers: with x' = x − InZP, the
// exact v = Σ x' − n·x' over the n valid taps gives
// out = OutZP + Mult[n]·v, one rounding; Prefix rows get OutZP.
func PoolMixerInt8(p *kernels.PoolMixerParams, x, out []int8) {
	D := p.D
	for i := range out[:p.Prefix*D] {
		out[i] = int8(p.OutZP)
	}
	g := x[p.Prefix*D:]
	o := out[p.Prefix*D:]
	var sum [accTile]int32
	for h := 0; h < p.GridH; h++ {
		for w := 0; w < p.GridW; w++ {
			h0, h1, w0, w1 := neighbours3(h, w, p.GridH, p.GridW)
			n := (h1 - h0) * (w1 - w0)
			m := p.Mult[n]
			cell := (h*p.GridW + w) * D
			for c0 := 0; c0 < D; c0 += accTile {
				s := sum[:min(accTile, D-c0)]
				clear(s)
				for ih := h0; ih < h1; ih++ {
					for iw := w0; iw < w1; iw++ {
						src := g[(ih*p.GridW+iw)*D+c0:]
						for j := range s {
							s[j] += int32(src[j]) - p.InZP
						}
					}
				}
				for j, v := range s {
					v -= int32(n) * (int32(g[cell+c0+j]) - p.InZP)
					q := int64(p.OutZP) + int64(m.ApplyMode(v, p.Rounding))
					o[cell+c0+j] = int8(max(quant.Int8Min, min(quant.Int8Max, q)))
				}
			}
		}
	}
}

// SiLU returns x·σ(x).
func SiLU(x float64) float64 { return x / (1 + math.Exp(-x)) }

// SwiGLUFloat computes out = SiLU(gate)·up elementwise (SiLU in float64,
// the product rounded to float32).
func SwiGLUFloat(gate, up, out []float32) {
	for i := range out {
		out[i] = float32(SiLU(float64(gate[i])) * float64(up[i]))
	}
}

// NewSwiGLUParams builds the int8 SwiGLU parameters for gate, up and
// output quantizations g, u and o.
func NewSwiGLUParams(g, u, o quant.Params, r quant.Rounding) (kernels.SwiGLUParams, error) {
	var vals [256]float64
	peak := 0.0
	for i := range vals {
		vals[i] = SiLU(float64(g.Scale) * float64(int32(i)+quant.Int8Min-g.ZeroPoint))
		peak = math.Max(peak, math.Abs(vals[i]))
	}
	if peak == 0 {
		peak = 1
	}
	sa := peak / quant.Int16Max
	t := new([256]int16)
	for i, v := range vals {
		t[i] = int16(math.Max(quant.Int16Min, math.Min(quant.Int16Max, math.Round(v/sa))))
	}
	m, err := quant.NewMultiplier(sa * float64(u.Scale) / float64(o.Scale))
	if err != nil {
		return kernels.SwiGLUParams{}, err
	}
	return kernels.SwiGLUParams{Act: t, UpZP: u.ZeroPoint, OutZP: o.ZeroPoint, Mult: m, Rounding: r}, nil
}

// SwiGLUInt8 computes out = OutZP + Mult·(Act[gate]·(up − UpZP)), one
// rounding per element (see kernels.SwiGLUParams).
func SwiGLUInt8(p *kernels.SwiGLUParams, gate, up, out []int8) {
	for i := range out {
		v := int32(p.Act[uint8(gate[i])^0x80]) * (int32(up[i]) - p.UpZP)
		q := int64(p.OutZP) + int64(p.Mult.ApplyMode(v, p.Rounding))
		out[i] = int8(max(quant.Int8Min, min(quant.Int8Max, q)))
	}
}

// GGeMFloat computes group generalized-mean pooling (see
// kernels.GGeMParams) into out [D]: negative values and values below Eps
// are clamped to Eps (the GeM convention), powers and the mean in
// float64, tokens summed in order.
func GGeMFloat(p *kernels.GGeMParams, x, out []float32) {
	n := p.Rows - p.Prefix
	gs := p.D / p.Groups
	for d := 0; d < p.D; d++ {
		e := float64(p.P[d/gs])
		var s float64
		for r := p.Prefix; r < p.Rows; r++ {
			s += math.Pow(math.Max(float64(x[r*p.D+d]), float64(p.Eps)), e)
		}
		out[d] = ggemRoot(s, n, e)
	}
}

func ggemRoot(s float64, n int, e float64) float32 {
	if n <= 0 {
		return 0
	}
	return float32(math.Pow(s/float64(n), 1/e))
}

// NewGGeMTables returns the int8 power tables Pow[g][q+128] =
// max(s·(q − z), eps)^P[g] for input parameters in.
func NewGGeMTables(in quant.Params, pw []float32, eps float32) [][256]float64 {
	t := make([][256]float64, len(pw))
	for g, e := range pw {
		for i := range t[g] {
			v := float64(in.Scale) * float64(int32(i)+quant.Int8Min-in.ZeroPoint)
			t[g][i] = math.Pow(math.Max(v, float64(eps)), float64(e))
		}
	}
	return t
}

// GGeMInt8 is GGeMFloat on int8 tokens: each code's power comes from the
// group's table, the sums run in float64 in token order, the root in
// float64, and the result is quantized to p.Out (half away from zero).
func GGeMInt8(p *kernels.GGeMParams, x, out []int8) {
	n := p.Rows - p.Prefix
	gs := p.D / p.Groups
	for d := 0; d < p.D; d++ {
		g := d / gs
		t := &p.Pow[g]
		var s float64
		for r := p.Prefix; r < p.Rows; r++ {
			s += t[uint8(x[r*p.D+d])^0x80]
		}
		out[d] = int8(p.Out.Quantize(ggemRoot(s, n, float64(p.P[g])), quant.Int8Min, quant.Int8Max))
	}
}

// TAPFloat computes TokenAwareAvgPool (see kernels.TAPParams): logits
// [GridH·GridW, K] give per-token softmax weights (float64) over the
// branches; branch d > 0 sums the 3×3 taps at distance d that fall inside
// the grid and divides by 9 (zero padding counts); branch 0 is the token.
// Prefix rows pass through. w is scratch of K float64.
func TAPFloat(p *kernels.TAPParams, x, logits []float32, w []float64, out []float32) {
	D, K := p.D, len(p.Dilations)
	copy(out[:p.Prefix*D], x[:p.Prefix*D])
	g := x[p.Prefix*D:]
	o := out[p.Prefix*D:]
	for h := 0; h < p.GridH; h++ {
		for c := 0; c < p.GridW; c++ {
			cell := h*p.GridW + c
			l := logits[cell*K : (cell+1)*K]
			mx := math.Inf(-1)
			for _, v := range l {
				mx = math.Max(mx, float64(v))
			}
			var sum float64
			for k, v := range l {
				w[k] = math.Exp(float64(v) - mx)
				sum += w[k]
			}
			for k := range w[:K] {
				w[k] /= sum
			}
			dst := o[cell*D : (cell+1)*D]
			for j := range dst {
				var acc float64
				for k, d := range p.Dilations {
					if d == 0 {
						acc += w[k] * float64(g[cell*D+j])
						continue
					}
					var s float64
					for dy := -1; dy <= 1; dy++ {
						ih := h + dy*d
						if ih < 0 || ih >= p.GridH {
							continue
						}
						for dx := -1; dx <= 1; dx++ {
							iw := c + dx*d
							if iw < 0 || iw >= p.GridW {
								continue
							}
							s += float64(g[(ih*p.GridW+iw)*D+j])
						}
					}
					acc += float64(w[k] * (s / 9))
				}
				dst[j] = float32(acc)
			}
		}
	}
}

// TAPInt8 is TAPFloat in integers: the weights are the int8 softmax of
// the logits (table Exp) rounded to Q15, each branch is an exact integer
// (9·x' for the identity, the sum of in-grid taps of x' = x − InZP
// otherwise), and out = OutZP + Mult·Σ_k w_k·branch_k, one rounding. w is
// scratch of K int32.
func TAPInt8(p *kernels.TAPParams, x, logits []int8, w []int32, out []int8) {
	D, K := p.D, len(p.Dilations)
	for i, v := range x[:p.Prefix*D] {
		q := int64(p.OutZP) + int64(p.PassMult.ApplyMode(int32(v)-p.InZP, p.Rounding))
		out[i] = int8(max(quant.Int8Min, min(quant.Int8Max, q)))
	}
	g := x[p.Prefix*D:]
	o := out[p.Prefix*D:]
	for h := 0; h < p.GridH; h++ {
		for c := 0; c < p.GridW; c++ {
			cell := h*p.GridW + c
			l := logits[cell*K : (cell+1)*K]
			mx := l[0]
			for _, v := range l {
				mx = max(mx, v)
			}
			var sum uint64
			for _, v := range l {
				sum += uint64(p.Exp[uint8(int(mx)-int(v))])
			}
			for k, v := range l {
				w[k] = int32((uint64(p.Exp[uint8(int(mx)-int(v))])<<15 + sum/2) / sum)
			}
			dst := o[cell*D : (cell+1)*D]
			for j := range dst {
				var acc int32
				for k, d := range p.Dilations {
					if d == 0 {
						acc += w[k] * 9 * (int32(g[cell*D+j]) - p.InZP)
						continue
					}
					var s int32
					for dy := -1; dy <= 1; dy++ {
						ih := h + dy*d
						if ih < 0 || ih >= p.GridH {
							continue
						}
						for dx := -1; dx <= 1; dx++ {
							iw := c + dx*d
							if iw < 0 || iw >= p.GridW {
								continue
							}
							s += int32(g[(ih*p.GridW+iw)*D+j]) - p.InZP
						}
					}
					acc += w[k] * s
				}
				q := int64(p.OutZP) + int64(p.Mult.ApplyMode(acc, p.Rounding))
				dst[j] = int8(max(quant.Int8Min, min(quant.Int8Max, q)))
			}
		}
	}
}
