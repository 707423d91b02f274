package quant_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeinfer/edgeinfer/quant"
)

func TestQuantize(t *testing.T) {
	p := quant.Params{Scale: 0.5, ZeroPoint: 3}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, tc := range []struct {
		x    float32
		want int32
	}{
		{0, 3}, {1, 5}, {-1, 1},
		{0.25, 4}, {-0.25, 2}, // ±0.5 steps round away from zero
		{0.75, 5}, {-0.75, 1}, // ±1.5 → ±2
		{0.7, 4}, {-0.8, 1},
		{62, 127}, {62.25, 127}, {100, 127}, {inf, 127}, // clamped
		{-65.5, -128}, {-65.75, -128}, {-1e30, -128}, {-inf, -128},
		{nan, 3}, // NaN is the zero point, on every architecture
	} {
		if got := p.Quantize(tc.x, -128, 127); got != tc.want {
			t.Errorf("Quantize(%g) = %d, want %d", tc.x, got, tc.want)
		}
	}
	if got := (quant.Params{Scale: 1, ZeroPoint: 200}).Quantize(nan, -128, 127); got != 127 {
		t.Errorf("Quantize(NaN) with zero point outside the range = %d, want 127", got)
	}
	if got := (quant.Params{Scale: 0.1}).Quantize(0.06, -127, 127); got != 1 {
		t.Errorf("weights: Quantize(0.06/0.1) = %d, want 1", got)
	}

	// Every integer survives Dequantize then Quantize, and real values
	// come back within half a step.
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 2000; i++ {
		p := quant.Params{Scale: float32(math.Exp2(r.Float64()*30 - 20)), ZeroPoint: int32(r.IntN(256) - 128)}
		for q := int32(-128); q <= 127; q++ {
			if got := p.Quantize(p.Dequantize(q), -128, 127); got != q {
				t.Fatalf("%+v: Quantize(Dequantize(%d) = %g) = %d", p, q, p.Dequantize(q), got)
			}
		}
		x := float32((r.Float64()*255 - 128 - float64(p.ZeroPoint)) * float64(p.Scale))
		q := p.Quantize(x, -128, 127)
		if d := math.Abs(float64(p.Dequantize(q)) - float64(x)); d > 0.5001*float64(p.Scale) {
			t.Fatalf("%+v: %g → %d → %g", p, x, q, p.Dequantize(q))
		}
	}
	if got := (quant.Params{Scale: 0.25, ZeroPoint: -7}).Dequantize(-3); got != 1 {
		t.Errorf("Dequantize(-3) = %g, want 1", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		p  quant.Params
		ok bool
	}{
		{quant.Params{Scale: 1, ZeroPoint: 0}, true},
		{quant.Params{Scale: 1e-30, ZeroPoint: -128}, true},
		{quant.Params{Scale: 1, ZeroPoint: 127}, true},
		{quant.Params{Scale: 1, ZeroPoint: 128}, false},
		{quant.Params{Scale: 1, ZeroPoint: -129}, false},
		{quant.Params{Scale: 0, ZeroPoint: 0}, false},
		{quant.Params{Scale: -1, ZeroPoint: 0}, false},
		{quant.Params{Scale: float32(math.NaN())}, false},
		{quant.Params{Scale: float32(math.Inf(1))}, false},
	} {
		if err := tc.p.Validate(-128, 127); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate: %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

func TestChooseAsymmetric(t *testing.T) {
	check := func(lo, hi float32) {
		t.Helper()
		p := quant.ChooseAsymmetric(lo, hi)
		if err := p.Validate(-128, 127); err != nil {
			t.Fatalf("ChooseAsymmetric(%g, %g) = %+v: %v", lo, hi, p, err)
		}
		// Zero is exact: it quantizes to the zero point and back to 0.
		if q := p.Quantize(0, -128, 127); q != p.ZeroPoint || p.Dequantize(q) != 0 {
			t.Fatalf("ChooseAsymmetric(%g, %g) = %+v: 0 → %d → %g", lo, hi, p, q, p.Dequantize(q))
		}
		// The range widened to include 0 is covered, up to half a step at
		// each end (the zero point is rounded to an integer).
		wlo, whi := float64(min(lo, 0)), float64(max(hi, 0))
		s := float64(p.Scale)
		if whi-wlo >= 1e-6 {
			if want := (whi - wlo) / 255; math.Abs(s-want) > 1e-6*want {
				t.Fatalf("ChooseAsymmetric(%g, %g).Scale = %g, want %g", lo, hi, s, want)
			}
		}
		tol := 0.5*s + 1e-6*(whi-wlo)
		if qlo := s * float64(-128-p.ZeroPoint); qlo > wlo+tol {
			t.Fatalf("ChooseAsymmetric(%g, %g) = %+v: lowest value %g above %g", lo, hi, p, qlo, wlo)
		}
		if qhi := s * float64(127-p.ZeroPoint); qhi < whi-tol {
			t.Fatalf("ChooseAsymmetric(%g, %g) = %+v: highest value %g below %g", lo, hi, p, qhi, whi)
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	for i := 0; i < 20000; i++ {
		a := float32((r.Float64()*2 - 1) * math.Exp2(r.Float64()*30-10))
		b := float32((r.Float64()*2 - 1) * math.Exp2(r.Float64()*30-10))
		check(min(a, b), max(a, b))
	}
	for _, c := range [][2]float32{{0, 0}, {0, 1}, {-1, 0}, {2, 5}, {-5, -2}, {-1, 1}, {-6, 6}, {0, 6}, {-1e-9, 1e-9}, {-3e30, 3e30}} {
		check(c[0], c[1])
	}
	// Known values: [−1, 1] → scale 2/255, zero point round(−128 + 127.5):
	// −0.5 rounds away from zero to −1.
	p := quant.ChooseAsymmetric(-1, 1)
	if p.Scale != float32(2.0/255) || p.ZeroPoint != -1 {
		t.Errorf("ChooseAsymmetric(-1, 1) = %+v, want {%g -1}", p, float32(2.0/255))
	}
	// A ReLU output [0, 6] puts 0 at −128.
	if p := quant.ChooseAsymmetric(0, 6); p.ZeroPoint != -128 || p.Scale != float32(6.0/255) {
		t.Errorf("ChooseAsymmetric(0, 6) = %+v", p)
	}
	// A positive-only range is widened to 0 as well.
	if p := quant.ChooseAsymmetric(2, 6); p.ZeroPoint != -128 || p.Scale != float32(6.0/255) {
		t.Errorf("ChooseAsymmetric(2, 6) = %+v", p)
	}
	if p := quant.ChooseAsymmetric(-6, -2); p.ZeroPoint != 127 || p.Scale != float32(6.0/255) {
		t.Errorf("ChooseAsymmetric(-6, -2) = %+v", p)
	}
}

func TestSymmetricScale(t *testing.T) {
	if s := quant.SymmetricScale(127); s != 1 {
		t.Errorf("SymmetricScale(127) = %g", s)
	}
	if s := quant.SymmetricScale(0); s != float32(1e-12)/127 || !(s > 0) {
		t.Errorf("SymmetricScale(0) = %g", s)
	}
}

func TestQuantizeWeights(t *testing.T) {
	w := []float32{
		0.49, -1, 0.25, 0, // channel 0: absMax 1 at a negative value
		3, 1.6, -0.03, 0.02, // channel 1: absMax 3 at a positive value
		0, 0, 0, 0, // channel 2: all zero
	}
	q, scales, err := quant.QuantizeWeights(w, 3)
	if err != nil {
		t.Fatal(err)
	}
	// 0.49·127 = 62.2, 0.25·127 = 31.75, 1.6·127/3 = 67.7, −0.03·127/3 = −1.27
	want := []int8{62, -127, 32, 0, 127, 68, -1, 1, 0, 0, 0, 0}
	for i := range want {
		if q[i] != want[i] {
			t.Errorf("q[%d] = %d, want %d (all %v)", i, q[i], want[i], q)
			break
		}
	}
	if scales[0] != float32(1.0/127) || scales[1] != float32(3.0/127) || !(scales[2] > 0) {
		t.Errorf("scales = %v", scales)
	}

	r := rand.New(rand.NewPCG(15, 16))
	for it := 0; it < 300; it++ {
		channels, per := 1+r.IntN(8), 1+r.IntN(50)
		w := make([]float32, channels*per)
		for i := range w {
			w[i] = float32((r.Float64()*2 - 1) * math.Exp2(r.Float64()*20-10))
		}
		q, scales, err := quant.QuantizeWeights(w, channels)
		if err != nil || len(q) != len(w) || len(scales) != channels {
			t.Fatalf("QuantizeWeights: %d, %d, %v", len(q), len(scales), err)
		}
		for c := 0; c < channels; c++ {
			row, qr := w[c*per:(c+1)*per], q[c*per:(c+1)*per]
			amax, at := float32(0), 0
			for i, v := range row {
				if a := float32(math.Abs(float64(v))); a > amax {
					amax, at = a, i
				}
			}
			// The largest magnitude maps to ±127.
			if wantQ := int8(127); row[at] < 0 && qr[at] != -wantQ || row[at] > 0 && qr[at] != wantQ {
				t.Fatalf("channel %d: max |w| = %g quantized to %d", c, row[at], qr[at])
			}
			for i, v := range row {
				if qr[i] == -128 {
					t.Fatalf("channel %d: -128 in symmetric weights", c)
				}
				if d := math.Abs(float64(scales[c])*float64(qr[i]) - float64(v)); d > 0.5001*float64(scales[c]) {
					t.Fatalf("channel %d: %g → %d·%g", c, v, qr[i], scales[c])
				}
			}
		}
	}

	for _, tc := range []struct{ n, ch int }{{6, 4}, {6, 0}, {6, -1}} {
		if _, _, err := quant.QuantizeWeights(make([]float32, tc.n), tc.ch); err == nil {
			t.Errorf("QuantizeWeights(%d values, %d channels): no error", tc.n, tc.ch)
		}
	}
}

func TestQuantizeBias(t *testing.T) {
	// Per channel: scales 0.5·[1/8, 1/4, 1/8] = [1/16, 1/8, 1/16] (exact in
	// binary, so the ties below are exact).
	got := quant.QuantizeBias([]float32{1, -1.3125, 0.09375, -0.1}, 0.5, []float32{0.125, 0.25, 0.125, 0.125})
	// 1·16 = 16; −1.3125·8 = −10.5 → −11 and 0.09375·16 = 1.5 → 2 (away from
	// zero); −0.1·16 = −1.6 → −2.
	for i, want := range []int32{16, -11, 2, -2} {
		if got[i] != want {
			t.Errorf("per-channel bias[%d] = %d, want %d", i, got[i], want)
		}
	}
	// One scale for all, saturation, NaN.
	got = quant.QuantizeBias([]float32{-0.25, 1e30, -1e30, float32(math.NaN())}, 0.5, []float32{1})
	for i, want := range []int32{-1, math.MaxInt32, math.MinInt32, 0} {
		if got[i] != want {
			t.Errorf("per-tensor bias[%d] = %d, want %d", i, got[i], want)
		}
	}
}

func TestBuildTable(t *testing.T) {
	in := quant.Params{Scale: 0.1, ZeroPoint: -5}
	// Identity with equal parameters is the identity table.
	id := quant.BuildTable(in, in, func(x float64) float64 { return x })
	for i, v := range id {
		if int(v) != i-128 {
			t.Fatalf("identity table[%d] = %d", i, v)
		}
	}
	// ReLU with the same parameters: max(q, zp).
	relu := quant.BuildTable(in, in, func(x float64) float64 { return max(x, 0) })
	for i, v := range relu {
		if want := max(i-128, -5); int(v) != want {
			t.Fatalf("relu table[%d] = %d, want %d", i, v, want)
		}
	}
	// tanh into the [−1, 1] grid, checked entry by entry.
	out := quant.Params{Scale: 1.0 / 128, ZeroPoint: 0}
	th := quant.BuildTable(in, out, math.Tanh)
	for i, v := range th {
		x := float64(in.Scale) * float64(i-128+5)
		want := math.Round(math.Tanh(x) * 128)
		want = max(-128, min(127, want))
		if float64(v) != want {
			t.Fatalf("tanh table[%d] = %d, want %g", i, v, want)
		}
	}
	// Out-of-range results clamp; NaN results give the output zero point
	// (rsqrt of a negative input), +Inf clamps to 127 (rsqrt of 0).
	rs := quant.BuildTable(quant.Params{Scale: 1, ZeroPoint: 0}, quant.Params{Scale: 0.5, ZeroPoint: 10},
		func(x float64) float64 { return 1 / math.Sqrt(x) })
	if rs[128-3] != 10 || rs[128] != 127 || rs[128+1] != 12 || rs[128+4] != 11 {
		t.Errorf("rsqrt table: q=−3 → %d, 0 → %d, 1 → %d, 4 → %d", rs[128-3], rs[128], rs[128+1], rs[128+4])
	}
	if quant.SoftmaxOutput.Scale != 1.0/256 || quant.SoftmaxOutput.ZeroPoint != -128 {
		t.Errorf("SoftmaxOutput = %+v", quant.SoftmaxOutput)
	}
}
