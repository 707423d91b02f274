package runtime

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

func init() {
	register(prepareReshape, format.OpReshape)
	register(prepareTranspose, format.OpTranspose)
	register(prepareConcat, format.OpConcat)
	register(prepareGather, format.OpGather)
	register(prepareSlice, format.OpSlice)
	register(preparePad, format.OpPad)
	register(prepareQuantize, format.OpQuantize)
	register(prepareDequantize, format.OpDequantize)
}

func prepareReshape(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0).Bytes(), c.out(op).Bytes()
	if len(x) > 0 && len(out) > 0 && &x[0] == &out[0] {
		return serial(func() {}), 0, nil // a view (PlanMemory): nothing to move
	}
	return serial(func() { copy(out, x) }), 0, nil
}

func prepareTranspose(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	o, ok := op.Options.(*format.TransposeOptions)
	if !ok {
		return nil, 0, fmt.Errorf("missing transpose options")
	}
	perm := make([]int, len(o.Perm))
	for i, v := range o.Perm {
		perm[i] = int(v)
	}
	p, err := ref.NewTranspose(x.Shape, perm)
	if err != nil {
		return nil, 0, err
	}
	es, px, po := x.DType.Size(), x.Bytes(), out.Bytes()
	shape, stride := ref.TransposeView(&p, es)
	return c.newViewCopy(shape, stride, 0, es, px, po), 0, nil
}

// viewCopy copies a strided view of in into out (Transpose, Slice), split
// over the workers along the view's largest dim but the last (the last
// when it is the only one): a chunk of that dim is, for each index of the
// dims above it, one contiguous run of out. Where the rows of the input
// were made by a GEMM split the same way, each worker reads what its own
// CPU wrote.
type viewCopy struct {
	shape, stride [kernels.MaxRank]int
	off, es       int
	in, out       []byte
	cp            func(shape, stride *[kernels.MaxRank]int, off, elemSize int, in, out []byte)
	k             int   // the split dim; rows() is shape[k] (1: not split)
	outerOff      []int // byte offset in in of each index of the dims above k
	span          int   // bytes of out per index of dim k
	sub           *slots[[2][kernels.MaxRank]int]
}

// maxOuterRuns bounds the contiguous runs a split view copy makes per
// chunk; a view with more is copied in one piece.
const maxOuterRuns = 256

func (c *prep) newViewCopy(shape, stride [kernels.MaxRank]int, off, es int, in, out []byte) kernel {
	k := &viewCopy{shape: shape, stride: stride, off: off, es: es, in: in, out: out, cp: c.copyView(), k: -1}
	for d := 0; d < kernels.MaxRank-1; d++ {
		if shape[d] > 1 && (k.k < 0 || shape[d] > shape[k.k]) {
			k.k = d
		}
	}
	if k.k < 0 && shape[kernels.MaxRank-1] > 1 {
		k.k = kernels.MaxRank - 1 // one contiguous run (a Slice of whole rows): split it
	}
	if k.k < 0 {
		return k
	}
	outer := 1
	for d := 0; d < k.k; d++ {
		outer *= shape[d]
	}
	if outer > maxOuterRuns {
		k.k = -1
		return k
	}
	k.span = es
	for d := k.k + 1; d < kernels.MaxRank; d++ {
		k.span *= shape[d]
	}
	k.outerOff = make([]int, outer)
	for o := range k.outerOff {
		rem, b := o, 0
		for d := k.k - 1; d >= 0; d-- {
			b += rem % shape[d] * stride[d]
			rem /= shape[d]
		}
		k.outerOff[o] = b
	}
	k.sub = newSlots(c.it.opts.Threads, func() [2][kernels.MaxRank]int { return [2][kernels.MaxRank]int{} })
	return k
}

func (k *viewCopy) rows() int {
	if k.k < 0 {
		return 1
	}
	return k.shape[k.k]
}

