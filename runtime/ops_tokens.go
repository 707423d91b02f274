package runtime

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// The token-adaptive and robust ViT operators (format op codes 60–70).
// Ops that read a token axis whose length follows a run-time budget (see
// tokens.go) take the live row count from the budget on every Invoke.

func init() {
	register(prepareAdaptiveTokenPool, format.OpAdaptiveTokenPool2D)
	register(preparePoolMixer, format.OpPoolMixer)
	register(prepareSwiGLU, format.OpSwiGLU)
	register(prepareGGeM, format.OpGGeMPool)
	register(prepareEfficientProbe, format.OpEfficientProbe)
	register(prepareZOSensitivity, format.OpZOSensitivity)
	register(prepareDiverseSelect, format.OpDiverseSelect)
	register(prepareGatherTokens, format.OpGatherTokens)
	register(prepareScatterTokens, format.OpScatterTokens)
	register(prepareTAP, format.OpTokenAwareAvgPool)
	register(prepareAttentionSink, format.OpAttentionSinkRedistribute)
}

// liveRows returns a function giving the live length of axis 0 of tensor
// t: its budget's live count, or the static length.
func (c *prep) liveRows(t int32) func() int {
	if l := c.it.tokenInfo().t[t].ax[0]; l.kind == axTokens && l.rows.b != nil {
		b, lo := l.rows.b, l.rows.lo
		return func() int { return b.live(lo) }
	}
	n := int(c.it.model.Tensors[t].Shape[0])
	return func() int { return n }
}

func requantMult(in, out quant.Params) (quant.Multiplier, error) {
	return quant.NewMultiplier(float64(in.Scale) / float64(out.Scale))
}

func prepareAdaptiveTokenPool(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.AdaptiveTokenPool2DOptions)
	x, pos, out := c.in(op, 0), c.optIn(op, 1), c.out(op)
	p := kernels.AdaptiveTokenPoolParams{
		GridH: int(o.GridH), GridW: int(o.GridW), OutH: int(o.OutH), OutW: int(o.OutW), D: x.Shape[1],
		Rows: x.Shape[0], Prefix: int(o.Prefix), KeepPrefix: o.KeepPrefix, Masked: o.Masked,
		RowWin: ref.AdaptiveWindows(int(o.GridH), int(o.OutH)), ColWin: ref.AdaptiveWindows(int(o.GridW), int(o.OutW)),
		ZP: x.Params.ZeroPoint,
	}
	rows := c.liveRows(op.Inputs[0])
	rowOf := make([]int32, p.GridH*p.GridW)
	var pv []int16
	if pos != nil {
		pv = asInt16(pos.Bytes())
	}
	adds := int64(out.NumElements()) * int64(p.GridH*p.GridW) / int64(max(1, p.OutH*p.OutW))
	switch x.DType {
	case format.Int8:
		px, po := x.Int8(), out.Int8()
		return serial(func() { q := p; q.Rows = rows(); ref.AdaptiveTokenPoolInt8(&q, px, pv, rowOf, po) }), adds, nil
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		return serial(func() { q := p; q.Rows = rows(); ref.AdaptiveTokenPoolFloat(&q, px, pv, rowOf, po) }), adds, nil
	}
	return nil, 0, errDType(x, "input")
}

func preparePoolMixer(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.PoolMixerOptions)
	x, out := c.in(op, 0), c.out(op)
	p := kernels.PoolMixerParams{GridH: int(o.GridH), GridW: int(o.GridW), D: x.Shape[1], Prefix: int(o.Prefix), Rounding: c.rounding()}
	adds := int64(p.GridH*p.GridW*p.D) * 9
	switch x.DType {
	case format.Int8:
		p.InZP, p.OutZP = x.Params.ZeroPoint, out.Params.ZeroPoint
		for n := 1; n <= 9; n++ {
			m, err := quant.NewMultiplier(float64(x.Params.Scale) / (float64(n) * float64(out.Params.Scale)))
			if err != nil {
				return nil, 0, err
			}
			p.Mult[n] = m
		}
		px, po := x.Int8(), out.Int8()
		return serial(func() { ref.PoolMixerInt8(&p, px, po) }), adds, nil
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		return serial(func() { ref.PoolMixerFloat(&p, px, po) }), adds, nil
	}
	return nil, 0, errDType(x, "input")
}

