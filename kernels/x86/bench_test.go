package x86

import (
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
	x, w := g.i8(M*K, false), g.w8(N*K)
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
	qa, qb := g.i8(197*64, false), g.i8(197*64, false)
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
