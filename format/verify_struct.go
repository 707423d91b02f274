package format

import (
	"encoding/binary"
	"strconv"
	"strings"
)

// The structural verifier checks the raw bytes of a .eim file against the
// schema before any generated accessor touches them: after it succeeds,
// every table, vtable, field, vector and string the accessors can reach
// lies inside the buffer, so decoding cannot index out of range. It walks
// a hand-written description of the schema (schemaModel and friends below;
// TestSchemaSpecMatchesGenerated keeps it in step with the generated code).

const (
	// maxFlatBuffer is the largest offset a FlatBuffer can address: the
	// accessors compute positions in uint32 and soffsets are int32.
	maxFlatBuffer = 1<<31 - 1
	// minFileSize is the root offset, the identifier and the smallest
	// possible table with its vtable.
	minFileSize = 16
	// maxDepth bounds table nesting (the schema needs 3: Model, Tensor,
	// Quantization).
	maxDepth = 8
	// maxTables bounds the number of table visits, whatever the file size.
	maxTables = 1 << 24
)

type fieldKind uint8

const (
	kScalar       fieldKind = iota // size bytes inline
	kString                        // offset to a string
	kVector                        // offset to a vector of size-byte scalars
	kTable                         // offset to a table
	kTableVector                   // offset to a vector of offsets to tables
	kStringVector                  // offset to a vector of offsets to strings
	kUnion                         // union value: an offset to a table; its type is the previous field
)

type fieldSpec struct {
	name  string
	kind  fieldKind
	size  uint64     // scalar or vector element size
	align uint64     // required alignment of vector elements relative to the file start (0: size)
	table *tableSpec // kTable, kTableVector
}

type tableSpec struct {
	name   string
	fields []fieldSpec // in slot order
	// union members by union type − 1 (for the table's kUnion field).
	union []*tableSpec
}

func scalar(name string, size uint64) fieldSpec {
	return fieldSpec{name: name, kind: kScalar, size: size}
}
func str(name string) fieldSpec               { return fieldSpec{name: name, kind: kString, size: 1} }
func vec(name string, size uint64) fieldSpec  { return fieldSpec{name: name, kind: kVector, size: size} }
func tbl(name string, t *tableSpec) fieldSpec { return fieldSpec{name: name, kind: kTable, table: t} }
func tvec(name string, t *tableSpec) fieldSpec {
	return fieldSpec{name: name, kind: kTableVector, size: 4, table: t}
}

