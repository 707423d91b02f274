package tflite

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
)

var writeOpModels = flag.String("write-litert-ops", "", "write the single-op test models and their inputs into this directory")

// tTensor and tOp describe a small TFLite graph for buildModel.
type tTensor struct {
	name  string
	shape []int32
	typ   TensorType
	scale float32 // 0: no quantization
	zp    int64
	data  []byte // constant contents, nil for activations
}

type tOp struct {
	code     int32
	optType  uint8
	opts     func(b *flatbuffers.Builder) flatbuffers.UOffsetT
	ins, out []int32
}

// buildModel writes a TFLite FlatBuffer (schema version 3) holding one
// subgraph with the given tensors, operators (one opcode entry each) and
// graph inputs and outputs.
func buildModel(tensors []tTensor, ops []tOp, inputs, outputs []int32) []byte {
	b := flatbuffers.NewBuilder(4096)
	i32s := func(v []int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	offs := func(v []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependUOffsetT(v[i])
		}
		return b.EndVector(len(v))
	}
	bufs := []flatbuffers.UOffsetT{}
	b.StartObject(3)
	bufs = append(bufs, b.EndObject())
	var tts []flatbuffers.UOffsetT
	for _, t := range tensors {
		buf := uint32(0)
		if t.data != nil {
			b.StartVector(1, len(t.data), 16)
			for i := len(t.data) - 1; i >= 0; i-- {
				b.PrependByte(t.data[i])
			}
			d := b.EndVector(len(t.data))
			b.StartObject(3)
			b.PrependUOffsetTSlot(0, d, 0)
			bufs = append(bufs, b.EndObject())
			buf = uint32(len(bufs) - 1)
		}
		var q flatbuffers.UOffsetT
		if t.scale != 0 {
			b.StartVector(4, 1, 4)
			b.PrependFloat32(t.scale)
			s := b.EndVector(1)
			b.StartVector(8, 1, 8)
			b.PrependInt64(t.zp)
			z := b.EndVector(1)
			b.StartObject(7)
			b.PrependUOffsetTSlot(2, s, 0)
			b.PrependUOffsetTSlot(3, z, 0)
			q = b.EndObject()
		}
		n := b.CreateString(t.name)
		sh := i32s(t.shape)
		b.StartObject(5)
		b.PrependUOffsetTSlot(0, sh, 0)
		b.PrependByteSlot(1, byte(t.typ), 0)
		b.PrependUint32Slot(2, buf, 0)
		b.PrependUOffsetTSlot(3, n, 0)
		if q != 0 {
			b.PrependUOffsetTSlot(4, q, 0)
		}
		tts = append(tts, b.EndObject())
	}
	var codes, oos []flatbuffers.UOffsetT
	for i, op := range ops {
		b.StartObject(4)
		b.PrependByteSlot(0, byte(min(op.code, 127)), 0)
		b.PrependInt32Slot(2, 1, 1)
		b.PrependInt32Slot(3, op.code, 0)
		codes = append(codes, b.EndObject())
		var o flatbuffers.UOffsetT
		if op.opts != nil {
			o = op.opts(b)
		}
		in, out := i32s(op.ins), i32s(op.out)
		b.StartObject(5)
		b.PrependUint32Slot(0, uint32(i), 0)
		b.PrependUOffsetTSlot(1, in, 0)
		b.PrependUOffsetTSlot(2, out, 0)
		if op.opts != nil {
			b.PrependByteSlot(3, op.optType, 0)
			b.PrependUOffsetTSlot(4, o, 0)
		}
		oos = append(oos, b.EndObject())
	}
	tv, ov, gin, gout := offs(tts), offs(oos), i32s(inputs), i32s(outputs)
	b.StartObject(5)
	b.PrependUOffsetTSlot(0, tv, 0)
	b.PrependUOffsetTSlot(1, gin, 0)
	b.PrependUOffsetTSlot(2, gout, 0)
	b.PrependUOffsetTSlot(3, ov, 0)
	sg := b.EndObject()
	cv, sv, bv := offs(codes), offs([]flatbuffers.UOffsetT{sg}), offs(bufs)
	b.StartObject(5)
	b.PrependUint32Slot(0, SchemaVersion, 0)
	b.PrependUOffsetTSlot(1, cv, 0)
	b.PrependUOffsetTSlot(2, sv, 0)
	b.PrependUOffsetTSlot(4, bv, 0)
	b.FinishWithFileIdentifier(b.EndObject(), []byte(FileIdentifier))
	return b.FinishedBytes()
}