func (k *viewCopy) runRows(lo, hi int) {
	if k.k < 0 || lo == 0 && hi == k.shape[k.k] {
		k.cp(&k.shape, &k.stride, k.off, k.es, k.in, k.out)
		return
	}
	i := k.sub.get()
	v := &k.sub.vals[i]
	v[0], v[1] = k.shape, k.stride
	for d := 0; d < k.k; d++ {
		v[0][d] = 1
	}
	v[0][k.k] = hi - lo
	n := k.shape[k.k]
	for o, b := range k.outerOff {
		dst := (o*n + lo) * k.span
		k.cp(&v[0], &v[1], k.off+b+lo*k.stride[k.k], k.es, k.in, k.out[dst:dst+(hi-lo)*k.span])
	}
	k.sub.put(i)
}

// copyView returns the kernel set's strided copy, or ref's.
func (c *prep) copyView() func(shape, stride *[kernels.MaxRank]int, off, elemSize int, in, out []byte) {
	if f := c.it.kernels.CopyView; f != nil {
		return f
	}
	return ref.CopyView
}

func normAxis(axis int32, rank int) int {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	return a
}

func prepareConcat(c *prep, op *format.Op) (kernel, int64, error) {
	out := c.out(op)
	o, ok := op.Options.(*format.ConcatOptions)
	if !ok {
		return nil, 0, fmt.Errorf("missing concat options")
	}
	axis := normAxis(o.Axis, len(out.Shape))
	outer := product(out.Shape[:axis])
	es := out.DType.Size()
	ins := make([][]byte, len(op.Inputs))
	chunk := make([]int, len(op.Inputs))
	for i := range op.Inputs {
		t := c.in(op, i)
		ins[i] = t.Bytes()
		chunk[i] = product(t.Shape[axis:]) * es
	}
	po := out.Bytes()
	return serial(func() { ref.ConcatBytes(outer, chunk, ins, po) }), 0, nil
}

func prepareGather(c *prep, op *format.Op) (kernel, int64, error) {
	x, idx, out := c.in(op, 0), c.in(op, 1), c.out(op)
	axis := 0
	if o, ok := op.Options.(*format.GatherOptions); ok {
		axis = normAxis(o.Axis, len(x.Shape))
	}
	outer := product(x.Shape[:axis])
	inner := product(x.Shape[axis+1:]) * x.DType.Size()
	axisLen := x.Shape[axis]
	ind, px, po := idx.Int32(), x.Bytes(), out.Bytes()
	return serial(func() { ref.GatherBytes(outer, axisLen, inner, ind, px, po) }), 0, nil
}

func prepareSlice(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	o, ok := op.Options.(*format.SliceOptions)
	if !ok {
		return nil, 0, fmt.Errorf("missing slice options")
	}
	begin, size := make([]int, len(o.Begin)), make([]int, len(o.Size))
	for i := range o.Begin {
		begin[i], size[i] = int(o.Begin[i]), int(o.Size[i])
	}
	p, err := ref.NewSlice(x.Shape, begin, size)
	if err != nil {
		return nil, 0, err
	}
	es, px, po := x.DType.Size(), x.Bytes(), out.Bytes()
	shape, stride, off := ref.SliceView(&p, es)
	return c.newViewCopy(shape, stride, off, es, px, po), 0, nil
}

func preparePad(c *prep, op *format.Op) (kernel, int64, error) {
	x, pads, out := c.in(op, 0), c.in(op, 1), c.out(op)
	pv := pads.Int32()
	rank := len(x.Shape)
	before, after := make([]int, rank), make([]int, rank)
	for i := 0; i < rank; i++ {
		before[i], after[i] = int(pv[2*i]), int(pv[2*i+1])
	}
	p, err := ref.NewPad(x.Shape, before, after)
	if err != nil {
		return nil, 0, err
	}
	es := x.DType.Size()
	padValue := make([]byte, es) // real 0: the zero point for quantized tensors
	switch x.DType {
	case format.Int8, format.UInt8:
		padValue[0] = byte(out.Params.ZeroPoint)
	}
	px, po := x.Bytes(), out.Bytes()
	return serial(func() { ref.PadBytes(&p, es, padValue, px, po) }), 0, nil
}