func prepareSwiGLU(c *prep, op *format.Op) (kernel, int64, error) {
	g, u, out := c.in(op, 0), c.in(op, 1), c.out(op)
	switch g.DType {
	case format.Int8:
		p, err := ref.NewSwiGLUParams(g.Params, u.Params, out.Params, c.rounding())
		if err != nil {
			return nil, 0, err
		}
		pg, pu, po := g.Int8(), u.Int8(), out.Int8()
		return serial(func() { ref.SwiGLUInt8(&p, pg, pu, po) }), int64(out.NumElements()), nil
	case format.Float32:
		pg, pu, po := g.Float32(), u.Float32(), out.Float32()
		return serial(func() { ref.SwiGLUFloat(pg, pu, po) }), int64(out.NumElements()), nil
	}
	return nil, 0, errDType(g, "input")
}

func prepareGGeM(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.GGeMPoolOptions)
	x, out := c.in(op, 0), c.out(op)
	p := kernels.GGeMParams{Rows: x.Shape[0], Prefix: int(o.Prefix), D: x.Shape[1], Groups: int(o.Groups), P: o.P, Eps: o.Eps}
	rows := c.liveRows(op.Inputs[0])
	macs := int64(x.NumElements())
	switch x.DType {
	case format.Int8:
		p.Pow, p.Out = ref.NewGGeMTables(x.Params, o.P, o.Eps), out.Params
		px, po := x.Int8(), out.Int8()
		return serial(func() { q := p; q.Rows = rows(); ref.GGeMInt8(&q, px, po) }), macs, nil
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		return serial(func() { q := p; q.Rows = rows(); ref.GGeMFloat(&q, px, po) }), macs, nil
	}
	return nil, 0, errDType(x, "input")
}

func prepareEfficientProbe(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.EfficientProbeOptions)
	x, q, v, out := c.in(op, 0), c.in(op, 1), c.in(op, 2), c.out(op)
	m, d, dv := q.Shape[0], x.Shape[1], v.Shape[1]
	p := kernels.EfficientProbeParams{M: m, D: d, Dv: dv, C: dv / m, Rows: x.Shape[0], Scale: float32(1 / math.Sqrt(float64(d)))}
	if !o.IncludePrefix {
		p.First = int(o.Prefix)
	}
	rows := c.liveRows(op.Inputs[0])
	w := make([]float64, p.Rows)
	macs := int64(p.Rows) * int64(m) * int64(d+p.C)
	switch x.DType {
	case format.Int8:
		p.XZP, p.QZP, p.VZP, p.OutZP = x.Params.ZeroPoint, q.Params.ZeroPoint, v.Params.ZeroPoint, out.Params.ZeroPoint
		p.LogitScale = float64(x.Params.Scale) * float64(q.Params.Scale) * float64(p.Scale)
		mult, err := quant.NewMultiplier(float64(v.Params.Scale) / (65536 * float64(out.Params.Scale)))
		if err != nil {
			return nil, 0, err
		}
		p.Mult, p.Rounding = mult, c.rounding()
		wq := make([]int32, p.Rows)
		px, pq, pv, po := x.Int8(), q.Int8(), v.Int8(), out.Int8()
		return serial(func() { k := p; k.Rows = rows(); ref.EfficientProbeInt8(&k, px, pq, pv, w, wq, po) }), macs, nil
	case format.Float32:
		px, pq, pv, po := x.Float32(), q.Float32(), v.Float32(), out.Float32()
		return serial(func() { k := p; k.Rows = rows(); ref.EfficientProbeFloat(&k, px, pq, pv, w, po) }), macs, nil
	}
	return nil, 0, errDType(x, "input")
}

