package runtime

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

func init() {
	register(prepareBinary, format.OpAdd, format.OpSub, format.OpMul, format.OpSquaredDifference,
		format.OpFloorDiv, format.OpDiv)
	register(prepareUnary, format.OpGELU, format.OpReLU, format.OpReLU6, format.OpLogistic,
		format.OpTanh, format.OpHardSwish, format.OpRsqrt, format.OpHardSigmoid, format.OpSqrt)
	register(prepareLayerNorm, format.OpLayerNorm)
	register(prepareSoftmax, format.OpSoftmax)
	register(prepareMean, format.OpMean)
	register(preparePool, format.OpAveragePool2D, format.OpMaxPool2D)
}

func prepareBinary(c *prep, op *format.Op) (kernel, int64, error) {
	a, b, out := c.in(op, 0), c.in(op, 1), c.out(op)
	bc, err := ref.NewBroadcast(a.Shape, b.Shape, out.Shape)
	if err != nil {
		return nil, 0, err
	}
	act := format.ActNone
	if o, ok := op.Options.(*format.BinaryOptions); ok {
		act = o.Activation
	}
	switch a.DType {
	case format.Int8:
		var p kernels.BinaryParams
		var f func(*kernels.BinaryParams, []int8, []int8, []int8)
		switch op.Code {
		case format.OpAdd, format.OpSub:
			if c.xnnpack() {
				p, err = ref.NewAddParamsXNNPACK(a.Params, b.Params, out.Params, op.Code == format.OpSub)
				if err != nil {
					// LiteRT's XNNPACK delegate declines an Add or Sub whose
					// scale ratios are outside its range (MoveNet subtracts
					// a constant with scale 1e-6) and its builtin kernel,
					// TFLite's fixed-point arithmetic, runs it instead.
					p, err = ref.NewAddParams(a.Params, b.Params, out.Params, op.Code == format.OpSub)
				}
			} else {
				p, err = ref.NewAddParams(a.Params, b.Params, out.Params, op.Code == format.OpSub)
			}
			f = ref.AddInt8
			if k := c.it.kernels.AddInt8; k != nil {
				f = k
			}
			if op.Code == format.OpSub {
				f = ref.SubInt8
				if k := c.it.kernels.SubInt8; k != nil {
					f = k
				}
			}
		case format.OpMul:
			p, err = ref.NewMulParams(a.Params, b.Params, out.Params)
			if c.xnnpack() {
				// XNNPACK: float32(s_a·s_b)/s_out, evaluated in float32.
				p.MulScale = float32(float32(a.Params.Scale*b.Params.Scale) / out.Params.Scale)
			}
			f = ref.MulInt8
			if k := c.it.kernels.MulInt8; k != nil {
				f = k
			}
		case format.OpSquaredDifference:
			p, err = ref.NewSquaredDifferenceParams(a.Params, b.Params, out.Params)
			f = ref.SquaredDifferenceInt8
		}
		if err != nil {
			return nil, 0, err
		}
		p.Broadcast = bc
		p.ActMin, p.ActMax = int8Range(act, out.Params)
		p.Rounding = c.rounding()
		pa, pb, po := a.Int8(), b.Int8(), out.Int8()
		if k := binaryTables(c, op, &p, f, pa, pb, po); k != nil {
			return k, 0, nil
		}
		if !bc.Dense() {
			return serial(func() { f(&p, pa, pb, po) }), 0, nil
		}
		k := newElemOp(bc.N)
		ps := newSlots(c.it.opts.Threads, func() kernels.BinaryParams { return p })
		k.f = func(lo, hi int) {
			i := ps.get()
			q := &ps.vals[i]
			q.Broadcast = kernels.DenseBroadcast(hi - lo)
			f(q, pa[lo:hi], pb[lo:hi], po[lo:hi])
			ps.put(i)
		}
		return k, 0, nil
	case format.Float32:
		var f func(*kernels.Broadcast, []float32, []float32, []float32, float32, float32)
		switch op.Code {
		case format.OpAdd:
			f = ref.AddFloat
			if g := c.floatKernels().AddFloat; g != nil {
				f = g
			}
		case format.OpSub:
			f = ref.SubFloat
		case format.OpMul:
			f = ref.MulFloat
		case format.OpSquaredDifference:
			f = ref.SquaredDifferenceFloat
		case format.OpDiv:
			f = ref.DivFloat
			// Bit for bit ref's, so int8 graphs (MoveNet's keypoint
			// decoding) take it too: every set still gives the same bits.
			if g := c.it.kernels.DivFloat; g != nil {
				f = g
			}
		case format.OpFloorDiv:
			f = ref.FloorDivFloat
		}
		lo, hi := floatRange(act)
		pa, pb, po := a.Float32(), b.Float32(), out.Float32()
		if !bc.Dense() {
			return serial(func() { f(&bc, pa, pb, po, lo, hi) }), 0, nil
		}
		k := newElemOp(bc.N)
		bs := newSlots(c.it.opts.Threads, func() kernels.Broadcast { return kernels.Broadcast{} })
		k.f = func(i, j int) {
			s := bs.get()
			q := &bs.vals[s]
			*q = kernels.DenseBroadcast(j - i)
			f(q, pa[i:j], pb[i:j], po[i:j], lo, hi)
			bs.put(s)
		}
		return k, 0, nil
	case format.Int32:
		var f func(*kernels.Broadcast, []int32, []int32, []int32, int32, int32)
		switch op.Code {
		case format.OpAdd:
			f = ref.AddInt32
		case format.OpSub:
			f = ref.SubInt32
		case format.OpMul:
			f = ref.MulInt32
		case format.OpDiv:
			f = ref.DivInt32
		case format.OpFloorDiv:
			f = ref.FloorDivInt32
		default:
			return nil, 0, errDType(a, "input")
		}
		lo, hi := int32(math.MinInt32), int32(math.MaxInt32)
		switch act {
		case format.ActReLU:
			lo = 0
		case format.ActReLU6:
			lo, hi = 0, 6
		}
		pa, pb, po := a.Int32(), b.Int32(), out.Int32()
		return serial(func() { f(&bc, pa, pb, po, lo, hi) }), 0, nil
	}
	return nil, 0, errDType(a, "input")
}

