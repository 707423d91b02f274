package ptq

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/quant"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// identityModel is y = x + 0 over n values: its output range is the
// input's.
func identityModel(t *testing.T, n int) *format.Model {
	b := format.NewBuilder("identity")
	x := b.Input("x", format.Float32, []int32{1, int32(n)}, nil)
	z := b.ConstFloat32("zero", []int32{1}, []float32{0})
	y := b.Activation("y", format.Float32, []int32{1, int32(n)}, nil)
	b.Op(format.OpAdd, "add", nil, []int32{x, z}, y)
	b.Output(y)
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// heavyTailed returns samples of cubed N(0,1) values (long tails), and
// in every other sample one far outlier at 40.
func heavyTailed(n, count int, seed int64) [][][]float32 {
	r := rand.New(rand.NewSource(seed))
	var s [][][]float32
	for i := 0; i < count; i++ {
		v := make([]float32, n)
		for j := range v {
			x := r.NormFloat64()
			v[j] = float32(x * x * x)
		}
		if i%2 == 0 {
			v[r.Intn(n)] = 40
		}
		s = append(s, [][]float32{v})
	}
	return s
}

// quantError is the mean squared quantize→dequantize error of the values
// with int8 parameters over [lo, hi].
func quantError(samples [][][]float32, lo, hi float32) float64 {
	p := quant.ChooseAsymmetric(lo, hi)
	e, n := 0.0, 0
	for _, s := range samples {
		for _, v := range s[0] {
			d := float64(v) - float64(p.Dequantize(p.Quantize(v, quant.Int8Min, quant.Int8Max)))
			e += d * d
			n++
		}
	}
	return e / float64(n)
}

func TestParseMethod(t *testing.T) {
	for _, m := range []Method{MinMax, Percentile, MSE} {
		got, err := ParseMethod(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMethod("kl"); err == nil {
		t.Error("ParseMethod(kl) succeeded")
	}
}

func TestHistogramMethods(t *testing.T) {
	m := identityModel(t, 1000)
	samples := heavyTailed(1000, 20, 1)
	mm, err := Calibrate(m, samples, Options{Method: MinMax, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := m.Outputs[0]
	if mm.Max[out] < 40 {
		t.Fatalf("minmax max %g, want ≥ 40", mm.Max[out])
	}
	errs := map[Method]float64{MinMax: quantError(samples, mm.Min[out], mm.Max[out])}
	ranges := map[Method][2]float32{}
	for _, method := range []Method{Percentile, MSE} {
		passes := 0
		r, err := Calibrate(m, samples, Options{Method: method, Percentile: 99.9, Threads: 1, Progress: func(pass, of, done, total int) {
			if of != 2 || total != len(samples) {
				t.Errorf("progress %d/%d %d/%d", pass, of, done, total)
			}
			passes = pass
		}})
		if err != nil {
			t.Fatal(err)
		}
		if passes != 2 {
			t.Errorf("%v: %d passes reported, want 2", method, passes)
		}
		lo, hi := r.Min[out], r.Max[out]
		if lo < mm.Min[out] || hi > mm.Max[out] || !(lo < 0 && hi > 0) {
			t.Errorf("%v: range [%g, %g] not inside minmax's [%g, %g] around 0", method, lo, hi, mm.Min[out], mm.Max[out])
		}
		ranges[method] = [2]float32{lo, hi}
		errs[method] = quantError(samples, lo, hi)
	}
	// Percentile 99.9 leaves about 0.1% of the values outside each end.
	above, below, total := 0, 0, 0
	for _, s := range samples {
		for _, v := range s[0] {
			total++
			if v > ranges[Percentile][1] {
				above++
			}
			if v < ranges[Percentile][0] {
				below++
			}
		}
	}
	if above < total/2000 || above > total/500 || below < total/2000 || below > total/500 {
		t.Errorf("percentile 99.9: %d above and %d below of %d values, want about %d each", above, below, total, total/1000)
	}
	// MSE minimizes the quantization error, so it does no worse than the others.
	if errs[MSE] > errs[MinMax]*1.001 || errs[MSE] > errs[Percentile]*1.001 {
		t.Errorf("mse error %g, minmax %g, percentile %g", errs[MSE], errs[MinMax], errs[Percentile])
	}
}

func TestPercentileKeepsZeroInRange(t *testing.T) {
	m := identityModel(t, 100)
	var samples [][][]float32
	for i := 0; i < 5; i++ {
		v := make([]float32, 100)
		for j := range v {
			v[j] = 3 + float32(j)/100 // all positive
		}
		samples = append(samples, [][]float32{v})
	}
	r, err := Calibrate(m, samples, Options{Method: Percentile, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out := m.Outputs[0]; r.Min[out] != 0 || r.Max[out] < 3.9 {
		t.Errorf("range [%g, %g], want [0, ≈3.99]", r.Min[out], r.Max[out])
	}
}

// mlp is x → FC → LayerNorm → FC.
func mlp(t *testing.T, r *rand.Rand) *format.Model {
	b := format.NewBuilder("mlp")
	x := b.Input("x", format.Float32, []int32{4, 8}, nil)
	w1 := make([]float32, 16*8)
	for i := range w1 {
		w1[i] = float32(r.NormFloat64()) * 0.5
	}
	w2 := make([]float32, 3*16)
	for i := range w2 {
		w2[i] = float32(r.NormFloat64()) * 0.5
	}
	ones, zeros := make([]float32, 16), make([]float32, 16)
	for i := range ones {
		ones[i] = 1
	}
	h := b.Activation("h", format.Float32, []int32{4, 16}, nil)
	b.Op(format.OpFullyConnected, "fc1", &format.FullyConnectedOptions{}, []int32{x, b.ConstFloat32("w1", []int32{16, 8}, w1)}, h)
	l := b.Activation("l", format.Float32, []int32{4, 16}, nil)
	b.Op(format.OpLayerNorm, "ln", &format.LayerNormOptions{Epsilon: 1e-5},
		[]int32{h, b.ConstFloat32("g", []int32{16}, ones), b.ConstFloat32("b", []int32{16}, zeros)}, l)
	y := b.Activation("y", format.Float32, []int32{4, 3}, nil)
	b.Op(format.OpFullyConnected, "fc2", &format.FullyConnectedOptions{}, []int32{l, b.ConstFloat32("w2", []int32{3, 16}, w2)}, y)
	b.Output(y)
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func runOnce(t *testing.T, m *format.Model, x []float32) []float32 {
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	in := it.Input(0)
	if in.DType == format.Float32 {
		copy(in.Float32(), x)
	} else {
		q := in.Int8()
		for i, v := range x {
			q[i] = int8(in.Params.Quantize(v, quant.Int8Min, quant.Int8Max))
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	out := it.Output(0)
	return out.Dequantized(make([]float32, out.NumElements()))
}

func TestQuantizeWithFloatIslandAndFixedWeights(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	fm := mlp(t, r)
	var samples [][][]float32
	for i := 0; i < 8; i++ {
		v := make([]float32, 32)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		samples = append(samples, [][]float32{v})
	}
	ranges, err := Calibrate(fm, samples, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Fixed weights for fc2: every value 1 with scale 0.01.
	w2 := fm.Ops[2].Inputs[1]
	fixed := &FixedWeight{Values: make([]int8, 48), Scale: []float32{0.01}}
	for i := range fixed.Values {
		fixed.Values[i] = 1
	}
	qm, err := QuantizeWith(fm, ranges, QuantizeOptions{Float: map[int]bool{1: true}, Weights: map[int32]*FixedWeight{w2: fixed}})
	if err != nil {
		t.Fatal(err)
	}
	var codes []format.OpCode
	for _, op := range qm.Ops {
		codes = append(codes, op.Code)
	}
	want := []format.OpCode{format.OpFullyConnected, format.OpDequantize, format.OpLayerNorm, format.OpQuantize, format.OpFullyConnected}
	if len(codes) != len(want) {
		t.Fatalf("ops %v, want %v", codes, want)
	}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("ops %v, want %v", codes, want)
		}
	}
	if ln := qm.Ops[2]; qm.Tensors[ln.Inputs[0]].DType != format.Float32 || qm.Tensors[ln.Outputs[0]].DType != format.Float32 {
		t.Error("LayerNorm is not float32")
	}
	wt := qm.Tensors[qm.Ops[4].Inputs[1]]
	if wt.DType != format.Int8 || wt.Data[0] != 1 || wt.Quant.Scale[2] != 0.01 {
		t.Errorf("fc2 weight %v %v %v: want the fixed int8 values, scale 0.01 per channel", wt.DType, wt.Data[:3], wt.Quant.Scale)
	}
	// fc2 with all-ones weights sums the LayerNorm output row (≈ 0): the
	// int8 result must be near 0·0.01.
	got := runOnce(t, qm, samples[0][0])
	for i, v := range got {
		if math.Abs(float64(v)) > 0.05 {
			t.Errorf("output %d = %g, want ≈ 0", i, v)
		}
	}
	// Without options the same model still quantizes all ops.
	qa, err := Quantize(fm, ranges)
	if err != nil {
		t.Fatal(err)
	}
	if len(qa.Ops) != 3 {
		t.Errorf("plain Quantize: %d ops, want 3", len(qa.Ops))
	}
	fo, qo := runOnce(t, fm, samples[1][0]), runOnce(t, qa, samples[1][0])
	for i := range fo {
		if math.Abs(float64(fo[i]-qo[i])) > 0.15*(1+math.Abs(float64(fo[i]))) {
			t.Errorf("int8 output %d = %g, float %g", i, qo[i], fo[i])
		}
	}
}

func TestSensitivity(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	fm := mlp(t, r)
	var samples [][][]float32
	for i := 0; i < 6; i++ {
		v := make([]float32, 32)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		samples = append(samples, [][]float32{v})
	}
	ranges, err := Calibrate(fm, samples, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Sensitivity(fm, ranges, samples, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Kind != format.OpInvalid || res[0].Ops != 3 ||
		res[1].Kind != format.OpFullyConnected || res[1].Ops != 2 || res[2].Kind != format.OpLayerNorm || res[2].Ops != 1 {
		t.Fatalf("rows %v", res)
	}
	for _, k := range res {
		if !(k.RelRMS > 0 && k.RelRMS < 0.2) || k.Agree < 0 || k.Agree > 1 {
			t.Errorf("%v: implausible", k)
		}
		if !strings.Contains(k.String(), "rel. RMS error") {
			t.Errorf("String() = %q", k.String())
		}
	}
	if res[0].RelRMS < res[2].RelRMS {
		t.Errorf("all-int8 error %g below LayerNorm-only error %g", res[0].RelRMS, res[2].RelRMS)
	}
}
