// Package tflite reads TensorFlow Lite (.tflite) FlatBuffers with its own
// verifier and translates them into edgeinfer's model (format.Model).
//
// The reader knows the subset of TFLite's schema the importer needs; the
// table and field ids are facts of the format (schema.fbs, "TFL3"). Read
// verifies the whole buffer before decoding anything: every offset,
// vtable, vector and string must lie inside it, and every tensor, buffer
// and opcode index must be in range, so no input can make it panic.
//
// Import translates a verified file: int8 models keep their tensors; legacy
// uint8 (per-tensor asymmetric) models are shifted to int8 exactly
// (q−128, zero point −128) inside, with Quantize ops at the interface so
// inputs and outputs stay uint8. See README.md for the numerics and for
// the preprocessing each model records.
package tflite

import (
	"errors"
	"fmt"
	"math"
	"os"
)

// FileIdentifier is the FlatBuffer file identifier of TFLite models.
const FileIdentifier = "TFL3"

// SchemaVersion is the TFLite schema version this reader follows.
const SchemaVersion = 3

// Sentinel errors; the errors Read and Import return wrap one of them.
var (
	// ErrNotTFLite: the bytes do not carry TFLite's file identifier.
	ErrNotTFLite = errors.New("not a TFLite file")
	// ErrMalformed: the FlatBuffer or the graph it describes is broken.
	ErrMalformed = errors.New("malformed TFLite file")
	// ErrUnsupported: valid TFLite that this importer cannot translate.
	ErrUnsupported = errors.New("unsupported")
)

// TensorType is TFLite's tensor element type.
type TensorType uint8

// TFLite tensor types (schema values).
const (
	TypeFloat32 TensorType = 0
	TypeFloat16 TensorType = 1
	TypeInt32   TensorType = 2
	TypeUInt8   TensorType = 3
	TypeInt64   TensorType = 4
	TypeString  TensorType = 5
	TypeBool    TensorType = 6
	TypeInt16   TensorType = 7
	TypeInt8    TensorType = 9
)

var typeNames = map[TensorType]string{
	TypeFloat32: "FLOAT32", TypeFloat16: "FLOAT16", TypeInt32: "INT32", TypeUInt8: "UINT8",
	TypeInt64: "INT64", TypeString: "STRING", TypeBool: "BOOL", TypeInt16: "INT16", TypeInt8: "INT8",
}

func (t TensorType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("TensorType(%d)", uint8(t))
}

// Size returns the element size in bytes of the fixed-size types, 0 otherwise.
func (t TensorType) Size() int {
	switch t {
	case TypeUInt8, TypeInt8, TypeBool:
		return 1
	case TypeFloat16, TypeInt16:
		return 2
	case TypeFloat32, TypeInt32:
		return 4
	case TypeInt64:
		return 8
	}
	return 0
}

// File is a decoded TFLite model (its first subgraph, which is the one
// TFLite runs).
type File struct {
	Version     uint32
	Description string
	OpCodes     []OpCode
	Tensors     []Tensor
	Operators   []Operator
	Inputs      []int32
	Outputs     []int32
	// Buffers holds each buffer's bytes (nil when empty); they alias the
	// file's bytes.
	Buffers [][]byte
}

// OpCode is one entry of the model's operator-code table.
type OpCode struct {
	Builtin int32 // BuiltinOperator
	Custom  string
	Version int32
}

// Tensor is a TFLite tensor.
type Tensor struct {
	Name   string
	Shape  []int32
	Type   TensorType
	Buffer uint32
	// Quant is nil when the tensor has no scales.
	Quant *Quant
}

// Quant is a tensor's quantization: real = Scale[c]·(q − ZeroPoint[c]),
// c along Dim when there are several scales.
type Quant struct {
	Scale     []float32
	ZeroPoint []int64
	Dim       int32
}

// Operator is one node of the graph.
type Operator struct {
	OpcodeIndex uint32
	Inputs      []int32
	Outputs     []int32
	OptionsType uint8
	options     table
}

// Limits that keep a hostile file from asking for absurd allocations.
const (
	maxRank     = 8
	maxElements = 1 << 30
)

