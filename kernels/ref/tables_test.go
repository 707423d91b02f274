package ref

import (
	"hash/fnv"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/quant"
)

func TestNewSoftmaxTable(t *testing.T) {
	// β·s = ln 2: Exp[d] = 2^16·2^−d rounded; the product β·s is float32
	// ln 2 (relative error 2^−25), far too little to move these entries.
	exp := NewSoftmaxTable(1, math.Ln2)
	for d, want := range map[int]uint32{0: 65536, 1: 32768, 2: 16384, 8: 256, 15: 2, 16: 1, 18: 0, 255: 0} {
		if exp[d] != want {
			t.Errorf("Exp[%d] = %d, want %d", d, exp[d], want)
		}
	}
	// Every entry against the definition, for a few β and scales.
	for _, c := range []struct{ beta, scale float32 }{{1, 0.05}, {0.7, 0.011}, {2, 0.3}, {1, 1e-4}} {
		exp := NewSoftmaxTable(c.beta, c.scale)
		for d := range exp {
			want := math.Round(65536 * math.Exp(-float64(c.beta)*float64(c.scale)*float64(d)))
			if float64(exp[d]) != want {
				t.Errorf("β %v s %v: Exp[%d] = %d, want %v", c.beta, c.scale, d, exp[d], want)
			}
			if d > 0 && exp[d] > exp[d-1] {
				t.Errorf("β %v s %v: Exp not decreasing at %d", c.beta, c.scale, d)
			}
		}
	}
	// β = 0: all ones; negative β saturates instead of wrapping; NaN keeps
	// Exp[0] so that a row's sum is never 0.
	if exp := NewSoftmaxTable(0, 0.1); exp[0] != 65536 || exp[255] != 65536 {
		t.Errorf("β 0: Exp[0], Exp[255] = %d, %d, want 65536", exp[0], exp[255])
	}
	if exp := NewSoftmaxTable(-1, 1); exp[0] != 65536 || exp[5] != 9726405 || exp[255] != math.MaxUint32 {
		t.Errorf("β −1: Exp[0], Exp[5], Exp[255] = %d, %d, %d", exp[0], exp[5], exp[255])
	}
	if exp := NewSoftmaxTable(float32(math.NaN()), 1); exp[0] != 65536 || exp[1] != 0 {
		t.Errorf("β NaN: Exp[0], Exp[1] = %d, %d, want 65536, 0", exp[0], exp[1])
	}
}

// TestUnaryTablesTrackFloat builds the int8 tables of every activation
// from the ref scalars (as the runtime does at load) and checks that each
// entry, dequantized, is the activation of the dequantized input within
// half an output quantum (a full one at the clamp edges is not allowed
// either: the output range covers the function's range).
func TestUnaryTablesTrackFloat(t *testing.T) {
	for _, c := range []struct {
		name   string
		f      func(float64) float64
		in     quant.Params
		lo, hi float64 // the function's range over the input range
	}{
		{"GELU", GELU, quant.Params{Scale: 0.05, ZeroPoint: -10}, -0.2, 5.9},
		{"GELUTanh", GELUTanh, quant.Params{Scale: 0.05, ZeroPoint: -10}, -0.2, 5.9},
		{"HardSwish", HardSwish, quant.Params{Scale: 0.04, ZeroPoint: 0}, -0.4, 5.1},
		{"Logistic", Logistic, quant.Params{Scale: 0.0625, ZeroPoint: 0}, 0, 1},
		{"Tanh", math.Tanh, quant.Params{Scale: 0.03, ZeroPoint: 5}, -1, 1},
		{"Rsqrt", Rsqrt, quant.Params{Scale: 0.1, ZeroPoint: -128}, 0, 10},
	} {
		out := quant.ChooseAsymmetric(float32(c.lo), float32(c.hi))
		f := c.f
		if c.name == "Rsqrt" {
			// Skip q = −128, real 0: rsqrt(0) is +Inf and saturates.
			f = func(x float64) float64 { return Rsqrt(math.Max(x, 0.1)) }
		}
		tab := quant.BuildTable(c.in, out, f)
		x := make([]int8, 256)
		for i := range x {
			x[i] = int8(i - 128)
		}
		got := make([]int8, 256)
		LookupInt8(&tab, x, got)
		for i, q := range x {
			real := f(float64(c.in.Scale) * float64(int32(q)-c.in.ZeroPoint))
			want := real/float64(out.Scale) + float64(out.ZeroPoint)
			if want < -128.5 || want > 127.5 {
				continue // outside the chosen output range
			}
			if d := math.Abs(float64(got[i]) - want); d > 0.5+1e-6 {
				t.Errorf("%s(%d) = %d, real %.3f in the output domain", c.name, q, got[i], want)
			}
		}
	}
}

