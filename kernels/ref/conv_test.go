package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// convTap calls f for every in-bounds tap of output (n, oh, ow) with the
// kernel position and the input offset of channel 0, straight from the
// definition ih = oh·StrideH − PadTop + kh·DilationH.
func convTap(p *kernels.ConvParams, n, oh, ow int, f func(kh, kw, xoff int)) {
	for kh := 0; kh < p.KH; kh++ {
		for kw := 0; kw < p.KW; kw++ {
			ih := oh*p.StrideH - p.PadTop + kh*p.DilationH
			iw := ow*p.StrideW - p.PadLeft + kw*p.DilationW
			if ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
				continue
			}
			f(kh, kw, ((n*p.H+ih)*p.W+iw)*p.Cin)
		}
	}
}

// naiveConvInt8 computes the outputs of rows [RowLo, RowHi) of a
// (depthwise) convolution from the definition; other rows keep the values
// of prev.
func naiveConvInt8(t testing.TB, p *kernels.ConvParams, depthwise bool, x, w, prev []int8) []int8 {
	out := append([]int8(nil), prev...)
	mult := max(p.DepthMultiplier, 1)
	for r := p.RowLo; r < p.RowHi; r++ {
		n, oh := r/p.OH, r%p.OH
		for ow := 0; ow < p.OW; ow++ {
			for co := 0; co < p.Cout; co++ {
				var acc int64
				if p.Bias != nil {
					acc = int64(p.Bias[co])
				}
				convTap(p, n, oh, ow, func(kh, kw, xoff int) {
					if depthwise {
						acc += (int64(x[xoff+co/mult]) - int64(p.InZP)) * (int64(w[(kh*p.KW+kw)*p.Cout+co]) - int64(p.WZP))
						return
					}
					cg := p.Cin / max(p.Groups, 1)
					c0 := co / (p.Cout / max(p.Groups, 1)) * cg
					for ci := 0; ci < cg; ci++ {
						acc += (int64(x[xoff+c0+ci]) - int64(p.InZP)) * (int64(w[((co*p.KH+kh)*p.KW+kw)*cg+ci]) - int64(p.WZP))
					}
				})
				out[(r*p.OW+ow)*p.Cout+co] = exRequant(t, &p.Out, acc, co)
			}
		}
	}
	return out
}

func naiveConvFloat(p *kernels.ConvParams, depthwise bool, x, w []float32) (want, tol []float64) {
	size := p.N * p.OH * p.OW * p.Cout
	want, tol = make([]float64, size), make([]float64, size)
	mult := max(p.DepthMultiplier, 1)
	for r := 0; r < p.N*p.OH; r++ {
		n, oh := r/p.OH, r%p.OH
		for ow := 0; ow < p.OW; ow++ {
			for co := 0; co < p.Cout; co++ {
				var acc, abs float64
				if p.BiasF != nil {
					acc, abs = float64(p.BiasF[co]), math.Abs(float64(p.BiasF[co]))
				}
				terms := 0
				convTap(p, n, oh, ow, func(kh, kw, xoff int) {
					if depthwise {
						v := float64(x[xoff+co/mult]) * float64(w[(kh*p.KW+kw)*p.Cout+co])
						acc, abs, terms = acc+v, abs+math.Abs(v), terms+1
						return
					}
					cg := p.Cin / max(p.Groups, 1)
					c0 := co / (p.Cout / max(p.Groups, 1)) * cg
					for ci := 0; ci < cg; ci++ {
						v := float64(x[xoff+c0+ci]) * float64(w[((co*p.KH+kh)*p.KW+kw)*cg+ci])
						acc, abs, terms = acc+v, abs+math.Abs(v), terms+1
					}
				})
				i := (r*p.OW+ow)*p.Cout + co
				want[i] = clamp64(acc, p.ActMin, p.ActMax)
				tol[i] = sumTol(abs, terms)
			}
		}
	}
	return want, tol
}

