package x86

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// needAVX2 skips a test of the AVX2 kernels on an amd64 CPU without AVX2,
// where no kernel set uses them (a lane that expects a path fails in
// paths instead).
func needAVX2(t *testing.T) {
	if len(paths(t)) == 0 {
		t.Skip("no AVX2")
	}
}

// depthwiseCase returns a random 3×3 depthwise convolution: channels 16,
// 17, 31, 33, multiples of 16 and anything from 16 to 80, now and then
// hundreds (several stretches per output row) or more than a row buffer
// holds (ref); strides 1–3, dilations 1–3, any padding on each side, a row
// range, per-tensor and per-channel multipliers (some ≥ 1/2 or RoundDouble,
// which PackDepthwise declines), XNNPACK's float32 stage, legacy uint8
// weights with a zero point, tight clamps, extreme activations.
func depthwiseCase(g gen, i int) (kernels.ConvParams, []int8, []int8) {
	pick := func(v ...int) int { return v[g.IntN(len(v))] }
	C := pick(16, 17, 31, 33, 16*(1+g.IntN(5)), 16+g.IntN(65))
	H, W := 1+g.IntN(12), 1+g.IntN(12)
	switch i % 25 {
	case 7:
		C, W = 300+g.IntN(800), 10+g.IntN(30) // several stretches per row
	case 19:
		C, W = 2800+g.IntN(400), 1+g.IntN(4) // wider than a row buffer: ref
	}
	p := kernels.ConvParams{N: 1 + g.IntN(2), H: H, W: W, Cin: C, Cout: C, KH: 3, KW: 3,
		StrideH: pick(1, 1, 2, 2, 3), StrideW: pick(1, 1, 2, 2, 3), DilationH: 1, DilationW: 1, DepthMultiplier: 1}
	if i%4 == 1 {
		p.DilationH, p.DilationW = pick(1, 2, 3), pick(1, 2, 3)
	}
	effH, effW := 2*p.DilationH+1, 2*p.DilationW+1
	var padB, padR int
	if g.IntN(4) > 0 {
		p.PadTop, p.PadLeft = g.IntN(effH), g.IntN(effW)
		padB, padR = g.IntN(effH), g.IntN(effW)
	}
	if p.H+p.PadTop+padB < effH {
		padB = effH - p.H - p.PadTop
	}
	if p.W+p.PadLeft+padR < effW {
		padR = effW - p.W - p.PadLeft
	}
	p.OH = (p.H+p.PadTop+padB-effH)/p.StrideH + 1
	p.OW = (p.W+p.PadLeft+padR-effW)/p.StrideW + 1
	p.InZP = int32(g.IntN(256) - 128)
	p.Bias = g.Bias(C)
	r := quant.RoundSingle
	if i%11 == 10 {
		r = quant.RoundDouble
	}
	w := g.W8(9 * C)
	if i%3 == 2 {
		p.WZP, w = g.WZP(i), g.U8W(9*C)
	}
	p.Out = g.Stage(C, 120*3*64, r)
	if i%3 == 1 {
		g.XNNPACK(&p.Out)
	}
	rows := p.N * p.OH
	p.RowLo = g.IntN(rows)
	p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
	return p, g.I8(p.N*p.H*p.W*C, true), w
}

// dwTakes reports whether PackDepthwise must pack p: a Mult stage with
// RoundSingle and every multiplier below 1/2, or XNNPACK's stage.
func dwTakes(p *kernels.ConvParams) bool {
	if p.Out.Scale != nil {
		return true
	}
	if p.Out.Rounding != quant.RoundSingle {
		return false
	}
	for _, m := range p.Out.Mult {
		if !fastRequant(m) {
			return false
		}
	}
	return true
}

// TestDepthwiseMatchesRef: the 3×3 depthwise kernel gives ref's bits over
// random convolutions (depthwiseCase); rows outside [RowLo, RowHi) stay
// untouched; PackDepthwise declines exactly the stages it cannot apply.
func TestDepthwiseMatchesRef(t *testing.T) {
	needAVX2(t)
	g := newGen(31)
	packed, scaled := 0, 0
	for i := 0; i < iters(600); i++ {
		p, x, w := depthwiseCase(g, i)
		want := make([]int8, p.N*p.OH*p.OW*p.Cout)
		for j := range want {
			want[j] = int8(j)
		}
		got := append([]int8(nil), want...)
		ref.DepthwiseConv2DInt8(&p, x, w, want)
		pk := PackDepthwise(&p, w)
		if (pk != nil) != dwTakes(&p) {
			t.Fatalf("case %d: PackDepthwise packed=%v, want %v (%+v)", i, pk != nil, dwTakes(&p), p.Out)
		}
		if pk == nil {
			continue
		}
		packed++
		if p.Out.Scale != nil {
			scaled++
		}
		DepthwiseConv2DInt8(&p, x, pk, got)
		diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, p.Cout)
	}
	if packed < iters(600)/2 || scaled < iters(600)/5 {
		t.Fatalf("only %d cases packed, %d with the float32 stage", packed, scaled)
	}
}

