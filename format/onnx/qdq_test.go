package onnx_test

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/quant"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func uint8Tensor(name string, dims []int64, v []uint8) pbuf {
	return pbuf(nil).packedInts(1, dims).varint(2, 2).str(8, name).msg(9, append([]byte(nil), v...))
}

// qdqMLP is x (uint8 QDQ) → MatMul with per-channel int8 weights → Relu →
// int8 QDQ → y: the layout the usual ONNX quantizers write.
func qdqMLP(wq []int8, ws []float32) []byte {
	return graphSpec{
		nodes: []pbuf{
			node("QuantizeLinear", "qx", []string{"x", "xs", "xz"}, []string{"xq"}),
			node("DequantizeLinear", "dqx", []string{"xq", "xs", "xz"}, []string{"xd"}),
			node("DequantizeLinear", "dqw", []string{"wq", "ws"}, []string{"w"}, aInt("axis", 1)),
			node("MatMul", "fc", []string{"xd", "w"}, []string{"h"}),
			node("Relu", "relu", []string{"h"}, []string{"r"}),
			node("QuantizeLinear", "qy", []string{"r", "ys", "yz"}, []string{"yq"}),
			node("DequantizeLinear", "dqy", []string{"yq", "ys", "yz"}, []string{"y"}),
		},
		inits: []pbuf{
			floatTensor("xs", nil, []float32{0.02}), uint8Tensor("xz", nil, []uint8{128}),
			int8Tensor("wq", []int64{4, 3}, wq), floatTensor("ws", []int64{3}, ws),
			floatTensor("ys", nil, []float32{0.01}), int8Tensor("yz", nil, []int8{-128}),
		},
		inputs:  []pbuf{valueInfo("x", 1, 4)},
		outputs: []pbuf{valueInfo("y", 1, 3)},
	}.encode()
}