func prepareZOSensitivity(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.ZOSensitivityOptions)
	z, out := c.in(op, 0), c.out(op)
	rows := c.liveRows(op.Inputs[0])
	t := z.Shape[0]
	p := kernels.ZOSensitivityParams{Mode: int(o.Mode), Rows: t, F: z.Shape[1], H: o.Step, ReLU: o.ReLU}
	s := out.Float32()
	var macs int64
	switch o.Mode {
	case format.ZOJVP, format.ZOLowRankJVP:
		a, w := c.in(op, 1), c.in(op, 2)
		p.M, p.R = a.Shape[0], w.Shape[0]
		macs = int64(t) * int64(p.M) * int64(p.F) * int64(p.R+1)
	case format.ZOFroDiag:
		p.R = 1
		macs = int64(t) * int64(p.F)
	case format.ZOCentralDiff:
		u, w2 := c.in(op, 1), c.in(op, 2)
		p.M, p.R, p.DIn = u.Shape[0], w2.Shape[0], z.Shape[1]
		p.F = w2.Shape[1]
		macs = int64(t) * int64(p.M) * 2 * int64(p.F) * int64(p.DIn+p.R)
	}
	var f func(lo, hi int)
	packed := 0
	switch z.DType {
	case format.Int8:
		p.GradQ14 = ref.NewZOGradTable(z.Params, o.ReLU)
		pz := z.Int8()
		var pa, pw []int8
		var wf []float32
		if o.Mode == format.ZOFroDiag {
			wf = c.in(op, 2).Float32()
		} else {
			pa, pw = c.in(op, 1).Int8(), c.in(op, 2).Int8()
			p.DirScale, p.WScale = c.weightScales(op, 1), c.weightScales(op, 2)
		}
		if zf, n := c.setZOSensitivity(p, pw); zf != nil {
			packed = n
			f = func(lo, hi int) {
				q := p
				q.Rows = hi - lo
				zf(q, pz[lo*p.F:hi*p.F], pa, s[lo:hi])
			}
			break
		}
		scratch := make([]int32, p.F)
		f = func(lo, hi int) {
			q := p
			q.Rows = hi - lo
			ref.ZOSensitivityInt8(&q, pz[lo*p.F:hi*p.F], pa, pw, wf, scratch, s[lo:hi])
		}
	case format.Float32:
		pz := z.Float32()
		switch o.Mode {
		case format.ZOCentralDiff:
			u, w2, w1, b1 := c.in(op, 1).Float32(), c.in(op, 2).Float32(), c.in(op, 3).Float32(), c.in(op, 4).Float32()
			scratch := make([]float64, p.F+p.DIn)
			f = func(lo, hi int) {
				q := p
				q.Rows = hi - lo
				ref.ZOCentralDiffFloat(&q, pz[lo*p.DIn:hi*p.DIn], u, w1, b1, w2, scratch, s[lo:hi])
			}
		default:
			var pa []float32
			if a := c.optIn(op, 1); a != nil {
				pa = a.Float32()
			}
			pw := c.in(op, 2).Float32()
			scratch := make([]float64, p.F)
			f = func(lo, hi int) {
				q := p
				q.Rows = hi - lo
				ref.ZOSensitivityFloat(&q, pz[lo*p.F:hi*p.F], pa, pw, scratch, s[lo:hi])
			}
		}
	default:
		return nil, 0, errDType(z, "input")
	}
	// Serial over the live rows: the scratch is shared, and the op is
	// small next to the blocks it prunes.
	return withPacked(serial(func() { f(0, rows()) }), packed), macs, nil
}

func prepareDiverseSelect(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.DiverseSelectOptions)
	feat, s, out := c.in(op, 0), c.in(op, 1), c.out(op)
	b := c.it.tokenInfo().source[c.opIndex(op)]
	rows := c.liveRows(op.Inputs[0])
	p := kernels.DiverseSelectParams{Rows: feat.Shape[0], D: feat.Shape[1], Prefix: int(o.Prefix), Keep: int(o.Keep), TopK: o.TopK, AddWeight: float64(o.AddWeight)}
	sc := ref.NewSelectScratch(p.Rows)
	ps, idx := s.Float32(), asInt16(out.Bytes())
	macs := int64(o.Keep) * int64(p.Rows) * int64(p.D)
	if o.TopK {
		macs = 0
	}
	switch feat.DType {
	case format.Int8:
		p.FeatZP = feat.Params.ZeroPoint
		pf := feat.Int8()
		sel, packed := c.setDiverseSelect(p)
		return withPacked(serial(func() {
			q := p
			q.Rows, q.Keep = rows(), b.keep
			if sel != nil {
				sel(q, pf, ps, sc, idx)
			} else {
				ref.DiverseSelectInt8(&q, pf, ps, sc, idx)
			}
			copy(b.kept, idx)
		}), packed), macs, nil
	case format.Float32:
		pf := feat.Float32()
		return serial(func() {
			q := p
			q.Rows, q.Keep = rows(), b.keep
			ref.DiverseSelectFloat(&q, pf, ps, sc, idx)
			copy(b.kept, idx)
		}), macs, nil
	}
	return nil, 0, errDType(feat, "input")
}

// rowFill is the element GatherTokens and ScatterTokens write into empty
// rows: the zero point for int8, 0.0 for float32, −1 for int16 positions.
func rowFill(x *Tensor) []byte {
	fill := make([]byte, x.DType.Size())
	switch x.DType {
	case format.Int8:
		fill[0] = byte(x.Params.ZeroPoint)
	case format.Int16:
		fill[0], fill[1] = 0xff, 0xff
	}
	return fill
}

