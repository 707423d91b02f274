package runtime

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

func init() {
	register(prepareFullyConnected, format.OpFullyConnected)
	register(prepareBatchMatMul, format.OpBatchMatMul)
	register(prepareConv, format.OpConv2D, format.OpDepthwiseConv2D)
}

type fcInt8 struct {
	p         kernels.FCParams
	x, w, out []int8
	pf        func(p kernels.FCParams, x, out []int8) // the kernel set's, on packed weights
	packed    int
}

func (k *fcInt8) rows() int { return k.p.M }
func (k *fcInt8) runRows(lo, hi int) {
	p := k.p
	p.M = hi - lo
	if k.pf != nil {
		k.pf(p, k.x[lo*p.K:hi*p.K], k.out[lo*p.N:hi*p.N])
		return
	}
	ref.FullyConnectedInt8(&p, k.x[lo*p.K:hi*p.K], k.w, k.out[lo*p.N:hi*p.N])
}

type fcFloat struct {
	p         kernels.FCFloatParams
	x, w, out []float32
	pf        func(p kernels.FCFloatParams, x, out []float32) // on packed weights
	packed    int
}

func (k *fcFloat) rows() int { return k.p.M }
func (k *fcFloat) runRows(lo, hi int) {
	p := k.p
	p.M = hi - lo
	if k.pf != nil {
		k.pf(p, k.x[lo*p.K:hi*p.K], k.out[lo*p.N:hi*p.N])
		return
	}
	ref.FullyConnectedFloat(&p, k.x[lo*p.K:hi*p.K], k.w, k.out[lo*p.N:hi*p.N])
}

func prepareFullyConnected(c *prep, op *format.Op) (kernel, int64, error) {
	x, w, bias, out := c.in(op, 0), c.in(op, 1), c.optIn(op, 2), c.out(op)
	n, kk := w.Shape[0], w.Shape[1]
	m := x.NumElements() / kk
	act := format.ActNone
	if o, ok := op.Options.(*format.FullyConnectedOptions); ok {
		act = o.Activation
	}
	macs := int64(m) * int64(n) * int64(kk)
	switch x.DType {
	case format.Int8:
		mult, err := channelMultipliers(x.Params.Scale, c.weightScales(op, 1), out.Params.Scale)
		if err != nil {
			return nil, 0, err
		}
		k := &fcInt8{x: x.Int8(), w: w.Int8(), out: out.Int8()}
		k.p = kernels.FCParams{M: m, N: n, K: kk, InZP: x.Params.ZeroPoint, WZP: c.weightZeroPoint(op, 1), Out: c.outputStage(mult, out, act)}
		c.xnnpackStage(&k.p.Out, x.Params.Scale, c.weightScales(op, 1), out.Params.Scale)
		if bias != nil {
			k.p.Bias = bias.Int32()
		}
		k.pf, k.packed = c.setFC(op, k.p, k.w)
		return k, macs, nil
	case format.Float32:
		k := &fcFloat{x: x.Float32(), w: w.Float32(), out: out.Float32()}
		k.p = kernels.FCFloatParams{M: m, N: n, K: kk}
		k.p.ActMin, k.p.ActMax = floatRange(act)
		if bias != nil {
			k.p.Bias = bias.Float32()
		}
		if f := c.floatKernels().PrepareFCFloat; f != nil {
			k.pf, k.packed = f(k.p, k.w)
		}
		return k, macs, nil
	}
	return nil, 0, errDType(x, "input")
}

// matMul runs BatchMatMul; rows are (batch, m) pairs unless a is stored
// transposed, in which case a whole batch is one row. p holds the planned
// shapes and the operands' row strides; with a token budget (tok) the
// dimensions in live run over its live count, on the leading sub-blocks.
type matMul struct {
	p                kernels.MatMulParams
	batches          int
	aStride, bStride int
	oStride          int
	splitM           bool
	a8, b8, o8       []int8
	mm8              func(p kernels.MatMulParams, a, b, out []int8) // the kernel set's, or nil: ref
	af, bf, of       []float32
	mmf              func(p kernels.MatMulParams, a, b, out []float32)
	tok              *budget
	live             liveDims
	lo               [3]int // first budget row of M, N, K
}

// liveDims says which of a product's M, N and K follow a token budget.
type liveDims uint8

const (
	liveM liveDims = 1 << iota
	liveN
	liveK
)

// params returns p at the current token budget.
func (k *matMul) params() kernels.MatMulParams {
	p := k.p
	if k.tok != nil {
		b := k.tok
		if k.live&liveM != 0 {
			p.M = b.live(k.lo[0])
		}
		if k.live&liveN != 0 {
			p.N = b.live(k.lo[1])
		}
		if k.live&liveK != 0 {
			p.K = b.live(k.lo[2])
		}
	}
	return p
}

