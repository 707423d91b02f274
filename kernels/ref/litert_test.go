package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// The LiteRT compatibility paths (quant.RoundXNNPACK, RoundXNNPACKUint8):
// float32 output stages, XNNPACK's fixed-point Add and uint8-style
// average rounding.

func TestOutputStageFloatScale(t *testing.T) {
	s := kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.5)}, Scale: []float32{0.5},
		OutZP: 3, ActMin: -128, ActMax: 127}
	// Ties go to even: 2.5 → 2, 3.5 → 4, −2.5 → −2; then the zero point.
	for _, c := range []struct {
		acc  int32
		want int8
	}{{5, 5}, {7, 7}, {-5, 1}, {1000, 127}, {-1000, -128}, {math.MaxInt32, 127}, {math.MinInt32, -128}} {
		if got := s.Requantize(c.acc, 0); got != c.want {
			t.Errorf("acc %d: got %d, want %d", c.acc, got, c.want)
		}
	}
	// The product is a float32 product: acc = 2^24+1 becomes 2^24 first.
	s = kernels.OutputStage{Mult: []quant.Multiplier{{}}, Scale: []float32{1.0 / (1 << 18)}, ActMin: -128, ActMax: 127}
	if got := s.Requantize(1<<24+1<<17, 0); got != 64 {
		t.Errorf("acc 2^24+2^17: got %d, want 64 (float32(acc)·2^-18 = 64.5 rounds to even)", got)
	}
	// Per channel.
	s = kernels.OutputStage{Mult: make([]quant.Multiplier, 2), Scale: []float32{1, 0.25}, ActMin: -128, ActMax: 127}
	if a, b := s.Requantize(10, 0), s.Requantize(10, 1); a != 10 || b != 2 {
		t.Errorf("per channel: got %d, %d, want 10, 2", a, b)
	}
}

func TestFullyConnectedFloatStage(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(50); it++ {
		M, N, K := g.fcShape()
		p := kernels.FCParams{M: M, N: N, K: K, InZP: int32(g.between(-128, 127)), Bias: g.bias(N, 1<<12)}
		p.Out = g.stage(N, 128*40*math.Sqrt(float64(K)))
		p.Out.Scale = make([]float32, len(p.Out.Mult))
		for c, m := range p.Out.Mult {
			p.Out.Scale[c] = float32(m.Real())
		}
		x, w := g.i8(M*K), g.w8(N*K)
		out := make([]int8, M*N)
		ref.FullyConnectedInt8(&p, x, w, out)
		for m := 0; m < M; m++ {
			for n := 0; n < N; n++ {
				var acc int32
				if p.Bias != nil {
					acc = p.Bias[n]
				}
				for k := 0; k < K; k++ {
					acc += (int32(x[m*K+k]) - p.InZP) * int32(w[n*K+k])
				}
				sc := p.Out.Scale[0]
				if len(p.Out.Scale) > 1 {
					sc = p.Out.Scale[n]
				}
				v := math.RoundToEven(float64(float32(float32(acc)*sc))) + float64(p.Out.OutZP)
				want := int8(math.Max(float64(p.Out.ActMin), math.Min(float64(p.Out.ActMax), v)))
				if out[m*N+n] != want {
					t.Fatalf("out[%d,%d] = %d, want %d", m, n, out[m*N+n], want)
				}
			}
		}
	}
}

