package neon

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
				if k >= 16 {
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
				if k >= 16 {
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

// TestDepthwiseWeightZeroPoint compares the 3×3 depthwise kernel with a
// weight zero point folded into its packed weights with ref, with Mult and
// XNNPACK float32 stages; weights whose w − WZP leaves [−127, 127] must be
// declined under a Mult stage (the float32 stage's kernel takes them, in
// int16).
func TestDepthwiseWeightZeroPoint(t *testing.T) {
	g := newGen(23)
	packed := 0
	for i := 0; i < iters(200); i++ {
		C := 16 + g.IntN(50)
		if i%3 == 0 {
			C = 16 * (1 + g.IntN(4))
		}
		p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(14), W: 1 + g.IntN(14), Cin: C, Cout: C,
			KH: 3, KW: 3, StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1, DilationW: 1, DepthMultiplier: 1}
		if g.IntN(4) > 0 {
			p.PadTop, p.PadLeft = 1, 1
		}
		if p.H+2*p.PadTop < 3 || p.W+2*p.PadLeft < 3 {
			p.PadTop, p.PadLeft = 3, 3
		}
		p.OH = (p.H+2*p.PadTop-3)/p.StrideH + 1
		p.OW = (p.W+2*p.PadLeft-3)/p.StrideW + 1
		p.InZP, p.WZP = int32(g.IntN(256)-128), g.WZP(i)
		p.Bias = g.Bias(C)
		p.Out = g.Stage(C, 120*3*64, quant.RoundSingle)
		if i%3 == 1 {
			g.XNNPACK(&p.Out)
		}
		rows := p.N * p.OH
		p.RowLo = g.IntN(rows)
		p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
		// Weights within WZP ± 127 (as a uint8 model's usually are), or,
		// one case in four, anywhere.
		w := make([]int8, 9*C)
		fits := i%4 != 3
		for j := range w {
			if fits {
				lo, hi := max(-128, p.WZP-127), min(127, p.WZP+127)
				w[j] = int8(lo + int32(g.IntN(int(hi-lo+1))))
			} else {
				w[j] = int8(g.IntN(256) - 128)
			}
		}
		fits = true
		for _, v := range w {
			if d := int32(v) - p.WZP; d < -127 || d > 127 {
				fits = false
			}
		}
		x := g.I8(p.N*p.H*p.W*C, true)
		want := make([]int8, p.N*p.OH*p.OW*C)
		got := make([]int8, len(want))
		ref.DepthwiseConv2DInt8(&p, x, w, want)
		pk := PackDepthwise(&p, w)
		if fits = fits || p.Out.Scale != nil; (pk != nil) != fits {
			t.Fatalf("case %d: PackDepthwise(WZP=%d) packed=%v, want %v", i, p.WZP, pk != nil, fits)
		}
		if pk == nil {
			continue
		}
		packed++
		DepthwiseConv2DInt8(&p, x, pk, got)
		diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, C)
	}
	if packed == 0 {
		t.Fatal("no case packed")
	}
}