// unaryFunc returns the real function of an elementwise op.
func unaryFunc(op *format.Op) func(float64) float64 {
	switch op.Code {
	case format.OpGELU:
		if o, ok := op.Options.(*format.GELUOptions); ok && o.Approximate {
			return ref.GELUTanh
		}
		return ref.GELU
	case format.OpReLU:
		return func(x float64) float64 { return math.Max(x, 0) }
	case format.OpReLU6:
		return func(x float64) float64 { return math.Min(math.Max(x, 0), 6) }
	case format.OpLogistic:
		return ref.Logistic
	case format.OpTanh:
		return math.Tanh
	case format.OpHardSwish:
		return ref.HardSwish
	case format.OpHardSigmoid:
		o := op.Options.(*format.HardSigmoidOptions) // the verifier requires them
		return ref.HardSigmoid(o.Alpha, o.Beta)
	case format.OpSqrt:
		return ref.Sqrt
	case format.OpRsqrt:
		return func(x float64) float64 {
			if x <= 0 {
				return math.Inf(1)
			}
			return 1 / math.Sqrt(x)
		}
	}
	return nil
}

// maxTables bounds the tables binaryTables builds (256 bytes each).
const maxTables = 64

// binaryTables returns a table-lookup kernel for an int8 binary op where
// one operand, V, spans the last output dimension only (a scalar, or a
// vector of k ≤ maxTables values along it), and the other, X, has the
// output's shape (V then constant) or spans the outer dimensions only
// (its last dimension 1, V a vector): each output is f of one X byte and
// the V value at its position in the last dimension. Table c holds
// f(·, V[c]) over the 256 bytes, built by f itself (kernels/ref's bits,
// whatever the parameters): at load for a constant V, else at each
// Invoke. Lookups go through the set's LookupInt8 for a scalar V. nil
// when the op is not of that form.
func binaryTables(c *prep, op *format.Op, p *kernels.BinaryParams,
	f func(*kernels.BinaryParams, []int8, []int8, []int8), pa, pb, po []int8) kernel {
	const last = kernels.MaxRank - 1
	n, k := p.N, p.OutShape[last]
	if n == 0 {
		return nil
	}
	// lastOnly reports whether an operand with strides st and m elements
	// spans the last output dimension only.
	lastOnly := func(st *[kernels.MaxRank]int, m int) bool {
		for d := range last {
			if st[d] != 0 && p.OutShape[d] != 1 {
				return false
			}
		}
		return m == 1 || m == k && k <= maxTables && st[last] == 1
	}
	for vi := 1; vi >= 0; vi-- { // V is b, else a
		vv, xv, vst, xst := pb, pa, &p.BStride, &p.AStride
		if vi == 0 {
			vv, xv, vst, xst = pa, pb, &p.AStride, &p.BStride
		}
		vConst := c.it.model.Tensors[op.Inputs[vi]].IsConst()
		full := len(xv) == n && len(vv) < n && vConst
		outer := k > 1 && len(vv) == k && len(xv) == n/k && xst[last] == 0 && n/k >= 64
		if !lastOnly(vst, len(vv)) || !full && !outer {
			continue
		}
		t := &binTables{f: f, vFirst: vi == 0, v: vv, tabs: make([]quant.Table, len(vv))}
		t.q = *p
		t.q.Broadcast = kernels.DenseBroadcast(256)
		for i := range t.xs {
			t.xs[i] = int8(i - 128) // entry i is input value i−128 (ref.LookupInt8)
		}
		if vConst {
			t.build()
		}
		if outer {
			return serial(func() {
				if !vConst {
					t.build()
				}
				for r, x := range xv {
					row := po[r*k : r*k+k]
					for j := range row {
						row[j] = t.tabs[j][uint8(x)^0x80]
					}
				}
			})
		}
		ek := newElemOp(n)
		if len(vv) == 1 {
			lookup := ref.LookupInt8
			if g := c.it.kernels.LookupInt8; g != nil {
				lookup = g
			}
			tab := &t.tabs[0]
			ek.f = func(lo, hi int) { lookup(tab, xv[lo:hi], po[lo:hi]) }
			return ek
		}
		tabs := t.tabs
		ek.f = func(lo, hi int) {
			x, o := xv[lo:hi], po[lo:hi]
			if j := lo % k; j != 0 { // the rest of the first row
				m := min(k-j, len(x))
				for i, v := range x[:m] {
					o[i] = tabs[j+i][uint8(v)^0x80]
				}
				x, o = x[m:], o[m:]
			}
			for len(x) >= len(tabs) {
				xs, os := x[:len(tabs)], o[:len(tabs)]
				for i := range tabs {
					os[i] = tabs[i][uint8(xs[i])^0x80]
				}
				x, o = x[len(tabs):], o[len(tabs):]
			}
			for i, v := range x {
				o[i] = tabs[i][uint8(v)^0x80]
			}
		}
		return ek
	}
	return nil
}

