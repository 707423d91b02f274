package tflite

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format/internal/fbverify"
)

// This file is a minimal FlatBuffer reader for the part of TFLite's schema
// that the importer reads. verifyBuffer walks the buffer against a
// description of the schema (schemaModel below, with format's walker in
// format/internal/fbverify) and proves that every table, vtable, field,
// vector and string the decoder can reach lies inside the buffer; the
// accessors (table.*) then read fields by slot id. The accessors still
// check every index, returning zero values instead of panicking, so a bug
// in the description cannot become a crash.

const minFileSize = 8 // root offset and file identifier

// maxDepth bounds table nesting (TFLite needs 4: Model, SubGraph, Tensor,
// Quantization); maxVisits bounds table visits whatever the file's size.
const (
	maxDepth  = 16
	maxVisits = 1 << 22
)

// opaque is a table whose fields the importer never reads: only its header
// and vtable are checked.
var opaque = &fbverify.TableSpec{Name: "table"}

// The TFLite schema subset (field ids are the schema's, in order).
var (
	schemaQuant = &fbverify.TableSpec{Name: "QuantizationParameters", Fields: []fbverify.Field{
		fbverify.Vec("min", 4), fbverify.Vec("max", 4), fbverify.Vec("scale", 4), fbverify.Vec("zero_point", 8),
		fbverify.Sc("details_type", 1), fbverify.Un("details", nil), fbverify.Sc("quantized_dimension", 4),
	}}
	schemaTensor = &fbverify.TableSpec{Name: "Tensor", Fields: []fbverify.Field{
		fbverify.Vec("shape", 4), fbverify.Sc("type", 1), fbverify.Sc("buffer", 4), fbverify.Str("name"),
		fbverify.Tbl("quantization", schemaQuant), fbverify.Sc("is_variable", 1), fbverify.Tbl("sparsity", opaque),
		fbverify.Vec("shape_signature", 4), fbverify.Sc("has_rank", 1),
	}}
	schemaBuffer = &fbverify.TableSpec{Name: "Buffer", Fields: []fbverify.Field{
		fbverify.Vec("data", 1), fbverify.Sc("offset", 8), fbverify.Sc("size", 8),
	}}
	schemaOpCode = &fbverify.TableSpec{Name: "OperatorCode", Fields: []fbverify.Field{
		fbverify.Sc("deprecated_builtin_code", 1), fbverify.Str("custom_code"), fbverify.Sc("version", 4), fbverify.Sc("builtin_code", 4),
	}}
	schemaOperator = &fbverify.TableSpec{Name: "Operator", Fields: []fbverify.Field{
		fbverify.Sc("opcode_index", 4), fbverify.Vec("inputs", 4), fbverify.Vec("outputs", 4),
		fbverify.Sc("builtin_options_type", 1), fbverify.Un("builtin_options", builtinOptionSpecs()),
		fbverify.Vec("custom_options", 1), fbverify.Sc("custom_options_format", 1), fbverify.Vec("mutating_variable_inputs", 1),
		fbverify.Vec("intermediates", 4),
	}}
	schemaSubGraph = &fbverify.TableSpec{Name: "SubGraph", Fields: []fbverify.Field{
		fbverify.TVec("tensors", schemaTensor), fbverify.Vec("inputs", 4), fbverify.Vec("outputs", 4),
		fbverify.TVec("operators", schemaOperator), fbverify.Str("name"),
	}}
	schemaMetadata = &fbverify.TableSpec{Name: "Metadata", Fields: []fbverify.Field{fbverify.Str("name"), fbverify.Sc("buffer", 4)}}
	schemaModel    = &fbverify.TableSpec{Name: "Model", Fields: []fbverify.Field{
		fbverify.Sc("version", 4), fbverify.TVec("operator_codes", schemaOpCode), fbverify.TVec("subgraphs", schemaSubGraph),
		fbverify.Str("description"), fbverify.TVec("buffers", schemaBuffer), fbverify.Vec("metadata_buffer", 4),
		fbverify.TVec("metadata", schemaMetadata),
	}}
)

