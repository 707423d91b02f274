package ref

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// EfficientProbeFloat computes Efficient Probing (see
// kernels.EfficientProbeParams): for each query m,
// a_i = softmax_i(Scale·q_m·x_i) over the keys First…Rows−1 and
// out[m·C+c] = Σ_i a_i·v[i, m·C+c]. Dot products, the softmax and the
// aggregation run in float64; w is scratch of Rows float64.
func EfficientProbeFloat(p *kernels.EfficientProbeParams, x, q, v []float32, w []float64, out []float32) {
	D := p.D
	for m := 0; m < p.M; m++ {
		qm := q[m*D : (m+1)*D]
		mx := math.Inf(-1)
		for i := p.First; i < p.Rows; i++ {
			xi := x[i*D : (i+1)*D]
			var s float64
			for k, a := range qm {
				s += float64(float64(a) * float64(xi[k]))
			}
			w[i] = s * float64(p.Scale)
			mx = math.Max(mx, w[i])
		}
		probeAggregate(p, m, w, mx, func(i, c int) float64 { return float64(v[i*p.Dv+c]) }, out)
	}
}

// probeAggregate turns logits w[First:Rows] into softmax weights and
// writes the float aggregation of query m.
func probeAggregate(p *kernels.EfficientProbeParams, m int, w []float64, mx float64, val func(i, c int) float64, out []float32) {
	var sum float64
	for i := p.First; i < p.Rows; i++ {
		w[i] = math.Exp(w[i] - mx)
		sum += w[i]
	}
	for c := m * p.C; c < (m+1)*p.C; c++ {
		var acc float64
		for i := p.First; i < p.Rows; i++ {
			acc += float64(w[i] * val(i, c))
		}
		out[c] = float32(acc / sum)
	}
}

// EfficientProbeInt8 is EfficientProbeFloat on int8 keys, queries and
// values: logits are exact int32 dot products of zero-point-corrected
// codes, scaled by LogitScale into float64 for the softmax; the weights
// are rounded to Q16 (wq) and the output is OutZP + Mult·Σ_i wq_i·(v − VZP)
// with one rounding. The exponentials use math.Exp: a weight may differ by
// one Q16 unit between architectures whose Exp differs in the last bit.
// w is scratch of Rows float64, wq of Rows int32.
func EfficientProbeInt8(p *kernels.EfficientProbeParams, x, q, v []int8, w []float64, wq []int32, out []int8) {
	D := p.D
	for m := 0; m < p.M; m++ {
		qm := q[m*D : (m+1)*D]
		mx := math.Inf(-1)
		for i := p.First; i < p.Rows; i++ {
			xi := x[i*D : (i+1)*D]
			var s int32
			for k, a := range qm {
				s += (int32(a) - p.QZP) * (int32(xi[k]) - p.XZP)
			}
			w[i] = float64(float64(s) * p.LogitScale)
			mx = math.Max(mx, w[i])
		}
		var sum float64
		for i := p.First; i < p.Rows; i++ {
			w[i] = math.Exp(w[i] - mx)
			sum += w[i]
		}
		for i := p.First; i < p.Rows; i++ {
			wq[i] = int32(math.Round(w[i] / sum * 65536))
		}
		for c := m * p.C; c < (m+1)*p.C; c++ {
			var acc int32
			for i := p.First; i < p.Rows; i++ {
				acc += wq[i] * (int32(v[i*p.Dv+c]) - p.VZP)
			}
			r := int64(p.OutZP) + int64(p.Mult.ApplyMode(acc, p.Rounding))
			out[c] = int8(max(quant.Int8Min, min(quant.Int8Max, r)))
		}
	}
}

// SinkTokensFloat marks in sink[t] the sink tokens of h [N, D]:
// D·h[t,d]² > Tau²·Σ_c h[t,c]² for some d in SinkDims, in float64. This is
// VAR's |h/rms(h)| > τ without the square root (and without the 1e-6
// inside the rms, which only matters for all-zero tokens).
func SinkTokensFloat(p *kernels.SinkParams, h []float32, sink []bool) {
	tau2 := float64(p.Tau) * float64(p.Tau)
	for t := 0; t < p.N; t++ {
		row := h[t*p.D : (t+1)*p.D]
		var ss float64
		for _, v := range row {
			ss += float64(float64(v) * float64(v))
		}
		sink[t] = false
		for _, d := range p.SinkDims {
			v := float64(row[d])
			if float64(p.D)*float64(v*v) > float64(tau2*ss) {
				sink[t] = true
			}
		}
	}
}

