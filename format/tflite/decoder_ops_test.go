package tflite

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func float32Data(v ...float32) []byte {
	d := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(d[4*i:], math.Float32bits(x))
	}
	return d
}

func int8Bytes(v ...int8) []byte {
	d := make([]byte, len(v))
	for i, x := range v {
		d[i] = byte(x)
	}
	return d
}

// sameBits compares output bytes, treating any two float32 NaNs as equal
// when float is set.
func sameBits(got, want []byte, float bool) bool {
	if !float || len(got) != len(want) {
		return slices.Equal(got, want)
	}
	for i := 0; i+4 <= len(got); i += 4 {
		g := math.Float32frombits(binary.LittleEndian.Uint32(got[i:]))
		w := math.Float32frombits(binary.LittleEndian.Uint32(want[i:]))
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			return false
		}
	}
	return true
}

// decoderCase is a small TFLite graph of the operators MoveNet's decoder
// uses, with inputs and the outputs worked out by hand.
type decoderCase struct {
	name    string
	tensors []tTensor
	ops     []tOp
	inputs  []int32
	outputs []int32
	feed    [][]byte
	want    [][]byte
}

func packOpts(axis int32) func(*flatbuffers.Builder) flatbuffers.UOffsetT {
	return optsWith(func(b *flatbuffers.Builder) { b.PrependInt32Slot(1, axis, 0) }, 2)
}

