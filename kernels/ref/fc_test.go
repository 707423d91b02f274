package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// naiveFCInt8 is FullyConnected straight from its definition, with an
// exact int64 accumulator and the requantization rule in big-int
// arithmetic.
func naiveFCInt8(t testing.TB, p *kernels.FCParams, x, w []int8) []int8 {
	out := make([]int8, p.M*p.N)
	for m := 0; m < p.M; m++ {
		for n := 0; n < p.N; n++ {
			var acc int64
			if p.Bias != nil {
				acc = int64(p.Bias[n])
			}
			for k := 0; k < p.K; k++ {
				acc += (int64(x[m*p.K+k]) - int64(p.InZP)) * (int64(w[n*p.K+k]) - int64(p.WZP))
			}
			out[m*p.N+n] = exRequant(t, &p.Out, acc, n)
		}
	}
	return out
}

// naiveFCFloat is float FullyConnected in float64, with the tolerance of
// each output.
func naiveFCFloat(p *kernels.FCFloatParams, x, w []float32) (want, tol []float64) {
	want = make([]float64, p.M*p.N)
	tol = make([]float64, p.M*p.N)
	for m := 0; m < p.M; m++ {
		for n := 0; n < p.N; n++ {
			var acc, abs float64
			if p.Bias != nil {
				acc, abs = float64(p.Bias[n]), math.Abs(float64(p.Bias[n]))
			}
			for k := 0; k < p.K; k++ {
				v := float64(x[m*p.K+k]) * float64(w[n*p.K+k])
				acc += v
				abs += math.Abs(v)
			}
			want[m*p.N+n] = clamp64(acc, p.ActMin, p.ActMax)
			tol[m*p.N+n] = sumTol(abs, p.K)
		}
	}
	return want, tol
}

func TestFullyConnectedInt8ByHand(t *testing.T) {
	// x − InZP = [[0 1 2] [−5 4 −7]], w = [[1 0 −1] [2 3 4]], bias [10 −20]:
	// accumulators [[8 −9] [12 −46]]. Times 1/4 that is
	// [[2 −2.25] [3 −11.5]]; OutZP 3.
	x := []int8{1, 2, 3, -4, 5, -6}
	w := []int8{1, 0, -1, 2, 3, 4}
	p := kernels.FCParams{M: 2, N: 2, K: 3, InZP: 1, Bias: []int32{10, -20},
		Out: kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.25)}, OutZP: 3, ActMin: -128, ActMax: 127}}
	for _, tc := range []struct {
		r    quant.Rounding
		want []int8
	}{
		// −11.5 rounds half toward +∞ to −11.
		{quant.RoundSingle, []int8{5, 1, 6, -8}},
		// gemmlowp: −46·2^30/2^31 = −23 exactly, then −23/2 rounds half away
		// from zero to −12.
		{quant.RoundDouble, []int8{5, 1, 6, -9}},
	} {
		p.Out.Rounding = tc.r
		out := make([]int8, 4)
		ref.FullyConnectedInt8(&p, x, w, out)
		diffInt8(t, tc.r.String(), out, tc.want)
	}

	// A ReLU folded into the clamp (ActMin = OutZP) and a per-channel
	// multiplier: channel 1 is scaled by 2 and saturates.
	p.Out = kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.25), quant.MustMultiplier(2)},
		OutZP: 3, ActMin: 3, ActMax: 10}
	out := make([]int8, 4)
	ref.FullyConnectedInt8(&p, x, w, out)
	// [[2+3, −18+3→3] [3+3, −92+3→3]]
	diffInt8(t, "relu", out, []int8{5, 3, 6, 3})
}

func TestFullyConnectedFloatByHand(t *testing.T) {
	x := []float32{1, 2, 3, -4, 5, -6}
	w := []float32{1, 0, -1, 0.5, 0.25, 2}
	p := kernels.FCFloatParams{M: 2, N: 2, K: 3, Bias: []float32{10, -20}, ActMin: noAct[0], ActMax: noAct[1]}
	out := make([]float32, 4)
	ref.FullyConnectedFloat(&p, x, w, out)
	// [[1−3+10, 0.5+0.5+6−20] [−4+6+10, −2+1.25−12−20]]
	want := []float32{8, -13, 12, -32.75}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("out[%d] = %g, want %g", i, out[i], want[i])
		}
	}
	p.ActMin, p.ActMax = 0, 6
	ref.FullyConnectedFloat(&p, x, w, out)
	want = []float32{6, 0, 6, 0}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("relu6 out[%d] = %g, want %g", i, out[i], want[i])
		}
	}
}

