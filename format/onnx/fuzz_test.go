package onnx_test

import (
	"testing"

	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/internal/fuzzcorpus"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// fuzzSeeds are small models that exercise the decoder and most import
// paths; testdata/fuzz/FuzzImport holds them (see TestFuzzCorpus).
func fuzzSeeds() map[string][]byte {
	ln := graphSpec{
		nodes: []pbuf{
			node("ReduceMean", "mean", []string{"x"}, []string{"m"}, aInts("axes", -1)),
			node("Sub", "sub", []string{"x", "m"}, []string{"d"}),
			node("Pow", "pow", []string{"d", "two"}, []string{"sq"}),
			node("ReduceMean", "var", []string{"sq"}, []string{"v"}, aInts("axes", -1)),
			node("Add", "addeps", []string{"v", "eps"}, []string{"ve"}),
			node("Sqrt", "sqrt", []string{"ve"}, []string{"s"}),
			node("Div", "div", []string{"d", "s"}, []string{"n"}),
			node("Mul", "gamma", []string{"n", "g"}, []string{"y"}),
		},
		inits:   []pbuf{floatTensor("two", nil, []float32{2}), floatTensor("eps", nil, []float32{1e-5}), floatTensor("g", []int64{4}, []float32{1, 2, 3, 4})},
		inputs:  []pbuf{valueInfo("x", -1, 2, 4)},
		outputs: []pbuf{valueInfo("y", -1, 2, 4)},
	}
	gelu := graphSpec{
		nodes: []pbuf{
			node("MatMul", "fc", []string{"x", "w"}, []string{"h0"}),
			node("Add", "fc/b", []string{"h0", "b"}, []string{"h"}),
			node("Div", "div", []string{"h", "sqrt2"}, []string{"a"}),
			node("Erf", "erf", []string{"a"}, []string{"e"}),
			node("Add", "add", []string{"e", "one"}, []string{"p"}),
			node("Mul", "mul", []string{"h", "p"}, []string{"c"}),
			node("Mul", "half", []string{"c", "halfc"}, []string{"g"}),
			node("Softmax", "sm", []string{"g"}, []string{"y"}, aInt("axis", -1)),
		},
		inits: []pbuf{
			floatTensorFields("w", []int64{3, 2}, []float32{1, 2, 3, 4, 5, 6}), floatTensor("b", []int64{2}, []float32{0.5, -0.5}),
			floatTensor("sqrt2", nil, []float32{1.4142135}), floatTensor("one", nil, []float32{1}), floatTensor("halfc", nil, []float32{0.5}),
		},
		inputs:  []pbuf{valueInfo("x", 1, 3)},
		outputs: []pbuf{valueInfo("y", 1, 2)},
	}
	conv := graphSpec{
		nodes: []pbuf{
			node("Conv", "patch", []string{"x", "w", "b"}, []string{"c"}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2)),
			node("Shape", "shape", []string{"c"}, []string{"s"}),
			node("Gather", "n", []string{"s", "zero"}, []string{"n"}),
			node("Unsqueeze", "n1", []string{"n", "axes0"}, []string{"n1"}),
			node("Concat", "tgt", []string{"n1", "rest"}, []string{"tgt"}, aInt("axis", 0)),
			node("Reshape", "flat", []string{"c", "tgt"}, []string{"f"}),
			node("Transpose", "tok", []string{"f"}, []string{"t"}, aInts("perm", 0, 2, 1)),
			node("LayerNormalization", "ln", []string{"t", "lg", "lb"}, []string{"l"}, aFloat("epsilon", 1e-5)),
			node("Gather", "cls", []string{"l", "zero"}, []string{"l2"}, aInt("axis", 1)),
			node("Gemm", "head", []string{"l2", "hw", "hb"}, []string{"y"}, aInt("transB", 1)),
		},
		inits: []pbuf{
			floatTensor("w", []int64{2, 1, 2, 2}, []float32{1, 0, 0, 1, 0, 1, 1, 0}), floatTensor("b", []int64{2}, []float32{0, 1}),
			int64Tensor("zero", nil, []int64{0}), int64Tensor("axes0", []int64{1}, []int64{0}), int64Tensor("rest", []int64{2}, []int64{2, -1}),
			floatTensor("lg", []int64{2}, []float32{1, 1}), floatTensor("lb", []int64{2}, []float32{0, 0}),
			floatTensor("hw", []int64{3, 2}, []float32{1, 2, 3, 4, 5, 6}), floatTensor("hb", []int64{3}, []float32{0, 0, 1}),
		},
		inputs:  []pbuf{valueInfo("x", -1, 1, 4, 4)},
		outputs: []pbuf{valueInfo("y", -1, 3)},
		opset:   20,
	}
	split := graphSpec{
		nodes: []pbuf{
			node("Constant", "k", nil, []string{"sizes"}, aTensor("value", int64Tensor("", []int64{2}, []int64{1, 3}))),
			node("Split", "split", []string{"x", "sizes"}, []string{"a", "b"}, aInt("axis", 1)),
			node("Slice", "slice", []string{"b", "st", "en"}, []string{"bs"}),
			node("Relu", "relu", []string{"bs"}, []string{"r"}),
			node("Concat", "cat", []string{"a", "r"}, []string{"y"}, aInt("axis", 1)),
			node("DequantizeLinear", "dq", []string{"q", "qs"}, []string{"dqw"}),
			node("MatMul", "mm", []string{"y", "dqw"}, []string{"z"}),
		},
		inits: []pbuf{
			int64Tensor("st", []int64{2}, []int64{0, 1}), int64Tensor("en", []int64{2}, []int64{1, 3}),
			int8Tensor("q", []int64{3, 2}, []int8{1, -2, 3, -4, 5, -6}), floatTensor("qs", nil, []float32{0.5}),
		},
		inputs:  []pbuf{valueInfo("x", 1, 4)},
		outputs: []pbuf{valueInfo("z", 1, 2)},
		opset:   13,
	}
	einsum := graphSpec{
		nodes: []pbuf{
			node("Einsum", "qk", []string{"x", "x"}, []string{"s"}, aString("equation", "bhid,bhjd->bhij")),
			node("Einsum", "sv", []string{"s", "x"}, []string{"y"}, aString("equation", "bhij,bhjd->bhid")),
		},
		inputs:  []pbuf{valueInfo("x", 1, 2, 3, 4)},
		outputs: []pbuf{valueInfo("y", 1, 2, 3, 4)},
		opset:   17,
	}
	return map[string][]byte{
		"layernorm": ln.encode(), "gelu": gelu.encode(), "conv": conv.encode(), "split": split.encode(),
		"einsum": einsum.encode(),
		"qdq":    qdqMLP([]int8{1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12}, []float32{0.1, 0.2, 0.05}),
	}
}