func TestAveragePoolRoundHalfUp(t *testing.T) {
	// One 2×1 window per channel: sums −5 (−2.5), −3 (−1.5), 3 (1.5), 4 (2).
	x := []int8{-3, -1, 2, 2, -2, -2, 1, 2}
	p := kernels.PoolParams{N: 1, H: 2, W: 1, C: 4, FH: 2, FW: 1, OH: 1, OW: 1, StrideH: 1, StrideW: 1,
		ActMin: -128, ActMax: 127}
	out := make([]int8, 4)
	ref.AveragePool2DInt8(&p, x, out)
	diffInt8(t, "away", out, []int8{-3, -2, 2, 2})
	p.RoundHalfUp = true
	ref.AveragePool2DInt8(&p, x, out)
	diffInt8(t, "half up", out, []int8{-2, -1, 2, 2})

	// Half up on x is exactly uint8 arithmetic on x+128: (Σu + n/2)/n − 128.
	g := newKgen(t)
	for it := 0; it < iters(100); it++ {
		n := g.between(1, 49)
		x := g.i8(n)
		p := kernels.PoolParams{N: 1, H: n, W: 1, C: 1, FH: n, FW: 1, OH: 1, OW: 1, StrideH: 1, StrideW: 1,
			ActMin: -128, ActMax: 127, RoundHalfUp: true}
		out := make([]int8, 1)
		ref.AveragePool2DInt8(&p, x, out)
		u := 0
		for _, v := range x {
			u += int(v) + 128
		}
		if want := (u+n/2)/n - 128; int(out[0]) != want {
			t.Fatalf("%v: got %d, want %d", x, out[0], want)
		}
	}
}

func TestAddXNNPACK(t *testing.T) {
	a, b, o := quant.Params{Scale: 0.5, ZeroPoint: -3}, quant.Params{Scale: 0.25, ZeroPoint: 7}, quant.Params{Scale: 1, ZeroPoint: 1}
	p, err := ref.NewAddParamsXNNPACK(a, b, o, false)
	if err != nil {
		t.Fatal(err)
	}
	// r_a = 1/2 = 2^-1: shift 21, multipliers 2^20 and 2^19.
	if p.FixedShift != 21 || p.AFixed != 1<<20 || p.BFixed != 1<<19 {
		t.Fatalf("shift %d, multipliers %d %d; want 21, 2^20, 2^19", p.FixedShift, p.AFixed, p.BFixed)
	}
	bc, err := ref.NewBroadcast([]int{4}, []int{4}, []int{4})
	if err != nil {
		t.Fatal(err)
	}
	p.Broadcast = bc
	// (a+3)/2 + (b−7)/4 = 2.5 → 3 (ties up), 1 → 1, −0.5 → 0, −1.25 → −1;
	// plus the output zero point 1.
	x := []int8{2, -2, -3, -5}
	y := []int8{7, 9, 5, 6}
	out := make([]int8, 4)
	ref.AddInt8(&p, x, y, out)
	diffInt8(t, "add", out, []int8{4, 2, 1, 0})
	// Random scales agree with the real sum to within one step.
	g := newKgen(t)
	for it := 0; it < iters(100); it++ {
		as := quant.Params{Scale: float32(0.01 + g.Float64()), ZeroPoint: int32(g.between(-128, 127))}
		bs := quant.Params{Scale: float32(0.01 + g.Float64()), ZeroPoint: int32(g.between(-128, 127))}
		os := quant.Params{Scale: float32(0.05 + 2*g.Float64()), ZeroPoint: int32(g.between(-128, 127))}
		p, err := ref.NewAddParamsXNNPACK(as, bs, os, it%2 == 1)
		if err != nil {
			t.Fatal(err)
		}
		x, y := g.i8(64), g.i8(64)
		bc, _ := ref.NewBroadcast([]int{64}, []int{64}, []int{64})
		p.Broadcast = bc
		out := make([]int8, 64)
		if it%2 == 1 {
			ref.SubInt8(&p, x, y, out)
		} else {
			ref.AddInt8(&p, x, y, out)
		}
		for i := range out {
			bv := float64(bs.Scale) * float64(int32(y[i])-bs.ZeroPoint)
			if it%2 == 1 {
				bv = -bv
			}
			real := float64(as.Scale)*float64(int32(x[i])-as.ZeroPoint) + bv
			want := math.Max(-128, math.Min(127, real/float64(os.Scale)+float64(os.ZeroPoint)))
			if math.Abs(float64(out[i])-want) > 0.5+1e-3 {
				t.Fatalf("iteration %d element %d: got %d, real %.3f", it, i, out[i], want)
			}
		}
	}
	if _, err := ref.NewAddParamsXNNPACK(quant.Params{Scale: 1000, ZeroPoint: 0}, b, o, false); err == nil {
		t.Error("a scale ratio of 1000 was accepted")
	}
}