var (
	schemaQuantization = &tableSpec{name: "Quantization", fields: []fieldSpec{
		vec("scale", 4), vec("zero_point", 4), scalar("axis", 4),
	}}
	schemaTensor = &tableSpec{name: "Tensor", fields: []fieldSpec{
		str("name"), vec("shape", 4), scalar("type", 1), tbl("quantization", schemaQuantization), scalar("buffer", 4),
	}}
	schemaBuffer = &tableSpec{name: "Buffer", fields: []fieldSpec{
		{name: "data", kind: kVector, size: 1, align: DataAlign}, scalar("offset", 8), scalar("size", 8),
	}}
	convFields = []fieldSpec{
		scalar("stride_h", 4), scalar("stride_w", 4), scalar("dilation_h", 4), scalar("dilation_w", 4),
		scalar("pad_top", 4), scalar("pad_bottom", 4), scalar("pad_left", 4), scalar("pad_right", 4),
		scalar("activation", 1),
	}
	schemaOptions = []*tableSpec{
		{name: "Conv2DOptions", fields: convFields},
		{name: "DepthwiseConv2DOptions", fields: append(append([]fieldSpec(nil), convFields...), scalar("depth_multiplier", 4))},
		{name: "FullyConnectedOptions", fields: []fieldSpec{scalar("activation", 1)}},
		{name: "BatchMatMulOptions", fields: []fieldSpec{scalar("adj_x", 1), scalar("adj_y", 1)}},
		{name: "Pool2DOptions", fields: []fieldSpec{
			scalar("filter_h", 4), scalar("filter_w", 4), scalar("stride_h", 4), scalar("stride_w", 4),
			scalar("pad_top", 4), scalar("pad_bottom", 4), scalar("pad_left", 4), scalar("pad_right", 4),
			scalar("activation", 1),
		}},
		{name: "BinaryOptions", fields: []fieldSpec{scalar("activation", 1)}},
		{name: "LayerNormOptions", fields: []fieldSpec{scalar("epsilon", 4)}},
		{name: "SoftmaxOptions", fields: []fieldSpec{scalar("beta", 4)}},
		{name: "MeanOptions", fields: []fieldSpec{vec("axes", 4), scalar("keep_dims", 1)}},
		{name: "GELUOptions", fields: []fieldSpec{scalar("approximate", 1)}},
		{name: "TransposeOptions", fields: []fieldSpec{vec("perm", 4)}},
		{name: "ConcatOptions", fields: []fieldSpec{scalar("axis", 4)}},
		{name: "GatherOptions", fields: []fieldSpec{scalar("axis", 4)}},
		{name: "SliceOptions", fields: []fieldSpec{vec("begin", 4), vec("size", 4)}},
		{name: "AdaptiveTokenPool2DOptions", fields: []fieldSpec{scalar("grid_h", 4), scalar("grid_w", 4),
			scalar("out_h", 4), scalar("out_w", 4), scalar("prefix", 4), scalar("keep_prefix", 1), scalar("masked", 1)}},
		{name: "PoolMixerOptions", fields: []fieldSpec{scalar("grid_h", 4), scalar("grid_w", 4), scalar("prefix", 4)}},
		{name: "GGeMPoolOptions", fields: []fieldSpec{scalar("groups", 4), scalar("prefix", 4), scalar("eps", 4), vec("p", 4)}},
		{name: "EfficientProbeOptions", fields: []fieldSpec{scalar("prefix", 4), scalar("include_prefix", 1)}},
		{name: "ZOSensitivityOptions", fields: []fieldSpec{scalar("mode", 1), scalar("step", 4), scalar("relu", 1)}},
		{name: "DiverseSelectOptions", fields: []fieldSpec{scalar("keep", 4), scalar("prefix", 4), scalar("top_k", 1)}},
		{name: "TokenAwareAvgPoolOptions", fields: []fieldSpec{scalar("grid_h", 4), scalar("grid_w", 4), scalar("prefix", 4), vec("dilations", 4)}},
		{name: "AttentionSinkOptions", fields: []fieldSpec{vec("sink_dims", 4), scalar("tau", 4), scalar("rho", 4),
			scalar("min_mass", 4), scalar("p", 4), scalar("prefix", 4)}},
	}
	// schemaUnknownOptions stands for a union member from a newer schema:
	// only its table header is checked, and decoding ignores its fields.
	schemaUnknownOptions = &tableSpec{name: "options"}
	schemaOperator       = &tableSpec{name: "Operator", fields: []fieldSpec{
		scalar("opcode", 2), scalar("version", 2), str("name"), vec("inputs", 4), vec("outputs", 4),
		scalar("options_type", 1), {name: "options", kind: kUnion},
	}, union: schemaOptions}
	schemaPreprocess = &tableSpec{name: "Preprocess", fields: []fieldSpec{
		scalar("width", 4), scalar("height", 4), scalar("layout", 1), scalar("color", 1), scalar("scale", 4),
		vec("mean", 4), vec("std", 4),
	}}
	schemaMemoryPlan = &tableSpec{name: "MemoryPlan", fields: []fieldSpec{
		scalar("arena_bytes", 8), vec("offsets", 8),
	}}
	schemaModel = &tableSpec{name: "Model", fields: []fieldSpec{
		scalar("schema_version", 4), str("name"), str("description"),
		tvec("tensors", schemaTensor), tvec("operators", schemaOperator),
		vec("inputs", 4), vec("outputs", 4), tvec("buffers", schemaBuffer),
		{name: "labels", kind: kStringVector, size: 4},
		tbl("preprocess", schemaPreprocess), scalar("rounding", 1), tbl("memory_plan", schemaMemoryPlan),
	}}
)

// pathSeg is one step of the path to the object being verified.
type pathSeg struct {
	name string
	idx  int // −1: not a vector element
}

type structVerifier struct {
	buf    []byte // the FlatBuffer part of the file (at most maxFlatBuffer bytes)
	size   int    // the whole file's size, for messages
	used   uint64 // bytes of objects visited so far, shared ones counted again
	tables int
	path   []pathSeg
}

func (v *structVerifier) push(name string, idx int) { v.path = append(v.path, pathSeg{name, idx}) }
func (v *structVerifier) pop()                      { v.path = v.path[:len(v.path)-1] }

func (v *structVerifier) where() string {
	if len(v.path) == 0 {
		return "root table"
	}
	var sb strings.Builder
	for i, s := range v.path {
		if i > 0 && s.idx < 0 {
			sb.WriteByte('.')
		}
		if s.name != "" {
			sb.WriteString(s.name)
		}
		if s.idx >= 0 {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(s.idx))
			sb.WriteByte(']')
		}
	}
	return sb.String()
}

func (v *structVerifier) fail(f string, args ...any) error {
	return malformed(v.where()+": "+f, args...)
}

func (v *structVerifier) u16(pos uint64) uint64 {
	return uint64(binary.LittleEndian.Uint16(v.buf[pos:]))
}
func (v *structVerifier) u32(pos uint64) uint64 {
	return uint64(binary.LittleEndian.Uint32(v.buf[pos:]))
}

