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
	effH, effW, padB, padR := dwPads(g, &p)
	if p.H+p.PadTop+padB < effH {
		padB = effH - p.H - p.PadTop
	}
	if p.W+p.PadLeft+padR < effW {
		padR = effW - p.W - p.PadLeft
	}
	p.OH = (p.H+p.PadTop+padB-effH)/p.StrideH + 1
	p.OW = (p.W+p.PadLeft+padR-effW)/p.StrideW + 1
	x, w := dwData(g, i, &p)
	return p, x, w
}

// dwPads picks p's padding (none, one time in four): top and left set,
// bottom and right returned with the dilated kernel's extent.
func dwPads(g gen, p *kernels.ConvParams) (effH, effW, padB, padR int) {
	effH, effW = 2*p.DilationH+1, 2*p.DilationW+1
	if g.IntN(4) > 0 {
		p.PadTop, p.PadLeft = g.IntN(effH), g.IntN(effW)
		padB, padR = g.IntN(effH), g.IntN(effW)
	}
	return effH, effW, padB, padR
}

// dwData finishes depthwise case i on p's geometry: input zero point,
// bias, weights (legacy uint8 ones with a zero point in case 2 mod 3), an
// output stage (RoundDouble in case 10 mod 11, XNNPACK's in case 1 mod
// 3), a row range; it returns the input and the weights.
func dwData(g gen, i int, p *kernels.ConvParams) (x, w []int8) {
	C := p.Cout
	p.InZP = int32(g.IntN(256) - 128)
	p.Bias = g.Bias(C)
	r := quant.RoundSingle
	if i%11 == 10 {
		r = quant.RoundDouble
	}
	w = g.W8(9 * C)
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
	return g.I8(p.N*p.H*p.W*C, true), w
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
	dwParity(t, newGen(31), depthwiseCase, nil)
}

// dwParity runs iters(600) cases of mk: each packed one must give ref's
// bits (rows outside [RowLo, RowHi) untouched), PackDepthwise must pack
// exactly the stages dwTakes names, at least half the cases must pack and
// a fifth have the float32 stage. It returns how many packed cases
// satisfy also (nil: none).
func dwParity(t *testing.T, g gen, mk func(gen, int) (kernels.ConvParams, []int8, []int8), also func(p *kernels.ConvParams) bool) int {
	packed, scaled, n := 0, 0, 0
	for i := 0; i < iters(600); i++ {
		p, x, w := mk(g, i)
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
		if also != nil && also(&p) {
			n++
		}
		DepthwiseConv2DInt8(&p, x, pk, got)
		diff8(t, fmt.Sprintf("case %d %+v", i, p), got, want, p.Cout)
	}
	if packed < iters(600)/2 || scaled < iters(600)/5 {
		t.Fatalf("only %d cases packed, %d with the float32 stage", packed, scaled)
	}
	return n
}

// narrowCase returns a random 3×3 depthwise convolution of C = 1, 2, 4 or
// 8 channels (stride 1 across; down any): widths from 16/C (one kernel
// pixel) up, odd ones, so that a row's last pixels overlap the kernel pixel
// before; rows wider than a row buffer holds (several stretches, the last
// one shorter than 16/C pixels); dilations, padding, row ranges, both
// output stages, weight zero points, tight clamps.
func narrowCase(g gen, i int) (kernels.ConvParams, []int8, []int8) {
	pick := func(v ...int) int { return v[g.IntN(len(v))] }
	C := []int{1, 2, 4, 8}[i%4]
	px := 16 / C
	p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(8), Cin: C, Cout: C, KH: 3, KW: 3,
		StrideH: pick(1, 1, 2, 3), StrideW: 1, DilationH: 1, DilationW: 1, DepthMultiplier: 1}
	if i%5 == 1 {
		p.DilationH, p.DilationW = pick(1, 2, 3), pick(1, 2, 3)
	}
	effH, effW, padB, padR := dwPads(g, &p)
	// OW: 16/C up to a few kernel pixels plus any remainder; in case 9 mod
	// 10, past a row buffer's stretch by 1 to 16/C−1 pixels (or by more).
	ow := px + g.IntN(5*px)
	if i%10 == 9 {
		nc := dwRowBuf/C - 2*p.DilationW
		nc -= nc % px
		ow = nc + 1 + g.IntN(max(px-1, 1))
		if g.IntN(3) == 0 {
			ow = nc + g.IntN(3*px)
		}
		p.N, p.H = 1, 1+g.IntN(3)
	}
	p.W = ow - 1 + effW - p.PadLeft - padR
	if p.W < 1 {
		padR -= 1 - p.W
		p.W = 1
	}
	if p.H+p.PadTop+padB < effH {
		padB = effH - p.H - p.PadTop
	}
	p.OH = (p.H+p.PadTop+padB-effH)/p.StrideH + 1
	p.OW = (p.W + p.PadLeft + padR - effW) + 1
	x, w := dwData(g, i, &p)
	return p, x, w
}

// TestDepthwiseNarrowMatchesRef: layers of 1, 2, 4 and 8 channels
// (narrowCase) give ref's bits, 16/C output pixels a kernel pixel; rows
// outside [RowLo, RowHi) stay untouched; PackDepthwise packs them exactly
// where it packs 16 channels.
func TestDepthwiseNarrowMatchesRef(t *testing.T) {
	needAVX2(t)
	long := dwParity(t, newGen(32), narrowCase, func(p *kernels.ConvParams) bool {
		return p.OW > dwRowBuf/p.Cout-2*p.DilationW
	})
	if long < iters(600)/30 {
		t.Fatalf("only %d cases of several stretches a row", long)
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
// 16 channels unless C divides 16 with stride 1 across and 16/C output
// columns, and clamps or zero points out of the int8 epilogue's reach
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
		"C12":         func(p *kernels.ConvParams) { p.Cin, p.Cout = 12, 12 },
		"C8 stride 2": func(p *kernels.ConvParams) { p.Cin, p.Cout, p.StrideW = 8, 8, 2 },
		"C8 OW 1":     func(p *kernels.ConvParams) { p.Cin, p.Cout, p.OW = 8, 8, 1 },
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
// buffers in use (padding), with several stretches per row and for
// layers of fewer than 16 channels.
func TestDepthwiseNoAllocs(t *testing.T) {
	needAVX2(t)
	for _, C := range []int{32, 1024, 8, 1} {
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