// binTables holds binaryTables' tables and what builds them.
type binTables struct {
	f      func(*kernels.BinaryParams, []int8, []int8, []int8)
	q      kernels.BinaryParams // the op's, dense over 256
	vFirst bool                 // V is the first operand
	v      []int8
	xs, cs [256]int8
	tabs   []quant.Table
}

// build sets table c to f(x, v[c]) (f(v[c], x) when vFirst) for every
// byte x.
func (t *binTables) build() {
	for j, v := range t.v {
		for i := range t.cs {
			t.cs[i] = v
		}
		if t.vFirst {
			t.f(&t.q, t.cs[:], t.xs[:], t.tabs[j][:])
		} else {
			t.f(&t.q, t.xs[:], t.cs[:], t.tabs[j][:])
		}
	}
}

func prepareUnary(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	switch x.DType {
	case format.Int8:
		t := quant.BuildTable(x.Params, out.Params, unaryFunc(op))
		if op.Code == format.OpHardSwish && c.xnnpack() {
			var err error
			if t, err = ref.NewHardSwishTableLiteRT(x.Params, out.Params); err != nil {
				return nil, 0, err
			}
		}
		px, po := x.Int8(), out.Int8()
		f := ref.LookupInt8
		if g := c.it.kernels.LookupInt8; g != nil {
			f = g
		}
		k := newElemOp(len(px))
		k.f = func(lo, hi int) { f(&t, px[lo:hi], po[lo:hi]) }
		return k, 0, nil
	case format.Float32:
		var f func(x, out []float32)
		switch op.Code {
		case format.OpGELU:
			approx := false
			if o, ok := op.Options.(*format.GELUOptions); ok {
				approx = o.Approximate
			}
			px, po := x.Float32(), out.Float32()
			gelu := ref.GELUFloat
			if f := c.floatKernels().GELUFloat; f != nil {
				gelu = f
			}
			k := newElemOp(len(px))
			k.f = func(lo, hi int) { gelu(px[lo:hi], po[lo:hi], approx) }
			return k, 0, nil
		case format.OpReLU:
			f = ref.ReLUFloat
		case format.OpReLU6:
			f = ref.ReLU6Float
		case format.OpLogistic:
			f = ref.LogisticFloat
		case format.OpTanh:
			f = ref.TanhFloat
		case format.OpHardSwish:
			f = ref.HardSwishFloat
		case format.OpHardSigmoid:
			o := op.Options.(*format.HardSigmoidOptions)
			f = func(x, out []float32) { ref.HardSigmoidFloat(x, out, o.Alpha, o.Beta) }
		case format.OpRsqrt:
			f = ref.RsqrtFloat
		case format.OpSqrt:
			f = ref.SqrtFloat
		}
		px, po := x.Float32(), out.Float32()
		k := newElemOp(len(px))
		k.f = func(lo, hi int) { f(px[lo:hi], po[lo:hi]) }
		return k, 0, nil
	}
	return nil, 0, errDType(x, "input")
}

