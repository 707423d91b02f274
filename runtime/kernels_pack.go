package runtime

import "github.com/edgeinfer/edgeinfer/format"

// symmetricWeights reports whether input i of op has zero points all 0,
// the only weights the packed micro-kernels take.
func (c *prep) symmetricWeights(op *format.Op, i int) bool {
	if q := c.mt(op.Inputs[i]).Quant; q != nil {
		for _, z := range q.ZeroPoint {
			if z != 0 {
				return false
			}
		}
	}
	return true
}

// packFC lets the kernel set pack a FullyConnected's weights at load.
func (c *prep) packFC(k *fcInt8, op *format.Op) {
	if c.it.kernels.PrepareFC == nil || !c.symmetricWeights(op, 1) {
		return
	}
	k.pf, k.packed = c.it.kernels.PrepareFC(k.p, k.w)
}

// packConv lets the kernel set pack a Conv2D's or DepthwiseConv2D's
// weights at load.
func (c *prep) packConv(k *conv, op *format.Op) {
	f := c.it.kernels.PrepareConv
	if k.depthwise {
		f = c.it.kernels.PrepareDepthwise
	}
	if f == nil || !c.symmetricWeights(op, 1) {
		return
	}
	k.pconv, k.packed = f(k.p, k.w8)
}

func (k *fcInt8) packedBytes() int { return k.packed }
func (k *conv) packedBytes() int   { return k.packed }

// PackedBytes returns the memory held by weights packed at load into the
// kernel set's layout (0 for the reference kernels, which read the model's
// weights in place).
func (it *Interpreter) PackedBytes() int64 {
	var n int64
	for _, s := range it.steps {
		if p, ok := s.k.(interface{ packedBytes() int }); ok {
			n += int64(p.packedBytes())
		}
	}
	return n
}