func optsWith(fields func(b *flatbuffers.Builder), n int) func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	return func(b *flatbuffers.Builder) flatbuffers.UOffsetT {
		b.StartObject(n)
		fields(b)
		return b.EndObject()
	}
}

func int8Data(r *rand.Rand, n int, lo, hi int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(int8(lo + r.IntN(hi-lo+1)))
	}
	return d
}

func int32Data(v ...int32) []byte {
	d := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(d[4*i:], uint32(x))
	}
	return d
}

// opCase is a single-op int8 model: input 0 is [shape] int8 with scale
// 0.05 and zero point 3; the op writes tensor 1.
type opCase struct {
	name string
	in   []int32
	// graph returns the extra tensors (from index 2) and the op.
	graph func(r *rand.Rand) (out tTensor, extra []tTensor, op tOp)
}

func act(q float32, zp int64, shape ...int32) tTensor {
	return tTensor{name: "y", shape: shape, typ: TypeInt8, scale: q, zp: zp}
}

func constI8(r *rand.Rand, name string, scale float32, zp int64, shape ...int32) tTensor {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return tTensor{name: name, shape: shape, typ: TypeInt8, scale: scale, zp: zp, data: int8Data(r, n, -127, 127)}
}

func binaryCase(name string, code int32, optType uint8) opCase {
	return opCase{name, []int32{2, 3, 8}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		var opts func(*flatbuffers.Builder) flatbuffers.UOffsetT
		if optType != 0 {
			opts = optsWith(func(b *flatbuffers.Builder) {}, 1)
		}
		return act(0.09, -5, 2, 3, 8), []tTensor{constI8(r, "b", 0.03, -7, 3, 8)},
			tOp{code: code, optType: optType, opts: opts, ins: []int32{0, 2}, out: []int32{1}}
	}}
}

func unaryCase(name string, code int32, outScale float32, outZP int64) opCase {
	return opCase{name, []int32{4, 64}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(outScale, outZP, 4, 64), nil, tOp{code: code, ins: []int32{0}, out: []int32{1}}
	}}
}