// fcShape returns random FC dimensions: mostly small and odd, sometimes
// moderately large.
func (g kgen) fcShape() (M, N, K int) {
	switch g.IntN(5) {
	case 0:
		return g.between(1, 3), g.between(1, 3), 1
	case 1:
		if small() {
			return g.between(1, 9), g.between(1, 40), g.between(100, 300)
		}
		return g.between(1, 33), g.between(1, 70), g.between(200, 1100)
	default:
		return g.between(1, 9), g.between(1, 19), g.between(1, 37)
	}
}

func TestFullyConnectedInt8Random(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(200); it++ {
		M, N, K := g.fcShape()
		p := kernels.FCParams{M: M, N: N, K: K, InZP: int32(g.between(-128, 127)), Bias: g.bias(N, 1<<16)}
		p.Out = g.stage(N, 128*40*math.Sqrt(float64(K)))
		x, w := g.i8(M*K), g.w8(N*K)
		out := make([]int8, M*N)
		ref.FullyConnectedInt8(&p, x, w, out)
		diffInt8(t, "fc", out, naiveFCInt8(t, &p, x, w))
		if t.Failed() {
			t.Fatalf("iteration %d: M=%d N=%d K=%d InZP=%d out=%+v", it, M, N, K, p.InZP, p.Out)
		}
	}
}

// TestFullyConnectedInt8Extremes drives the accumulator to the largest
// magnitude an int8 FC can reach (x − InZP = ±255, w = ±127) with a K near
// the documented limit.
func TestFullyConnectedInt8Extremes(t *testing.T) {
	K := 66000
	if small() {
		K = 6000
	}
	x := make([]int8, 2*K)
	w := make([]int8, 2*K)
	for k := 0; k < K; k++ {
		x[k], x[K+k] = -128, 127
		w[k], w[K+k] = -127, 127
	}
	for _, zp := range []int32{127, -128} {
		p := kernels.FCParams{M: 2, N: 2, K: K, InZP: zp,
			Out: kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(1.0 / (255 * 127 * float64(K)) * 100)},
				OutZP: -5, ActMin: -128, ActMax: 127}}
		out := make([]int8, 4)
		ref.FullyConnectedInt8(&p, x, w, out)
		diffInt8(t, "extremes", out, naiveFCInt8(t, &p, x, w))
	}
}

func TestFullyConnectedFloatRandom(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(100); it++ {
		M, N, K := g.fcShape()
		p := kernels.FCFloatParams{M: M, N: N, K: K}
		p.ActMin, p.ActMax = g.floatAct()
		if g.IntN(4) != 0 {
			p.Bias = g.f32(N)
		}
		x, w := g.f32(M*K), g.f32(N*K)
		out := make([]float32, M*N)
		ref.FullyConnectedFloat(&p, x, w, out)
		want, tol := naiveFCFloat(&p, x, w)
		diffFloat(t, "fc float", out, want, tol)
		if t.Failed() {
			t.Fatalf("iteration %d: M=%d N=%d K=%d", it, M, N, K)
		}
	}
}

// TestRequantizeSumNearInt32Limits checks that a requantized value that
// saturates int32 still clamps to the right end of the int8 range when
// the output zero point is added: kernels.OutputStage.Requantize must add
// OutZP in 64 bits so that a saturated product clamps instead of wrapping.
func TestRequantizeSumNearInt32Limits(t *testing.T) {
	p := kernels.FCParams{M: 1, N: 2, K: 1,
		Out: kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(1 << 24)}, OutZP: 5, ActMin: -128, ActMax: 127}}
	x := []int8{127}
	w := []int8{127, -127}
	out := make([]int8, 2)
	ref.FullyConnectedInt8(&p, x, w, out)
	want := []int8{127, -128} // ±16129·2^24 saturates int32, then int8
	if out[0] != want[0] || out[1] != want[1] {
		t.Fatalf("out = %v, want %v", out, want)
	}
	if got := p.Out.Requantize(math.MaxInt32, 0); got != 127 {
		t.Fatalf("Requantize(MaxInt32) with OutZP %d = %d, want 127", p.Out.OutZP, got)
	}
	p.Out.OutZP = -5
	if got := p.Out.Requantize(math.MinInt32, 0); got != -128 {
		t.Fatalf("Requantize(MinInt32) with OutZP %d = %d, want -128", p.Out.OutZP, got)
	}
}

