package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file is a minimal FlatBuffer reader for the part of TFLite's schema
// that the importer reads. It has two halves: verify walks the buffer
// against a description of the schema (schemaModel below) and proves that
// every table, vtable, field, vector and string the decoder can reach lies
// inside the buffer; the accessors (table.*) then read fields by slot id.
// The accessors still check every index, returning zero values instead of
// panicking, so a bug in the description cannot become a crash.

// Limits on what the verifier accepts, whatever the bytes say.
const (
	minFileSize = 8 // root offset and file identifier
	maxFileSize = 1<<31 - 1
	maxDepth    = 16      // table nesting (TFLite needs 4: Model, SubGraph, Tensor, Quantization)
	maxVisits   = 1 << 22 // table visits, so shared subtables cannot explode the walk
)

type fieldKind uint8

const (
	kScalar       fieldKind = iota // size bytes inline
	kString                        // offset to a string
	kVector                        // offset to a vector of size-byte scalars
	kTable                         // offset to a table
	kTableVector                   // offset to a vector of offsets to tables
	kUnion                         // offset to a table whose type is the previous slot (a ubyte)
	kStringVector                  // offset to a vector of offsets to strings
)

// field describes one slot of a table; slots are numbered by their
// position in spec.fields (the schema's field ids).
type field struct {
	name  string
	kind  fieldKind
	size  int   // scalar or vector element size
	table *spec // kTable, kTableVector
	// union members by union type (index 0 = NONE); nil entries and types
	// past the end are checked as tables with no known fields.
	union []*spec
}

type spec struct {
	name   string
	fields []field
}

func sc(name string, size int) field  { return field{name: name, kind: kScalar, size: size} }
func str(name string) field           { return field{name: name, kind: kString, size: 1} }
func vec(name string, size int) field { return field{name: name, kind: kVector, size: size} }
func tbl(name string, t *spec) field  { return field{name: name, kind: kTable, table: t} }
func tvec(name string, t *spec) field {
	return field{name: name, kind: kTableVector, size: 4, table: t}
}
func union(name string, m []*spec) field { return field{name: name, kind: kUnion, union: m} }
func svec(name string) field             { return field{name: name, kind: kStringVector, size: 4} }

// opaque is a table whose fields the importer never reads: only its header
// and vtable are checked.
var opaque = &spec{name: "table"}

// The TFLite schema subset (field ids are the schema's, in order).
var (
	schemaQuant = &spec{name: "QuantizationParameters", fields: []field{
		vec("min", 4), vec("max", 4), vec("scale", 4), vec("zero_point", 8),
		sc("details_type", 1), union("details", nil), sc("quantized_dimension", 4),
	}}
	schemaTensor = &spec{name: "Tensor", fields: []field{
		vec("shape", 4), sc("type", 1), sc("buffer", 4), str("name"),
		tbl("quantization", schemaQuant), sc("is_variable", 1), tbl("sparsity", opaque),
		vec("shape_signature", 4), sc("has_rank", 1),
	}}
	schemaBuffer = &spec{name: "Buffer", fields: []field{
		vec("data", 1), sc("offset", 8), sc("size", 8),
	}}
	schemaOpCode = &spec{name: "OperatorCode", fields: []field{
		sc("deprecated_builtin_code", 1), str("custom_code"), sc("version", 4), sc("builtin_code", 4),
	}}
	schemaOperator = &spec{name: "Operator", fields: []field{
		sc("opcode_index", 4), vec("inputs", 4), vec("outputs", 4),
		sc("builtin_options_type", 1), union("builtin_options", builtinOptionSpecs()),
		vec("custom_options", 1), sc("custom_options_format", 1), vec("mutating_variable_inputs", 1),
		vec("intermediates", 4),
	}}
	schemaSubGraph = &spec{name: "SubGraph", fields: []field{
		tvec("tensors", schemaTensor), vec("inputs", 4), vec("outputs", 4),
		tvec("operators", schemaOperator), str("name"),
	}}
	schemaMetadata = &spec{name: "Metadata", fields: []field{str("name"), sc("buffer", 4)}}
	schemaModel    = &spec{name: "Model", fields: []field{
		sc("version", 4), tvec("operator_codes", schemaOpCode), tvec("subgraphs", schemaSubGraph),
		str("description"), tvec("buffers", schemaBuffer), vec("metadata_buffer", 4),
		tvec("metadata", schemaMetadata),
	}}
)

