package onnx_test

import (
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func importBytes(t *testing.T, b []byte) *onnx.Result {
	t.Helper()
	m, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := onnx.Import(m, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runModel runs m once on the given inputs and returns its outputs.
func runModel(t *testing.T, m *format.Model, inputs ...[]float32) [][]float32 {
	t.Helper()
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for i, v := range inputs {
		dst := it.Input(i).Float32()
		if len(dst) != len(v) {
			t.Fatalf("input %d holds %d values, test gives %d", i, len(dst), len(v))
		}
		copy(dst, v)
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	var outs [][]float32
	for i := 0; i < it.NumOutputs(); i++ {
		outs = append(outs, append([]float32(nil), it.Output(i).Float32()...))
	}
	return outs
}

func opCodes(m *format.Model) []format.OpCode {
	var c []format.OpCode
	for _, op := range m.Ops {
		c = append(c, op.Code)
	}
	return c
}

func sameCodes(a []format.OpCode, b ...format.OpCode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func randFloats(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (r.Float32()*2 - 1) * scale
	}
	return v
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*math.Max(1, math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	good := graphSpec{
		nodes:   []pbuf{node("Relu", "r", []string{"x"}, []string{"y"})},
		inputs:  []pbuf{valueInfo("x", 1, 4)},
		outputs: []pbuf{valueInfo("y", 1, 4)},
	}.encode()
	cases := map[string][]byte{
		"empty":            {},
		"truncated":        good[:len(good)/2],
		"bad tag":          {0x00},
		"overlong length":  {0x3a, 0xff, 0xff, 0xff, 0x0f},
		"graph as varint":  pbuf(nil).varint(7, 3),
		"name as fixed32":  pbuf(nil).msg(7, pbuf(nil).f32(2, 1)),
		"odd packed float": pbuf(nil).msg(7, pbuf(nil).msg(5, pbuf(nil).msg(4, []byte{1, 2, 3}))),
	}
	for name, b := range cases {
		_, err := onnx.Decode(b)
		if err == nil {
			t.Errorf("%s: decoded without error", name)
			continue
		}
		if name != "empty" && !errors.Is(err, onnx.ErrMalformed) {
			t.Errorf("%s: error %v does not wrap ErrMalformed", name, err)
		}
	}
	if _, err := onnx.Decode(good); err != nil {
		t.Fatalf("good model: %v", err)
	}
}

func TestDecodeAcceptsPackedAndUnpackedRepeatedFields(t *testing.T) {
	// dims as separate varints, float_data unpacked (fixed32 each).
	w := pbuf(nil).varint(1, 2).varint(1, 2).varint(2, 1).str(8, "w")
	for _, v := range []float32{1, 2, 3, 4} {
		w = w.f32(4, v)
	}
	b := graphSpec{
		nodes:   []pbuf{node("MatMul", "mm", []string{"x", "w"}, []string{"y"})},
		inits:   []pbuf{w},
		inputs:  []pbuf{valueInfo("x", 1, 2)},
		outputs: []pbuf{valueInfo("y", 1, 2)},
	}.encode()
	r := importBytes(t, b)
	got := runModel(t, r.Model, []float32{1, 1})[0]
	assertClose(t, "y", got, []float32{4, 6}, 1e-6)
}

func TestImportRejectsUnsupported(t *testing.T) {
	relu := []pbuf{node("Relu", "r", []string{"x"}, []string{"y"})}
	io := func(g graphSpec) graphSpec {
		g.inputs = []pbuf{valueInfo("x", 1, 4)}
		g.outputs = []pbuf{valueInfo("y", 1, 4)}
		return g
	}
	cases := []struct {
		name string
		g    graphSpec
		want []string
	}{
		{"opset 12", io(graphSpec{nodes: relu, opset: 12}), []string{"opset 12"}},
		{"opset 21", io(graphSpec{nodes: relu, opset: 21}), []string{"opset 21"}},
		{"unknown op", io(graphSpec{nodes: []pbuf{node("Hardmax", "hm_node", []string{"x"}, []string{"y"})}}), []string{"Hardmax", "hm_node"}},
		{"Div by tensor", io(graphSpec{nodes: []pbuf{node("Div", "dv", []string{"x", "x"}, []string{"y"})}}), []string{"Div", "dv", "runtime tensor"}},
		{"Softmax axis 0", io(graphSpec{nodes: []pbuf{node("Softmax", "sm", []string{"x"}, []string{"y"}, aInt("axis", 0))}}), []string{"Softmax", "sm", "axis 0"}},
		{"undefined input", io(graphSpec{nodes: []pbuf{node("Relu", "r", []string{"nope"}, []string{"y"})}}), []string{"nope"}},
	}
	for _, c := range cases {
		m, err := onnx.Decode(c.g.encode())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, err = onnx.Import(m, onnx.Options{})
		if err == nil {
			t.Errorf("%s: imported without error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

// externalMatMul writes dir/m.onnx: y = x·w, x [1,2], with the 2×2 float
// weight w stored at loc (offset off, length length) and returns its path.
func externalMatMul(t *testing.T, dir, loc, off, length string) string {
	t.Helper()
	p := filepath.Join(dir, "m.onnx")
	b := graphSpec{
		nodes:   []pbuf{node("MatMul", "mm", []string{"x", "w"}, []string{"y"})},
		inits:   []pbuf{externalTensor("w", []int64{2, 2}, loc, off, length)},
		inputs:  []pbuf{valueInfo("x", 1, 2)},
		outputs: []pbuf{valueInfo("y", 1, 2)},
	}.encode()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	w := []float32{0, 0, 1, 2, 3, 4} // two padding floats, then the weight
	raw := make([]byte, 4*len(w))
	for i, v := range w {
		raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(math.Float32bits(v)), byte(math.Float32bits(v)>>8), byte(math.Float32bits(v)>>16), byte(math.Float32bits(v)>>24)
	}
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	model := func(loc, off, length string) string { return externalMatMul(t, dir, loc, off, length) }
	r, err := onnx.ImportFile(model("w.bin", "8", "16"), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "y", runModel(t, r.Model, []float32{1, 1})[0], []float32{4, 6}, 1e-6)

	for _, c := range []struct{ loc, off, length, want string }{
		{"../w.bin", "0", "", "not a path inside"},
		{"/etc/passwd", "0", "", "not a path inside"},
		{"w.bin", "16", "", "outside"},
		{"w.bin", "0", "12", "length 12"},
		{"w.bin", "-4", "", "bad offset"},
		{"missing.bin", "0", "", "missing.bin"},
	} {
		_, err := onnx.ImportFile(model(c.loc, c.off, c.length), onnx.Options{})
		if err == nil || !errors.Is(err, onnx.ErrExternal) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"w"`) {
			t.Errorf("location %q offset %s length %s: error %v, want ErrExternal naming \"w\" and %q", c.loc, c.off, c.length, err, c.want)
		}
	}
}

// layerNormRef normalizes rows of d values.
func layerNormRef(x []float32, d int, gamma, beta []float32, eps float64) []float32 {
	out := make([]float32, len(x))
	for r := 0; r < len(x)/d; r++ {
		row := x[r*d : (r+1)*d]
		mean, v := 0.0, 0.0
		for _, a := range row {
			mean += float64(a)
		}
		mean /= float64(d)
		for _, a := range row {
			v += (float64(a) - mean) * (float64(a) - mean)
		}
		v /= float64(d)
		for i, a := range row {
			out[r*d+i] = float32((float64(a)-mean)/math.Sqrt(v+eps)*float64(gamma[i]) + float64(beta[i]))
		}
	}
	return out
}

func TestLayerNormDecompositionBecomesOneOp(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	gamma, beta := randFloats(rng, 8, 2), randFloats(rng, 8, 1)
	for _, square := range []string{"Pow", "Mul"} {
		sq := node("Pow", "pow", []string{"d", "two"}, []string{"sq"})
		if square == "Mul" {
			sq = node("Mul", "sq", []string{"d", "d"}, []string{"sq"})
		}
		b := graphSpec{
			nodes: []pbuf{
				node("ReduceMean", "ln/mean", []string{"x"}, []string{"m"}, aInts("axes", -1)),
				node("Sub", "ln/sub", []string{"x", "m"}, []string{"d"}),
				sq,
				node("ReduceMean", "ln/var", []string{"sq"}, []string{"v"}, aInts("axes", -1)),
				node("Add", "ln/addeps", []string{"v", "eps"}, []string{"ve"}),
				node("Sqrt", "ln/sqrt", []string{"ve"}, []string{"s"}),
				node("Div", "ln/div", []string{"d", "s"}, []string{"n"}),
				node("Mul", "ln/gamma", []string{"n", "g"}, []string{"ng"}),
				node("Add", "ln/beta", []string{"ng", "b"}, []string{"y"}),
			},
			inits: []pbuf{
				floatTensor("two", nil, []float32{2}), floatTensor("eps", nil, []float32{1e-5}),
				floatTensor("g", []int64{8}, gamma), floatTensor("b", []int64{8}, beta),
			},
			inputs:  []pbuf{valueInfo("x", -1, 3, 8)},
			outputs: []pbuf{valueInfo("y", -1, 3, 8)},
			opset:   13,
		}.encode()
		r := importBytes(t, b)
		if c := opCodes(r.Model); !sameCodes(c, format.OpLayerNorm) {
			t.Fatalf("%s form: ops %v, want one LayerNorm", square, c)
		}
		x := randFloats(rng, 24, 3)
		assertClose(t, square+" layernorm", runModel(t, r.Model, x)[0], layerNormRef(x, 8, gamma, beta, 1e-5), 1e-5)
	}
}

func TestLayerNormDecompositionWithOutsideReaderImportsOpByOp(t *testing.T) {
	// The centred value d is also a graph output: no rewrite, and Sqrt on
	// a runtime tensor is then reported.
	b := graphSpec{
		nodes: []pbuf{
			node("ReduceMean", "mean", []string{"x"}, []string{"m"}, aInts("axes", -1)),
			node("Sub", "sub", []string{"x", "m"}, []string{"d"}),
			node("Pow", "pow", []string{"d", "two"}, []string{"sq"}),
			node("ReduceMean", "var", []string{"sq"}, []string{"v"}, aInts("axes", -1)),
			node("Add", "addeps", []string{"v", "eps"}, []string{"ve"}),
			node("Sqrt", "the_sqrt", []string{"ve"}, []string{"s"}),
			node("Div", "div", []string{"d", "s"}, []string{"y"}),
		},
		inits:   []pbuf{floatTensor("two", nil, []float32{2}), floatTensor("eps", nil, []float32{1e-5})},
		inputs:  []pbuf{valueInfo("x", 1, 8)},
		outputs: []pbuf{valueInfo("y", 1, 8), valueInfo("d", 1, 8)},
	}.encode()
	m, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = onnx.Import(m, onnx.Options{})
	if err == nil || !errors.Is(err, onnx.ErrUnsupported) || !strings.Contains(err.Error(), "the_sqrt") {
		t.Fatalf("error %v, want ErrUnsupported naming the Sqrt node", err)
	}
}

func TestGELUErfFormsBecomeOneOp(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	inits := []pbuf{
		floatTensor("sqrt2", nil, []float32{float32(math.Sqrt2)}), floatTensor("rsqrt2", nil, []float32{float32(1 / math.Sqrt2)}),
		floatTensor("one", nil, []float32{1}), floatTensor("half", nil, []float32{0.5}),
	}
	forms := map[string][]pbuf{
		"div then (x·(1+erf))·0.5": {
			node("Div", "g/div", []string{"x", "sqrt2"}, []string{"a"}),
			node("Erf", "g/erf", []string{"a"}, []string{"e"}),
			node("Add", "g/add", []string{"e", "one"}, []string{"b"}),
			node("Mul", "g/mul", []string{"x", "b"}, []string{"c"}),
			node("Mul", "g/half", []string{"c", "half"}, []string{"y"}),
		},
		"mul then (x·0.5)·(1+erf)": {
			node("Mul", "g/half", []string{"half", "x"}, []string{"h"}),
			node("Mul", "g/scale", []string{"x", "rsqrt2"}, []string{"a"}),
			node("Erf", "g/erf", []string{"a"}, []string{"e"}),
			node("Add", "g/add", []string{"one", "e"}, []string{"b"}),
			node("Mul", "g/mul", []string{"h", "b"}, []string{"y"}),
		},
	}
	for name, nodes := range forms {
		r := importBytes(t, graphSpec{nodes: nodes, inits: inits, inputs: []pbuf{valueInfo("x", 2, 5)}, outputs: []pbuf{valueInfo("y", 2, 5)}}.encode())
		if c := opCodes(r.Model); !sameCodes(c, format.OpGELU) {
			t.Fatalf("%s: ops %v, want one GELU", name, c)
		}
		x := randFloats(rng, 10, 4)
		want := make([]float32, len(x))
		for i, v := range x {
			want[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
		assertClose(t, name, runModel(t, r.Model, x)[0], want, 1e-5)
	}
	// The Gelu op itself (opset 20), both approximations.
	for _, approx := range []string{"none", "tanh"} {
		r := importBytes(t, graphSpec{
			nodes:  []pbuf{node("Gelu", "g", []string{"x"}, []string{"y"}, aString("approximate", approx))},
			inputs: []pbuf{valueInfo("x", 1, 6)}, outputs: []pbuf{valueInfo("y", 1, 6)}, opset: 20,
		}.encode())
		o := r.Model.Ops[0].Options.(*format.GELUOptions)
		if r.Model.Ops[0].Code != format.OpGELU || o.Approximate != (approx == "tanh") {
			t.Errorf("Gelu approximate=%s: got %v %+v", approx, r.Model.Ops[0].Code, o)
		}
	}
}

func TestMatMulGemmFoldTransposesBiasAndActivation(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	// y = Relu(x·W + b) with W [3,4]; z = Gemm(y, B [2,4] transB, C) α=0.5 β=2.
	w, bias := randFloats(rng, 12, 1), randFloats(rng, 4, 1)
	bm, c := randFloats(rng, 8, 1), randFloats(rng, 2, 1)
	r := importBytes(t, graphSpec{
		nodes: []pbuf{
			node("MatMul", "fc", []string{"x", "W"}, []string{"xw"}),
			node("Add", "fc/bias", []string{"xw", "b"}, []string{"h"}),
			node("Relu", "fc/relu", []string{"h"}, []string{"y"}),
			node("Gemm", "head", []string{"y", "B", "C"}, []string{"z"}, aInt("transB", 1), aFloat("alpha", 0.5), aFloat("beta", 2)),
		},
		inits:   []pbuf{floatTensor("W", []int64{3, 4}, w), floatTensor("b", []int64{4}, bias), floatTensor("B", []int64{2, 4}, bm), floatTensor("C", []int64{2}, c)},
		inputs:  []pbuf{valueInfo("x", -1, 3)},
		outputs: []pbuf{valueInfo("z", -1, 2)},
	}.encode())
	m := r.Model
	if c := opCodes(m); !sameCodes(c, format.OpFullyConnected, format.OpFullyConnected) {
		t.Fatalf("ops %v, want two FullyConnected", c)
	}
	if o := m.Ops[0].Options.(*format.FullyConnectedOptions); o.Activation != format.ActReLU || len(m.Ops[0].Inputs) != 3 {
		t.Errorf("first FC: activation %v, %d inputs; want relu with bias", o.Activation, len(m.Ops[0].Inputs))
	}
	x := randFloats(rng, 3, 2)
	y := make([]float64, 4)
	for j := range y {
		y[j] = float64(bias[j])
		for k := 0; k < 3; k++ {
			y[j] += float64(x[k]) * float64(w[k*4+j])
		}
		y[j] = math.Max(y[j], 0)
	}
	want := make([]float32, 2)
	for n := range want {
		s := 0.0
		for k := 0; k < 4; k++ {
			s += y[k] * float64(bm[n*4+k])
		}
		want[n] = float32(0.5*s + 2*float64(c[n]))
	}
	assertClose(t, "z", runModel(t, m, x)[0], want, 1e-5)
}

// convRef is a direct NCHW convolution (weights [Cout, Cin/group, KH, KW]).
func convRef(x []float32, n, c, h, w int, wt []float32, cout, kh, kw int, bias []float32, stride, pad, group int) ([]float32, int, int) {
	oh := (h+2*pad-kh)/stride + 1
	ow := (w+2*pad-kw)/stride + 1
	cpg := c / group
	out := make([]float32, n*cout*oh*ow)
	for b := 0; b < n; b++ {
		for co := 0; co < cout; co++ {
			g := co / (cout / group)
			for y := 0; y < oh; y++ {
				for z := 0; z < ow; z++ {
					s := float64(bias[co])
					for ci := 0; ci < cpg; ci++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								yy, zz := y*stride-pad+i, z*stride-pad+j
								if yy < 0 || yy >= h || zz < 0 || zz >= w {
									continue
								}
								s += float64(x[((b*c+g*cpg+ci)*h+yy)*w+zz]) * float64(wt[((co*cpg+ci)*kh+i)*kw+j])
							}
						}
					}
					out[((b*cout+co)*oh+y)*ow+z] = float32(s)
				}
			}
		}
	}
	return out, oh, ow
}

func TestConvPatchEmbeddingAndDepthwise(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	// A ViT patch embedding: Conv 4×4 stride 4 on [1,3,8,8], flatten the
	// 2×2 grid, tokens first.
	w, b := randFloats(rng, 5*3*4*4, 0.5), randFloats(rng, 5, 0.5)
	r := importBytes(t, graphSpec{
		nodes: []pbuf{
			node("Conv", "patch", []string{"x", "w", "b"}, []string{"c"}, aInts("kernel_shape", 4, 4), aInts("strides", 4, 4)),
			node("Reshape", "flat", []string{"c", "shape"}, []string{"f"}),
			node("Transpose", "tokens", []string{"f"}, []string{"y"}, aInts("perm", 0, 2, 1)),
		},
		inits:   []pbuf{floatTensor("w", []int64{5, 3, 4, 4}, w), floatTensor("b", []int64{5}, b), int64Tensor("shape", []int64{3}, []int64{0, 5, -1})},
		inputs:  []pbuf{valueInfo("x", -1, 3, 8, 8)},
		outputs: []pbuf{valueInfo("y", -1, 4, 5)},
	}.encode())
	x := randFloats(rng, 3*8*8, 1)
	c, _, _ := convRef(x, 1, 3, 8, 8, w, 5, 4, 4, b, 4, 0, 1)
	want := make([]float32, 20)
	for tok := 0; tok < 4; tok++ {
		for ch := 0; ch < 5; ch++ {
			want[tok*5+ch] = c[ch*4+tok]
		}
	}
	assertClose(t, "patch tokens", runModel(t, r.Model, x)[0], want, 1e-5)

	// Depthwise 3×3, multiplier 2, pad 1, then Relu (fused) and a Conv 1×1.
	dw, db := randFloats(rng, 6*1*3*3, 0.5), randFloats(rng, 6, 0.5)
	pw, pb := randFloats(rng, 2*6, 0.5), randFloats(rng, 2, 0.5)
	r = importBytes(t, graphSpec{
		nodes: []pbuf{
			node("Conv", "dw", []string{"x", "dw", "db"}, []string{"d"}, aInt("group", 3), aInts("pads", 1, 1, 1, 1)),
			node("Relu", "dw/relu", []string{"d"}, []string{"dr"}),
			node("Conv", "pw", []string{"dr", "pw", "pb"}, []string{"y"}),
		},
		inits:   []pbuf{floatTensor("dw", []int64{6, 1, 3, 3}, dw), floatTensor("db", []int64{6}, db), floatTensor("pw", []int64{2, 6, 1, 1}, pw), floatTensor("pb", []int64{2}, pb)},
		inputs:  []pbuf{valueInfo("x", 1, 3, 5, 5)},
		outputs: []pbuf{valueInfo("y", 1, 2, 5, 5)},
	}.encode())
	codes := opCodes(r.Model)
	transposes := 0
	for _, c := range codes {
		if c == format.OpTranspose {
			transposes++
		}
	}
	if transposes != 2 {
		t.Errorf("ops %v: want one transpose in and one out", codes)
	}
	x = randFloats(rng, 3*5*5, 1)
	d, _, _ := convRef(x, 1, 3, 5, 5, dw, 6, 3, 3, db, 1, 1, 3)
	for i := range d {
		d[i] = float32(math.Max(float64(d[i]), 0))
	}
	y, _, _ := convRef(d, 1, 6, 5, 5, pw, 2, 1, 1, pb, 1, 0, 1)
	assertClose(t, "depthwise→pointwise", runModel(t, r.Model, x)[0], y, 1e-5)
}

func TestShapeSubgraphIsConstantFolded(t *testing.T) {
	// reshape x [N,6,4] to [N, 24] through Shape/Gather/Unsqueeze/Concat,
	// then Flatten/Squeeze/Unsqueeze round trips.
	r := importBytes(t, graphSpec{
		nodes: []pbuf{
			node("Shape", "shape", []string{"x"}, []string{"s"}),
			node("Gather", "batch", []string{"s", "zero"}, []string{"n"}, aInt("axis", 0)),
			node("Unsqueeze", "batch1", []string{"n", "axes0"}, []string{"n1"}),
			node("Concat", "target", []string{"n1", "minus1"}, []string{"tgt"}, aInt("axis", 0)),
			node("Reshape", "reshape", []string{"x", "tgt"}, []string{"f"}),
			node("Unsqueeze", "unsq", []string{"f", "axes0"}, []string{"u"}),
			node("Squeeze", "sq", []string{"u", "axes0"}, []string{"y"}),
		},
		inits: []pbuf{
			int64Tensor("zero", nil, []int64{0}), int64Tensor("axes0", []int64{1}, []int64{0}),
			int64Tensor("minus1", []int64{1}, []int64{-1}),
		},
		inputs:  []pbuf{valueInfo("x", -1, 6, 4)},
		outputs: []pbuf{valueInfo("y", -1, 24)},
	}.encode())
	for _, op := range r.Model.Ops {
		if op.Code != format.OpReshape {
			t.Fatalf("ops %v: want reshapes only", opCodes(r.Model))
		}
	}
	if out := r.Model.Tensors[r.Model.Outputs[0]]; len(out.Shape) != 2 || out.Shape[0] != 1 || out.Shape[1] != 24 {
		t.Fatalf("output shape %v, want [1 24]", out.Shape)
	}
}

func TestSplitSliceGatherConcat(t *testing.T) {
	// x [1,4,6]: split last axis 2+4, slice rows 1..3 of the second part,
	// gather row 0 of the first, concat a constant row.
	r := importBytes(t, graphSpec{
		nodes: []pbuf{
			node("Split", "split", []string{"x", "sizes"}, []string{"a", "b"}, aInt("axis", -1)),
			node("Slice", "slice", []string{"b", "st", "en", "ax"}, []string{"bs"}),
			node("Gather", "row0", []string{"a", "zero"}, []string{"a0"}, aInt("axis", 1)),
			node("Unsqueeze", "row0u", []string{"a0", "one"}, []string{"a0u"}),
			node("Concat", "cat", []string{"a0u", "k"}, []string{"y"}, aInt("axis", 1)),
		},
		inits: []pbuf{
			int64Tensor("sizes", []int64{2}, []int64{2, 4}), int64Tensor("st", []int64{1}, []int64{1}),
			int64Tensor("en", []int64{1}, []int64{3}), int64Tensor("ax", []int64{1}, []int64{1}),
			int64Tensor("zero", nil, []int64{0}), int64Tensor("one", []int64{1}, []int64{1}),
			floatTensor("k", []int64{1, 1, 2}, []float32{7, 8}),
		},
		inputs:  []pbuf{valueInfo("x", 1, 4, 6)},
		outputs: []pbuf{valueInfo("y", 1, 2, 2), valueInfo("bs", 1, 2, 4)},
	}.encode())
	x := make([]float32, 24)
	for i := range x {
		x[i] = float32(i)
	}
	out := runModel(t, r.Model, x)
	assertClose(t, "y", out[0], []float32{0, 1, 7, 8}, 0)
	assertClose(t, "bs", out[1], []float32{8, 9, 10, 11, 14, 15, 16, 17}, 0)
}

func TestDequantizeLinearWeightsStayInt8(t *testing.T) {
	q := []int8{10, -20, 30, -40, 50, -60}
	r := importBytes(t, graphSpec{
		nodes: []pbuf{
			node("DequantizeLinear", "dq", []string{"wq", "ws"}, []string{"w"}, aInt("axis", 1)),
			node("MatMul", "fc", []string{"x", "w"}, []string{"y"}),
		},
		inits:   []pbuf{int8Tensor("wq", []int64{2, 3}, q), floatTensor("ws", []int64{3}, []float32{0.5, 0.25, 0.125})},
		inputs:  []pbuf{valueInfo("x", 1, 2)},
		outputs: []pbuf{valueInfo("y", 1, 3)},
	}.encode())
	m := r.Model
	if len(r.Int8Weights) != 1 {
		t.Fatalf("%d int8 weights recorded, want 1", len(r.Int8Weights))
	}
	for ti, w := range r.Int8Weights {
		if m.Tensors[ti].NumElements() != 6 || m.Ops[0].Inputs[1] != ti {
			t.Fatalf("int8 weight recorded for tensor %d %q, want the FC weight", ti, m.Tensors[ti].Name)
		}
		// [K=2, N=3] transposed to [N, K] with per-N scales on axis 0.
		want := []int8{10, -40, -20, 50, 30, -60}
		for i := range want {
			if w.Values[i] != want[i] {
				t.Fatalf("int8 values %v, want %v", w.Values, want)
			}
		}
		if w.Axis != 0 || len(w.Scale) != 3 || w.Scale[1] != 0.25 {
			t.Fatalf("axis %d scales %v", w.Axis, w.Scale)
		}
	}
	assertClose(t, "y", runModel(t, m, []float32{1, 2})[0], []float32{0.5 * (10 - 80), 0.25 * (-20 + 100), 0.125 * (30 - 120)}, 1e-6)
}

func TestNHWCInputAvoidsTransposes(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	w, b := randFloats(rng, 4*3*3*3, 0.5), randFloats(rng, 4, 0.5)
	enc := graphSpec{
		nodes: []pbuf{
			node("Conv", "c", []string{"x", "w", "b"}, []string{"c"}, aInts("pads", 1, 1, 1, 1)),
			node("GlobalAveragePool", "gap", []string{"c"}, []string{"p"}),
			node("Flatten", "flat", []string{"p"}, []string{"y"}),
		},
		inits:   []pbuf{floatTensor("w", []int64{4, 3, 3, 3}, w), floatTensor("b", []int64{4}, b)},
		inputs:  []pbuf{valueInfo("x", 1, 3, 6, 6)},
		outputs: []pbuf{valueInfo("y", 1, 4)},
	}.encode()
	dm, err := onnx.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := onnx.Import(dm, onnx.Options{NHWCInput: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Model.Ops[0].Code != format.OpConv2D || r.Model.Preprocess.Layout != format.NHWC {
		t.Fatalf("ops %v layout %v: want the conv first and NHWC metadata", opCodes(r.Model), r.Model.Preprocess.Layout)
	}
	x := randFloats(rng, 3*6*6, 1)
	c, _, _ := convRef(x, 1, 3, 6, 6, w, 4, 3, 3, b, 1, 1, 1)
	want := make([]float32, 4)
	for ch := range want {
		s := 0.0
		for i := 0; i < 36; i++ {
			s += float64(c[ch*36+i])
		}
		want[ch] = float32(s / 36)
	}
	nhwc := make([]float32, len(x))
	for ch := 0; ch < 3; ch++ {
		for i := 0; i < 36; i++ {
			nhwc[i*3+ch] = x[ch*36+i]
		}
	}
	assertClose(t, "y", runModel(t, r.Model, nhwc)[0], want, 1e-5)
}

// A weight over MaxElements imports when the file holds every value of it
// (VGG's 4096×25088 classifier), and computes right; a tensor claiming
// more elements than it holds is refused by the bound. MaxElements is
// lowered to 16 here.
func TestElementBoundFollowsHeldValues(t *testing.T) {
	defer func(n int) { onnx.MaxElements = n }(onnx.MaxElements)
	onnx.MaxElements = 16
	rng := rand.New(rand.NewSource(5))
	w := randFloats(rng, 4*8, 1)
	spec := func(wt pbuf) []byte {
		return graphSpec{
			nodes:   []pbuf{node("MatMul", "fc", []string{"x", "W"}, []string{"y"})},
			inits:   []pbuf{wt},
			inputs:  []pbuf{valueInfo("x", 1, 4)},
			outputs: []pbuf{valueInfo("y", 1, 8)},
		}.encode()
	}
	r := importBytes(t, spec(floatTensor("W", []int64{4, 8}, w)))
	x := randFloats(rng, 4, 2)
	want := make([]float32, 8)
	for j := range want {
		var s float64
		for k := 0; k < 4; k++ {
			s += float64(x[k]) * float64(w[k*8+j])
		}
		want[j] = float32(s)
	}
	assertClose(t, "y", runModel(t, r.Model, x)[0], want, 1e-5)

	m, err := onnx.Decode(spec(floatTensor("W", []int64{4, 8}, w[:8])))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Import(m, onnx.Options{}); err == nil || !strings.Contains(err.Error(), "more than 16 elements") {
		t.Errorf("a [4 8] weight holding 8 values: err %v, want the element bound", err)
	}
}