// TestFullyConnectedRowSplit checks that computing the rows of an FC in
// any two pieces (as the runtime's workers do) gives the same bits as one
// call, for int8 and for float.
func TestFullyConnectedRowSplit(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(100); it++ {
		M, N, K := g.between(1, 13), g.between(1, 9), g.between(1, 70)
		split := g.between(0, M)
		p := kernels.FCParams{M: M, N: N, K: K, InZP: int32(g.between(-128, 127)), Bias: g.bias(N, 1000)}
		p.Out = g.stage(N, 128*40*math.Sqrt(float64(K)))
		x, w := g.i8(M*K), g.w8(N*K)
		whole, parts := make([]int8, M*N), make([]int8, M*N)
		ref.FullyConnectedInt8(&p, x, w, whole)
		lo, hi := p, p
		lo.M, hi.M = split, M-split
		ref.FullyConnectedInt8(&lo, x[:split*K], w, parts[:split*N])
		ref.FullyConnectedInt8(&hi, x[split*K:], w, parts[split*N:])
		diffInt8(t, "int8 split", parts, whole)

		pf := kernels.FCFloatParams{M: M, N: N, K: K, Bias: g.f32(N), ActMin: noAct[0], ActMax: noAct[1]}
		xf, wf := g.f32(M*K), g.f32(N*K)
		wholef, partsf := make([]float32, M*N), make([]float32, M*N)
		ref.FullyConnectedFloat(&pf, xf, wf, wholef)
		lof, hif := pf, pf
		lof.M, hif.M = split, M-split
		ref.FullyConnectedFloat(&lof, xf[:split*K], wf, partsf[:split*N])
		ref.FullyConnectedFloat(&hif, xf[split*K:], wf, partsf[split*N:])
		for i := range wholef {
			if math.Float32bits(partsf[i]) != math.Float32bits(wholef[i]) {
				t.Fatalf("float split at row %d of %d: [%d] = %g, want %g", split, M, i, partsf[i], wholef[i])
			}
		}
		if t.Failed() {
			t.Fatalf("iteration %d: M=%d N=%d K=%d split=%d", it, M, N, K, split)
		}
	}
}

func TestFullyConnectedAllocs(t *testing.T) {
	g := newKgen(t)
	M, N, K := 3, 5, 7
	p := kernels.FCParams{M: M, N: N, K: K, InZP: 3, Bias: g.bias(N, 100)}
	p.Out = g.stage(N, 1000)
	x, w, out := g.i8(M*K), g.w8(N*K), make([]int8, M*N)
	if a := testing.AllocsPerRun(20, func() { ref.FullyConnectedInt8(&p, x, w, out) }); a != 0 {
		t.Errorf("FullyConnectedInt8: %v allocations per run", a)
	}
	pf := kernels.FCFloatParams{M: M, N: N, K: K, Bias: g.f32(N), ActMin: noAct[0], ActMax: noAct[1]}
	xf, wf, outf := g.f32(M*K), g.f32(N*K), make([]float32, M*N)
	if a := testing.AllocsPerRun(20, func() { ref.FullyConnectedFloat(&pf, xf, wf, outf) }); a != 0 {
		t.Errorf("FullyConnectedFloat: %v allocations per run", a)
	}
}

// BenchmarkFullyConnectedInt8_197x192x768 is the first MLP layer of a
// DeiT-tiny block: 197 tokens, 192 → 768.
func BenchmarkFullyConnectedInt8_197x192x768(b *testing.B) {
	benchFC(b, 197, 768, 192)
}

// BenchmarkFullyConnectedInt8_197x768x192 is the second MLP layer.
func BenchmarkFullyConnectedInt8_197x768x192(b *testing.B) {
	benchFC(b, 197, 192, 768)
}

func benchFC(b *testing.B, M, N, K int) {
	g := newKgen(b)
	p := kernels.FCParams{M: M, N: N, K: K, InZP: -3, Bias: make([]int32, N)}
	mults := make([]quant.Multiplier, N)
	for i := range mults {
		mults[i] = quant.MustMultiplier(0.0001 * float64(i+1))
	}
	p.Out = kernels.OutputStage{Mult: mults, OutZP: 2, ActMin: -128, ActMax: 127}
	x, w, out := g.i8(M*K), g.w8(N*K), make([]int8, M*N)
	b.ResetTimer()
	for b.Loop() {
		ref.FullyConnectedInt8(&p, x, w, out)
	}
	b.ReportMetric(float64(M*N*K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

func BenchmarkFullyConnectedFloat_197x192x768(b *testing.B) {
	g := newKgen(b)
	M, N, K := 197, 768, 192
	p := kernels.FCFloatParams{M: M, N: N, K: K, Bias: g.f32(N), ActMin: noAct[0], ActMax: noAct[1]}
	x, w, out := g.f32(M*K), g.f32(N*K), make([]float32, M*N)
	for b.Loop() {
		ref.FullyConnectedFloat(&p, x, w, out)
	}
	b.ReportMetric(float64(M*N*K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
