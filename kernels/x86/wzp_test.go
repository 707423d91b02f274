package x86

import (
	"fmt"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// TestFullyConnectedWeightZeroPoint compares FullyConnected with a
// per-tensor weight zero point (legacy uint8 TFLite models) with ref, with
// Mult stages of both roundings and XNNPACK's float32 stage.
func TestFullyConnectedWeightZeroPoint(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(21)
		for i := 0; i < iters(300); i++ {
			m, n, k := g.shape(i)
			r := quant.RoundSingle
			if i%4 == 3 {
				r = quant.RoundDouble
			}
			p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128), WZP: g.WZP(i), Bias: g.Bias(n)}
			p.Out = g.Stage(n, 120*math.Sqrt(float64(k))*64, r)
			if i%4 == 2 {
				g.XNNPACK(&p.Out)
			}
			x, w := g.I8(m*k, i%2 == 0), g.U8W(n*k)
			want := make([]int8, m*n)
			ref.FullyConnectedInt8(&p, x, w, want)
			pk := PackFC(path, &p, w)
			if pk == nil {
				if k >= minK && (path != AVX2 || k <= maxAVX2K) {
					t.Fatalf("PackFC(K=%d, WZP=%d) = nil", k, p.WZP)
				}
				continue
			}
			got := make([]int8, m*n)
			FullyConnectedInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d WZP=%d %v", i, m, n, k, p.WZP, r), got, want, n)

			// The int32 accumulators, against the definition.
			acc := make([]int32, m*n)
			GemmInt32(&p, x, pk, acc)
			for mm := 0; mm < m; mm++ {
				for nn := 0; nn < n; nn++ {
					var want int32
					if p.Bias != nil {
						want = p.Bias[nn]
					}
					for kk := 0; kk < k; kk++ {
						want += (int32(x[mm*k+kk]) - p.InZP) * (int32(w[nn*k+kk]) - p.WZP)
					}
					if acc[mm*n+nn] != want {
						t.Fatalf("case %d M=%d N=%d K=%d WZP=%d: acc[%d,%d] = %d, want %d", i, m, n, k, p.WZP, mm, nn, acc[mm*n+nn], want)
					}
				}
			}
		}
	})
}

// TestConv2DWeightZeroPoint compares Conv2D with a weight zero point with
// ref: pointwise, im2col with padding (padding taps hold the input zero
// point), strides, dilation, row ranges, both roundings.
func TestConv2DWeightZeroPoint(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(22)
		for i := 0; i < iters(200); i++ {
			p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(12), W: 1 + g.IntN(12), Cin: 1 + g.IntN(40),
				KH: 1 + g.IntN(3), KW: 1 + g.IntN(3), Cout: 1 + g.IntN(40),
				StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1 + g.IntN(2), DilationW: 1 + g.IntN(2)}
			if i%3 == 0 { // pointwise
				p.KH, p.KW, p.StrideH, p.StrideW, p.DilationH, p.DilationW = 1, 1, 1, 1, 1, 1
			} else if g.IntN(3) > 0 {
				p.PadTop, p.PadLeft = g.IntN(p.KH), g.IntN(p.KW)
			}
			kerneltest.FitOutput(&p)
			p.InZP, p.WZP = int32(g.IntN(256)-128), g.WZP(i)
			p.Bias = g.Bias(p.Cout)
			k := p.KH * p.KW * p.Cin
			r := quant.RoundSingle
			if i%4 == 3 {
				r = quant.RoundDouble
			}
			p.Out = g.Stage(p.Cout, 120*math.Sqrt(float64(k))*64, r)
			if i%4 == 2 {
				g.XNNPACK(&p.Out)
			}
			rows := p.N * p.OH
			p.RowLo = g.IntN(rows)
			p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
			x, w := g.I8(p.N*p.H*p.W*p.Cin, true), g.U8W(p.Cout*k)
			want := make([]int8, p.N*p.OH*p.OW*p.Cout)
			got := make([]int8, len(want))
			ref.Conv2DInt8(&p, x, w, want)
			pk := PackConv(path, &p, w)
			if pk == nil {
				if k >= minK && (path != AVX2 || k <= maxAVX2K) {
					t.Fatalf("PackConv(K=%d, WZP=%d) = nil", k, p.WZP)
				}
				continue
			}
			Conv2DInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, p.Cout)
		}
	})
}

// TestGroupedConvDeclinesWeightZeroPoint: grouped convolutions with a
// weight zero point stay with kernels/ref.
func TestGroupedConvDeclinesWeightZeroPoint(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		p := kernels.ConvParams{N: 1, H: 4, W: 4, Cin: 32, KH: 1, KW: 1, Cout: 32, OH: 4, OW: 4,
			StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, Groups: 2, WZP: 3,
			Out: kernels.OutputStage{Mult: []quant.Multiplier{{M: 1 << 30, Shift: -8}}, ActMin: -128, ActMax: 127}}
		if PackConv(path, &p, make([]int8, 32*16)) != nil {
			t.Fatal("PackConv packed a grouped convolution with WZP ≠ 0")
		}
	})
}