// builtinOptionSpecs describes the option tables the importer reads, by
// their BuiltinOptions union type.
func builtinOptionSpecs() []*spec {
	m := make([]*spec, optGelu+1)
	conv := []field{sc("padding", 1), sc("stride_w", 4), sc("stride_h", 4), sc("fused_activation_function", 1),
		sc("dilation_w_factor", 4), sc("dilation_h_factor", 4)}
	m[optConv2D] = &spec{name: "Conv2DOptions", fields: conv}
	m[optDepthwiseConv2D] = &spec{name: "DepthwiseConv2DOptions", fields: []field{
		sc("padding", 1), sc("stride_w", 4), sc("stride_h", 4), sc("depth_multiplier", 4),
		sc("fused_activation_function", 1), sc("dilation_w_factor", 4), sc("dilation_h_factor", 4)}}
	m[optPool2D] = &spec{name: "Pool2DOptions", fields: []field{
		sc("padding", 1), sc("stride_w", 4), sc("stride_h", 4), sc("filter_width", 4),
		sc("filter_height", 4), sc("fused_activation_function", 1)}}
	m[optFullyConnected] = &spec{name: "FullyConnectedOptions", fields: []field{
		sc("fused_activation_function", 1), sc("weights_format", 1), sc("keep_num_dims", 1),
		sc("asymmetric_quantize_inputs", 1)}}
	m[optSoftmax] = &spec{name: "SoftmaxOptions", fields: []field{sc("beta", 4)}}
	m[optConcatenation] = &spec{name: "ConcatenationOptions", fields: []field{sc("axis", 4), sc("fused_activation_function", 1)}}
	m[optAdd] = &spec{name: "AddOptions", fields: []field{sc("fused_activation_function", 1), sc("pot_scale_int16", 1)}}
	m[optReshape] = &spec{name: "ReshapeOptions", fields: []field{vec("new_shape", 4)}}
	m[optMul] = &spec{name: "MulOptions", fields: []field{sc("fused_activation_function", 1)}}
	m[optReducer] = &spec{name: "ReducerOptions", fields: []field{sc("keep_dims", 1)}}
	m[optSub] = &spec{name: "SubOptions", fields: []field{sc("fused_activation_function", 1), sc("pot_scale_int16", 1)}}
	m[optBatchMatMul] = &spec{name: "BatchMatMulOptions", fields: []field{
		sc("adj_x", 1), sc("adj_y", 1), sc("asymmetric_quantize_inputs", 1)}}
	m[optGelu] = &spec{name: "GeluOptions", fields: []field{sc("approximate", 1)}}
	return m
}

// BuiltinOptions union types of the option tables the importer reads.
const (
	optConv2D          = 1
	optDepthwiseConv2D = 2
	optPool2D          = 5
	optFullyConnected  = 8
	optSoftmax         = 9
	optConcatenation   = 10
	optAdd             = 11
	optReshape         = 17
	optMul             = 21
	optReducer         = 27
	optSub             = 28
	optBatchMatMul     = 101
	optGelu            = 116
)

// verifier walks a buffer against a spec.
type verifier struct {
	b      []byte
	visits int
	// budget bounds the visits: every reference is a 4-byte offset, so a
	// file whose tables form a tree needs fewer than len(b)/4 visits;
	// only tables shared through several levels (which converters never
	// write) could need more, and those could make the walk exponential.
	budget int
}

func (v *verifier) errf(path, f string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, path, fmt.Sprintf(f, args...))
}

// u32 reads a little-endian uint32 at off, which the caller has bounds-checked.
func (v *verifier) u32(off uint64) uint32 { return binary.LittleEndian.Uint32(v.b[off:]) }

// offsetTarget follows the uoffset stored at off (4 bytes, in bounds) and
// checks that the target is in bounds with room for need bytes and aligned to 4.
func (v *verifier) offsetTarget(path string, off uint64, need uint64) (uint64, error) {
	t := off + uint64(v.u32(off))
	if t%4 != 0 {
		return 0, v.errf(path, "offset target %d is not 4-byte aligned", t)
	}
	if t+need > uint64(len(v.b)) {
		return 0, v.errf(path, "offset target %d (+%d bytes) is outside the %d-byte buffer", t, need, len(v.b))
	}
	return t, nil
}

// vector checks a vector header at t and returns its length.
func (v *verifier) vector(path string, t uint64, elem int) (uint64, error) {
	n := uint64(v.u32(t))
	end := t + 4 + n*uint64(elem)
	if n > uint64(len(v.b)) || end > uint64(len(v.b)) {
		return 0, v.errf(path, "vector of %d %d-byte elements at %d overruns the %d-byte buffer", n, elem, t, len(v.b))
	}
	if elem == 8 && (t+4)%8 != 0 {
		return 0, v.errf(path, "vector of 8-byte elements at %d is not 8-byte aligned", t+4)
	}
	return n, nil
}