// TestFuzzSeedsImport keeps the seeds meaningful: each must import and run.
func TestFuzzSeedsImport(t *testing.T) {
	for name, b := range fuzzSeeds() {
		m, err := onnx.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r, err := onnx.Import(m, onnx.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		runModel(t, r.Model, make([]float32, r.Model.Tensors[r.Model.Inputs[0]].NumElements()))
	}
}

// TestFuzzCorpus checks that testdata/fuzz/FuzzImport holds fuzzSeeds
// as they are today (go generate ./format/onnx rewrites them).
func TestFuzzCorpus(t *testing.T) { fuzzcorpus.Check(t, "FuzzImport", fuzzSeeds()) }

// FuzzImport feeds arbitrary bytes to the decoder and importer. Neither may
// panic; a model that imports must build an interpreter and run.
func FuzzImport(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	old := onnx.MaxElements
	onnx.MaxElements = 1 << 16
	f.Cleanup(func() { onnx.MaxElements = old })
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := onnx.Decode(b)
		if err != nil {
			return
		}
		r, err := onnx.Import(m, onnx.Options{})
		if err != nil {
			return
		}
		it, err := runtime.New(r.Model, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatalf("imported model does not load: %v", err)
		}
		defer it.Close()
		if err := it.Invoke(); err != nil {
			t.Fatalf("imported model does not run: %v", err)
		}
	})
}