var decoderCases = []decoderCase{
	{name: "cast_raw_uint8", // the raw image input: the byte becomes its value
		tensors: []tTensor{{name: "img", shape: []int32{4}, typ: TypeUInt8}, {name: "f", shape: []int32{4}, typ: TypeFloat32}},
		ops:     []tOp{{code: opCast, ins: []int32{0}, out: []int32{1}}},
		inputs:  []int32{0}, outputs: []int32{1},
		feed: [][]byte{{0, 1, 128, 255}}, want: [][]byte{float32Data(0, 1, 128, 255)}},
	{name: "cast_int32_float",
		tensors: []tTensor{{name: "i", shape: []int32{4}, typ: TypeInt32}, {name: "f", shape: []int32{4}, typ: TypeFloat32}},
		ops:     []tOp{{code: opCast, optType: optCast, opts: optsWith(func(b *flatbuffers.Builder) {}, 2), ins: []int32{0}, out: []int32{1}}},
		inputs:  []int32{0}, outputs: []int32{1},
		feed: [][]byte{int32Data(-3, 0, 16777217, math.MaxInt32)}, want: [][]byte{float32Data(-3, 0, 16777216, 2147483648)}},
	{name: "cast_float_int32",
		tensors: []tTensor{{name: "f", shape: []int32{6}, typ: TypeFloat32}, {name: "i", shape: []int32{6}, typ: TypeInt32}},
		ops:     []tOp{{code: opCast, ins: []int32{0}, out: []int32{1}}},
		inputs:  []int32{0}, outputs: []int32{1},
		feed: [][]byte{float32Data(2.9, -2.9, float32(math.NaN()), 3e9, -3e9, 0.5)}, want: [][]byte{int32Data(2, -2, 0, math.MaxInt32, math.MinInt32, 0)}},
	{name: "cast_float_int32_in_range", // what LiteRT defines: no NaN, nothing beyond int32
		tensors: []tTensor{{name: "f", shape: []int32{6}, typ: TypeFloat32}, {name: "i", shape: []int32{6}, typ: TypeInt32}},
		ops:     []tOp{{code: opCast, ins: []int32{0}, out: []int32{1}}},
		inputs:  []int32{0}, outputs: []int32{1},
		feed: [][]byte{float32Data(2.9, -2.9, 0.5, -0.5, 1e9, -7.99)}, want: [][]byte{int32Data(2, -2, 0, 0, 1000000000, -7)}},
	{name: "floor_div_float_const",
		tensors: []tTensor{{name: "a", shape: []int32{6}, typ: TypeFloat32}, {name: "y", shape: []int32{6}, typ: TypeFloat32},
			{name: "b", shape: []int32{6}, typ: TypeFloat32, data: float32Data(2, 2, -2, 1, 3, 3)}},
		ops:    []tOp{{code: opFloorDiv, ins: []int32{0, 2}, out: []int32{1}}},
		inputs: []int32{0}, outputs: []int32{1},
		feed: [][]byte{float32Data(7, -7, 7.5, -0.5, 1e-8, -1e-8)}, want: [][]byte{float32Data(3, -4, -4, -1, 0, -1)}},
	{name: "div_int32_const",
		tensors: []tTensor{{name: "a", shape: []int32{5}, typ: TypeInt32}, {name: "y", shape: []int32{5}, typ: TypeInt32},
			{name: "b", shape: []int32{5}, typ: TypeInt32, data: int32Data(2, 2, -2, -2, 3)}},
		ops:    []tOp{{code: opDiv, ins: []int32{0, 2}, out: []int32{1}}},
		inputs: []int32{0}, outputs: []int32{1},
		feed: [][]byte{int32Data(7, -7, 7, -7, 9)}, want: [][]byte{int32Data(3, -3, -3, 3, 3)}},
	{name: "floor_div_int32", // x floordiv a constant scalar, as MoveNet splits a flat index
		tensors: []tTensor{{name: "a", shape: []int32{1, 6}, typ: TypeInt32}, {name: "y", shape: []int32{1, 6}, typ: TypeInt32},
			{name: "w", shape: []int32{}, typ: TypeInt32, data: int32Data(48)}},
		ops:    []tOp{{code: opFloorDiv, ins: []int32{0, 2}, out: []int32{1}}},
		inputs: []int32{0}, outputs: []int32{1},
		feed: [][]byte{int32Data(0, 47, 48, 2303, -1, -48)}, want: [][]byte{int32Data(0, 0, 1, 47, -1, -1)}},
	{name: "floor_div_float",
		tensors: []tTensor{{name: "a", shape: []int32{4}, typ: TypeFloat32}, {name: "b", shape: []int32{4}, typ: TypeFloat32}, {name: "y", shape: []int32{4}, typ: TypeFloat32}},
		ops:     []tOp{{code: opFloorDiv, ins: []int32{0, 1}, out: []int32{2}}},
		inputs:  []int32{0, 1}, outputs: []int32{2},
		feed: [][]byte{float32Data(7, -7, 7.5, -0.5), float32Data(2, 2, -2, 1)}, want: [][]byte{float32Data(3, -4, -4, -1)}},
	{name: "div_float_relu", // [2,2] / [2] broadcast, fused RELU
		tensors: []tTensor{{name: "a", shape: []int32{2, 2}, typ: TypeFloat32}, {name: "y", shape: []int32{2, 2}, typ: TypeFloat32},
			{name: "b", shape: []int32{2}, typ: TypeFloat32, data: float32Data(2, -4)}},
		ops: []tOp{{code: opDiv, optType: optDiv, opts: optsWith(func(b *flatbuffers.Builder) { b.PrependByteSlot(0, actReLU, 0) }, 1),
			ins: []int32{0, 2}, out: []int32{1}}},
		inputs: []int32{0}, outputs: []int32{1},
		feed: [][]byte{float32Data(1, -2, -3, 8)}, want: [][]byte{float32Data(0.5, 0.5, 0, 0)}},
	{name: "div_int32",
		tensors: []tTensor{{name: "a", shape: []int32{5}, typ: TypeInt32}, {name: "b", shape: []int32{5}, typ: TypeInt32}, {name: "y", shape: []int32{5}, typ: TypeInt32}},
		ops:     []tOp{{code: opDiv, ins: []int32{0, 1}, out: []int32{2}}},
		inputs:  []int32{0, 1}, outputs: []int32{2},
		feed: [][]byte{int32Data(7, -7, 7, -7, 5), int32Data(2, 2, -2, -2, 0)}, want: [][]byte{int32Data(3, -3, -3, 3, 0)}},
	{name: "sqrt_float",
		tensors: []tTensor{{name: "x", shape: []int32{5}, typ: TypeFloat32}, {name: "y", shape: []int32{5}, typ: TypeFloat32}},
		ops:     []tOp{{code: opSqrt, ins: []int32{0}, out: []int32{1}}},
		inputs:  []int32{0}, outputs: []int32{1},
		feed: [][]byte{float32Data(0, 1, 2, 6.25, -1)}, want: [][]byte{float32Data(0, 1, 1.4142135, 2.5, float32(math.NaN()))}},
	{name: "mul_sub_int32", // i − 48·(i floordiv 48) as MoveNet writes the column
		tensors: []tTensor{{name: "i", shape: []int32{1, 3}, typ: TypeInt32}, {name: "m", shape: []int32{1, 3}, typ: TypeInt32},
			{name: "c", shape: []int32{1, 3}, typ: TypeInt32}, {name: "w", shape: []int32{}, typ: TypeInt32, data: int32Data(48)},
			{name: "r", shape: []int32{1, 3}, typ: TypeInt32}},
		ops: []tOp{{code: opFloorDiv, ins: []int32{0, 3}, out: []int32{4}},
			{code: opMul, optType: optMul, opts: optsWith(func(b *flatbuffers.Builder) {}, 1), ins: []int32{4, 3}, out: []int32{1}},
			{code: opSub, optType: optSub, opts: optsWith(func(b *flatbuffers.Builder) {}, 2), ins: []int32{0, 1}, out: []int32{2}}},
		inputs: []int32{0}, outputs: []int32{2},
		feed: [][]byte{int32Data(100, 47, 2303)}, want: [][]byte{int32Data(4, 47, 47)}},
	{name: "gather_nd_int8", // params [2,3,2], index rows of 2 (one out of range), then rows of 3
		tensors: []tTensor{{name: "p", shape: []int32{2, 3, 2}, typ: TypeInt8, scale: 0.5, zp: 1},
			{name: "idx", shape: []int32{3, 2}, typ: TypeInt32, data: int32Data(1, 2, 0, 0, 2, 0)},
			{name: "y", shape: []int32{3, 2}, typ: TypeInt8, scale: 0.5, zp: 1},
			{name: "idx3", shape: []int32{2, 3}, typ: TypeInt32},
			{name: "z", shape: []int32{2}, typ: TypeInt8, scale: 0.5, zp: 1}},
		ops:    []tOp{{code: opGatherND, ins: []int32{0, 1}, out: []int32{2}}, {code: opGatherND, ins: []int32{0, 3}, out: []int32{4}}},
		inputs: []int32{0, 3}, outputs: []int32{2, 4},
		feed: [][]byte{int8Bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -11), int32Data(1, 1, 1, 0, 2, 0)},
		want: [][]byte{int8Bytes(10, -11, 0, 1, 0, 0), int8Bytes(9, 4)}},
	{name: "pack_int32_axis1", // three [2] → [2,3], the last one constant
		tensors: []tTensor{{name: "a", shape: []int32{2}, typ: TypeInt32}, {name: "b", shape: []int32{2}, typ: TypeInt32},
			{name: "c", shape: []int32{2}, typ: TypeInt32, data: int32Data(5, 6)}, {name: "y", shape: []int32{2, 3}, typ: TypeInt32}},
		ops:    []tOp{{code: opPack, optType: optPack, opts: packOpts(1), ins: []int32{0, 1, 2}, out: []int32{3}}},
		inputs: []int32{0, 1}, outputs: []int32{3},
		feed: [][]byte{int32Data(1, 2), int32Data(3, 4)}, want: [][]byte{int32Data(1, 3, 5, 2, 4, 6)}},
	{name: "pack_int8_axis_last", // axis −1: [1,2] and [1,2] → [1,2,2]
		tensors: []tTensor{{name: "a", shape: []int32{1, 2}, typ: TypeInt8, scale: 0.1, zp: -128}, {name: "b", shape: []int32{1, 2}, typ: TypeInt8, scale: 0.1, zp: -128},
			{name: "y", shape: []int32{1, 2, 2}, typ: TypeInt8, scale: 0.1, zp: -128}},
		ops:    []tOp{{code: opPack, optType: optPack, opts: packOpts(-1), ins: []int32{0, 1}, out: []int32{2}}},
		inputs: []int32{0, 1}, outputs: []int32{2},
		feed: [][]byte{int8Bytes(1, 2), int8Bytes(-3, -4)}, want: [][]byte{int8Bytes(1, -3, 2, -4)}},
	{name: "unpack_int8_axis1", // [2,3] → three [2]
		tensors: []tTensor{{name: "x", shape: []int32{2, 3}, typ: TypeInt8, scale: 0.2, zp: 3},
			{name: "u0", shape: []int32{2}, typ: TypeInt8, scale: 0.2, zp: 3}, {name: "u1", shape: []int32{2}, typ: TypeInt8, scale: 0.2, zp: 3},
			{name: "u2", shape: []int32{2}, typ: TypeInt8, scale: 0.2, zp: 3}},
		ops: []tOp{{code: opUnpack, optType: optUnpack, opts: optsWith(func(b *flatbuffers.Builder) {
			b.PrependInt32Slot(0, 3, 0)
			b.PrependInt32Slot(1, 1, 0)
		}, 2), ins: []int32{0}, out: []int32{1, 2, 3}}},
		inputs: []int32{0}, outputs: []int32{1, 2, 3},
		feed: [][]byte{int8Bytes(1, 2, 3, 4, 5, -6)}, want: [][]byte{int8Bytes(1, 4), int8Bytes(2, 5), int8Bytes(3, -6)}},
}