var opCases = []opCase{
	binaryCase("add", opAdd, optAdd),
	binaryCase("sub", opSub, optSub),
	binaryCase("mul", opMul, optMul),
	binaryCase("squared_difference", opSquaredDifference, 0),
	// MoveNet's first SUB: a constant whose scale (1e-6) puts the ratio
	// outside XNNPACK's range, so LiteRT runs its builtin kernel.
	{"sub_tiny_scale", []int32{2, 3, 8}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.09, -5, 2, 3, 8), []tTensor{constI8(r, "b", 1e-6, 0, 3, 8)},
			tOp{code: opSub, optType: optSub, opts: optsWith(func(b *flatbuffers.Builder) {}, 1), ins: []int32{0, 2}, out: []int32{1}}
	}},
	unaryCase("logistic", opLogistic, 1.0/256, -128),
	unaryCase("tanh", opTanh, 1.0/128, 0),
	unaryCase("hard_swish", opHardSwish, 0.04, -20),
	unaryCase("gelu", opGelu, 0.04, -20),
	unaryCase("rsqrt", opRsqrt, 0.05, -100),
	{"softmax", []int32{4, 64}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(1.0/256, -128, 4, 64), nil, tOp{code: opSoftmax, optType: optSoftmax,
			opts: optsWith(func(b *flatbuffers.Builder) { b.PrependFloat32Slot(0, 1, 0) }, 1), ins: []int32{0}, out: []int32{1}}
	}},
	{"mean", []int32{1, 5, 6, 16}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.03, 2, 1, 1, 1, 16), []tTensor{{name: "axes", shape: []int32{2}, typ: TypeInt32, data: int32Data(1, 2)}},
			tOp{code: opMean, optType: optReducer, opts: optsWith(func(b *flatbuffers.Builder) { b.PrependBoolSlot(0, true, false) }, 1),
				ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"fully_connected", []int32{3, 40}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.2, -10, 3, 12), []tTensor{constI8(r, "w", 0.01, 0, 12, 40),
				{name: "bias", shape: []int32{12}, typ: TypeInt32, scale: 0.05 * 0.01, data: int32Data(100, -200, 300, 0, 5, -5, 1000, -1000, 7, 8, 9, 10)}},
			tOp{code: opFullyConnected, optType: optFullyConnected, opts: optsWith(func(b *flatbuffers.Builder) {}, 1), ins: []int32{0, 2, 3}, out: []int32{1}}
	}},
	{"batch_matmul", []int32{2, 5, 16}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.3, 4, 2, 5, 8), []tTensor{constI8(r, "b", 0.02, 0, 2, 16, 8)},
			tOp{code: opBatchMatMul, optType: optBatchMatMul, opts: optsWith(func(b *flatbuffers.Builder) {}, 2), ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"transpose", []int32{2, 3, 4}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 4, 2, 3), []tTensor{{name: "perm", shape: []int32{3}, typ: TypeInt32, data: int32Data(2, 0, 1)}},
			tOp{code: opTranspose, ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"pad", []int32{1, 3, 3, 4}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 1, 5, 4, 4), []tTensor{{name: "pads", shape: []int32{4, 2}, typ: TypeInt32, data: int32Data(0, 0, 1, 1, 0, 1, 0, 0)}},
			tOp{code: opPad, ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"concatenation", []int32{2, 5}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 2, 8), []tTensor{{name: "c", shape: []int32{2, 3}, typ: TypeInt8, scale: 0.05, zp: 3, data: int8Data(r, 6, -128, 127)}},
			tOp{code: opConcatenation, optType: optConcatenation, opts: optsWith(func(b *flatbuffers.Builder) { b.PrependInt32Slot(0, 1, 0) }, 2),
				ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"reshape", []int32{2, 6}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 3, 4), []tTensor{{name: "shape", shape: []int32{2}, typ: TypeInt32, data: int32Data(3, 4)}},
			tOp{code: opReshape, ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"quantize", []int32{4, 16}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.07, -9, 4, 16), nil, tOp{code: opQuantize, ins: []int32{0}, out: []int32{1}}
	}},
	{"max_pool", []int32{1, 6, 6, 4}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 1, 3, 3, 4), nil, tOp{code: opMaxPool2D, optType: optPool2D, opts: optsWith(func(b *flatbuffers.Builder) {
			b.PrependByteSlot(0, paddingSame, 0)
			b.PrependInt32Slot(1, 2, 0)
			b.PrependInt32Slot(2, 2, 0)
			b.PrependInt32Slot(3, 3, 0)
			b.PrependInt32Slot(4, 3, 0)
		}, 6), ins: []int32{0}, out: []int32{1}}
	}},
	{"gather_nd", []int32{2, 3, 4}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 3, 4), []tTensor{{name: "idx", shape: []int32{3, 2}, typ: TypeInt32, data: int32Data(1, 2, 0, 0, 1, 1)}},
			tOp{code: opGatherND, ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"pack", []int32{2, 5}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 2, 2, 5), []tTensor{{name: "c", shape: []int32{2, 5}, typ: TypeInt8, scale: 0.05, zp: 3, data: int8Data(r, 10, -128, 127)}},
			tOp{code: opPack, optType: optPack, opts: optsWith(func(b *flatbuffers.Builder) {
				b.PrependInt32Slot(0, 2, 0)
				b.PrependInt32Slot(1, 1, 0)
			}, 2), ins: []int32{0, 2}, out: []int32{1}}
	}},
	{"unpack", []int32{3, 4}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 3), []tTensor{act(0.05, 3, 3), act(0.05, 3, 3), act(0.05, 3, 3)},
			tOp{code: opUnpack, optType: optUnpack, opts: optsWith(func(b *flatbuffers.Builder) {
				b.PrependInt32Slot(0, 4, 0)
				b.PrependInt32Slot(1, 1, 0)
			}, 2), ins: []int32{0}, out: []int32{1, 2, 3, 4}}
	}},
	{"average_pool", []int32{1, 6, 6, 4}, func(r *rand.Rand) (tTensor, []tTensor, tOp) {
		return act(0.05, 3, 1, 3, 3, 4), nil, tOp{code: opAveragePool2D, optType: optPool2D, opts: optsWith(func(b *flatbuffers.Builder) {
			b.PrependByteSlot(0, paddingSame, 0)
			b.PrependInt32Slot(1, 2, 0)
			b.PrependInt32Slot(2, 2, 0)
			b.PrependInt32Slot(3, 2, 0)
			b.PrependInt32Slot(4, 2, 0)
		}, 6), ins: []int32{0}, out: []int32{1}}
	}},
}