func (k *matMul) rows() int {
	if k.splitM {
		return k.batches * k.params().M
	}
	return k.batches
}

func (k *matMul) runRows(lo, hi int) {
	p := k.params()
	if !k.splitM {
		for b := lo; b < hi; b++ {
			k.run(p, b, 0, p.M)
		}
		return
	}
	for r := lo; r < hi; {
		b, m0 := r/p.M, r%p.M
		m1 := min(p.M, hi-b*p.M)
		k.run(p, b, m0, m1)
		r = b*p.M + m1
	}
}

// run computes rows [m0, m1) of batch b (all of them with AdjX, where
// the runtime never splits M).
func (k *matMul) run(p kernels.MatMulParams, b, m0, m1 int) {
	p.M = m1 - m0
	ao := b*k.aStride + m0*p.LDA
	bo := b * k.bStride
	oo := b*k.oStride + m0*p.LDO
	na, nb, no := p.Extents()
	switch {
	case k.mm8 != nil:
		k.mm8(p, k.a8[ao:ao+na], k.b8[bo:bo+nb], k.o8[oo:oo+no])
		return
	case k.a8 != nil:
		ref.MatMulInt8(&p, k.a8[ao:ao+na], k.b8[bo:bo+nb], k.o8[oo:oo+no])
		return
	}
	k.mmf(p, k.af[ao:ao+na], k.bf[bo:bo+nb], k.of[oo:oo+no])
}

func refMatMulFloat(p kernels.MatMulParams, a, b, out []float32) { ref.MatMulFloat(&p, a, b, out) }

func prepareBatchMatMul(c *prep, op *format.Op) (kernel, int64, error) {
	a, b, out := c.in(op, 0), c.in(op, 1), c.out(op)
	var o format.BatchMatMulOptions
	if opt, ok := op.Options.(*format.BatchMatMulOptions); ok {
		o = *opt
	}
	ra, rb := len(a.Shape), len(b.Shape)
	m, kk := a.Shape[ra-2], a.Shape[ra-1]
	if o.AdjX {
		m, kk = kk, m
	}
	n := b.Shape[rb-1]
	if o.AdjY {
		n = b.Shape[rb-2]
	}
	batches := product(a.Shape[:ra-2])
	k := &matMul{batches: batches, aStride: m * kk, oStride: m * n, splitM: !o.AdjX}
	if rb > 2 {
		k.bStride = kk * n
	}
	k.p = kernels.MatMulParams{M: m, N: n, K: kk, AdjX: o.AdjX, AdjY: o.AdjY}
	k.p.LDA, k.p.LDB, k.p.LDO = k.p.Strides()
	macs := int64(batches) * int64(m) * int64(n) * int64(kk)
	switch a.DType {
	case format.Int8:
		mult, err := channelMultipliers(a.Params.Scale, []float32{b.Params.Scale}, out.Params.Scale)
		if err != nil {
			return nil, 0, err
		}
		k.p.AZP, k.p.BZP = a.Params.ZeroPoint, b.Params.ZeroPoint
		k.p.Out = c.outputStage(mult, out, format.ActNone)
		k.a8, k.b8, k.o8 = a.Int8(), b.Int8(), out.Int8()
		k.mm8 = c.it.kernels.MatMulInt8
	case format.Float32:
		k.af, k.bf, k.of = a.Float32(), b.Float32(), out.Float32()
		k.mmf = refMatMulFloat
		if f := c.floatKernels().MatMulFloat; f != nil {
			k.mmf = f
		}
	default:
		return nil, 0, errDType(a, "input")
	}
	return k, macs, nil
}

type conv struct {
	p          kernels.ConvParams
	depthwise  bool
	x8, w8, o8 []int8
	pconv      func(p kernels.ConvParams, x, out []int8) // the kernel set's, on packed weights
	packed     int
	xf, wf, of []float32
	pconvf     func(p kernels.ConvParams, x, out []float32) // on packed weights
}

func (k *conv) rows() int { return k.p.N * k.p.OH }
func (k *conv) runRows(lo, hi int) {
	p := k.p
	p.RowLo, p.RowHi = lo, hi
	switch {
	case k.pconv != nil:
		k.pconv(p, k.x8, k.o8)
	case k.x8 != nil && k.depthwise:
		ref.DepthwiseConv2DInt8(&p, k.x8, k.w8, k.o8)
	case k.pconvf != nil:
		k.pconvf(p, k.xf, k.of)
	case k.x8 != nil:
		ref.Conv2DInt8(&p, k.x8, k.w8, k.o8)
	case k.depthwise:
		ref.DepthwiseConv2DFloat(&p, k.xf, k.wf, k.of)
	default:
		ref.Conv2DFloat(&p, k.xf, k.wf, k.of)
	}
}