func (c decoderCase) model() []byte { return buildModel(c.tensors, c.ops, c.inputs, c.outputs) }

// TestDecoderOps imports and runs each decoder case and compares every
// output with the values worked out by hand; a second Invoke allocates
// nothing.
func TestDecoderOps(t *testing.T) {
	for _, c := range decoderCases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Read(c.model())
			if err != nil {
				t.Fatal(err)
			}
			m, err := Import(f, c.name)
			if err != nil {
				t.Fatal(err)
			}
			it, err := runtime.New(m, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			for k, d := range c.feed {
				copy(it.Input(k).Bytes(), d)
			}
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			for k, w := range c.want {
				out := it.Output(k)
				if got := out.Bytes(); !sameBits(got, w, out.DType == format.Float32) {
					t.Errorf("output %d %q: % x, want % x", k, out.Name, got, w)
				}
			}
			if a := testalloc.PerRun(5, func() { it.Invoke() }); a != 0 {
				t.Errorf("%g allocations per Invoke", a)
			}
		})
	}
}

// TestDecoderOpsRefused: the variants the importer does not translate
// fail naming the operator and the reason.
func TestDecoderOpsRefused(t *testing.T) {
	i8 := func(name string, shape ...int32) tTensor {
		return tTensor{name: name, shape: shape, typ: TypeInt8, scale: 0.5, zp: 0}
	}
	f32 := func(name string, shape ...int32) tTensor { return tTensor{name: name, shape: shape, typ: TypeFloat32} }
	for _, c := range []struct {
		name    string
		tensors []tTensor
		op      tOp
		kind    error
		want    string
	}{
		{"cast int8", []tTensor{i8("x", 4), f32("y", 4)}, tOp{code: opCast, ins: []int32{0}, out: []int32{1}},
			ErrUnsupported, "operator 0 (CAST): unsupported: cast from INT8 to FLOAT32"},
		{"cast to uint8", []tTensor{f32("x", 4), {name: "y", shape: []int32{4}, typ: TypeUInt8, scale: 1, zp: 0}}, tOp{code: opCast, ins: []int32{0}, out: []int32{1}},
			ErrUnsupported, "cast from FLOAT32 to UINT8"},
		{"div int8", []tTensor{i8("x", 4), i8("y", 4)}, tOp{code: opDiv, ins: []int32{0, 0}, out: []int32{1}},
			ErrUnsupported, "operator 0 (DIV): unsupported: INT8 inputs (only float32 and int32 divide)"},
		{"floor_div int8", []tTensor{i8("x", 4), i8("y", 4)}, tOp{code: opFloorDiv, ins: []int32{0, 0}, out: []int32{1}},
			ErrUnsupported, "operator 0 (FLOOR_DIV): unsupported: INT8 inputs"},
		{"gather_nd float indices", []tTensor{i8("x", 4), i8("y"), f32("i", 1)}, tOp{code: opGatherND, ins: []int32{0, 2}, out: []int32{1}},
			ErrUnsupported, "operator 0 (GATHER_ND): unsupported: indices are FLOAT32, want INT32"},
		{"gather_nd quantization", []tTensor{i8("x", 4), {name: "y", typ: TypeInt8, scale: 0.25}, {name: "i", shape: []int32{1}, typ: TypeInt32, data: int32Data(1)}},
			tOp{code: opGatherND, ins: []int32{0, 2}, out: []int32{1}}, ErrUnsupported, "output quantization differs from the input's"},
		{"pack shapes", []tTensor{i8("x", 4), i8("y", 2, 4), i8("z", 3)}, tOp{code: opPack, optType: optPack, opts: packOpts(0), ins: []int32{0, 2}, out: []int32{1}},
			ErrMalformed, "operator 0 (PACK): malformed TFLite file: input 1 has shape [3], want [4]"},
		{"pack axis", []tTensor{i8("x", 4), i8("y", 4, 1)}, tOp{code: opPack, optType: optPack, opts: packOpts(2), ins: []int32{0}, out: []int32{1}},
			ErrMalformed, "axis 2 out of range for rank 2"},
		{"pack quantization", []tTensor{i8("x", 4), {name: "y", shape: []int32{2, 4}, typ: TypeInt8, scale: 0.25}}, tOp{code: opPack, optType: optPack, opts: packOpts(0), ins: []int32{0, 0}, out: []int32{1}},
			ErrUnsupported, "input 0: unsupported: output quantization differs from the input's"},
		{"unpack count", []tTensor{i8("x", 3, 2), i8("a", 2), i8("b", 2)}, tOp{code: opUnpack, optType: optUnpack, opts: packOpts(0), ins: []int32{0}, out: []int32{1, 2}},
			ErrMalformed, "operator 0 (UNPACK): malformed TFLite file: input shape [3 2] has 3 along axis 0, want the 2 outputs"},
		{"raw uint8 into conv", []tTensor{{name: "img", shape: []int32{1, 2, 2, 1}, typ: TypeUInt8}, f32("y", 1, 2, 2, 1)}, tOp{code: opReLU, ins: []int32{0}, out: []int32{1}},
			ErrUnsupported, "operator 0 (RELU): unsupported: input 0 is the raw uint8 tensor \"img\" (no quantization), which only CAST can read"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Read(buildModel(c.tensors, []tOp{c.op}, []int32{0}, []int32{1}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Import(f, c.name)
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %v mentioning %q", err, c.kind, c.want)
			}
		})
	}
}