// opModel builds case c's model and a random input (seeded by the name).
func opModel(c opCase) (model []byte, input []byte) {
	seed := uint64(0)
	for _, ch := range c.name {
		seed = seed*131 + uint64(ch)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	out, extra, op := c.graph(r)
	tensors := append([]tTensor{{name: "x", shape: c.in, typ: TypeInt8, scale: 0.05, zp: 3}, out}, extra...)
	n := 1
	for _, d := range c.in {
		n *= int(d)
	}
	input = int8Data(r, n, -128, 127)
	if c.name == "rsqrt" {
		input = int8Data(r, n, 4, 127) // positive reals
	}
	return buildModel(tensors, []tOp{op}, []int32{0}, []int32{1}), input
}

// TestOpParity runs each single-op int8 model and compares its output with
// LiteRT's (testdata/litert/op_NAME.npy, from tools/litert/reference.mjs
// on the models -write-litert-ops writes).
func TestOpParity(t *testing.T) {
	for _, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			model, input := opModel(c)
			if *writeOpModels != "" {
				base := filepath.Join(*writeOpModels, "op_"+c.name)
				if err := os.WriteFile(base+".tflite", model, 0o644); err != nil {
					t.Fatal(err)
				}
				shape := make([]int, len(c.in))
				for i, d := range c.in {
					shape[i] = int(d)
				}
				if err := npy.WriteFile(base+".npy", &npy.Array{Descr: "|i1", Shape: shape, Data: input}); err != nil {
					t.Fatal(err)
				}
				return
			}
			f, err := Read(model)
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
			copy(it.Input(0).Bytes(), input)
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			got := it.Output(0).Bytes()
			ref, err := npy.ReadFile(filepath.Join("testdata", "litert", "op_"+c.name+".npy"))
			if err != nil {
				t.Fatalf("LiteRT reference: %v (write the models with -write-litert-ops and run tools/litert/reference.mjs on them)", err)
			}
			if len(ref.Data) != len(got) {
				t.Fatalf("%d output bytes, LiteRT has %d", len(got), len(ref.Data))
			}
			maxd, diffs := 0, 0
			for i := range got {
				d := int(int8(got[i])) - int(int8(ref.Data[i]))
				if d != 0 {
					diffs++
					maxd = max(maxd, int(math.Abs(float64(d))))
				}
			}
			t.Logf("%s: %d of %d outputs differ from LiteRT's, by at most %d", c.name, diffs, len(got), maxd)
			fmt.Fprintf(os.Stderr, "op parity %s: %d/%d differ, max %d\n", c.name, diffs, len(got), maxd)
			if maxd > 1 {
				t.Errorf("an output differs from LiteRT's by %d quanta", maxd)
			}
		})
	}
}

// TestUnsupportedOp: an operator without a translation fails the import
// naming it and listing the supported ones.
func TestUnsupportedOp(t *testing.T) {
	model := buildModel([]tTensor{{name: "x", shape: []int32{4}, typ: TypeFloat32}, {name: "y", shape: []int32{4}, typ: TypeFloat32}},
		[]tOp{{code: 47 /* EXP */, ins: []int32{0}, out: []int32{1}}}, []int32{0}, []int32{1})
	f, err := Read(model)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Import(f, "exp")
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
	for _, want := range []string{"operator 0 (EXP)", "CONV_2D", "BATCH_MATMUL", "GELU", "HARD_SWISH", "SQUARED_DIFFERENCE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}
