package tflite

import (
	"errors"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgeinfer/edgeinfer/internal/fuzzcorpus"
)

// tinyModel builds a small TFLite file: one op (code, options type and
// options built by opts) over a uint8 or int8 input [1,4,4,2], a [2,3,3,2]
// filter and an int32 bias. It seeds the fuzzer and the reader's tests.
func tinyModel(code int32, u8 bool, optType uint8, opts func(b *flatbuffers.Builder) flatbuffers.UOffsetT) []byte {
	typ, zp := TypeInt8, int64(0)
	if u8 {
		typ, zp = TypeUInt8, 128
	}
	wdata := make([]byte, 2*3*3*2)
	for i := range wdata {
		wdata[i] = byte(int8(i*7%200 - 100))
	}
	return buildModel([]tTensor{
		{name: "x", shape: []int32{1, 4, 4, 2}, typ: typ, scale: 0.5, zp: zp},
		{name: "w", shape: []int32{2, 3, 3, 2}, typ: typ, scale: 0.25, zp: zp, data: wdata},
		{name: "b", shape: []int32{2}, typ: TypeInt32, scale: 0.125, data: int32Data(10, -10)},
		{name: "y", shape: []int32{1, 4, 4, 2}, typ: typ, scale: 1, zp: zp},
	}, []tOp{{code: code, optType: optType, opts: opts, ins: []int32{0, 1, 2}, out: []int32{3}}}, []int32{0}, []int32{3})
}

// convOptions builds Conv2DOptions{SAME, stride 1×1, RELU6}.
func convOptions(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	b.StartObject(6)
	b.PrependByteSlot(0, paddingSame, 0)
	b.PrependInt32Slot(1, 1, 0)
	b.PrependInt32Slot(2, 1, 0)
	b.PrependByteSlot(3, actReLU6, 0)
	return b.EndObject()
}

// fuzzSeeds are FuzzRead's seeds by name: small hand-built models (a
// uint8 and an int8 convolution, one without options, a TANH with three
// inputs that Import must refuse), every single-op model of TestOpParity
// and of TestDecoderOps (MoveNet's decoder operators: CAST from a raw
// uint8 input, FLOOR_DIV, DIV, SQRT, GATHER_ND, PACK, UNPACK, int32
// arithmetic), and two truncations.
func fuzzSeeds() map[string][]byte {
	conv := tinyModel(opConv2D, true, optConv2D, convOptions)
	seeds := map[string][]byte{
		"conv-uint8":      conv,
		"conv-int8":       tinyModel(opConv2D, false, optConv2D, convOptions),
		"conv-no-options": tinyModel(opConv2D, false, 0, nil),
		"tanh-3-inputs":   tinyModel(opTanh, false, 0, nil),
		"truncated-half":  conv[:len(conv)/2],
		"identifier-only": []byte("\x08\x00\x00\x00TFL3"),
	}
	for _, c := range opCases {
		seeds["op-"+c.name], _ = opModel(c)
	}
	for _, c := range decoderCases {
		seeds["decoder-"+c.name] = c.model()
	}
	return seeds
}

// TestFuzzCorpus checks that testdata/fuzz/FuzzRead holds fuzzSeeds as
// they are today (go generate ./format/tflite rewrites them).
func TestFuzzCorpus(t *testing.T) { fuzzcorpus.Check(t, "FuzzRead", fuzzSeeds()) }

// FuzzRead feeds arbitrary bytes to Read and, when they verify, to Import:
// neither may panic, and every failure must wrap one of the sentinels.
func FuzzRead(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotTFLite) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Read error wraps no sentinel: %v", err)
			}
			return
		}
		m, err := Import(file, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("Import error wraps neither ErrMalformed nor ErrUnsupported: %v", err)
			}
			if m != nil {
				t.Fatal("Import returned a model and an error")
			}
			return
		}
		// Whatever Import accepts is a valid model.
		if err := m.Validate(); err != nil {
			t.Fatalf("Import returned a model that does not validate: %v", err)
		}
	})
}

func TestTinyModelsImport(t *testing.T) {
	for _, name := range []string{"conv-uint8", "conv-int8", "conv-no-options"} {
		f, err := Read(fuzzSeeds()[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m, err := Import(f, "tiny")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m.Ops) == 0 {
			t.Fatalf("%s: no ops", name)
		}
	}
	// TANH with three inputs: the error names the operator.
	f, err := Read(fuzzSeeds()["tanh-3-inputs"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(f, "tiny"); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "operator 0 (TANH): ") {
		t.Fatalf("got %v, want a malformed-TANH error", err)
	}
}

// TestSharedTablesBounded: 300 subgraph entries that all point at one
// subgraph of 300 tensor entries that all point at one tensor would make a
// naive walk visit 90,000 tables in a file of a few kilobytes; the
// verifier stops at its budget.
func TestSharedTablesBounded(t *testing.T) {
	b := flatbuffers.NewBuilder(1024)
	b.StartObject(5)
	tensor := b.EndObject()
	rep := func(o flatbuffers.UOffsetT, n int) flatbuffers.UOffsetT {
		b.StartVector(4, n, 4)
		for i := 0; i < n; i++ {
			b.PrependUOffsetT(o)
		}
		return b.EndVector(n)
	}
	tv := rep(tensor, 300)
	b.StartObject(5)
	b.PrependUOffsetTSlot(0, tv, 0)
	sg := b.EndObject()
	sv := rep(sg, 300)
	b.StartObject(5)
	b.PrependUint32Slot(0, SchemaVersion, 0)
	b.PrependUOffsetTSlot(2, sv, 0)
	b.FinishWithFileIdentifier(b.EndObject(), []byte(FileIdentifier))
	_, err := Read(b.FinishedBytes())
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "shared") {
		t.Fatalf("got %v, want an error about shared objects", err)
	}
}