// liteRTDecoderCases are the decoder cases with one graph input whose
// values LiteRT defines (no NaN casts, no zero divisors): their output 0
// is compared with LiteRT's (testdata/litert/dec_NAME.npy, written by
// tools/litert/reference.mjs from the files -write-litert-ops writes).
var liteRTDecoderCases = []string{"cast_raw_uint8", "cast_int32_float", "cast_float_int32_in_range",
	"floor_div_int32", "floor_div_float_const", "div_float_relu", "div_int32_const", "sqrt_float",
	"mul_sub_int32", "unpack_int8_axis1"}

// TestDecoderOpsLiteRT: the float, int32 and raw uint8 decoder operators
// against LiteRT 2.5.3, bit for bit (a NaN equals any NaN).
func TestDecoderOpsLiteRT(t *testing.T) {
	descr := map[TensorType]string{TypeUInt8: "|u1", TypeInt8: "|i1", TypeInt32: "<i4", TypeFloat32: "<f4"}
	for _, name := range liteRTDecoderCases {
		i := slices.IndexFunc(decoderCases, func(c decoderCase) bool { return c.name == name })
		if i < 0 {
			t.Fatalf("no decoder case %q", name)
		}
		c := decoderCases[i]
		t.Run(name, func(t *testing.T) {
			if *writeOpModels != "" {
				base := filepath.Join(*writeOpModels, "dec_"+name)
				if err := os.WriteFile(base+".tflite", c.model(), 0o644); err != nil {
					t.Fatal(err)
				}
				in := c.tensors[c.inputs[0]]
				shape := make([]int, len(in.shape))
				for k, d := range in.shape {
					shape[k] = int(d)
				}
				if err := npy.WriteFile(base+".npy", &npy.Array{Descr: descr[in.typ], Shape: shape, Data: c.feed[0]}); err != nil {
					t.Fatal(err)
				}
				return
			}
			ref, err := npy.ReadFile(filepath.Join("testdata", "litert", "dec_"+name+".npy"))
			if err != nil {
				t.Fatalf("LiteRT reference: %v (write the models with -write-litert-ops and run tools/litert/reference.mjs on them)", err)
			}
			out := c.tensors[c.outputs[0]]
			if ref.Descr != descr[out.typ] || !sameBits(ref.Data, c.want[0], out.typ == TypeFloat32) {
				t.Errorf("LiteRT gives %s % x, the hand-worked value is % x", ref.Descr, ref.Data, c.want[0])
			}
		})
	}
}