// charge accounts n bytes of decoded objects. An honest file never shares
// tables, vectors or strings, so their sizes add up to less than the file;
// a hostile one could point a million times at one big vector and make
// decoding allocate without bound.
func (v *structVerifier) charge(n uint64) error {
	v.used += n
	if v.used > uint64(len(v.buf)) {
		return v.fail("objects referenced add up to more than the %d-byte file (shared or overlapping objects)", v.size)
	}
	return nil
}

// tableHeader checks the table at pos and its vtable and returns the
// vtable position, vtable size and table (object) size.
func (v *structVerifier) tableHeader(pos uint64) (vt, vtSize, objSize uint64, err error) {
	n := uint64(len(v.buf))
	if pos%4 != 0 {
		return 0, 0, 0, v.fail("table at byte %d is not 4-byte aligned", pos)
	}
	if pos+4 > n {
		return 0, 0, 0, v.fail("table at byte %d runs past the end of the %d-byte file", pos, v.size)
	}
	soff := int64(int32(binary.LittleEndian.Uint32(v.buf[pos:])))
	vtPos := int64(pos) - soff
	if vtPos < 0 || uint64(vtPos)+4 > n {
		return 0, 0, 0, v.fail("vtable of table at byte %d is at %d, outside the %d-byte file", pos, vtPos, v.size)
	}
	vt = uint64(vtPos)
	if vt%2 != 0 {
		return 0, 0, 0, v.fail("vtable at byte %d is not 2-byte aligned", vt)
	}
	vtSize, objSize = v.u16(vt), v.u16(vt+2)
	if vtSize < 4 || vtSize%2 != 0 {
		return 0, 0, 0, v.fail("vtable at byte %d has bad size %d", vt, vtSize)
	}
	if vt+vtSize > n {
		return 0, 0, 0, v.fail("vtable at byte %d of %d bytes runs past the end of the %d-byte file", vt, vtSize, v.size)
	}
	if objSize < 4 {
		return 0, 0, 0, v.fail("table at byte %d has bad size %d", pos, objSize)
	}
	if pos+objSize > n {
		return 0, 0, 0, v.fail("table at byte %d of %d bytes runs past the end of the %d-byte file", pos, objSize, v.size)
	}
	return vt, vtSize, objSize, nil
}

// fieldPos returns the position of field slot in the table at pos, or 0
// when the field is absent. The field must fit in the table and be aligned
// to its size.
func (v *structVerifier) fieldPos(pos, vt, vtSize, objSize uint64, slot int, size uint64) (uint64, error) {
	e := 4 + 2*uint64(slot)
	if e >= vtSize {
		return 0, nil
	}
	off := v.u16(vt + e)
	if off == 0 {
		return 0, nil
	}
	if off < 4 || off+size > objSize {
		return 0, v.fail("field at table offset %d (%d bytes) lies outside the %d-byte table", off, size, objSize)
	}
	p := pos + off
	if p%size != 0 {
		return 0, v.fail("field at byte %d is not %d-byte aligned", p, size)
	}
	return p, nil
}

// target follows the uoffset stored at p.
func (v *structVerifier) target(p uint64) (uint64, error) {
	o := v.u32(p)
	if o == 0 || o > maxFlatBuffer {
		return 0, v.fail("bad offset %d at byte %d", o, p)
	}
	t := p + o
	if t >= uint64(len(v.buf)) {
		return 0, v.fail("offset at byte %d points to %d, past the end of the %d-byte file", p, t, v.size)
	}
	return t, nil
}

// vector checks the vector at pos and returns the position of its first
// element and its length.
func (v *structVerifier) vector(pos, elemSize, align uint64) (start, count uint64, err error) {
	n := uint64(len(v.buf))
	if pos%4 != 0 {
		return 0, 0, v.fail("vector at byte %d is not 4-byte aligned", pos)
	}
	if pos+4 > n {
		return 0, 0, v.fail("vector at byte %d runs past the end of the %d-byte file", pos, v.size)
	}
	count = v.u32(pos)
	start = pos + 4
	if align == 0 {
		align = elemSize
	}
	if count > 0 && start%align != 0 {
		return 0, 0, v.fail("vector data at byte %d is not %d-byte aligned", start, align)
	}
	// count < 2^32 and elemSize ≤ 8: no overflow in uint64.
	if count*elemSize > n-start {
		return 0, 0, v.fail("vector of %d elements runs past the end of the %d-byte file", count, v.size)
	}
	return start, count, v.charge(4 + count*elemSize)
}

func (v *structVerifier) str(pos uint64) error {
	start, count, err := v.vector(pos, 1, 1)
	if err != nil {
		return err
	}
	if start+count >= uint64(len(v.buf)) || v.buf[start+count] != 0 {
		return v.fail("string of %d bytes at byte %d is not NUL-terminated inside the file", count, start)
	}
	return v.charge(1)
}