// convParams returns the parameters of a one-input-channel depthwise
// convolution p as those of the same convolution.
func convParams(p kernels.ConvParams) kernels.ConvParams {
	p.DepthMultiplier = 1
	return p
}

// filtersFirst returns the depthwise weights w [1, KH, KW, Cout] of one
// input channel as convolution weights [Cout, KH, KW, 1] (taps = KH·KW).
func filtersFirst[T any](w []T, taps, cout int) []T {
	t := make([]T, len(w))
	for o := 0; o < cout; o++ {
		for k := 0; k < taps; k++ {
			t[o*taps+k] = w[k*cout+o]
		}
	}
	return t
}

func prepareConv(c *prep, op *format.Op) (kernel, int64, error) {
	x, w, bias, out := c.in(op, 0), c.in(op, 1), c.optIn(op, 2), c.out(op)
	k := &conv{depthwise: op.Code == format.OpDepthwiseConv2D}
	var o format.Conv2DOptions
	mult := 1
	switch opt := op.Options.(type) {
	case *format.Conv2DOptions:
		o = *opt
	case *format.DepthwiseConv2DOptions:
		o = opt.Conv2DOptions
		mult = int(opt.DepthMultiplier)
	default:
		return nil, 0, fmt.Errorf("missing convolution options")
	}
	p := &k.p
	p.N, p.H, p.W, p.Cin = x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	p.KH, p.KW = w.Shape[1], w.Shape[2]
	p.Cout = out.Shape[3]
	p.OH, p.OW = out.Shape[1], out.Shape[2]
	p.StrideH, p.StrideW = int(o.StrideH), int(o.StrideW)
	p.DilationH, p.DilationW = int(o.DilationH), int(o.DilationW)
	p.PadTop, p.PadLeft = int(o.PadTop), int(o.PadLeft)
	p.DepthMultiplier = mult
	p.Groups = max(int(o.Groups), 1)
	p.RowLo, p.RowHi = 0, p.N*p.OH
	taps := int64(p.KH * p.KW)
	if !k.depthwise {
		taps *= int64(p.Cin / p.Groups)
	}
	macs := int64(p.N*p.OH*p.OW*p.Cout) * taps
	oneChannel := k.depthwise && p.Cin == 1 && p.Groups == 1 && mult == p.Cout
	switch x.DType {
	case format.Int8:
		ms, err := channelMultipliers(x.Params.Scale, c.weightScales(op, 1), out.Params.Scale)
		if err != nil {
			return nil, 0, err
		}
		p.InZP = x.Params.ZeroPoint
		p.WZP = c.weightZeroPoint(op, 1)
		p.Out = c.outputStage(ms, out, o.Activation)
		c.xnnpackStage(&p.Out, x.Params.Scale, c.weightScales(op, 1), out.Params.Scale)
		if bias != nil {
			p.Bias = bias.Int32()
		}
		k.x8, k.w8, k.o8 = x.Int8(), w.Int8(), out.Int8()
		if oneChannel {
			// A depthwise convolution of one input channel is a
			// convolution with Cout filters of that channel: the kernel
			// sets' GEMM runs it (person_detect's first layer), where
			// their depthwise kernels want channels in lanes.
			wt := filtersFirst(k.w8, p.KH*p.KW, p.Cout)
			if f, n := c.setConv(op, convParams(*p), wt, false); f != nil {
				k.p, k.depthwise, k.w8, k.pconv, k.packed = convParams(*p), false, wt, f, n
				break
			}
		}
		k.pconv, k.packed = c.setConv(op, *p, k.w8, k.depthwise)
	case format.Float32:
		p.ActMin, p.ActMax = floatRange(o.Activation)
		if bias != nil {
			p.BiasF = bias.Float32()
		}
		k.xf, k.wf, k.of = x.Float32(), w.Float32(), out.Float32()
		f := c.floatKernels().PrepareConvFloat
		switch {
		case f == nil:
		case oneChannel:
			// As in int8; where the set declines, ref's depthwise runs.
			wt := filtersFirst(k.wf, p.KH*p.KW, p.Cout)
			if pf, n := f(convParams(*p), wt); pf != nil {
				k.p, k.depthwise, k.wf, k.pconvf, k.packed = convParams(*p), false, wt, pf, n
			}
		case !k.depthwise && p.Groups <= 1:
			k.pconvf, k.packed = f(k.p, k.wf)
		}
	default:
		return nil, 0, errDType(x, "input")
	}
	return k, macs, nil
}