// convShape returns random valid convolution geometry (OH, OW ≥ 1) with
// RowLo = 0, RowHi = N·OH. Cout is Cin·DepthMultiplier when depthwise.
func (g kgen) convShape(depthwise bool) kernels.ConvParams {
	for {
		p := kernels.ConvParams{
			N: g.between(1, 2), H: g.between(1, 9), W: g.between(1, 9),
			KH: g.between(1, 4), KW: g.between(1, 4),
			StrideH: g.between(1, 3), StrideW: g.between(1, 3),
			DilationH: g.between(1, 2), DilationW: g.between(1, 2),
		}
		if g.IntN(3) == 0 {
			p.DilationH, p.DilationW = 1, 1
		}
		if g.IntN(5) == 0 { // 1×1
			p.KH, p.KW, p.StrideH, p.StrideW = 1, 1, 1, 1
		}
		if depthwise {
			p.Cin = g.between(1, 21)
			p.DepthMultiplier = []int{1, 1, 2, 3}[g.IntN(4)]
			p.Cout = p.Cin * p.DepthMultiplier
		} else {
			p.Cin, p.Cout = g.between(1, 11), g.between(1, 13)
		}
		if !small() && g.IntN(6) == 0 { // moderately large
			p.H, p.W = g.between(10, 20), g.between(10, 20)
			if depthwise {
				p.Cin = g.between(17, 24)
				p.Cout = p.Cin * p.DepthMultiplier
			} else {
				p.Cin, p.Cout = g.between(10, 40), g.between(10, 40)
			}
		}
		if !depthwise && g.IntN(3) == 0 { // grouped: 2 to 5 groups
			p.Groups = g.between(2, 5)
			p.Cin, p.Cout = p.Groups*g.between(1, 5), p.Groups*g.between(1, 4)
		}
		padBottom, padRight := 0, 0
		if g.IntN(3) != 0 {
			p.PadTop, padBottom = g.between(0, p.KH), g.between(0, p.KH)
			p.PadLeft, padRight = g.between(0, p.KW), g.between(0, p.KW)
		}
		effH, effW := p.DilationH*(p.KH-1)+1, p.DilationW*(p.KW-1)+1
		if p.H+p.PadTop+padBottom < effH || p.W+p.PadLeft+padRight < effW {
			continue
		}
		p.OH = (p.H+p.PadTop+padBottom-effH)/p.StrideH + 1
		p.OW = (p.W+p.PadLeft+padRight-effW)/p.StrideW + 1
		p.RowLo, p.RowHi = 0, p.N*p.OH
		return p
	}
}

func (g kgen) convInt8Case(depthwise bool) (p kernels.ConvParams, x, w []int8) {
	p = g.convShape(depthwise)
	p.InZP = int32(g.between(-128, 127))
	taps := p.KH * p.KW
	if depthwise {
		w = g.w8(taps * p.Cout)
	} else {
		taps *= p.Cin / max(p.Groups, 1)
		w = g.w8(p.Cout * taps)
	}
	p.Bias = g.bias(p.Cout, 1<<15)
	p.Out = g.stage(p.Cout, 128*40*math.Sqrt(float64(taps)))
	return p, g.i8(p.N * p.H * p.W * p.Cin), w
}

func (g kgen) convFloatCase(depthwise bool) (p kernels.ConvParams, x, w []float32) {
	p = g.convShape(depthwise)
	if depthwise {
		w = g.f32(p.KH * p.KW * p.Cout)
	} else {
		w = g.f32(p.Cout * p.KH * p.KW * p.Cin / max(p.Groups, 1))
	}
	if g.IntN(4) != 0 {
		p.BiasF = g.f32(p.Cout)
	}
	p.ActMin, p.ActMax = g.floatAct()
	return p, g.f32(p.N * p.H * p.W * p.Cin), w
}

type convInt8Func func(*kernels.ConvParams, []int8, []int8, []int8)
type convFloatFunc func(*kernels.ConvParams, []float32, []float32, []float32)