// builtinOptionSpecs describes the option tables the importer reads, by
// their BuiltinOptions union type.
func builtinOptionSpecs() []*fbverify.TableSpec {
	sc := fbverify.Sc
	spec := func(name string, fields ...fbverify.Field) *fbverify.TableSpec {
		return &fbverify.TableSpec{Name: name, Fields: fields}
	}
	m := make([]*fbverify.TableSpec, optGelu+1)
	m[optConv2D] = spec("Conv2DOptions", sc("padding", 1), sc("stride_w", 4), sc("stride_h", 4), sc("fused_activation_function", 1),
		sc("dilation_w_factor", 4), sc("dilation_h_factor", 4))
	m[optDepthwiseConv2D] = spec("DepthwiseConv2DOptions",
		sc("padding", 1), sc("stride_w", 4), sc("stride_h", 4), sc("depth_multiplier", 4),
		sc("fused_activation_function", 1), sc("dilation_w_factor", 4), sc("dilation_h_factor", 4))
	m[optPool2D] = spec("Pool2DOptions",
		sc("padding", 1), sc("stride_w", 4), sc("stride_h", 4), sc("filter_width", 4),
		sc("filter_height", 4), sc("fused_activation_function", 1))
	m[optFullyConnected] = spec("FullyConnectedOptions",
		sc("fused_activation_function", 1), sc("weights_format", 1), sc("keep_num_dims", 1),
		sc("asymmetric_quantize_inputs", 1))
	m[optSoftmax] = spec("SoftmaxOptions", sc("beta", 4))
	m[optConcatenation] = spec("ConcatenationOptions", sc("axis", 4), sc("fused_activation_function", 1))
	m[optAdd] = spec("AddOptions", sc("fused_activation_function", 1), sc("pot_scale_int16", 1))
	m[optReshape] = spec("ReshapeOptions", fbverify.Vec("new_shape", 4))
	m[optResizeBilinear] = spec("ResizeBilinearOptions", sc("new_height", 4), sc("new_width", 4),
		sc("align_corners", 1), sc("half_pixel_centers", 1))
	m[optArgMax] = spec("ArgMaxOptions", sc("output_type", 1))
	m[optDiv] = spec("DivOptions", sc("fused_activation_function", 1))
	m[optCast] = spec("CastOptions", sc("in_data_type", 1), sc("out_data_type", 1))
	m[optPack] = spec("PackOptions", sc("values_count", 4), sc("axis", 4))
	m[optUnpack] = spec("UnpackOptions", sc("num", 4), sc("axis", 4))
	m[optMul] = spec("MulOptions", sc("fused_activation_function", 1))
	m[optReducer] = spec("ReducerOptions", sc("keep_dims", 1))
	m[optSub] = spec("SubOptions", sc("fused_activation_function", 1), sc("pot_scale_int16", 1))
	m[optBatchMatMul] = spec("BatchMatMulOptions",
		sc("adj_x", 1), sc("adj_y", 1), sc("asymmetric_quantize_inputs", 1))
	m[optGelu] = spec("GeluOptions", sc("approximate", 1))
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
	optResizeBilinear  = 15
	optReshape         = 17
	optMul             = 21
	optReducer         = 27
	optSub             = 28
	optDiv             = 29
	optCast            = 37
	optArgMax          = 40
	optPack            = 59
	optUnpack          = 64
	optBatchMatMul     = 101
	optGelu            = 116
)

// verifyBuffer checks the whole file: size, identifier and the Model table.
// Every reference is a 4-byte offset, so a file whose tables form a tree
// needs fewer than len(b)/4 table visits, and the objects it references
// add up to less than its size; only objects shared through several
// levels (which converters never write) could need more, and those could
// make the walk, and the decoded file, exponential.
func verifyBuffer(b []byte) error {
	if len(b) < minFileSize {
		return fmt.Errorf("%w: %d bytes is too short for a TFLite file", ErrMalformed, len(b))
	}
	if len(b) > fbverify.MaxBuffer {
		return fmt.Errorf("%w: %d bytes is larger than a FlatBuffer can address", ErrMalformed, len(b))
	}
	if string(b[4:8]) != FileIdentifier {
		return fmt.Errorf("%w: file identifier %q, want %q", ErrNotTFLite, b[4:8], FileIdentifier)
	}
	lim := fbverify.Limits{MaxDepth: maxDepth, MaxTables: min(maxVisits, len(b)/4+64), MaxBytes: uint64(len(b))}
	if err := fbverify.Verify(b, schemaModel, lim); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
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
