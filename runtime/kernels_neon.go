package runtime

import (
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/neon"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// The kernels/neon sets, "v80" (Armv8.0 SMULL/SMLAL2/SADALP) and
// "dotprod" (SDOT). On arm64 they are the assembly kernels: v80 on every
// CPU, dotprod where cpu.ARM64.HasASIMDDP, and the best one is the
// default. Elsewhere (and with -tags purego) they are the kernels' Go
// twins, registered but never the default, so that the packing and driver
// code runs, and is compared with ref, on every architecture.
func init() {
	dot, dotWhy := neon.Supported(neon.DotProd)
	_, v80Why := neon.Supported(neon.V80)
	switch {
	case !neon.Asm():
		registerKernels(neonKernels(neon.V80, v80Why+"; registered for tests, never the default"), false)
		registerKernels(neonKernels(neon.DotProd, dotWhy+"; registered for tests, never the default"), false)
	case dot:
		registerKernels(neonKernels(neon.V80, v80Why+"; dotprod is also available"), false)
		registerKernels(neonKernels(neon.DotProd, dotWhy), true)
	default:
		registerKernels(neonKernels(neon.V80, v80Why+"; "+dotWhy), true)
	}
}

func neonKernels(path neon.Path, why string) KernelSet {
	return KernelSet{
		Name: path.String(),
		Why:  why,
		MatMulInt8: func(p kernels.MatMulParams, a, b, out []int8) {
			neon.MatMulInt8(path, &p, a, b, out)
		},
		AddInt8:       neon.AddInt8,
		SubInt8:       neon.SubInt8,
		MulInt8:       neon.MulInt8,
		LookupInt8:    neon.LookupInt8,
		QuantizeFloat: neon.QuantizeFloat,
		Dequantize:    neon.Dequantize,
		CopyView:      neon.CopyView,
		ArgMaxInt8:    neon.ArgMaxInt8,
		PrepareResizeInt8: func(r *ref.ResizeBilinear) func(x, out []int8, lo, hi int, scratch []int32) {
			if k := neon.NewResizeBilinear(r); k != nil {
				return k.Int8Rows
			}
			return nil
		},
		SoftmaxInt8: func(p kernels.SoftmaxParams, x, out []int8) {
			neon.SoftmaxInt8(&p, x, out)
		},
		LayerNormInt8: func(p kernels.LayerNormParams, x, out []int8) {
			neon.LayerNormInt8(path, &p, x, out)
		},
		PrepareFC: func(p kernels.FCParams, w []int8) (func(p kernels.FCParams, x, out []int8), int) {
			pk := neon.PackFC(path, &p, w)
			if pk == nil {
				return nil, 0
			}
			return func(p kernels.FCParams, x, out []int8) {
				neon.FullyConnectedInt8(&p, x, pk, out)
			}, pk.Bytes()
		},
		PrepareConv: func(p kernels.ConvParams, w []int8) (func(p kernels.ConvParams, x, out []int8), int) {
			pk := neon.PackConv(path, &p, w)
			if pk == nil {
				return nil, 0
			}
			return func(p kernels.ConvParams, x, out []int8) {
				neon.Conv2DInt8(&p, x, pk, out)
			}, pk.Bytes()
		},
		PrepareDepthwise: func(p kernels.ConvParams, w []int8) (func(p kernels.ConvParams, x, out []int8), int) {
			pk := neon.PackDepthwise(&p, w)
			if pk == nil {
				return nil, 0
			}
			return func(p kernels.ConvParams, x, out []int8) {
				neon.DepthwiseConv2DInt8(&p, x, pk, out)
			}, pk.Bytes()
		},
		PrepareZOSensitivity: func(p kernels.ZOSensitivityParams, w []int8) (func(p kernels.ZOSensitivityParams, z, a []int8, s []float32), int) {
			k := neon.PrepareZOSensitivity(path, &p, w)
			if k == nil {
				return nil, 0
			}
			return func(p kernels.ZOSensitivityParams, z, a []int8, s []float32) {
				k.Int8(&p, z, a, s)
			}, k.Bytes()
		},
		PrepareDiverseSelect: func(p kernels.DiverseSelectParams) (func(p kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16), int) {
			k := neon.PrepareDiverseSelect(path, &p)
			if k == nil {
				return nil, 0
			}
			return func(p kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16) {
				k.Int8(&p, feat, s, sc, idx)
			}, k.Bytes()
		},
		TAPInt8: neon.TAPInt8,

		// The float32 kernels (FMLA, Armv8.0) are the same in both paths.
		PrepareFCFloat: func(p kernels.FCFloatParams, w []float32) (func(p kernels.FCFloatParams, x, out []float32), int) {
			pk := neon.PackFCFloat(&p, w)
			if pk == nil {
				return nil, 0
			}
			return func(p kernels.FCFloatParams, x, out []float32) {
				neon.FullyConnectedFloat(&p, x, pk, out)
			}, pk.Bytes()
		},
		PrepareConvFloat: func(p kernels.ConvParams, w []float32) (func(p kernels.ConvParams, x, out []float32), int) {
			pk := neon.PackConvFloat(&p, w)
			if pk == nil {
				return nil, 0
			}
			return func(p kernels.ConvParams, x, out []float32) {
				neon.Conv2DFloat(&p, x, pk, out)
			}, pk.Bytes()
		},
		MatMulFloat: func(p kernels.MatMulParams, a, b, out []float32) {
			neon.MatMulFloat(&p, a, b, out)
		},
		GELUFloat:      neon.GELUFloat,
		SoftmaxFloat:   neon.SoftmaxFloat,
		AddFloat:       neon.AddFloat,
		DivFloat:       neon.DivFloat,
		LayerNormFloat: neon.LayerNormFloat,
	}
}
