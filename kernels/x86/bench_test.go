package x86

import (
	"fmt"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// BenchmarkGEMM runs the M=197 K=192 N=768 GEMM of a DeiT-tiny MLP layer
// (29 M MACs) with every path, int32 and int8 out, and the reference, and
// DeiT-tiny's attention products (Q·Kᵀ: 197×197×64, P·V: 197×64×197).
func BenchmarkGEMM(b *testing.B) {
	const M, K, N = 197, 192, 768
	g := newGen(11)
	x, w := g.I8(M*K, false), g.W8(N*K)
	p := kernels.FCParams{M: M, N: N, K: K, InZP: 3, Bias: make([]int32, N)}
	p.Out = kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.0007)}, ActMin: -128, ActMax: 127}
	o8, o32 := make([]int8, M*N), make([]int32, M*N)
	b.Run("ref", func(b *testing.B) {
		for range b.N {
			ref.FullyConnectedInt8(&p, x, w, o8)
		}
	})
	qk := kernels.MatMulParams{M: 197, N: 197, K: 64, AdjY: true, AZP: 3, BZP: -5}
	qk.Out = p.Out
	pv := kernels.MatMulParams{M: 197, N: 64, K: 197, AZP: -128, BZP: 7}
	pv.Out = p.Out
	qa, qb := g.I8(197*64, false), g.I8(197*64, false)
	qo := make([]int8, 197*197)
	for _, path := range Paths {
		if ok, _ := Supported(path); !ok {
			continue
		}
		pk := PackFC(path, &p, w)
		b.Run(path.String()+"/int32", func(b *testing.B) {
			for range b.N {
				GemmInt32(&p, x, pk, o32)
			}
		})
		b.Run(path.String()+"/int8", func(b *testing.B) {
			for range b.N {
				FullyConnectedInt8(&p, x, pk, o8)
			}
		})
		b.Run(path.String()+"/qk", func(b *testing.B) {
			for range b.N {
				MatMulInt8(path, &qk, qa, qb, qo)
			}
		})
		b.Run(path.String()+"/pv", func(b *testing.B) {
			for range b.N {
				MatMulInt8(path, &pv, qo, qb, o8)
			}
		})
	}
}

// BenchmarkDepthwise runs two of MobileNet v2's 3×3 depthwise layers
// (112×112×96 stride 2, 56×56×144 stride 1; SAME padding), with the
// RoundSingle multiplier stage and XNNPACK's float32 stage, on ref and on
// the AVX2 kernel.
func BenchmarkDepthwise(b *testing.B) {
	g := newGen(12)
	for _, s := range []struct{ hw, c, stride int }{{112, 96, 2}, {56, 144, 1}} {
		o := (s.hw-1)/s.stride + 1
		p := kernels.ConvParams{N: 1, H: s.hw, W: s.hw, Cin: s.c, Cout: s.c, KH: 3, KW: 3, StrideH: s.stride, StrideW: s.stride,
			DilationH: 1, DilationW: 1, DepthMultiplier: 1, PadTop: 1 - (s.stride - 1), PadLeft: 1 - (s.stride - 1), OH: o, OW: o, RowHi: o,
			InZP: -128, Bias: g.Bias(s.c)}
		if p.Bias == nil {
			p.Bias = make([]int32, s.c)
		}
		p.Out = kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.003)}, ActMin: -128, ActMax: 127}
		x, w, out := g.I8(s.hw*s.hw*s.c, false), g.W8(9*s.c), make([]int8, o*o*s.c)
		for _, stage := range []string{"mult", "scale"} {
			if stage == "scale" {
				p.Out.Scale = []float32{0.003}
			}
			name := fmt.Sprintf("%dx%dx%d_s%d/%s", s.hw, s.hw, s.c, s.stride, stage)
			b.Run(name+"/ref", func(b *testing.B) {
				for range b.N {
					ref.DepthwiseConv2DInt8(&p, x, w, out)
				}
			})
			pk := PackDepthwise(&p, w)
			b.Run(name+"/avx2", func(b *testing.B) {
				for range b.N {
					DepthwiseConv2DInt8(&p, x, pk, out)
				}
			})
		}
	}
}

// BenchmarkMatMulFloat runs DeiT-tiny's float attention products (Q·Kᵀ:
// 197×197×64 with Kᵀ packed per call, P·V: 197×64×197), Q·Kᵀ also with
// its last five columns on gemmF32 instead of gemmF32T.
func BenchmarkMatMulFloat(b *testing.B) {
	g := newGen(12)
	qk := kernels.MatMulParams{M: 197, N: 197, K: 64, AdjY: true}
	pv := kernels.MatMulParams{M: 197, N: 64, K: 197}
	q, kt, o := g.F32(197*64), g.F32(197*64), make([]float32, 197*197)
	b.Run("qk", func(b *testing.B) {
		for range b.N {
			MatMulFloat(&qk, q, kt, o)
		}
	})
	b.Run("qk-gemmF32", func(b *testing.B) {
		defer func(v bool) { floatTail = v }(floatTail)
		floatTail = false
		for range b.N {
			MatMulFloat(&qk, q, kt, o)
		}
	})
	b.Run("pv", func(b *testing.B) {
		for range b.N {
			MatMulFloat(&pv, o, kt, q)
		}
	})
}