// SinkTokensInt8 is SinkTokensFloat on int8 h in exact integers:
// D·(h_d − HZP)² > Tau²·Σ_c (h_c − HZP)² with Tau² applied in float64
// to an exact int64 sum (the scale cancels).
func SinkTokensInt8(p *kernels.SinkParams, h []int8, sink []bool) {
	tau2 := float64(p.Tau) * float64(p.Tau)
	for t := 0; t < p.N; t++ {
		row := h[t*p.D : (t+1)*p.D]
		var ss int64
		for _, v := range row {
			d := int64(v) - int64(p.HZP)
			ss += d * d
		}
		sink[t] = false
		for _, d := range p.SinkDims {
			v := int64(row[d]) - int64(p.HZP)
			if float64(int64(p.D)*v*v) > float64(tau2*float64(ss)) {
				sink[t] = true
			}
		}
	}
}

// RedistributeFloat applies VAR's redistribution to each of p.Rows rows
// of N probabilities (see kernels.SinkParams) given the sink flags, into
// out (which may alias a). A selected row keeps its sum: the sinks lose
// (1−P) of their mass and the image non-sink keys gain it in proportion
// to their attention. A row whose image non-sink keys have no mass is left
// as it is.
func RedistributeFloat(p *kernels.SinkParams, sink []bool, a, out []float32) {
	N := p.N
	for r := 0; r < p.Rows; r++ {
		row := a[r*N : (r+1)*N]
		o := out[r*N : (r+1)*N]
		var img, imgSink, sinkMass, rest float64
		for k, v := range row {
			f := float64(v)
			if sink[k] {
				sinkMass += f
			}
			if k < p.Prefix {
				continue
			}
			img += f
			if sink[k] {
				imgSink += f
			} else {
				rest += f
			}
		}
		copy(o, row)
		if !(img >= float64(p.MinMass)) || imgSink > float64(float64(p.Rho)*img) || rest <= 0 {
			continue
		}
		budget := float64((1 - float64(p.P)) * sinkMass)
		for k, v := range row {
			switch {
			case sink[k]:
				o[k] = float32(float64(p.P) * float64(v))
			case k >= p.Prefix:
				o[k] = float32(float64(v) + float64(budget*float64(v)/rest))
			}
		}
	}
}

// RedistributeInt8 is RedistributeFloat on int8 probabilities with zero
// point ProbZP, in integers: with a = q − ProbZP, a sink keeps
// ⌊(a·PQ15 + 2^14)/2^15⌋, the freed units B are shared as
// ⌊B·a_k/rest⌋ among the image non-sink keys and the remaining units go
// one each to the first such keys with a_k > 0, so the row's integer sum
// (its probability mass) is unchanged unless a code saturates at 127.
// The selection tests are exact integer comparisons with ρ and the
// minimum mass in Q16 of the probability scale ratio (see minMassQ).
func RedistributeInt8(p *kernels.SinkParams, sink []bool, minMassQ int64, a, out []int8) {
	N := p.N
	rhoQ := int64(math.Round(float64(p.Rho) * 65536))
	for r := 0; r < p.Rows; r++ {
		row := a[r*N : (r+1)*N]
		o := out[r*N : (r+1)*N]
		copy(o, row)
		var img, imgSink, sinkMass, rest int64
		for k, v := range row {
			f := int64(v) - int64(p.ProbZP)
			if sink[k] {
				sinkMass += f
			}
			if k < p.Prefix {
				continue
			}
			img += f
			if sink[k] {
				imgSink += f
			} else {
				rest += f
			}
		}
		if img<<16 < minMassQ || imgSink<<16 > rhoQ*img || rest <= 0 {
			continue
		}
		var freed int64
		for k, v := range row {
			if sink[k] {
				f := int64(v) - int64(p.ProbZP)
				nf := (f*int64(p.PQ15) + 1<<14) >> 15
				freed += f - nf
				o[k] = int8(nf + int64(p.ProbZP))
			}
		}
		given := int64(0)
		for k := p.Prefix; k < N; k++ {
			if sink[k] {
				continue
			}
			f := int64(row[k]) - int64(p.ProbZP)
			share := freed * f / rest
			given += share
			o[k] = int8(min(quant.Int8Max, f+share+int64(p.ProbZP)))
		}
		left := freed - given
		for k := p.Prefix; k < N && left > 0; k++ {
			if sink[k] || int64(row[k]) == int64(p.ProbZP) || o[k] == quant.Int8Max {
				continue
			}
			o[k]++
			left--
		}
	}
}

// SinkMinMassQ returns the minimum image mass of RedistributeInt8 in
// units of 2^-16 codes: round(MinMass/s_prob·2^16).
func SinkMinMassQ(minMass, probScale float32) int64 {
	return int64(math.Round(float64(minMass) / float64(probScale) * 65536))
}