// ReadFile reads and verifies a .tflite file.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Read(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Read verifies b as a TFLite FlatBuffer and decodes it. The result's
// buffers alias b.
func Read(b []byte) (*File, error) {
	if err := verifyBuffer(b); err != nil {
		return nil, err
	}
	root := table{b: b, pos: uint64(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)}
	f := &File{
		Version:     uint32(root.i32(0, 0)),
		Description: root.str(3),
	}
	if f.Version != SchemaVersion {
		return nil, fmt.Errorf("%w: schema version %d, want %d", ErrUnsupported, f.Version, SchemaVersion)
	}
	for _, oc := range root.tables(1) {
		c := OpCode{
			Builtin: oc.i32(3, 0),
			Custom:  oc.str(1),
			Version: oc.i32(2, 1),
		}
		// Files from before the 32-bit code kept it in the byte field;
		// the larger of the two is the real one.
		if dep := int32(int8(oc.u8(0, 0))); dep > c.Builtin {
			c.Builtin = dep
		}
		f.OpCodes = append(f.OpCodes, c)
	}
	for i, bt := range root.tables(4) {
		data := bt.bytes(0)
		if off, size := bt.u64(1, 0), bt.u64(2, 0); off > 1 || size != 0 {
			// Data stored after the FlatBuffer, addressed from the file start.
			if off > uint64(len(b)) || size > uint64(len(b))-off {
				return nil, fmt.Errorf("%w: buffer %d: external data [%d, +%d) outside the %d-byte file", ErrMalformed, i, off, size, len(b))
			}
			data = b[off : off+size]
		}
		if len(data) == 0 {
			data = nil
		}
		f.Buffers = append(f.Buffers, data)
	}
	subgraphs := root.tables(2)
	if len(subgraphs) == 0 {
		return nil, fmt.Errorf("%w: no subgraphs", ErrMalformed)
	}
	sg := subgraphs[0]
	for _, tt := range sg.tables(0) {
		t := Tensor{
			Shape:  tt.int32s(0),
			Type:   TensorType(tt.u8(1, 0)),
			Buffer: uint32(tt.i32(2, 0)),
			Name:   tt.str(3),
		}
		if q := tt.sub(4); q.valid() {
			if scales := q.float32s(2); len(scales) > 0 {
				t.Quant = &Quant{Scale: scales, ZeroPoint: q.int64s(3), Dim: q.i32(6, 0)}
			}
		}
		f.Tensors = append(f.Tensors, t)
	}
	f.Inputs, f.Outputs = sg.int32s(1), sg.int32s(2)
	for _, ot := range sg.tables(3) {
		f.Operators = append(f.Operators, Operator{
			OpcodeIndex: uint32(ot.i32(0, 0)),
			Inputs:      ot.int32s(1),
			Outputs:     ot.int32s(2),
			OptionsType: ot.u8(3, 0),
			options:     ot.sub(4),
		})
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// check verifies the graph's internal references.
func (f *File) check() error {
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if len(t.Shape) > maxRank {
			return fmt.Errorf("%w: tensor %d (%s) has rank %d, more than %d", ErrMalformed, i, t.Name, len(t.Shape), maxRank)
		}
		n := int64(1)
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("%w: tensor %d (%s) has shape %v with a negative (dynamic) dimension", ErrUnsupported, i, t.Name, t.Shape)
			}
			if n *= int64(d); n > maxElements {
				return fmt.Errorf("%w: tensor %d (%s) has shape %v, more than %d elements", ErrMalformed, i, t.Name, t.Shape, maxElements)
			}
		}
		if int(t.Buffer) >= len(f.Buffers) && t.Buffer != 0 {
			return fmt.Errorf("%w: tensor %d (%s) uses buffer %d of %d", ErrMalformed, i, t.Name, t.Buffer, len(f.Buffers))
		}
		if data := f.data(t); data != nil {
			if sz := t.Type.Size(); sz == 0 || int64(len(data)) != n*int64(sz) {
				return fmt.Errorf("%w: tensor %d (%s) is %v %v but its buffer %d holds %d bytes", ErrMalformed, i, t.Name, t.Type, t.Shape, t.Buffer, len(data))
			}
		}
		if q := t.Quant; q != nil {
			if len(q.ZeroPoint) != len(q.Scale) {
				return fmt.Errorf("%w: tensor %d (%s) has %d scales and %d zero points", ErrMalformed, i, t.Name, len(q.Scale), len(q.ZeroPoint))
			}
			if len(q.Scale) > 1 && len(t.Shape) == 1 && int64(t.Shape[0]) == int64(len(q.Scale)) {
				// Converters write the filter's dimension on per-channel
				// biases; a vector has only one.
				q.Dim = 0
			}
			if len(q.Scale) > 1 && (q.Dim < 0 || int(q.Dim) >= len(t.Shape) || int64(t.Shape[q.Dim]) != int64(len(q.Scale))) {
				return fmt.Errorf("%w: tensor %d (%s) has %d scales along dimension %d of shape %v", ErrMalformed, i, t.Name, len(q.Scale), q.Dim, t.Shape)
			}
			for c, s := range q.Scale {
				if !(s > 0) || math.IsInf(float64(s), 0) {
					return fmt.Errorf("%w: tensor %d (%s) has scale %g in channel %d, want finite and positive", ErrMalformed, i, t.Name, s, c)
				}
				if zp := q.ZeroPoint[c]; zp < math.MinInt32 || zp > math.MaxInt32 {
					return fmt.Errorf("%w: tensor %d (%s) has zero point %d", ErrMalformed, i, t.Name, zp)
				}
			}
		}
	}
	idx := func(what string, list []int32, optional bool) error {
		for _, t := range list {
			if t == -1 && optional {
				continue
			}
			if t < 0 || int(t) >= len(f.Tensors) {
				return fmt.Errorf("%w: %s refers to tensor %d of %d", ErrMalformed, what, t, len(f.Tensors))
			}
		}
		return nil
	}
	if err := idx("graph inputs", f.Inputs, false); err != nil {
		return err
	}
	if err := idx("graph outputs", f.Outputs, false); err != nil {
		return err
	}
	for i, op := range f.Operators {
		if int(op.OpcodeIndex) >= len(f.OpCodes) {
			return fmt.Errorf("%w: operator %d uses opcode %d of %d", ErrMalformed, i, op.OpcodeIndex, len(f.OpCodes))
		}
		if err := idx(fmt.Sprintf("operator %d inputs", i), op.Inputs, true); err != nil {
			return err
		}
		if err := idx(fmt.Sprintf("operator %d outputs", i), op.Outputs, false); err != nil {
			return err
		}
	}
	return nil
}

// data returns the constant contents of t, or nil for activations.
func (f *File) data(t *Tensor) []byte {
	if int(t.Buffer) >= len(f.Buffers) {
		return nil
	}
	return f.Buffers[t.Buffer]
}

// OpName returns the builtin operator name of op (or the custom code).
func (f *File) OpName(op *Operator) string {
	c := f.OpCodes[op.OpcodeIndex]
	if c.Builtin == opCustom {
		return "CUSTOM(" + c.Custom + ")"
	}
	return BuiltinName(c.Builtin)
}
