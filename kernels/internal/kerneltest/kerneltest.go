// Package kerneltest holds what the tests of the accelerated kernel
// packages (kernels/neon, kernels/x86) share: seeded generators of
// activations, weights, output stages and grouped convolution cases, and
// the byte-by-byte comparison with kernels/ref's output.
package kerneltest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// Gen is a seeded source of test data. The options keep each package's
// own cases (and their random sequences) as they were.
type Gen struct {
	*rand.Rand
	// AsymmetricWeights lets W8's extremes include −128 (x86: its kernels
	// must not depend on the symmetric weight contract).
	AsymmetricWeights bool
	// SlowStages gives multipliers ≥ 1 to a quarter of Stage's stages
	// only (x86's fast epilogue takes multipliers below 1/2); otherwise
	// any stage may have them.
	SlowStages bool
}

// NewGen returns a Gen seeded with seed.
func NewGen(seed uint64) Gen { return Gen{Rand: rand.New(rand.NewPCG(seed, 7))} }

// ElemLength returns the length of elementwise case i for kernels that
// take blocks of 16: below 16, one block and any tail, whole blocks and a
// tail of i mod 16, or anything up to 700.
func (g Gen) ElemLength(i int) int {
	switch i % 4 {
	case 0:
		return g.IntN(16)
	case 1:
		return 16 + g.IntN(48)
	case 2:
		return 16*g.IntN(20) + i%16
	}
	return 1 + g.IntN(700)
}

// I8 returns n activations; with extremes, many −128 and 127.
func (g Gen) I8(n int, extremes bool) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(g.IntN(256) - 128)
		if extremes && g.IntN(3) == 0 {
			v[i] = []int8{-128, 127}[g.IntN(2)]
		}
	}
	return v
}

// W8 returns n weights in [−127, 127], a third of them extreme (−128
// too with AsymmetricWeights).
func (g Gen) W8(n int) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(g.IntN(255) - 127)
		if g.IntN(3) == 0 {
			if g.AsymmetricWeights {
				v[i] = []int8{-128, -127, 127}[g.IntN(3)]
			} else {
				v[i] = []int8{-127, 127}[g.IntN(2)]
			}
		}
	}
	return v
}

// U8W returns n weights of a legacy uint8 model shifted to int8 (q − 128,
// the whole range [−128, 127], a quarter of them extreme).
func (g Gen) U8W(n int) []int8 {
	v := make([]int8, n)
	for i := range v {
		v[i] = int8(g.IntN(256) - 128)
		if g.IntN(4) == 0 {
			v[i] = []int8{-128, 127}[g.IntN(2)]
		}
	}
	return v
}

// WZP returns a weight zero point for case i: 0, the extremes, or any int8.
func (g Gen) WZP(i int) int32 {
	switch i % 5 {
	case 0:
		return 0
	case 1:
		return []int32{-128, 127}[g.IntN(2)]
	}
	return int32(g.IntN(256) - 128)
}

// Stage returns an output stage over channels whose multipliers bring an
// accumulator of magnitude accMag near the int8 range, with per-channel
// variation, occasional multipliers ≥ 1 (see SlowStages) and tight clamps.
func (g Gen) Stage(channels int, accMag float64, r quant.Rounding) kernels.OutputStage {
	s := kernels.OutputStage{OutZP: int32(g.IntN(256) - 128), ActMin: -128, ActMax: 127, Rounding: r}
	if g.IntN(3) == 0 {
		s.ActMin, s.ActMax = int32(g.IntN(100)-128), int32(g.IntN(100)+28)
	}
	n := 1
	if g.IntN(4) > 0 {
		n = channels
	}
	slow := true
	if g.SlowStages {
		slow = g.IntN(4) == 0
	}
	for i := 0; i < n; i++ {
		real := 200 / accMag * math.Exp2(g.Float64()*4-2)
		switch g.IntN(16) {
		case 0:
			if slow {
				real = 1 + g.Float64()*3 // ≥ 1: saturates
			}
		case 1:
			real = 0
		case 2:
			real = math.Exp2(-float64(g.IntN(20) + 12))
		}
		s.Mult = append(s.Mult, quant.MustMultiplier(real))
	}
	return s
}