// table verifies the table at pos against spec, recursively.
func (v *structVerifier) table(pos uint64, spec *tableSpec, depth int) error {
	if depth > maxDepth {
		return v.fail("tables nested more than %d deep", maxDepth)
	}
	v.tables++
	if v.tables > maxTables {
		return v.fail("more than %d tables", maxTables)
	}
	vt, vtSize, objSize, err := v.tableHeader(pos)
	if err != nil {
		return err
	}
	if err := v.charge(objSize); err != nil {
		return err
	}
	var unionType uint64 // the last 1-byte scalar: the type of a following union
	for slot := range spec.fields {
		f := &spec.fields[slot]
		v.push(f.name, -1)
		if err := v.field(pos, vt, vtSize, objSize, slot, f, spec, &unionType, depth); err != nil {
			return err
		}
		v.pop()
	}
	return nil
}

// field verifies field slot of the table at pos (its name is on the path).
func (v *structVerifier) field(pos, vt, vtSize, objSize uint64, slot int, f *fieldSpec, spec *tableSpec, unionType *uint64, depth int) error {
	size := f.size
	if f.kind != kScalar {
		size = 4
	}
	p, err := v.fieldPos(pos, vt, vtSize, objSize, slot, size)
	if err != nil {
		return err
	}
	switch f.kind {
	case kScalar:
		*unionType = 0
		if p != 0 && size == 1 {
			*unionType = uint64(v.buf[p])
		}
		return nil
	case kUnion:
		switch {
		case p == 0 && *unionType == 0:
			return nil
		case p == 0:
			return v.fail("union type %d without a value", *unionType)
		case *unionType == 0:
			return v.fail("union value without a type")
		}
		t, err := v.target(p)
		if err != nil {
			return err
		}
		member := schemaUnknownOptions
		if *unionType <= uint64(len(spec.union)) {
			member = spec.union[*unionType-1]
		}
		return v.table(t, member, depth+1)
	}
	if p == 0 {
		return nil
	}
	t, err := v.target(p)
	if err != nil {
		return err
	}
	return v.object(t, f, depth)
}

// object verifies the non-scalar field f whose object starts at t.
func (v *structVerifier) object(t uint64, f *fieldSpec, depth int) error {
	switch f.kind {
	case kString:
		return v.str(t)
	case kVector:
		_, _, err := v.vector(t, f.size, f.align)
		return err
	case kTable:
		return v.table(t, f.table, depth+1)
	}
	// Vectors of tables or strings.
	start, count, err := v.vector(t, 4, 4)
	if err != nil {
		return err
	}
	for i := uint64(0); i < count; i++ {
		last := &v.path[len(v.path)-1]
		last.idx = int(i)
		e, err := v.target(start + 4*i)
		if err != nil {
			return err
		}
		if f.kind == kTableVector {
			err = v.table(e, f.table, depth+1)
		} else {
			err = v.str(e)
		}
		if err != nil {
			return err
		}
	}
	v.path[len(v.path)-1].idx = -1
	return nil
}

// verifyStructure checks the whole file: size, identifier, root table,
// schema version (newer ones are ErrUnsupported, checked before anything
// else) and every object reachable from the root. It returns the root
// table's position.
func verifyStructure(data []byte) (uint64, error) {
	if len(data) < minFileSize {
		return 0, malformed("file of %d bytes is too short for a model (at least %d)", len(data), minFileSize)
	}
	if string(data[4:8]) != FileIdentifier {
		return 0, malformed("file identifier %q, want %q (not an edgeinfer model)", data[4:8], FileIdentifier)
	}
	buf := data
	if len(buf) > maxFlatBuffer {
		buf = buf[:maxFlatBuffer]
	}
	v := &structVerifier{buf: buf, size: len(data), path: make([]pathSeg, 0, 2*maxDepth+2)}
	root := v.u32(0)
	if root < 8 || root >= uint64(len(buf)) {
		return 0, malformed("root table offset %d outside the %d-byte file", root, len(data))
	}
	// The schema version first, so that a newer file is reported as such
	// rather than as malformed.
	vt, vtSize, objSize, err := v.tableHeader(root)
	if err != nil {
		return 0, err
	}
	v.push("schema_version", -1)
	p, err := v.fieldPos(root, vt, vtSize, objSize, 0, 4)
	if err != nil {
		return 0, err
	}
	v.pop()
	version := uint64(1) // the schema default
	if p != 0 {
		version = v.u32(p)
	}
	if version > SchemaVersion {
		return 0, unsupported("schema version %d is newer than this reader's %d", version, SchemaVersion)
	}
	if version == 0 {
		return 0, malformed("schema version 0")
	}
	if err := v.table(root, schemaModel, 0); err != nil {
		return 0, err
	}
	return root, nil
}