func testConvInt8Random(t *testing.T, depthwise bool, conv convInt8Func) {
	g := newKgen(t)
	for it := 0; it < iters(200); it++ {
		p, x, w := g.convInt8Case(depthwise)
		size := p.N * p.OH * p.OW * p.Cout
		// Whole, then only a random band of rows over a sentinel: rows
		// outside the band must stay untouched.
		out := make([]int8, size)
		conv(&p, x, w, out)
		want := naiveConvInt8(t, &p, depthwise, x, w, out)
		diffInt8(t, "whole", out, want)

		band := p
		band.RowLo = g.between(0, p.N*p.OH)
		band.RowHi = g.between(band.RowLo, p.N*p.OH)
		sentinel := make([]int8, size)
		for i := range sentinel {
			sentinel[i] = int8(i*7 + 1)
		}
		got := append([]int8(nil), sentinel...)
		conv(&band, x, w, got)
		perRow := p.OW * p.Cout
		wantBand := append([]int8(nil), sentinel...)
		copy(wantBand[band.RowLo*perRow:band.RowHi*perRow], want[band.RowLo*perRow:])
		diffInt8(t, "band", got, wantBand)

		// Two halves give the same result as one call.
		halves := make([]int8, size)
		split := g.between(0, p.N*p.OH)
		lo, hi := p, p
		lo.RowHi, hi.RowLo = split, split
		conv(&hi, x, w, halves)
		conv(&lo, x, w, halves)
		diffInt8(t, "halves", halves, out)
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func testConvFloatRandom(t *testing.T, depthwise bool, conv convFloatFunc) {
	g := newKgen(t)
	for it := 0; it < iters(150); it++ {
		p, x, w := g.convFloatCase(depthwise)
		size := p.N * p.OH * p.OW * p.Cout
		out := make([]float32, size)
		conv(&p, x, w, out)
		want, tol := naiveConvFloat(&p, depthwise, x, w)
		diffFloat(t, "conv float", out, want, tol)

		halves := make([]float32, size)
		split := g.between(0, p.N*p.OH)
		lo, hi := p, p
		lo.RowHi, hi.RowLo = split, split
		conv(&lo, x, w, halves)
		conv(&hi, x, w, halves)
		for i := range out {
			if halves[i] != out[i] {
				t.Fatalf("halves split at %d: [%d] = %g, want %g", split, i, halves[i], out[i])
			}
		}
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestConv2DInt8Random(t *testing.T) { testConvInt8Random(t, false, ref.Conv2DInt8) }
func TestConv2DFloatRandom(t *testing.T) {
	testConvFloatRandom(t, false, ref.Conv2DFloat)
}
func TestDepthwiseConv2DInt8Random(t *testing.T) {
	testConvInt8Random(t, true, ref.DepthwiseConv2DInt8)
}
func TestDepthwiseConv2DFloatRandom(t *testing.T) {
	testConvFloatRandom(t, true, ref.DepthwiseConv2DFloat)
}

func TestConv2DByHand(t *testing.T) {
	// x is 1×3×3×1 = [[1 2 3] [4 5 6] [7 8 9]], InZP 1 → [[0 1 2] [3 4 5] [6 7 8]].
	// A 2×2 kernel [[1 0] [0 −1]] (x[i,j] − x[i+1,j+1]), stride 1, pad 1 on
	// top and left only: OH = OW = (3+1−2)/1+1 = 3.
	//   out[0,0] = −(x[0,0]) = 0        out[0,1] = −x[0,1] = −1   out[0,2] = −2
	//   out[1,0] = −x[1,0]   = −3       out[1,1] = 0−4 = −4       out[1,2] = 1−5 = −4
	//   out[2,0] = −6                   out[2,1] = 3−7 = −4       out[2,2] = 4−8 = −4
	// Bias 2, multiplier 1, OutZP −1: each value + 1.
	x := []int8{1, 2, 3, 4, 5, 6, 7, 8, 9}
	w := []int8{1, 0, 0, -1}
	p := kernels.ConvParams{N: 1, H: 3, W: 3, Cin: 1, KH: 2, KW: 2, Cout: 1, OH: 3, OW: 3,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1, RowLo: 0, RowHi: 3,
		InZP: 1, Bias: []int32{2},
		Out: kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(1)}, OutZP: -1, ActMin: -128, ActMax: 127}}
	out := make([]int8, 9)
	ref.Conv2DInt8(&p, x, w, out)
	diffInt8(t, "conv", out, []int8{1, 0, -1, -2, -3, -3, -5, -3, -3})

	// The same kernel as a depthwise convolution with one channel.
	ref.DepthwiseConv2DInt8(&p, x, w, out)
	diffInt8(t, "depthwise", out, []int8{1, 0, -1, -2, -3, -3, -5, -3, -3})

	// Float, dilation 2, no padding: one output, x[0,0]·1 + x[2,2]·(−1).
	xf := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	wf := []float32{1, 0, 0, -1}
	pf := kernels.ConvParams{N: 1, H: 3, W: 3, Cin: 1, KH: 2, KW: 2, Cout: 1, OH: 1, OW: 1,
		StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 2, RowLo: 0, RowHi: 1,
		BiasF: []float32{0.5}, ActMin: noAct[0], ActMax: noAct[1]}
	outf := make([]float32, 1)
	ref.Conv2DFloat(&pf, xf, wf, outf)
	if outf[0] != 1-9+0.5 {
		t.Errorf("dilated float conv = %g, want %g", outf[0], 1-9+0.5)
	}

	// Depthwise with multiplier 2 over 2 channels, 1×1 kernel: channel c·2+m
	// is x[c]·w[c·2+m].
	xd := []float32{3, -2}
	wd := []float32{1, 2, 10, -1}
	pd := kernels.ConvParams{N: 1, H: 1, W: 1, Cin: 2, KH: 1, KW: 1, Cout: 4, OH: 1, OW: 1,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, DepthMultiplier: 2, RowLo: 0, RowHi: 1,
		ActMin: noAct[0], ActMax: noAct[1]}
	outd := make([]float32, 4)
	ref.DepthwiseConv2DFloat(&pd, xd, wd, outd)
	for i, want := range []float32{3, 6, -20, 2} {
		if outd[i] != want {
			t.Errorf("depthwise multiplier: out[%d] = %g, want %g", i, outd[i], want)
		}
	}
}

func TestConvAllocs(t *testing.T) {
	g := newKgen(t)
	for _, dw := range []bool{false, true} {
		p, x, w := g.convInt8Case(dw)
		out := make([]int8, p.N*p.OH*p.OW*p.Cout)
		pf, xf, wf := g.convFloatCase(dw)
		outf := make([]float32, pf.N*pf.OH*pf.OW*pf.Cout)
		fi, ff := ref.Conv2DInt8, ref.Conv2DFloat
		if dw {
			fi, ff = ref.DepthwiseConv2DInt8, ref.DepthwiseConv2DFloat
		}
		if n := testing.AllocsPerRun(20, func() { fi(&p, x, w, out) }); n != 0 {
			t.Errorf("depthwise=%v int8: %v allocations per run", dw, n)
		}
		if n := testing.AllocsPerRun(20, func() { ff(&pf, xf, wf, outf) }); n != 0 {
			t.Errorf("depthwise=%v float: %v allocations per run", dw, n)
		}
	}
}

// BenchmarkConv2DInt8_PatchEmbed is DeiT-tiny's patch embedding: a 16×16
// stride-16 convolution of a 224×224×3 image to 192 channels.
func BenchmarkConv2DInt8_PatchEmbed(b *testing.B) {
	benchConv(b, kernels.ConvParams{N: 1, H: 224, W: 224, Cin: 3, KH: 16, KW: 16, Cout: 192, OH: 14, OW: 14,
		StrideH: 16, StrideW: 16}, false)
}

// BenchmarkConv2DInt8_3x3 is a 3×3 stride-1 same-padded convolution on a
// 28×28×64 → 64 feature map (a ResNet-style block).
func BenchmarkConv2DInt8_3x3(b *testing.B) {
	benchConv(b, kernels.ConvParams{N: 1, H: 28, W: 28, Cin: 64, KH: 3, KW: 3, Cout: 64, OH: 28, OW: 28,
		StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1}, false)
}

// BenchmarkDepthwiseConv2DInt8_3x3 is a MobileNet-style 3×3 depthwise
// convolution on 56×56×128.
func BenchmarkDepthwiseConv2DInt8_3x3(b *testing.B) {
	benchConv(b, kernels.ConvParams{N: 1, H: 56, W: 56, Cin: 128, KH: 3, KW: 3, Cout: 128, OH: 56, OW: 56,
		StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, DepthMultiplier: 1}, true)
}

func benchConv(b *testing.B, p kernels.ConvParams, depthwise bool) {
	g := newKgen(b)
	p.DilationH, p.DilationW = 1, 1
	p.RowLo, p.RowHi = 0, p.N*p.OH
	p.InZP = 5
	p.Out = kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(1e-4)}, ActMin: -128, ActMax: 127}
	macs := p.N * p.OH * p.OW * p.Cout * p.KH * p.KW
	var w []int8
	if depthwise {
		w = g.w8(p.KH * p.KW * p.Cout)
	} else {
		w = g.w8(p.Cout * p.KH * p.KW * p.Cin)
		macs *= p.Cin
	}
	x, out := g.i8(p.N*p.H*p.W*p.Cin), make([]int8, p.N*p.OH*p.OW*p.Cout)
	f := ref.Conv2DInt8
	if depthwise {
		f = ref.DepthwiseConv2DInt8
	}
	for b.Loop() {
		f(&p, x, w, out)
	}
	b.ReportMetric(float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