// XNNPACK gives s XNNPACK's float32 stage (OutputStage.Scale) with about
// the multipliers' values, as legacy uint8 TFLite models have.
func (g Gen) XNNPACK(s *kernels.OutputStage) {
	s.Rounding = quant.RoundXNNPACKUint8
	s.Scale = make([]float32, len(s.Mult))
	for c, m := range s.Mult {
		s.Scale[c] = float32(float64(m.M) / (1 << 31) * math.Exp2(float64(m.Shift)) * (0.9 + 0.2*g.Float64()))
	}
}

// Bias returns n biases in ±100,000, or (one time in five) nil.
func (g Gen) Bias(n int) []int32 {
	if g.IntN(5) == 0 {
		return nil
	}
	b := make([]int32, n)
	for i := range b {
		b[i] = int32(g.IntN(200001) - 100000)
	}
	return b
}

// F32 returns n standard normal float32 values.
func (g Gen) F32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(g.NormFloat64())
	}
	return v
}

// Diff8 fails t at the first byte where got differs from want, naming it
// by row and column (rows of n).
func Diff8(t *testing.T, what string, got, want []int8, n int) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: out[%d,%d] = %d, want %d", what, i/n, i%n, got[i], want[i])
		}
	}
}

// GroupedConvCase returns a random grouped convolution: 2 to 64 groups,
// group widths (input and output) from 1 to 24, including RegNet's 8 and
// 16, pointwise and 3×3 kernels with strides, padding and dilation, a row
// range, both roundings, and now and then weights of −128; every 50th case
// has 16 groups of 160 to 226 channels (K up to 2034, within AVX2's 2048),
// one or two of whose receptive fields fill the im2col buffer.
func GroupedConvCase(g Gen, i int) (kernels.ConvParams, []int8, []int8) {
	pick := func(v ...int) int { return v[g.IntN(len(v))] }
	G := pick(2, 3, 4, 6, 8, 16, 32, 64)
	cg, ng := pick(1, 2, 3, 5, 8, 8, 16, 16, 24), pick(1, 3, 8, 8, 16, 17, 24)
	for G*cg*ng > 4096 {
		G /= 2
	}
	G = max(G, 2)
	if i%50 == 49 { // wider than the im2col buffer: a few groups per pass
		G, cg, ng = 16, 160+g.IntN(67), 1+g.IntN(4)
	}
	p := kernels.ConvParams{N: 1 + g.IntN(2), H: 1 + g.IntN(9), W: 1 + g.IntN(9), Cin: G * cg, Cout: G * ng, Groups: G,
		KH: 3, KW: 3, StrideH: 1 + g.IntN(2), StrideW: 1 + g.IntN(2), DilationH: 1, DilationW: 1}
	switch i % 4 {
	case 0: // pointwise: one strided GEMM per group when cg is long enough
		p.KH, p.KW, p.StrideH, p.StrideW = 1, 1, 1, 1
	case 1:
		p.KH, p.KW = 1+g.IntN(3), 1+g.IntN(3)
		p.DilationH, p.DilationW = 1+g.IntN(2), 1+g.IntN(2)
	}
	if g.IntN(3) > 0 && i%4 != 0 {
		p.PadTop, p.PadLeft = g.IntN(p.KH), g.IntN(p.KW)
	}
	FitOutput(&p)
	p.InZP = int32(g.IntN(256) - 128)
	p.Bias = g.Bias(p.Cout)
	k := p.KH * p.KW * cg
	r := quant.RoundSingle
	if i%5 == 4 {
		r = quant.RoundDouble
	}
	p.Out = g.Stage(p.Cout, 60*math.Sqrt(float64(k))*64, r)
	rows := p.N * p.OH
	p.RowLo = g.IntN(rows)
	p.RowHi = p.RowLo + 1 + g.IntN(rows-p.RowLo)
	x, w := g.I8(p.N*p.H*p.W*p.Cin, true), g.W8(p.Cout*k)
	if i%6 == 5 {
		w[g.IntN(len(w))] = -128
	}
	return p, x, w
}

