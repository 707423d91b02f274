package runtime

import (
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// The kernel set's int8 research operators (see KernelSet), with
// kernels/ref where the set has none or declines the op.

// zoSensitivityInt8 returns the set's prepared ZOSensitivity for weights
// w, with the bytes it holds, or nil.
func (c *prep) zoSensitivityInt8(p kernels.ZOSensitivityParams, w []int8) (func(p kernels.ZOSensitivityParams, z, a []int8, s []float32), int) {
	if c.it.kernels.PrepareZOSensitivity == nil || w == nil || p.Mode == kernels.ZOFroDiag {
		return nil, 0
	}
	return c.it.kernels.PrepareZOSensitivity(p, w)
}

// diverseSelectInt8 returns the set's prepared DiverseSelect, or ref's,
// with the bytes it holds.
func (c *prep) diverseSelectInt8(p kernels.DiverseSelectParams) (func(p kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16), int) {
	if k := c.it.kernels.PrepareDiverseSelect; k != nil {
		if f, n := k(p); f != nil {
			return f, n
		}
	}
	return refDiverseSelectInt8, 0
}

func refDiverseSelectInt8(p kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16) {
	ref.DiverseSelectInt8(&p, feat, s, sc, idx)
}

// tapInt8 returns the set's TokenAwareAvgPool.
func (c *prep) tapInt8() func(p *kernels.TAPParams, x, logits []int8, w []int32, out []int8) {
	if f := c.it.kernels.TAPInt8; f != nil {
		return f
	}
	return ref.TAPInt8
}

// packedKernel is a kernel that holds data packed at load, counted by
// Interpreter.PackedBytes.
type packedKernel struct {
	kernel
	bytes int
}

func (k packedKernel) packedBytes() int { return k.bytes }

// withPacked counts bytes of packed data for k.
func withPacked(k kernel, bytes int) kernel {
	if bytes == 0 {
		return k
	}
	return packedKernel{k, bytes}
}
