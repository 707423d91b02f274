package ref_test

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// Asymmetric weights (kernels.FCParams.WZP, ConvParams.WZP ≠ 0) come from
// legacy uint8 TFLite models shifted to int8: any int8 value, including
// −128, with one shared zero point. These tests run the int8 kernels with
// such weights against the definition Σ (x − InZP)·(w − WZP).

func TestFullyConnectedInt8WeightZeroPoint(t *testing.T) {
	g := newKgen(t)
	for it := 0; it < iters(200); it++ {
		M, N, K := g.fcShape()
		p := kernels.FCParams{M: M, N: N, K: K, InZP: int32(g.between(-128, 127)),
			WZP: int32(g.between(-128, 127)), Bias: g.bias(N, 1<<16)}
		if p.WZP == 0 {
			p.WZP = -128
		}
		p.Out = g.stage(N, 255*60*math.Sqrt(float64(K)))
		x, w := g.i8(M*K), g.i8(N*K)
		out := make([]int8, M*N)
		ref.FullyConnectedInt8(&p, x, w, out)
		diffInt8(t, "fc", out, naiveFCInt8(t, &p, x, w))
		if t.Failed() {
			t.Fatalf("iteration %d: M=%d N=%d K=%d InZP=%d WZP=%d", it, M, N, K, p.InZP, p.WZP)
		}
	}
}

func TestFullyConnectedInt8WeightZeroPointByHand(t *testing.T) {
	// A uint8 layer with x = [130 128] (zero point 128) and w = [0 255]
	// (zero point 125) is, shifted to int8, x = [2 0] with InZP 0 and
	// w = [−128 127] with WZP −3: products (2)(−125) + (0)(130) = −250,
	// which a multiplier of 1/2 brings to −125.
	x := []int8{2, 0}
	w := []int8{-128, 127}
	p := kernels.FCParams{M: 1, N: 1, K: 2, WZP: -3,
		Out: kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.5)}, ActMin: -128, ActMax: 127}}
	out := make([]int8, 1)
	ref.FullyConnectedInt8(&p, x, w, out)
	if out[0] != -125 {
		t.Fatalf("got %d, want -125", out[0])
	}
}

func testConvWeightZeroPoint(t *testing.T, depthwise bool, conv convInt8Func) {
	g := newKgen(t)
	for it := 0; it < iters(150); it++ {
		p, x, _ := g.convInt8Case(depthwise)
		taps := p.KH * p.KW
		if !depthwise {
			taps *= p.Cin
		}
		w := g.i8(taps * p.Cout)
		p.WZP = int32(g.between(-128, 127))
		p.Out = g.stage(p.Cout, 255*60*math.Sqrt(float64(taps)))
		out := make([]int8, p.N*p.OH*p.OW*p.Cout)
		conv(&p, x, w, out)
		diffInt8(t, "conv", out, naiveConvInt8(t, &p, depthwise, x, w, out))
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", it, p)
		}
	}
}

func TestConv2DInt8WeightZeroPoint(t *testing.T) {
	testConvWeightZeroPoint(t, false, ref.Conv2DInt8)
}

func TestDepthwiseConv2DInt8WeightZeroPoint(t *testing.T) {
	testConvWeightZeroPoint(t, true, ref.DepthwiseConv2DInt8)
}