// FitOutput sets p's output size from its input, kernel, stride,
// dilation and padding, first widening the padding to the dilated kernel
// where the padded input would be smaller than it.
func FitOutput(p *kernels.ConvParams) {
	effH, effW := (p.KH-1)*p.DilationH+1, (p.KW-1)*p.DilationW+1
	if p.H+2*p.PadTop < effH || p.W+2*p.PadLeft < effW {
		p.PadTop, p.PadLeft = effH, effW
	}
	p.OH = (p.H+2*p.PadTop-effH)/p.StrideH + 1
	p.OW = (p.W+2*p.PadLeft-effW)/p.StrideW + 1
}

// OddMult returns case i's multiplier for the odd-stage tests (i mod 3):
// below 1/2 (the kernels' fast requantization), in [1/2, 2), or 2·10^4 to
// 6·10^4, where the product saturates int32 and the zero point must not
// wrap it around.
func OddMult(g Gen, i int) quant.Multiplier {
	switch i % 3 {
	case 0:
		return quant.MustMultiplier(0.3 + 0.19*g.Float64())
	case 1:
		return quant.MustMultiplier(0.6 + 1.3*g.Float64())
	}
	return quant.MustMultiplier(2e4 + 4e4*g.Float64())
}

// OddStages are output stages at and past the edge of what the int8
// epilogues of kernels/neon and kernels/x86 reproduce (their
// int8Epilogue): clamps that leave int8, where ref's int8(v) wraps what a
// saturating narrowing keeps; an empty clamp (ActMin > ActMax, ref's order
// gives ActMin); zero points beyond ±32640, where a value saturated at
// −32768 plus the zero point lands inside int8; ±32640 itself, which the
// epilogues take; and ordinary ones. Fits says whether int8Epilogue
// takes the stage.
var OddStages = []struct {
	Name       string
	ZP, Lo, Hi int32
	Fits       bool
}{
	{"clamp ±300", 0, -300, 300, false},
	{"ActMin 200 > 127", 5, 200, 100, false},
	{"ActMax −200 < −128", -5, -100, -200, false},
	{"ActMin 40 > ActMax −40", 3, 40, -40, true},
	{"OutZP 40000", 40000, -128, 127, false},
	{"OutZP −40000", -40000, -128, 127, false},
	{"OutZP 32641", 32641, -128, 127, false},
	{"OutZP 32640", 32640, -128, 127, true},
	{"OutZP −32640", -32640, -20, 90, true},
	{"OutZP 5", 5, -128, 127, true},
	{"OutZP −7, clamp", -7, -60, 70, true},
}

// LayerNormWithin checks an accelerated float32 LayerNorm's got against
// kernels/ref's want for rows rows of d values x: m and r at most 1 ulp
// from ref's, so |got − want| ≤ 8·2^−23·(|γ|·r·(|x| + |m|) + |β|), NaN
// where want is NaN. It returns how many outputs have want's value.
func LayerNormWithin(t *testing.T, what string, rows, d int, eps float32, x, gamma, beta, got, want []float32) (same int) {
	t.Helper()
	a := func(v float32) float64 { return math.Abs(float64(v)) }
	for r := 0; r < rows; r++ {
		m, rs := ref.LayerNormStats(x[r*d:(r+1)*d], eps)
		for j := 0; j < d; j++ {
			k := r*d + j
			tol := 8 * math.Exp2(-23) * (a(gamma[j])*a(rs)*(a(x[k])+a(m)) + a(beta[j]))
			if diff := a(got[k] - want[k]); !(diff <= tol) && !(math.IsNaN(float64(got[k])) && math.IsNaN(float64(want[k]))) {
				t.Fatalf("%s: out[%d] = %v, ref %v (|diff| %g > %g)", what, k, got[k], want[k], diff, tol)
			}
			if got[k] == want[k] {
				same++
			}
		}
	}
	return same
}
