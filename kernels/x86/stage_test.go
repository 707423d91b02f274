package x86

import (
	"fmt"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/internal/kerneltest"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// TestOddStagesMatchRef: FullyConnected (multiplier stages of every size,
// kerneltest.OddMult, and float32 stages, per tensor and per channel),
// BatchMatMul, the 3×3 depthwise convolution
// (ref where PackDepthwise declines, as the runtime runs it) and Add give
// ref's bytes under kerneltest.OddStages, with accumulators that put the requantized
// value anywhere in ±60000 (so past int16 and the clamps on both sides) or,
// for the largest multipliers, past int32.
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
	for i := 0; i < 8; i++ {
		name := fmt.Sprintf("case %d", i)
		m, n, k := 1+g.IntN(14), 1+g.IntN(80), 16+g.IntN(120)
		// FullyConnected: Mult (the micro-kernels' epilogue) or
		// Scale (requantTile), per tensor or per channel.
		p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128), Bias: g.Bias(n)}
		ch := 1
		if i%2 == 1 {
			ch = n
		}
		p.Out = stage(i, ch, i%4 >= 2)
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

// TestOddStagesDepthwiseAddMatchRef is TestOddStagesMatchRef for the 3×3
// depthwise convolution (ref where PackDepthwise declines, as the runtime
// runs it) and Add.
func TestOddStagesDepthwiseAddMatchRef(t *testing.T) {
	needAVX2(t)
	g := newGen(52)
	for _, st := range kerneltest.OddStages {
		t.Run(st.Name, func(t *testing.T) { oddStageElementwise(t, g, st.ZP, st.Lo, st.Hi) })
	}
}

// oddStageElementwise is TestOddStagesDepthwiseAddMatchRef for one stage.
func oddStageElementwise(t *testing.T, g gen, zp, lo, hi int32) {
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("case %d", i)
		// Narrow layers (C = 1, 2, 4, 8: 16/C pixels in the lanes) and
		// wide ones.
		C, W := []int{16 + g.IntN(40), 1, 2, 4, 8}[i%5], 20
		p := kernels.ConvParams{N: 1, H: 5, W: W, Cin: C, Cout: C, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			DilationH: 1, DilationW: 1, DepthMultiplier: 1, PadTop: 1, PadLeft: 1, OH: 5, OW: W, RowHi: 5,
			InZP: int32(g.IntN(256) - 128), Bias: g.Bias(C)}
		p.Out = kernels.OutputStage{OutZP: zp, ActMin: lo, ActMax: hi, Rounding: quant.RoundSingle,
			Mult: []quant.Multiplier{quant.MustMultiplier(0.3 + 0.19*g.Float64())}}
		if i%2 == 1 {
			p.Out.Scale, p.Out.Rounding = []float32{float32(0.3 + 0.19*g.Float64())}, quant.RoundXNNPACKUint8
		}
		x, w := g.I8(5*W*C, true), g.W8(9*C)
		want, got := make([]int8, 5*W*C), make([]int8, 5*W*C)
		ref.DepthwiseConv2DInt8(&p, x, w, want)
		if pk := PackDepthwise(&p, w); pk != nil {
			DepthwiseConv2DInt8(&p, x, pk, got)
		} else {
			ref.DepthwiseConv2DInt8(&p, x, w, got)
		}
		diff8(t, name+" DepthwiseConv2D", got, want, C)

		// Add: operand scales 200 times the output's put OutMult(a' + b')
		// in ±51000.
		ap, err := ref.NewAddParams(quant.Params{Scale: 1}, quant.Params{Scale: 1, ZeroPoint: 3}, quant.Params{Scale: 1.0 / 200}, false)
		if err != nil {
			t.Fatal(err)
		}
		shape := []int{1 + g.IntN(5), 8 + g.IntN(60)}
		if ap.Broadcast, err = ref.NewBroadcast(shape, shape, shape); err != nil {
			t.Fatal(err)
		}
		ap.OutZP, ap.ActMin, ap.ActMax = zp, lo, hi
		nn := shape[0] * shape[1]
		a, b := g.I8(nn, true), g.I8(nn, true)
		wantA, gotA := make([]int8, nn), make([]int8, nn)
		ref.AddInt8(&ap, a, b, wantA)
		AddInt8(&ap, a, b, gotA)
		diff8(t, name+" Add", gotA, wantA, shape[1])
	}
}