// TestRequantTileMatchesRequantize drives the float32-stage tile kernel
// with accumulators and scales at its edges: int32's extremes, exact ties
// (scales 1/2 and 1/4 on odd accumulators), products beyond ±2^30 and
// ±Inf, zero and subnormal scales, per-tensor and per-channel, zero points
// and clamps across their ranges, 1 to 4 rows of 8 to 24 columns — each
// byte against OutputStage.Requantize, ref's; rows' bytes outside the
// columns stay untouched.
func TestRequantTileMatchesRequantize(t *testing.T) {
	g := newGen(27)
	for i := 0; i < iters(400); i++ {
		rows, n8 := 1+g.IntN(4), 1+g.IntN(3)
		cols, stride := 8*n8, 8*n8+g.IntN(9)
		acc := make([]int32, rows*cols)
		for j := range acc {
			switch g.IntN(6) {
			case 0:
				acc[j] = []int32{math.MinInt32, math.MaxInt32, -1 << 30, 1 << 30, 0, 1, -1}[g.IntN(7)]
			case 1:
				acc[j] = int32(2*g.IntN(600) - 599) // odd and small: ties under 1/2, 1/4
			default:
				acc[j] = int32(g.Uint32())
				if g.IntN(2) == 0 {
					acc[j] >>= 8 + g.IntN(20)
				}
			}
		}
		nsc := cols
		if i%3 == 0 {
			nsc = 1
		}
		s := kernels.OutputStage{Scale: make([]float32, nsc), OutZP: int32(g.IntN(511) - 255)}
		if i%5 == 4 {
			s.OutZP = []int32{-32640, 32640, -32000, 30000}[g.IntN(4)] // the widest the kernel takes
		}
		for c := range s.Scale {
			switch g.IntN(8) {
			case 0:
				s.Scale[c] = []float32{0.5, 0.25, 1, 2}[g.IntN(4)]
			case 1:
				s.Scale[c] = []float32{0, 1e-40, -1e-40, 3e38, -3e38, 1 << 20}[g.IntN(6)]
			default:
				s.Scale[c] = float32(math.Exp2(-20+12*g.Float64()) * (g.Float64()*2 - 0.5))
			}
		}
		s.ActMin, s.ActMax = -128, 127
		if i%2 == 1 {
			s.ActMin = int32(g.IntN(200) - 128)
			s.ActMax = s.ActMin + int32(g.IntN(128-int(s.ActMin)))
		}
		want := make([]int8, rows*stride)
		for j := range want {
			want[j] = int8(j)
		}
		got := append([]int8(nil), want...)
		for r := range rows {
			for c := range cols {
				want[r*stride+c] = s.Requantize(acc[r*cols+c], c)
			}
		}
		var one [8]float32
		sc, step := &one[0], 0
		if nsc == 1 {
			for k := range one {
				one[k] = s.Scale[0]
			}
		} else {
			sc, step = &s.Scale[0], 32
		}
		requantTile(&acc[0], 4*cols, rows, n8, sc, step, &got[0], stride, int(s.OutZP), int(s.ActMin), int(s.ActMax))
		diff8(t, fmt.Sprintf("case %d: %d×%d, stage %+v", i, rows, cols, s), got, want, stride)
	}
}

// TestScaleStageWideZeroPoint: float32 stages with a zero point beyond
// ±32640 (saturating at int16 would lose which side of the clamp a value
// is on) or a clamp beyond int8 are not given to the NEON stage: the
// GEMM requantizes them in Go and the depthwise kernel declines them,
// and the bytes stay ref's.
func TestScaleStageWideZeroPoint(t *testing.T) {
	g := newGen(28)
	for _, st := range []kernels.OutputStage{
		{OutZP: -32768, ActMin: -128, ActMax: 127}, {OutZP: 32767, ActMin: -128, ActMax: 127},
		{OutZP: -32641, ActMin: -128, ActMax: 127}, {OutZP: 0, ActMin: -200, ActMax: 300},
	} {
		if scaleStageFits(&kernels.OutputStage{Scale: []float32{1}, OutZP: st.OutZP, ActMin: st.ActMin, ActMax: st.ActMax}) {
			t.Errorf("stage %+v taken by the NEON float32 stage", st)
		}
		forEachPath(t, func(t *testing.T, path Path) {
			const m, n, k = 5, 24, 64
			p := kernels.FCParams{M: m, N: n, K: k, Bias: g.Bias(n), Out: st}
			p.Out.Mult = []quant.Multiplier{{M: 1 << 30, Shift: 0}}
			p.Out.Scale = []float32{1}
			x, w := g.I8(m*k, true), g.W8(n*k)
			want, got := make([]int8, m*n), make([]int8, m*n)
			ref.FullyConnectedInt8(&p, x, w, want)
			FullyConnectedInt8(&p, x, PackFC(path, &p, w), got)
			diff8(t, fmt.Sprintf("stage %+v", st), got, want, n)
		})
		dp := kernels.ConvParams{N: 1, H: 4, W: 4, Cin: 16, Cout: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			DilationH: 1, DilationW: 1, DepthMultiplier: 1, OH: 2, OW: 2, Out: st}
		dp.Out.Scale = []float32{1}
		if PackDepthwise(&dp, g.W8(9*16)) != nil {
			t.Errorf("stage %+v: the depthwise kernel took it", st)
		}
	}
}
