package neon

import (
	"fmt"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// TestOddStagesMatchRef: FullyConnected (multiplier stages of every
// size and float32 stages, per tensor and per channel) and BatchMatMul
// give ref's bytes under kerneltest.OddStages, on each path, with accumulators that
// put the requantized value anywhere in ±60000 (past int16 and the clamps
// on both sides) or, for the largest multipliers, past int32.
func TestOddStagesMatchRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(51)
		for _, st := range kerneltest.OddStages {
			t.Run(st.Name, func(t *testing.T) { oddStageGEMMs(t, g, path, st.ZP, st.Lo, st.Hi, st.Fits) })
		}
	})
}

// oddStageGEMMs is TestOddStagesMatchRef for one stage.
func oddStageGEMMs(t *testing.T, g gen, path Path, zp, lo, hi int32, fits bool) {
	stage := func(i, ch int, scale bool) kernels.OutputStage {
		s := kernels.OutputStage{OutZP: zp, ActMin: lo, ActMax: hi, Rounding: quant.RoundSingle}
		for c := 0; c < ch; c++ {
			s.Mult = append(s.Mult, kerneltest.OddMult(g.Gen, i))
		}
		if scale {
			s.Scale, s.Rounding = make([]float32, ch), quant.RoundXNNPACKUint8
			for c := range s.Scale {
				s.Scale[c] = float32(0.3 + 0.19*g.Float64())
			}
		}
		if got := int8Epilogue(&s); got != fits {
			t.Fatalf("int8Epilogue = %v, want %v", got, fits)
		}
		return s
	}
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("case %d", i)
		m, n, k := 1+g.IntN(14), 1+g.IntN(80), 16+g.IntN(120)
		// FullyConnected: Mult (the micro-kernels' epilogues) or Scale
		// (requantTile), per tensor or per channel.
		p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128), Bias: g.Bias(n)}
		ch := 1
		if i%2 == 1 {
			ch = n
		}
		p.Out = stage(i, ch, i%4 >= 2 && i%3 == 0)
		x, w := g.I8(m*k, true), g.W8(n*k)
		want, got := make([]int8, m*n), make([]int8, m*n)
		ref.FullyConnectedInt8(&p, x, w, want)
		FullyConnectedInt8(&p, x, PackFC(path, &p, w), got)
		diff8(t, name+" FullyConnected", got, want, n)

		// BatchMatMul, per-tensor stage.
		mp := kernels.MatMulParams{M: m, N: n, K: k, AdjY: i%2 == 0, AZP: int32(g.IntN(256) - 128), BZP: int32(g.IntN(256) - 128)}
		mp.Out = stage(i, 1, i%4 == 3)
		a, b := g.I8(m*k, true), g.I8(k*n, true)
		ref.MatMulInt8(&mp, a, b, want)
		MatMulInt8(path, &mp, a, b, got)
		diff8(t, name+" BatchMatMul", got, want, n)
	}
}

// TestOddStagesDepthwiseMatchRef is TestOddStagesMatchRef for the 3×3
// depthwise convolution (16 channels and more, and the narrow layers of
// 1 to 8; ref where PackDepthwise declines, as the runtime runs it).
func TestOddStagesDepthwiseMatchRef(t *testing.T) {
	g := newGen(52)
	for _, st := range kerneltest.OddStages {
		t.Run(st.Name, func(t *testing.T) {
			for i := 0; i < 12; i++ {
				C := []int{1, 2, 4, 8}[i%4]
				if i%3 == 0 {
					C = 16 + g.IntN(40)
				}
				H, W := 5, 16+g.IntN(5)
				p := kernels.ConvParams{N: 1, H: H, W: W, Cin: C, Cout: C, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
					DilationH: 1, DilationW: 1, DepthMultiplier: 1, PadTop: 1, PadLeft: 1, OH: H, OW: W, RowHi: H,
					InZP: int32(g.IntN(256) - 128), Bias: g.Bias(C)}
				p.Out = kernels.OutputStage{OutZP: st.ZP, ActMin: st.Lo, ActMax: st.Hi, Rounding: quant.RoundSingle,
					Mult: []quant.Multiplier{kerneltest.OddMult(g.Gen, i)}}
				if i%2 == 1 {
					p.Out.Scale, p.Out.Rounding = []float32{float32(0.3 + 0.19*g.Float64())}, quant.RoundXNNPACKUint8
				}
				x, w := g.I8(H*W*C, true), g.W8(9*C)
				want, got := make([]int8, H*W*C), make([]int8, H*W*C)
				ref.DepthwiseConv2DInt8(&p, x, w, want)
				pk := PackDepthwise(&p, w)
				if pk != nil {
					DepthwiseConv2DInt8(&p, x, pk, got)
				} else {
					ref.DepthwiseConv2DInt8(&p, x, w, got)
				}
				if (pk != nil) != st.Fits {
					t.Errorf("case %d: PackDepthwise packed %v, want %v", i, pk != nil, st.Fits)
				}
				diff8(t, fmt.Sprintf("case %d (C %d) DepthwiseConv2D", i, C), got, want, C)
			}
		})
	}
}

// TestOddStagesBinaryMatchRef is TestOddStagesMatchRef for Add (TFLite's
// arithmetic, with multipliers of 1/2 and below or above), XNNPACK's Add
// and Sub (addFixed) and Mul (mulScale), whose values reach far past int16
// (binaryEpilogue also declines the empty clamp: ref's finish is a step
// there).
func TestOddStagesBinaryMatchRef(t *testing.T) {
	g := newGen(53)
	for _, st := range kerneltest.OddStages {
		t.Run(st.Name, func(t *testing.T) {
			for i := 0; i < 9; i++ {
				var p kernels.BinaryParams
				switch i % 3 {
				case 0:
					// Operand scales 200 times the output's put OutMult(a' + b')
					// in ±51000; a smaller output scale makes OutMult ≥ 1/2.
					os := []float32{1.0 / 200, 1.0 / 20000}[i%2]
					var err error
					p, err = ref.NewAddParams(quant.Params{Scale: 1}, quant.Params{Scale: 1, ZeroPoint: 3}, quant.Params{Scale: os}, false)
					if err != nil {
						t.Fatal(err)
					}
				case 1:
					p.AFixed, p.BFixed, p.FixedShift = 1<<21, -(1 << 20), 1+g.IntN(8)
					p.AZP, p.BZP = int32(g.IntN(256)-128), int32(g.IntN(256)-128)
				case 2:
					p.MulScale = float32(1 + 2*g.Float64())
					p.AZP, p.BZP = int32(g.IntN(256)-128), int32(g.IntN(256)-128)
				}
				p.OutZP, p.ActMin, p.ActMax = st.ZP, st.Lo, st.Hi
				n := 16 + g.IntN(80)
				p.N, p.Broadcast = n, kernels.DenseBroadcast(n)
				a, b := g.I8(n, true), g.I8(n, true)
				want, got := make([]int8, n), make([]int8, n)
				f, rf := AddInt8, ref.AddInt8
				if i%3 == 2 {
					f, rf = MulInt8, ref.MulInt8
				} else if i%3 == 1 && i%2 == 1 {
					f, rf = SubInt8, ref.SubInt8
				}
				rf(&p, a, b, want)
				f(&p, a, b, got)
				diff8(t, fmt.Sprintf("case %d (%d elements)", i, n), got, want, n)
			}
		})
	}
}