func (v *verifier) str(path string, t uint64) error {
	n, err := v.vector(path, t, 1)
	if err != nil {
		return err
	}
	if t+4+n >= uint64(len(v.b)) || v.b[t+4+n] != 0 {
		return v.errf(path, "string of %d bytes at %d has no terminating zero", n, t)
	}
	return nil
}

// table verifies the table at pos against s.
func (v *verifier) table(path string, pos uint64, s *spec, depth int) error {
	if depth > maxDepth {
		return v.errf(path, "tables nested deeper than %d", maxDepth)
	}
	if v.visits++; v.visits > v.budget {
		return v.errf(path, "more than %d table visits for a %d-byte file (shared subtables?)", v.budget, len(v.b))
	}
	if pos%4 != 0 || pos+4 > uint64(len(v.b)) {
		return v.errf(path, "table at %d is misaligned or outside the %d-byte buffer", pos, len(v.b))
	}
	vt := int64(pos) - int64(int32(v.u32(pos)))
	if vt < 0 || vt%2 != 0 || vt+4 > int64(len(v.b)) {
		return v.errf(path, "vtable at %d is misaligned or outside the buffer", vt)
	}
	vtLen := uint64(binary.LittleEndian.Uint16(v.b[vt:]))
	tblLen := uint64(binary.LittleEndian.Uint16(v.b[vt+2:]))
	if vtLen < 4 || vtLen%2 != 0 || uint64(vt)+vtLen > uint64(len(v.b)) {
		return v.errf(path, "vtable at %d has bad length %d", vt, vtLen)
	}
	if tblLen < 4 || pos+tblLen > uint64(len(v.b)) {
		return v.errf(path, "table at %d with %d bytes overruns the buffer", pos, tblLen)
	}
	slots := int((vtLen - 4) / 2)
	for id, f := range s.fields {
		if id >= slots {
			break
		}
		fo := uint64(binary.LittleEndian.Uint16(v.b[uint64(vt)+4+2*uint64(id):]))
		if fo == 0 {
			continue
		}
		fp := path + "." + f.name
		size := uint64(4)
		if f.kind == kScalar {
			size = uint64(f.size)
		}
		if fo < 4 || fo+size > tblLen {
			return v.errf(fp, "field at table offset %d (+%d bytes) is outside the %d-byte table", fo, size, tblLen)
		}
		at := pos + fo
		if f.kind == kScalar {
			continue
		}
		if at%4 != 0 {
			return v.errf(fp, "offset field at %d is not 4-byte aligned", at)
		}
		switch f.kind {
		case kString:
			t, err := v.offsetTarget(fp, at, 4)
			if err != nil {
				return err
			}
			if err := v.str(fp, t); err != nil {
				return err
			}
		case kVector:
			t, err := v.offsetTarget(fp, at, 4)
			if err != nil {
				return err
			}
			if _, err := v.vector(fp, t, f.size); err != nil {
				return err
			}
		case kTable:
			t, err := v.offsetTarget(fp, at, 4)
			if err != nil {
				return err
			}
			if err := v.table(fp, t, f.table, depth+1); err != nil {
				return err
			}
		case kUnion:
			t, err := v.offsetTarget(fp, at, 4)
			if err != nil {
				return err
			}
			member := opaque
			if id > 0 {
				typ := tableScalar(v.b, pos, uint64(vt), vtLen, tblLen, id-1, 1)
				if typ < uint64(len(f.union)) && f.union[typ] != nil {
					member = f.union[typ]
				}
			}
			if err := v.table(fp, t, member, depth+1); err != nil {
				return err
			}
		case kTableVector, kStringVector:
			t, err := v.offsetTarget(fp, at, 4)
			if err != nil {
				return err
			}
			n, err := v.vector(fp, t, 4)
			if err != nil {
				return err
			}
			for i := uint64(0); i < n; i++ {
				ep := fmt.Sprintf("%s[%d]", fp, i)
				et, err := v.offsetTarget(ep, t+4+4*i, 4)
				if err != nil {
					return err
				}
				if f.kind == kStringVector {
					err = v.str(ep, et)
				} else {
					err = v.table(ep, et, f.table, depth+1)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// tableScalar reads slot id (size bytes, unsigned) of a verified table, or 0.
func tableScalar(b []byte, pos, vt, vtLen, tblLen uint64, id, size int) uint64 {
	if 4+2*uint64(id)+2 > vtLen {
		return 0
	}
	fo := uint64(binary.LittleEndian.Uint16(b[vt+4+2*uint64(id):]))
	if fo == 0 || fo+uint64(size) > tblLen {
		return 0
	}
	var x uint64
	for i := size - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[pos+fo+uint64(i)])
	}
	return x
}

// verifyBuffer checks the whole file: size, identifier and the Model table.
func verifyBuffer(b []byte) error {
	if len(b) < minFileSize {
		return fmt.Errorf("%w: %d bytes is too short for a TFLite file", ErrMalformed, len(b))
	}
	if len(b) > maxFileSize {
		return fmt.Errorf("%w: %d bytes is larger than a FlatBuffer can address", ErrMalformed, len(b))
	}
	if string(b[4:8]) != FileIdentifier {
		return fmt.Errorf("%w: file identifier %q, want %q", ErrNotTFLite, b[4:8], FileIdentifier)
	}
	v := &verifier{b: b, budget: min(maxVisits, len(b)/4+64)}
	root := uint64(v.u32(0))
	return v.table("Model", root, schemaModel, 0)
}

// table is a verified table: accessors read slot ids and return the
// default on absent fields, and zero values on anything out of range.
type table struct {
	b   []byte
	pos uint64
}

func (t table) valid() bool { return t.b != nil }

// slot returns the absolute position of field id, or 0 when absent.
func (t table) slot(id int, size uint64) uint64 {
	if t.b == nil || t.pos+4 > uint64(len(t.b)) {
		return 0
	}
	vt := int64(t.pos) - int64(int32(binary.LittleEndian.Uint32(t.b[t.pos:])))
	if vt < 0 || vt+4 > int64(len(t.b)) {
		return 0
	}
	vtLen := uint64(binary.LittleEndian.Uint16(t.b[vt:]))
	if 4+2*uint64(id)+2 > vtLen || uint64(vt)+vtLen > uint64(len(t.b)) {
		return 0
	}
	fo := uint64(binary.LittleEndian.Uint16(t.b[uint64(vt)+4+2*uint64(id):]))
	if fo == 0 || t.pos+fo+size > uint64(len(t.b)) {
		return 0
	}
	return t.pos + fo
}

func (t table) u8(id int, def uint8) uint8 {
	if p := t.slot(id, 1); p != 0 {
		return t.b[p]
	}
	return def
}

func (t table) i32(id int, def int32) int32 {
	if p := t.slot(id, 4); p != 0 {
		return int32(binary.LittleEndian.Uint32(t.b[p:]))
	}
	return def
}

func (t table) f32(id int, def float32) float32 {
	if p := t.slot(id, 4); p != 0 {
		return math.Float32frombits(binary.LittleEndian.Uint32(t.b[p:]))
	}
	return def
}

func (t table) u64(id int, def uint64) uint64 {
	if p := t.slot(id, 8); p != 0 {
		return binary.LittleEndian.Uint64(t.b[p:])
	}
	return def
}

// deref follows the offset in slot id; 0 when absent or out of range.
func (t table) deref(id int) uint64 {
	p := t.slot(id, 4)
	if p == 0 {
		return 0
	}
	target := p + uint64(binary.LittleEndian.Uint32(t.b[p:]))
	if target+4 > uint64(len(t.b)) {
		return 0
	}
	return target
}

// vector returns the element bytes and count of the vector in slot id.
func (t table) vector(id int, elem uint64) ([]byte, int) {
	p := t.deref(id)
	if p == 0 {
		return nil, 0
	}
	n := uint64(binary.LittleEndian.Uint32(t.b[p:]))
	if n > uint64(len(t.b)) || p+4+n*elem > uint64(len(t.b)) {
		return nil, 0
	}
	return t.b[p+4 : p+4+n*elem], int(n)
}

func (t table) str(id int) string {
	b, _ := t.vector(id, 1)
	return string(b)
}

func (t table) bytes(id int) []byte {
	b, _ := t.vector(id, 1)
	return b
}

func (t table) int32s(id int) []int32 {
	b, n := t.vector(id, 4)
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func (t table) float32s(id int) []float32 {
	b, n := t.vector(id, 4)
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func (t table) int64s(id int) []int64 {
	b, n := t.vector(id, 8)
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// sub returns the table in slot id (zero table when absent).
func (t table) sub(id int) table {
	p := t.deref(id)
	if p == 0 {
		return table{}
	}
	return table{b: t.b, pos: p}
}

// tables returns the tables of the table vector in slot id.
func (t table) tables(id int) []table {
	p := t.deref(id)
	if p == 0 {
		return nil
	}
	n := uint64(binary.LittleEndian.Uint32(t.b[p:]))
	if n > uint64(len(t.b)) || p+4+4*n > uint64(len(t.b)) {
		return nil
	}
	out := make([]table, 0, n)
	for i := uint64(0); i < n; i++ {
		at := p + 4 + 4*i
		target := at + uint64(binary.LittleEndian.Uint32(t.b[at:]))
		if target+4 > uint64(len(t.b)) {
			out = append(out, table{})
			continue
		}
		out = append(out, table{b: t.b, pos: target})
	}
	return out
}