func TestSoftmaxTableXNNPACK(t *testing.T) {
	// Two classes: q = 2^23 − 1; 1001 classes: q = (2^32 − 1)/1001.
	small := ref.NewSoftmaxTableXNNPACK(2, 0.5)
	if small[0] != 8388607 || small[1] != uint32(math.RoundToEven(8388607*math.Exp(-0.5))) {
		t.Errorf("d=2: table starts %d %d", small[0], small[1])
	}
	big := ref.NewSoftmaxTableXNNPACK(1001, 1.0/16)
	if want := uint32(math.RoundToEven(float64(math.MaxUint32) / 1001)); big[0] != want {
		t.Errorf("d=1001: Exp[0] = %d, want %d", big[0], want)
	}
	for k := 1; k < 256; k++ {
		if big[k] > big[k-1] {
			t.Fatalf("table rises at %d", k)
		}
	}
	// A row of 1001 equal values: every output is 256/1001 ≈ 0.256 → 0
	// (−128); a dominant value takes 255 (127).
	p := kernels.SoftmaxParams{Rows: 1, D: 1001, Exp: big}
	x := make([]int8, 1001)
	out := make([]int8, 1001)
	ref.SoftmaxInt8(&p, x, out)
	if out[0] != -128 {
		t.Errorf("uniform row: %d, want -128", out[0])
	}
	x[7] = 127
	for i := range x {
		if i != 7 {
			x[i] = -128
		}
	}
	ref.SoftmaxInt8(&p, x, out)
	if out[7] != 127 {
		t.Errorf("dominant value: %d, want 127", out[7])
	}
}

func TestMulXNNPACK(t *testing.T) {
	p, err := ref.NewMulParams(quant.Params{Scale: 0.5, ZeroPoint: 1}, quant.Params{Scale: 0.5, ZeroPoint: -1}, quant.Params{Scale: 1, ZeroPoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	p.MulScale = 0.25
	bc, err := ref.NewBroadcast([]int{3}, []int{3}, []int{3})
	if err != nil {
		t.Fatal(err)
	}
	p.Broadcast = bc
	// (a−1)(b+1)/4: 10/4 = 2.5 → 2 (even), 14/4 = 3.5 → 4, −10/4 → −2; plus 2.
	out := make([]int8, 3)
	ref.MulInt8(&p, []int8{3, 3, -4}, []int8{4, 6, 1}, out)
	diffInt8(t, "mul", out, []int8{4, 6, 0})
}

func TestHardSwishTableLiteRT(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(50); it++ {
		in := quant.Params{Scale: float32(0.005 + 0.1*g.Float64()), ZeroPoint: int32(g.between(-128, 127))}
		out := quant.Params{Scale: float32(0.005 + 0.1*g.Float64()), ZeroPoint: int32(g.between(-128, 127))}
		if in.Scale/128 >= out.Scale {
			continue
		}
		tab, err := ref.NewHardSwishTableLiteRT(in, out)
		if err != nil {
			t.Fatal(err)
		}
		want := quant.BuildTable(in, out, ref.HardSwish)
		for i := range tab {
			if d := int(tab[i]) - int(want[i]); d < -1 || d > 1 {
				t.Fatalf("in %+v out %+v: entry %d is %d, real hard swish gives %d", in, out, i, tab[i], want[i])
			}
		}
	}
	if _, err := ref.NewHardSwishTableLiteRT(quant.Params{Scale: 200, ZeroPoint: 0}, quant.Params{Scale: 0.01, ZeroPoint: 0}); err == nil {
		t.Error("an output multiplier above 1 was accepted")
	}
}
