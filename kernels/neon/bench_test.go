package neon

import (
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// BenchmarkGEMM runs the M=197 K=192 N=768 GEMM of a DeiT-tiny MLP layer
// (29 M MACs) with every path, int32 and int8 out, and the reference.
// Under emulation time means little: tools/icount.sh counts instructions.
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
	for _, path := range []Path{V80, DotProd} {
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
	}
}
