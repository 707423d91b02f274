package ref

import (
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

func TestQuantizeFloatHand(t *testing.T) {
	p := quant.Params{Scale: 0.5, ZeroPoint: 3}
	nan := float32(math.NaN())
	x := []float32{0, 1.25, -1.25, 1.24, 1000, -1000, nan, float32(math.Inf(1)), -1.75}
	// 1.25/0.5 = 2.5 → 3 (half away from zero) → 6; −2.5 → −3 → 0;
	// 2.48 → 2 → 5; saturation; NaN → the zero point; −3.5 → −4 → −1.
	out := make([]byte, len(x))
	QuantizeFloat(x, out, p, false)
	for i, want := range []int8{3, 6, 0, 5, 127, -128, 3, 127, -1} {
		if int8(out[i]) != want {
			t.Errorf("QuantizeFloat(%v) = %d, want %d", x[i], int8(out[i]), want)
		}
	}
	pu := quant.Params{Scale: 0.5, ZeroPoint: 128}
	QuantizeFloat(x, out, pu, true)
	for i, want := range []uint8{128, 131, 125, 130, 255, 0, 128, 255, 124} {
		if out[i] != want {
			t.Errorf("QuantizeFloat unsigned(%v) = %d, want %d", x[i], out[i], want)
		}
	}
	ewAllocs(t, "QuantizeFloat", func() { QuantizeFloat(x, out, p, false) })
}

func TestQuantizeRoundTrip(t *testing.T) {
	r := ewRand(t, 50)
	for range ewIters(100) {
		p := ewParams(r, 1e-3, 1)
		x := ewFloats(r, 200, -200*float64(p.Scale), 200*float64(p.Scale))
		q := make([]byte, len(x))
		QuantizeFloat(x, q, p, false)
		back := make([]float32, len(x))
		qs := make([]int8, len(x))
		for i := range q {
			qs[i] = int8(q[i])
		}
		DequantizeInt8(qs, back, p)
		for i, v := range x {
			// Independent: the nearest grid point, ties away from zero.
			want := math.Round(float64(v)/float64(p.Scale)) + float64(p.ZeroPoint)
			want = math.Min(math.Max(want, -128), 127)
			if float64(qs[i]) != want {
				t.Fatalf("QuantizeFloat(%v) with %v = %d, want %v", v, p, qs[i], want)
			}
			// Unsaturated values come back within half a quantum.
			if want > -128 && want < 127 && math.Abs(float64(back[i])-float64(v)) > 0.5*float64(p.Scale)*(1+1e-6) {
				t.Fatalf("round trip of %v with %v gives %v", v, p, back[i])
			}
		}
	}
}

func TestDequantize(t *testing.T) {
	p := quant.Params{Scale: 0.25, ZeroPoint: -10}
	x := []int8{-128, -10, 0, 127}
	out := make([]float32, 4)
	DequantizeInt8(x, out, p)
	for i, want := range []float32{-29.5, 0, 2.5, 34.25} {
		if out[i] != want {
			t.Errorf("DequantizeInt8(%d) = %v, want %v", x[i], out[i], want)
		}
	}
	pu := quant.Params{Scale: 0.5, ZeroPoint: 128}
	xu := []uint8{0, 128, 129, 255}
	DequantizeUint8(xu, out, pu)
	for i, want := range []float32{-64, 0, 0.5, 63.5} {
		if out[i] != want {
			t.Errorf("DequantizeUint8(%d) = %v, want %v", xu[i], out[i], want)
		}
	}
	ewAllocs(t, "DequantizeInt8", func() { DequantizeInt8(x, out, p) })
	ewAllocs(t, "DequantizeUint8", func() { DequantizeUint8(xu, out, pu) })
}

func TestRequantize(t *testing.T) {
	r := ewRand(t, 51)
	in := make([]byte, 256)
	for i := range in {
		in[i] = byte(i)
	}
	out := make([]byte, 256)
	for iter := range ewIters(200) {
		inU, outU := iter%2 == 1, iter%4 >= 2
		inP, outP := ewParams(r, 1e-3, 1), ewParams(r, 1e-3, 1)
		if inU {
			inP.ZeroPoint += 128
		}
		if outU {
			outP.ZeroPoint += 128
		}
		if iter%7 == 0 {
			outP.Scale = inP.Scale / 300 // strong saturation
		}
		m, err := quant.NewMultiplier(float64(inP.Scale) / float64(outP.Scale))
		if err != nil {
			t.Fatal(err)
		}
		p := kernels.RequantizeParams{InZP: inP.ZeroPoint, OutZP: outP.ZeroPoint, Mult: m,
			InUnsigned: inU, OutUnsigned: outU, Rounding: quant.Rounding(iter % 3 % 2)}
		Requantize(&p, in, out)
		lo, hi := int64(-128), int64(127)
		if outU {
			lo, hi = 0, 255
		}
		for i, b := range in {
			v := int32(int8(b))
			if inU {
				v = int32(b)
			}
			want := int64(outP.ZeroPoint) + int64(ewApply(m, v-inP.ZeroPoint, p.Rounding))
			want = min(max(want, lo), hi)
			got := int64(int8(out[i]))
			if outU {
				got = int64(out[i])
			}
			if got != want {
				t.Fatalf("Requantize %+v of %d: got %d, want %d", p, v, got, want)
			}
			// It tracks the real rescaling: within half a quantum when
			// rounding once, within one when rounding twice.
			real := float64(inP.Scale)*float64(v-inP.ZeroPoint)/float64(outP.Scale) + float64(outP.ZeroPoint)
			real = math.Min(math.Max(real, float64(lo)), float64(hi))
			tol := 0.5 + 1e-4
			if p.Rounding == quant.RoundDouble {
				tol = 1
			}
			if math.Abs(float64(got)-real) > tol {
				t.Fatalf("Requantize %+v of %d: got %d, real %v", p, v, got, real)
			}
		}
	}
	// Hand: uint8 (zp 128, s 0.5) → int8 (zp 0, s 0.25): 130 is 1.0 → 4;
	// 127 is −0.5 → −2; 255 is 63.5 → 254 → 127.
	m := quant.MustMultiplier(2)
	p := kernels.RequantizeParams{InZP: 128, OutZP: 0, Mult: m, InUnsigned: true}
	out4 := make([]byte, 3)
	Requantize(&p, []byte{130, 127, 255}, out4)
	if got := [3]int8{int8(out4[0]), int8(out4[1]), int8(out4[2])}; got != [3]int8{4, -2, 127} {
		t.Errorf("Requantize = %v, want [4 -2 127]", got)
	}
	ewAllocs(t, "Requantize", func() { Requantize(&p, in, out) })
}