func prepareQuantize(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	unsignedOut := out.DType == format.UInt8
	switch x.DType {
	case format.Float32:
		px, po, p := x.Float32(), out.Bytes(), out.Params
		f := ref.QuantizeFloat
		if g := c.it.kernels.QuantizeFloat; g != nil {
			f = g
		}
		k := newElemOp(len(px))
		k.f = func(lo, hi int) { f(px[lo:hi], po[lo:hi], p, unsignedOut) }
		return k, 0, nil
	case format.Int8, format.UInt8:
		// Each output byte is a function of one input byte: tabulate the
		// kernels/ref requantization over all 256 bytes at load and look
		// the bytes up at Invoke (the set's LookupInt8, TBL on arm64),
		// the same bits for any parameters.
		var in, res [256]byte
		for i := range in {
			in[i] = byte(i) ^ 0x80 // table index i holds byte i^0x80 (ref.LookupInt8)
		}
		if mult, ok := ref.NewRequantizeXNNPACK(x.Params.Scale, out.Params.Scale); ok && c.xnnpack() && x.DType == format.Int8 && !unsignedOut {
			// LiteRT hands int8 (and shifted uint8) requantization to
			// XNNPACK's convert, with an 8-bit multiplier.
			ref.RequantizeXNNPACK(asInt8(in[:]), asInt8(res[:]), x.Params.ZeroPoint, out.Params.ZeroPoint, mult)
		} else {
			m, err := quant.NewMultiplier(float64(x.Params.Scale) / float64(out.Params.Scale))
			if err != nil {
				return nil, 0, err
			}
			p := kernels.RequantizeParams{
				InZP: x.Params.ZeroPoint, OutZP: out.Params.ZeroPoint, Mult: m,
				InUnsigned: x.DType == format.UInt8, OutUnsigned: unsignedOut, Rounding: c.rounding(),
			}
			ref.Requantize(&p, in[:], res[:])
		}
		t := new(quant.Table)
		for i, v := range res {
			t[i] = int8(v)
		}
		f := ref.LookupInt8
		if g := c.it.kernels.LookupInt8; g != nil {
			f = g
		}
		px, po := asInt8(x.Bytes()), asInt8(out.Bytes())
		k := newElemOp(len(px))
		k.f = func(lo, hi int) { f(t, px[lo:hi], po[lo:hi]) }
		return k, 0, nil
	}
	return nil, 0, errDType(x, "input")
}

// prepareDequantize runs Dequantize with the set's kernel or else as a
// lookup in a 256-entry float32 table of p.Dequantize over every byte
// code (ref.DequantizeInt8's and ref.DequantizeUint8's bits by
// construction), split across threads like the other elementwise ops.
func prepareDequantize(c *prep, op *format.Op) (kernel, int64, error) {
	x, out := c.in(op, 0), c.out(op)
	p, po := x.Params, out.Float32()
	t := new([256]float32)
	switch x.DType {
	case format.Int8:
		for b := range t {
			t[b] = p.Dequantize(int32(int8(b)))
		}
	case format.UInt8:
		for b := range t {
			t[b] = p.Dequantize(int32(b))
		}
	default:
		return nil, 0, errDType(x, "input")
	}
	px := x.Bytes()
	k := newElemOp(len(px))
	k.f = func(lo, hi int) { lookupFloat32(t, px[lo:hi], po[lo:hi]) }
	if g := c.it.kernels.Dequantize; g != nil {
		unsigned := x.DType == format.UInt8
		k.f = func(lo, hi int) { g(px[lo:hi], po[lo:hi], p, unsigned) }
	}
	return k, 0, nil
}

// lookupFloat32 writes out[i] = t[x[i]].
func lookupFloat32(t *[256]float32, x []byte, out []float32) {
	out = out[:len(x)]
	for i, b := range x {
		out[i] = t[b]
	}
}