// TestDepthwiseExtremes: accumulators at their largest (activations and
// weights at the ends of their ranges, w − WZP = ±255), multipliers just
// below 1/2 and tiny ones, float32 scales that saturate or round ties,
// with both stages.
func TestDepthwiseExtremes(t *testing.T) {
	needAVX2(t)
	for i, tc := range []struct {
		x, w, wzp, inZP int32
		mult            float64
		scale           float32
	}{
		{-128, -128, 127, 0, 0.4999999, 0},
		{-128, 127, -128, 127, 0.4999999, 0},
		{127, -128, 127, -128, 0.4999, 0},
		{-128, -128, 127, 0, 0, 1e-3},
		{-128, 127, -128, 0, 0, 3.5},  // saturates to ±2^30 and beyond the clamp
		{1, 1, 0, 0, 0, 0.5},          // ties: x.5 rounds to even
		{3, 1, 0, 0, 0, 1.0 / 18},     // 27·(1/18) = 1.5
		{-128, 1, 0, 127, 0, 1.0 / 6}, // −255·9/6
		{5, 7, 0, 0, math.Exp2(-31), 0},
	} {
		for _, C := range []int{16, 17, 33} {
			p := kernels.ConvParams{N: 1, H: 4, W: 5, Cin: C, Cout: C, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
				DilationH: 1, DilationW: 1, DepthMultiplier: 1, PadTop: 1, PadLeft: 1, OH: 4, OW: 5, RowHi: 4,
				InZP: tc.inZP, WZP: tc.wzp}
			p.Out = kernels.OutputStage{OutZP: int32(C) - 20, ActMin: -128, ActMax: 127, Rounding: quant.RoundSingle}
			p.Out.Mult = []quant.Multiplier{quant.MustMultiplier(tc.mult)}
			if tc.scale != 0 {
				p.Out.Scale, p.Out.Rounding = []float32{tc.scale}, quant.RoundXNNPACKUint8
			}
			x, w := make([]int8, 4*5*C), make([]int8, 9*C)
			for j := range x {
				x[j] = int8(tc.x)
			}
			for j := range w {
				w[j] = int8(tc.w)
			}
			p.Bias = make([]int32, C)
			for j := range p.Bias {
				p.Bias[j] = int32(j*j) - 200
			}
			want, got := make([]int8, 4*5*C), make([]int8, 4*5*C)
			ref.DepthwiseConv2DInt8(&p, x, w, want)
			pk := PackDepthwise(&p, w)
			if pk == nil {
				t.Fatalf("case %d C=%d: PackDepthwise = nil", i, C)
			}
			DepthwiseConv2DInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d C=%d", i, C), got, want, C)
		}
	}
}

// TestDepthwiseDeclines: other kernel sizes, depth multipliers, fewer than
// 16 channels and clamps or zero points out of the int8 epilogue's reach
// stay with ref.
func TestDepthwiseDeclines(t *testing.T) {
	base := kernels.ConvParams{N: 1, H: 4, W: 4, Cin: 16, Cout: 16, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1, DepthMultiplier: 1, OH: 2, OW: 2, RowHi: 2}
	base.Out = kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.01)}, ActMin: -128, ActMax: 127}
	w := make([]int8, 25*32)
	if PackDepthwise(&base, w) == nil {
		t.Fatal("base case declined")
	}
	for name, f := range map[string]func(p *kernels.ConvParams){
		"5x5":         func(p *kernels.ConvParams) { p.KH, p.KW = 5, 5 },
		"multiplier2": func(p *kernels.ConvParams) { p.DepthMultiplier, p.Cout = 2, 32 },
		"C15":         func(p *kernels.ConvParams) { p.Cin, p.Cout = 15, 15 },
		"zp300":       func(p *kernels.ConvParams) { p.Out.OutZP = 300 },
		"clamp":       func(p *kernels.ConvParams) { p.Out.ActMax = 200 },
		"nan":         func(p *kernels.ConvParams) { p.Out.Scale = []float32{float32(math.NaN())} },
		"double":      func(p *kernels.ConvParams) { p.Out.Rounding = quant.RoundDouble },
	} {
		p := base
		f(&p)
		if PackDepthwise(&p, w) != nil {
			t.Errorf("%s: packed", name)
		}
	}
}

// TestDepthwiseNoAllocs: the depthwise kernel allocates nothing, with its
// buffers in use (padding) and with several stretches per row.
func TestDepthwiseNoAllocs(t *testing.T) {
	needAVX2(t)
	for _, C := range []int{32, 1024} {
		p := kernels.ConvParams{N: 1, H: 16, W: 16, Cin: C, Cout: C, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
			DilationH: 1, DilationW: 1, DepthMultiplier: 1, PadTop: 1, PadLeft: 1, OH: 16, OW: 16, RowHi: 16}
		p.Out = kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.01)}, ActMin: -128, ActMax: 127}
		x, out := make([]int8, 16*16*C), make([]int8, 16*16*C)
		pk := PackDepthwise(&p, make([]int8, 9*C))
		if n := testing.AllocsPerRun(5, func() { DepthwiseConv2DInt8(&p, x, pk, out) }); n != 0 {
			t.Fatalf("C=%d: %v allocations per call", C, n)
		}
	}
}
