package runtime

import (
	"github.com/klauspost/cpuid/v2"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/x86"
)

// The kernels/x86 sets, "avx2" (VPMADDWD on int16-widened operands) and
// "avx512vnni" (VPDPBUSD). On amd64 they are the assembly kernels, each
// registered where the CPU has it (golang.org/x/sys/cpu), the best one the
// default. Elsewhere (and with -tags purego) they are the kernels' Go
// twins, registered but never the default, as the kernels/neon sets are
// off arm64.
func init() {
	if !x86.Asm() {
		for _, p := range x86.Paths {
			_, why := x86.Supported(p)
			registerKernels(x86Kernels(p, why+"; registered for tests, never the default"), false)
		}
		return
	}
	best, _, ok := x86.Best()
	cpuName := cpuid.CPU.BrandName
	for _, p := range x86.Paths {
		has, why := x86.Supported(p)
		if !has {
			continue
		}
		if p != best {
			why += "; " + best.String() + " is also available"
		} else if p == x86.AVX2 {
			_, vnniWhy := x86.Supported(x86.AVX512VNNI)
			why += "; " + vnniWhy
		}
		if cpuName != "" {
			why += "; " + cpuName
		}
		if lk, lkWhy := x86.HasLookup(); lk && p == x86.AVX512VNNI {
			why += "; table lookups with VPERMI2B (" + lkWhy + ")"
		}
		if fl, flWhy := x86.FloatSupported(); fl {
			why += "; float32 FMA kernels (" + flWhy + ")"
		}
		registerKernels(x86Kernels(p, why), ok && p == best)
	}
}

// x86Kernels is ref's set with the GEMM-shaped ops on path: weights packed
// at load for FullyConnected, Conv2D and the 3×3 DepthwiseConv2D (one AVX2
// kernel for both paths), B packed per call for BatchMatMul.
func x86Kernels(path x86.Path, why string) KernelSet {
	s := refKernels
	s.Name, s.Why = path.String(), why
	s.MatMulInt8 = func(p kernels.MatMulParams, a, b, out []int8) {
		x86.MatMulInt8(path, &p, a, b, out)
	}
	if x86.Asm() {
		s.AddInt8, s.SubInt8, s.MulInt8 = x86.AddInt8, x86.SubInt8, x86.MulInt8
		s.QuantizeFloat = x86.QuantizeFloat
		s.LayerNormInt8 = func(p kernels.LayerNormParams, x, out []int8) { x86.LayerNormInt8(&p, x, out) }
		s.SoftmaxInt8 = func(p kernels.SoftmaxParams, x, out []int8) { x86.SoftmaxInt8(&p, x, out) }
		if ok, _ := x86.HasLookup(); ok && path == x86.AVX512VNNI {
			// AVX-512 VBMI; the avx2 set stays within AVX2.
			s.LookupInt8 = x86.LookupInt8
		}
	}
	s.PrepareFC = func(p kernels.FCParams, w []int8) (func(p kernels.FCParams, x, out []int8), int) {
		pk := x86.PackFC(path, &p, w)
		if pk == nil {
			return nil, 0
		}
		return func(p kernels.FCParams, x, out []int8) {
			x86.FullyConnectedInt8(&p, x, pk, out)
		}, pk.Bytes()
	}
	s.PrepareConv = func(p kernels.ConvParams, w []int8) (func(p kernels.ConvParams, x, out []int8), int) {
		pk := x86.PackConv(path, &p, w)
		if pk == nil {
			return nil, 0
		}
		return func(p kernels.ConvParams, x, out []int8) {
			x86.Conv2DInt8(&p, x, pk, out)
		}, pk.Bytes()
	}
	s.PrepareDepthwise = func(p kernels.ConvParams, w []int8) (func(p kernels.ConvParams, x, out []int8), int) {
		pk := x86.PackDepthwise(&p, w)
		if pk == nil {
			return nil, 0
		}
		return func(p kernels.ConvParams, x, out []int8) {
			x86.DepthwiseConv2DInt8(&p, x, pk, out)
		}, pk.Bytes()
	}
	if ok, _ := x86.FloatSupported(); ok {
		s.PrepareFCFloat = func(p kernels.FCFloatParams, w []float32) (func(p kernels.FCFloatParams, x, out []float32), int) {
			pk := x86.PackFCFloat(&p, w)
			if pk == nil {
				return nil, 0
			}
			return func(p kernels.FCFloatParams, x, out []float32) {
				x86.FullyConnectedFloat(&p, x, pk, out)
			}, pk.Bytes()
		}
		s.PrepareConvFloat = func(p kernels.ConvParams, w []float32) (func(p kernels.ConvParams, x, out []float32), int) {
			pk := x86.PackConvFloat(&p, w)
			if pk == nil {
				return nil, 0
			}
			return func(p kernels.ConvParams, x, out []float32) {
				x86.Conv2DFloat(&p, x, pk, out)
			}, pk.Bytes()
		}
		s.MatMulFloat = func(p kernels.MatMulParams, a, b, out []float32) {
			x86.MatMulFloat(&p, a, b, out)
		}
		s.LayerNormFloat = x86.LayerNormFloat
		if x86.Asm() {
			s.GELUFloat, s.SoftmaxFloat, s.AddFloat = x86.GELUFloat, x86.SoftmaxFloat, x86.AddFloat
		}
	}
	return s
}