// elemOp runs an elementwise op over blocks of its n elements, so the
// workers can share it: f(lo, hi) computes elements [lo, hi).
type elemOp struct {
	n, block int
	f        func(lo, hi int)
}

// newElemOp splits n elements into at most 64 blocks of at least 1024
// (a multiple of 64, so every block but the last keeps the SIMD kernels
// off their scalar tails).
func newElemOp(n int) *elemOp {
	block := max(1024, (n+64*64-1)/(64*64)*64)
	return &elemOp{n: n, block: block}
}

func (k *elemOp) rows() int { return (k.n + k.block - 1) / k.block }
func (k *elemOp) runRows(lo, hi int) {
	k.f(lo*k.block, min(hi*k.block, k.n))
}

// rowOp runs a row-wise op (LayerNorm, Softmax) over a slice of rows.
type rowOp struct {
	n, d int
	f    func(lo, hi int)
}

func (k *rowOp) rows() int          { return k.n }
func (k *rowOp) runRows(lo, hi int) { k.f(lo, hi) }

func prepareLayerNorm(c *prep, op *format.Op) (kernel, int64, error) {
	x, gamma, beta, out := c.in(op, 0), c.in(op, 1), c.in(op, 2), c.out(op)
	d := x.Shape[len(x.Shape)-1]
	rows := x.NumElements() / d
	eps := float32(1e-5)
	if o, ok := op.Options.(*format.LayerNormOptions); ok {
		eps = o.Epsilon
	}
	g, b := gamma.Float32(), beta.Float32()
	switch x.DType {
	case format.Int8:
		p, err := ref.NewLayerNormParams(rows, d, eps, g, b, x.Params, out.Params)
		if err != nil {
			return nil, 0, err
		}
		px, po := x.Int8(), out.Int8()
		k := &rowOp{n: rows, d: d}
		f := c.it.kernels.LayerNormInt8
		k.f = func(lo, hi int) {
			q := p
			q.Rows = hi - lo
			if f != nil {
				f(q, px[lo*d:hi*d], po[lo*d:hi*d])
				return
			}
			ref.LayerNormInt8(&q, px[lo*d:hi*d], po[lo*d:hi*d])
		}
		return k, 0, nil
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		k := &rowOp{n: rows, d: d}
		f := ref.LayerNormFloat
		if h := c.floatKernels().LayerNormFloat; h != nil {
			f = h
		}
		k.f = func(lo, hi int) { f(hi-lo, d, eps, px[lo*d:hi*d], g, b, po[lo*d:hi*d]) }
		return k, 0, nil
	}
	return nil, 0, errDType(x, "input")
}