func prepareScatterTokens(c *prep, op *format.Op) (kernel, int64, error) {
	x, pos, out := c.in(op, 0), c.in(op, 1), c.out(op)
	n := out.Shape[0]
	rowBytes := product(x.Shape[1:]) * x.DType.Size()
	fill, pp, px, po := rowFill(x), asInt16(pos.Bytes()), x.Bytes(), out.Bytes()
	return serial(func() { ref.ScatterRows(pp, n, rowBytes, fill, px, po) }), 0, nil
}

func prepareGatherTokens(c *prep, op *format.Op) (kernel, int64, error) {
	x, idx, out := c.in(op, 0), c.in(op, 1), c.out(op)
	es := x.DType.Size()
	fill := rowFill(x)
	n := x.Shape[0]
	rowBytes := product(x.Shape[1:]) * es
	pi, px, po := asInt16(idx.Bytes()), x.Bytes(), out.Bytes()
	return serial(func() { ref.GatherRows(pi, n, rowBytes, fill, px, po) }), 0, nil
}

func prepareTAP(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.TokenAwareAvgPoolOptions)
	x, l, out := c.in(op, 0), c.in(op, 1), c.out(op)
	p := kernels.TAPParams{GridH: int(o.GridH), GridW: int(o.GridW), D: x.Shape[1], Prefix: int(o.Prefix), Rounding: c.rounding()}
	for _, d := range o.Dilations {
		p.Dilations = append(p.Dilations, int(d))
	}
	k := len(p.Dilations)
	macs := int64(p.GridH*p.GridW) * int64(p.D) * int64(k)
	switch x.DType {
	case format.Int8:
		p.Exp = ref.NewSoftmaxTable(1, l.Params.Scale)
		p.InZP, p.OutZP = x.Params.ZeroPoint, out.Params.ZeroPoint
		var err error
		if p.Mult, err = quant.NewMultiplier(float64(x.Params.Scale) / (9 * 32768 * float64(out.Params.Scale))); err != nil {
			return nil, 0, err
		}
		if p.PassMult, err = requantMult(x.Params, out.Params); err != nil {
			return nil, 0, err
		}
		w := make([]int32, k)
		px, pl, po := x.Int8(), l.Int8(), out.Int8()
		tap := ref.TAPInt8
		if k := c.it.kernels.TAPInt8; k != nil {
			tap = k
		}
		return serial(func() { tap(&p, px, pl, w, po) }), macs, nil
	case format.Float32:
		w := make([]float64, k)
		px, pl, po := x.Float32(), l.Float32(), out.Float32()
		return serial(func() { ref.TAPFloat(&p, px, pl, w, po) }), macs, nil
	}
	return nil, 0, errDType(x, "input")
}

func prepareAttentionSink(c *prep, op *format.Op) (kernel, int64, error) {
	o := op.Options.(*format.AttentionSinkOptions)
	a, h, out := c.in(op, 0), c.in(op, 1), c.out(op)
	n := a.Shape[len(a.Shape)-1]
	p := kernels.SinkParams{Rows: a.NumElements() / n, N: n, D: h.Shape[1], Prefix: int(o.Prefix),
		Tau: o.Tau, Rho: o.Rho, MinMass: o.MinMass, P: o.P}
	for _, d := range o.SinkDims {
		p.SinkDims = append(p.SinkDims, int(d))
	}
	sink := make([]bool, n)
	macs := int64(a.NumElements()) * 3
	switch a.DType {
	case format.Int8:
		p.HZP, p.ProbZP = h.Params.ZeroPoint, a.Params.ZeroPoint
		p.PQ15 = int32(math.Round(float64(o.P) * 32768))
		minQ := ref.SinkMinMassQ(o.MinMass, a.Params.Scale)
		ph, pa, po := h.Int8(), a.Int8(), out.Int8()
		return serial(func() {
			ref.SinkTokensInt8(&p, ph, sink)
			ref.RedistributeInt8(&p, sink, minQ, pa, po)
		}), macs, nil
	case format.Float32:
		ph, pa, po := h.Float32(), a.Float32(), out.Float32()
		return serial(func() {
			ref.SinkTokensFloat(&p, ph, sink)
			ref.RedistributeFloat(&p, sink, pa, po)
		}), macs, nil
	}
	return nil, 0, fmt.Errorf("probabilities tensor %q has dtype %v", a.Name, a.DType)
}