// TestRsqrtTableEdges checks what Rsqrt's doc promises for int8 tables:
// real 0 saturates, negative reals give the output zero point.
func TestRsqrtTableEdges(t *testing.T) {
	in := quant.Params{Scale: 0.1, ZeroPoint: 0}
	out := quant.Params{Scale: 0.05, ZeroPoint: -100}
	tab := quant.BuildTable(in, out, Rsqrt)
	if got := tab[0+128]; got != 127 {
		t.Errorf("rsqrt(0) = %d, want 127", got)
	}
	if got := tab[-5+128]; got != -100 {
		t.Errorf("rsqrt(−0.5) = %d, want the zero point −100", got)
	}
	if got := tab[40+128]; got != -90 { // rsqrt(4) = 0.5 → 10 quanta
		t.Errorf("rsqrt(4) = %d, want -90", got)
	}
}

func TestLookupInt8(t *testing.T) {
	var tab quant.Table
	for i := range tab {
		tab[i] = int8(255 - i - 128) // reverses the int8 range
	}
	x := []int8{-128, -1, 0, 1, 127}
	out := make([]int8, len(x))
	LookupInt8(&tab, x, out)
	for i, v := range []int8{127, 0, -1, -2, -128} {
		if out[i] != v {
			t.Errorf("LookupInt8(%d) = %d, want %d", x[i], out[i], v)
		}
	}
	ewAllocs(t, "LookupInt8", func() { LookupInt8(&tab, x, out) })
}

// TestTablesGolden pins the bits of many softmax and activation tables.
// Tables are built at load on the target with Go's math package, whose
// functions may differ in the last ulp between architectures (assembly on
// some, fused multiply-adds on others); an entry flips only if a value
// sits within an ulp of a rounding boundary. These hashes were computed
// on amd64 and agree under qemu on arm64 and armv7 (and so did a sweep 20
// times larger); a failure here means int8 results would differ across
// boards.
func TestTablesGolden(t *testing.T) {
	// Parameters are ratios of small integers, so that they are the same
	// float32 everywhere (no a + b·c a compiler could fuse).
	h := fnv.New64a()
	for k := range 200 {
		for _, v := range NewSoftmaxTable(1, float32(1+2*k)/1000) {
			h.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)})
		}
	}
	if got, want := h.Sum64(), uint64(0x8551325dd90354a6); got != want {
		t.Errorf("softmax tables hash %#x, want %#x", got, want)
	}
	for _, c := range []struct {
		name string
		f    func(float64) float64
		want uint64
	}{
		{"GELU", GELU, 0x1ef50cd19bf89142},
		{"GELUTanh", GELUTanh, 0x5c22a4773b90993f},
		{"Logistic", Logistic, 0x59e1a5b441743c2},
		{"Tanh", math.Tanh, 0xc53acc65be9ed5c6},
		{"HardSwish", HardSwish, 0x865a5d61408f4951},
	} {
		h.Reset()
		for k := range 100 {
			in := quant.Params{Scale: float32(2+6*k) / 10000, ZeroPoint: int32(k*37%256 - 128)}
			out := quant.Params{Scale: float32(1+4*k) / 10000, ZeroPoint: int32(k*7%256 - 128)}
			tab := quant.BuildTable(in, out, c.f)
			for _, v := range tab {
				h.Write([]byte{byte(v)})
			}
		}
		if got := h.Sum64(); got != c.want {
			t.Errorf("%s tables hash %#x, want %#x", c.name, got, c.want)
		}
	}
}