func prepareSoftmax(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	d := x.Shape[len(x.Shape)-1]
	rows := x.NumElements() / d
	beta := float32(1)
	if o, ok := op.Options.(*format.SoftmaxOptions); ok {
		beta = o.Beta
	}
	k := &rowOp{n: rows, d: d}
	switch x.DType {
	case format.Int8:
		p := kernels.SoftmaxParams{D: d, Exp: ref.NewSoftmaxTable(beta, x.Params.Scale)}
		if c.xnnpack() && beta == 1 {
			p.Exp = ref.NewSoftmaxTableXNNPACK(d, x.Params.Scale)
		}
		px, po := x.Int8(), out.Int8()
		f := c.it.kernels.SoftmaxInt8
		k.f = func(lo, hi int) {
			q := p
			q.Rows = hi - lo
			if f != nil {
				f(q, px[lo*d:hi*d], po[lo*d:hi*d])
				return
			}
			ref.SoftmaxInt8(&q, px[lo*d:hi*d], po[lo*d:hi*d])
		}
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		f := ref.SoftmaxFloat
		if g := c.floatKernels().SoftmaxFloat; g != nil {
			f = g
		}
		k.f = func(lo, hi int) { f(hi-lo, d, beta, px[lo*d:hi*d], po[lo*d:hi*d]) }
	default:
		return nil, 0, errDType(x, "input")
	}
	return k, 0, nil
}

func prepareMean(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	o, ok := op.Options.(*format.MeanOptions)
	if !ok || len(o.Axes) == 0 {
		return nil, 0, fmt.Errorf("missing mean axes")
	}
	rank := len(x.Shape)
	lo, hi := rank, -1
	for _, a := range o.Axes {
		ax := int(a)
		if ax < 0 {
			ax += rank
		}
		lo, hi = min(lo, ax), max(hi, ax)
	}
	p := kernels.MeanParams{
		Outer:  product(x.Shape[:lo]),
		Reduce: product(x.Shape[lo : hi+1]),
		Inner:  product(x.Shape[hi+1:]),
	}
	switch x.DType {
	case format.Int8:
		m, err := quant.NewMultiplier(float64(x.Params.Scale) / (float64(out.Params.Scale) * float64(p.Reduce)))
		if err != nil {
			return nil, 0, err
		}
		p.InZP, p.OutZP, p.Mult, p.Rounding = x.Params.ZeroPoint, out.Params.ZeroPoint, m, c.rounding()
		px, po := x.Int8(), out.Int8()
		return serial(func() { ref.MeanInt8(&p, px, po) }), 0, nil
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		return serial(func() { ref.MeanFloat(&p, px, po) }), 0, nil
	}
	return nil, 0, errDType(x, "input")
}

func preparePool(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	o, ok := op.Options.(*format.Pool2DOptions)
	if !ok {
		return nil, 0, fmt.Errorf("missing pool options")
	}
	p := kernels.PoolParams{
		N: x.Shape[0], H: x.Shape[1], W: x.Shape[2], C: x.Shape[3],
		FH: int(o.FilterH), FW: int(o.FilterW), OH: out.Shape[1], OW: out.Shape[2],
		StrideH: int(o.StrideH), StrideW: int(o.StrideW), PadTop: int(o.PadTop), PadLeft: int(o.PadLeft),
	}
	avg := op.Code == format.OpAveragePool2D
	switch x.DType {
	case format.Int8:
		p.ActMin, p.ActMax = int8Range(o.Activation, out.Params)
		p.RoundHalfUp = c.it.model.Rounding == quant.RoundXNNPACKUint8
		px, po := x.Int8(), out.Int8()
		if avg {
			return serial(func() { ref.AveragePool2DInt8(&p, px, po) }), 0, nil
		}
		return serial(func() { ref.MaxPool2DInt8(&p, px, po) }), 0, nil
	case format.Float32:
		p.ActMinF, p.ActMaxF = floatRange(o.Activation)
		px, po := x.Float32(), out.Float32()
		if avg {
			return serial(func() { ref.AveragePool2DFloat(&p, px, po) }), 0, nil
		}
		return serial(func() { ref.MaxPool2DFloat(&p, px, po) }), 0, nil
	}
	return nil, 0, errDType(x, "input")
}