// TestQDQActivationsCarryTheirParameters: the pairs' scales and zero
// points become the int8 model's (uint8 shifted by −128), no calibration,
// and the int8 output is the QDQ graph's own output evaluated in floats
// (dequantized weights) to within one quantization step.
func TestQDQActivationsCarryTheirParameters(t *testing.T) {
	wq := []int8{10, -20, 30, -40, 50, -60, 70, -80, 90, -100, 110, -120}
	ws := []float32{0.01, 0.02, 0.005}
	r := importBytes(t, qdqMLP(wq, ws))
	m := r.Model
	in, out := m.Inputs[0], m.Outputs[0]
	if p, ok := r.Activations[in]; !ok || p != (quant.Params{Scale: 0.02, ZeroPoint: 0}) {
		t.Fatalf("input params %+v (%v), want scale 0.02 zero point 128−128", p, ok)
	}
	if p, ok := r.Activations[out]; !ok || p != (quant.Params{Scale: 0.01, ZeroPoint: -128}) {
		t.Fatalf("output params %+v (%v), want scale 0.01 zero point −128", p, ok)
	}
	qo := ptq.QuantizeOptions{Weights: map[int32]*ptq.FixedWeight{}}
	for ti, w := range r.Int8Weights {
		qo.Weights[ti] = &ptq.FixedWeight{Values: w.Values, Scale: w.Scale}
	}
	qm, err := ptq.QuantizeWith(m, ptq.FixedRanges(len(m.Tensors), r.Activations), qo)
	if err != nil {
		t.Fatal(err)
	}
	qin, qout := qm.Tensors[qm.Inputs[0]].Quant.PerTensor(), qm.Tensors[qm.Outputs[0]].Quant.PerTensor()
	if qin != (quant.Params{Scale: 0.02, ZeroPoint: 0}) || qout != (quant.Params{Scale: 0.01, ZeroPoint: -128}) {
		t.Fatalf("int8 model input %+v output %+v", qin, qout)
	}
	it, err := runtime.New(qm, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	rng := rand.New(rand.NewSource(15))
	worst, off := 0, 0
	for trial := 0; trial < 200; trial++ {
		xq := make([]int8, 4)
		for i := range xq {
			xq[i] = int8(rng.Intn(256) - 128)
		}
		copy(it.Input(0).Int8(), xq)
		if err := it.Invoke(); err != nil {
			t.Fatal(err)
		}
		got := it.Output(0).Int8()
		// The QDQ graph in floats: dequantized input and weights, Relu,
		// QuantizeLinear (round half to even) to int8 with zero point −128.
		for j := 0; j < 3; j++ {
			s := 0.0
			for k := 0; k < 4; k++ {
				s += float64(xq[k]) * 0.02 * float64(wq[k*3+j]) * float64(ws[j])
			}
			s = math.Max(s, 0)
			want := int(math.Max(-128, math.Min(127, math.RoundToEven(s/float64(float32(0.01)))-128)))
			if d := int(got[j]) - want; d != 0 {
				v := s / float64(float32(0.01))
				if frac := math.Abs(v - math.Floor(v) - 0.5); frac > 1e-3 {
					t.Errorf("output %d: %d, want %d: %.6f steps is not near a rounding boundary", j, got[j], want, v)
				}
				off++
				worst = max(worst, d, -d)
			}
		}
	}
	if worst > 1 {
		t.Fatalf("int8 output %d steps from the QDQ graph in floats, want ≤ 1", worst)
	}
	// Off by one only within 1e-3 steps of a rounding boundary (checked
	// above): the runtime rescales with a 31-bit fixed-point multiplier
	// (TFLite's) and rounds half away from zero, QuantizeLinear to even.
	t.Logf("int8 outputs: %d of 600 one step from the QDQ float graph, the rest equal", off)
	if n := testalloc.PerRun(10, func() { _ = it.Invoke() }); n != 0 {
		t.Fatalf("%v allocations per Invoke", n)
	}
	_ = format.Int8
}

// TestQDQRefusedNamesTheNode: per-axis activations and a zero point of
// another type are refused naming the node.
func TestQDQRefusedNamesTheNode(t *testing.T) {
	enc := graphSpec{
		nodes: []pbuf{
			node("QuantizeLinear", "perAxisQ", []string{"x", "xs", "xz"}, []string{"xq"}, aInt("axis", 1)),
			node("DequantizeLinear", "dq", []string{"xq", "xs", "xz"}, []string{"y"}, aInt("axis", 1)),
		},
		inits:   []pbuf{floatTensor("xs", []int64{2}, []float32{0.1, 0.2}), int8Tensor("xz", []int64{2}, []int8{0, 0})},
		inputs:  []pbuf{valueInfo("x", 1, 2)},
		outputs: []pbuf{valueInfo("y", 1, 2)},
	}.encode()
	dm, err := onnx.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = onnx.Import(dm, onnx.Options{})
	if err == nil || !strings.Contains(err.Error(), "perAxisQ") {
		t.Fatalf("err %v, want one naming perAxisQ", err)
	}
}

// TestQDQUint8WeightsKeptExactly: a uint8 weight with zero point 128 (and
// an asymmetric int8 one) is the symmetric int8 q − z with zero point 0
// when every q − z fits in [−127, 127]; one value at −128 falls back to
// quantizing the floats.
func TestQDQUint8WeightsKeptExactly(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    pbuf
		z    pbuf
		want []int8 // nil: not kept
	}{
		{"uint8", uint8Tensor("wq", []int64{2, 2}, []uint8{1, 128, 200, 255}), uint8Tensor("wz", nil, []uint8{128}), []int8{-127, 72, 0, 127}},
		{"int8 asymmetric", int8Tensor("wq", []int64{2, 2}, []int8{-100, 5, 27, -10}), int8Tensor("wz", nil, []int8{10}), []int8{-110, 17, -5, -20}},
		{"uint8 with -128", uint8Tensor("wq", []int64{2, 2}, []uint8{0, 128, 200, 255}), uint8Tensor("wz", nil, []uint8{128}), nil},
	} {
		r := importBytes(t, graphSpec{
			nodes: []pbuf{
				node("DequantizeLinear", "dqw", []string{"wq", "ws", "wz"}, []string{"w"}),
				node("MatMul", "fc", []string{"x", "w"}, []string{"y"}),
			},
			inits:   []pbuf{tc.w, floatTensor("ws", nil, []float32{0.5}), tc.z},
			inputs:  []pbuf{valueInfo("x", 1, 2)},
			outputs: []pbuf{valueInfo("y", 1, 2)},
		}.encode())
		if tc.want == nil {
			if len(r.Int8Weights) != 0 {
				t.Fatalf("%s: int8 weight kept with a value of −128", tc.name)
			}
			continue
		}
		if len(r.Int8Weights) != 1 {
			t.Fatalf("%s: %d int8 weights", tc.name, len(r.Int8Weights))
		}
		for _, w := range r.Int8Weights {
			if w.ZeroPoint[0] != 0 || w.Scale[0] != 0.5 {
				t.Fatalf("%s: scale %v zero point %v", tc.name, w.Scale, w.ZeroPoint)
			}
			for i, v := range tc.want {
				if w.Values[i] != v {
					t.Fatalf("%s: values %v, want %v (FC layout)", tc.name, w.Values, tc.want)
				}
			}
		}
	}
}

// TestQDQParametersAnOpCannotHonour: a Softmax output quantized with other
// parameters than the int8 Softmax's fixed 1/256, −128 is refused by
// quantization, naming the op, instead of being silently replaced.
func TestQDQParametersAnOpCannotHonour(t *testing.T) {
	r := importBytes(t, graphSpec{
		nodes: []pbuf{
			node("QuantizeLinear", "qx", []string{"x", "xs", "xz"}, []string{"xq"}),
			node("DequantizeLinear", "dqx", []string{"xq", "xs", "xz"}, []string{"xd"}),
			node("Softmax", "sm", []string{"xd"}, []string{"p"}, aInt("axis", -1)),
			node("QuantizeLinear", "qp", []string{"p", "ps", "xz"}, []string{"pq"}),
			node("DequantizeLinear", "dqp", []string{"pq", "ps", "xz"}, []string{"y"}),
		},
		inits: []pbuf{
			floatTensor("xs", nil, []float32{0.05}), int8Tensor("xz", nil, []int8{0}),
			floatTensor("ps", nil, []float32{0.01}),
		},
		inputs:  []pbuf{valueInfo("x", 1, 4)},
		outputs: []pbuf{valueInfo("y", 1, 4)},
	}.encode())
	_, err := ptq.QuantizeWith(r.Model, ptq.FixedRanges(len(r.Model.Tensors), r.Activations), ptq.QuantizeOptions{})
	if err == nil || !strings.Contains(err.Error(), "Softmax") {
		t.Fatalf("err %v, want a refusal naming the Softmax", err)
	}
	t.Log(err)
}
