// Package fbverify checks a FlatBuffer against a description of its schema
// before anything reads it. FlatBuffers' accessors trust their input; after
// Verify succeeds, every table, vtable, field, vector and string reachable
// from the root through the described fields lies inside the buffer and is
// aligned, so reading them cannot index out of range.
//
// One walker serves both of edgeinfer's FlatBuffer formats: format's .eim
// files and format/tflite's .tflite files each describe their schema as a
// tree of Table values and choose their Limits.
package fbverify

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// MaxBuffer is the largest buffer a FlatBuffer can address: positions are
// uint32 and soffsets int32.
const MaxBuffer = 1<<31 - 1

// Kind is what a table field holds.
type Kind uint8

// Field kinds.
const (
	Scalar       Kind = iota // Size bytes inline
	String                   // an offset to a string
	Vector                   // an offset to a vector of Size-byte scalars
	Table                    // an offset to a table
	TableVector              // an offset to a vector of offsets to tables
	StringVector             // an offset to a vector of offsets to strings
	Union                    // an offset to a table whose type is the previous slot, a 1-byte scalar
)

// Field describes one slot of a table.
type Field struct {
	Name string
	Kind Kind
	// Size is a Scalar's size or a Vector's element size, in bytes.
	Size uint64
	// Align is the alignment of a Vector's elements relative to the
	// buffer's start (0: Size).
	Align uint64
	// Table is the table of a Table or TableVector field.
	Table *TableSpec
	// Members are a Union's tables by union type (index 0, NONE, is
	// unused). A nil member or a type past the end is a table this reader
	// does not know (a newer schema's, or one it never reads): only its
	// header and vtable are checked.
	Members []*TableSpec
}

// TableSpec describes a table: its fields in slot (field id) order.
type TableSpec struct {
	Name   string
	Fields []Field
}

// Sc, Str, Vec, Tbl, TVec, SVec and Un make the fields of a TableSpec.
func Sc(name string, size uint64) Field  { return Field{Name: name, Kind: Scalar, Size: size} }
func Str(name string) Field              { return Field{Name: name, Kind: String, Size: 1} }
func Vec(name string, size uint64) Field { return Field{Name: name, Kind: Vector, Size: size} }
func Tbl(name string, t *TableSpec) Field {
	return Field{Name: name, Kind: Table, Table: t}
}
func TVec(name string, t *TableSpec) Field {
	return Field{Name: name, Kind: TableVector, Size: 4, Table: t}
}
func SVec(name string) Field { return Field{Name: name, Kind: StringVector, Size: 4} }
func Un(name string, members []*TableSpec) Field {
	return Field{Name: name, Kind: Union, Members: members}
}

// Limits bound the walk, whatever the bytes say.
type Limits struct {
	// MaxDepth bounds table nesting below the root.
	MaxDepth int
	// MaxTables bounds table visits; a table reached twice counts twice.
	MaxTables int
	// MaxBytes, when not 0, bounds the bytes of the tables, vectors and
	// strings visited, shared ones counted each time they are reached. A
	// file that never shares objects needs less than its own size; one
	// that points many times at one big vector would otherwise make its
	// decoder allocate without bound.
	MaxBytes uint64
}

// Error is a verification failure: where in the file (a path of field
// names and vector indices from the root table, empty for the root) and
// what is wrong.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "root table: " + e.Msg
	}
	return e.Path + ": " + e.Msg
}

// pathSeg is one step of the path to the object being verified.
type pathSeg struct {
	name string
	idx  int // −1: not a vector element
}

type verifier struct {
	buf    []byte
	lim    Limits
	used   uint64
	tables int
	path   []pathSeg
}

// Verify checks buf (at most MaxBuffer bytes: the FlatBuffer part of a
// file) from the root table its first four bytes point to, against root.
// Errors are *Error.
func Verify(buf []byte, root *TableSpec, lim Limits) error {
	v := &verifier{buf: buf, lim: lim, path: make([]pathSeg, 0, 2*lim.MaxDepth+2)}
	pos, err := v.root()
	if err != nil {
		return err
	}
	return v.table(pos, root, 0)
}

// RootScalar reads the size-byte unsigned scalar in slot of buf's root
// table after checking the root table's header and the field's place, so
// that a format can read its schema version before verifying the rest.
// present is false when the field is absent.
func RootScalar(buf []byte, slot int, size uint64) (x uint64, present bool, err error) {
	v := &verifier{buf: buf}
	pos, err := v.root()
	if err != nil {
		return 0, false, err
	}
	vt, vtSize, _, err := v.tableHeader(pos)
	if err != nil {
		return 0, false, err
	}
	p, err := v.fieldPos(pos, vt, vtSize, slot, size)
	if err != nil || p == 0 {
		return 0, false, err
	}
	for i := int(size) - 1; i >= 0; i-- {
		x = x<<8 | uint64(buf[p+uint64(i)])
	}
	return x, true, nil
}

// root returns the root table's position.
func (v *verifier) root() (uint64, error) {
	if len(v.buf) < 8 || len(v.buf) > MaxBuffer {
		return 0, v.fail("a %d-byte buffer is not a FlatBuffer with a file identifier", len(v.buf))
	}
	root := v.u32(0)
	if root < 8 || root >= uint64(len(v.buf)) {
		return 0, v.fail("root table offset %d outside the %d-byte file", root, len(v.buf))
	}
	return root, nil
}

func (v *verifier) push(name string, idx int) { v.path = append(v.path, pathSeg{name, idx}) }
func (v *verifier) pop()                      { v.path = v.path[:len(v.path)-1] }

func (v *verifier) fail(f string, args ...any) error {
	var sb strings.Builder
	for i, s := range v.path {
		if i > 0 && s.idx < 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(s.name)
		if s.idx >= 0 {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(s.idx))
			sb.WriteByte(']')
		}
	}
	return &Error{Path: sb.String(), Msg: fmt.Sprintf(f, args...)}
}

func (v *verifier) u16(pos uint64) uint64 { return uint64(binary.LittleEndian.Uint16(v.buf[pos:])) }
func (v *verifier) u32(pos uint64) uint64 { return uint64(binary.LittleEndian.Uint32(v.buf[pos:])) }

// charge accounts n bytes of objects against Limits.MaxBytes.
func (v *verifier) charge(n uint64) error {
	v.used += n
	if v.lim.MaxBytes != 0 && v.used > v.lim.MaxBytes {
		return v.fail("objects referenced add up to more than the %d-byte file (shared or overlapping objects)", len(v.buf))
	}
	return nil
}

// tableHeader checks the table at pos and its vtable and returns the
// vtable position, vtable size and table (object) size.
func (v *verifier) tableHeader(pos uint64) (vt, vtSize, objSize uint64, err error) {
	n := uint64(len(v.buf))
	if pos%4 != 0 {
		return 0, 0, 0, v.fail("table at byte %d is not 4-byte aligned", pos)
	}
	if pos+4 > n {
		return 0, 0, 0, v.fail("table at byte %d runs past the end of the %d-byte file", pos, n)
	}
	vtPos := int64(pos) - int64(int32(binary.LittleEndian.Uint32(v.buf[pos:])))
	if vtPos < 0 || uint64(vtPos)+4 > n {
		return 0, 0, 0, v.fail("vtable of table at byte %d is at %d, outside the %d-byte file", pos, vtPos, n)
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
		return 0, 0, 0, v.fail("vtable at byte %d of %d bytes runs past the end of the %d-byte file", vt, vtSize, n)
	}
	if objSize < 4 {
		return 0, 0, 0, v.fail("table at byte %d has bad size %d", pos, objSize)
	}
	if pos+objSize > n {
		return 0, 0, 0, v.fail("table at byte %d of %d bytes runs past the end of the %d-byte file", pos, objSize, n)
	}
	return vt, vtSize, objSize, nil
}

// fieldPos returns the position of field slot in the table at pos, or 0
// when the field is absent. The field must follow the table's soffset, lie
// inside the buffer and be aligned to its size. (Not inside the table's
// recorded size: FlatBuffers' own verifiers do not require it, and Go's
// flatbuffers builder records too small a size for some tables holding an
// 8-byte field.)
func (v *verifier) fieldPos(pos, vt, vtSize uint64, slot int, size uint64) (uint64, error) {
	e := 4 + 2*uint64(slot)
	if e+2 > vtSize {
		return 0, nil
	}
	off := v.u16(vt + e)
	if off == 0 {
		return 0, nil
	}
	if off < 4 || pos+off+size > uint64(len(v.buf)) {
		return 0, v.fail("field at table offset %d (%d bytes) of the table at byte %d lies outside the %d-byte file", off, size, pos, len(v.buf))
	}
	p := pos + off
	if p%size != 0 {
		return 0, v.fail("field at byte %d is not %d-byte aligned", p, size)
	}
	return p, nil
}

// target follows the uoffset stored at p.
func (v *verifier) target(p uint64) (uint64, error) {
	o := v.u32(p)
	if o == 0 || o > MaxBuffer {
		return 0, v.fail("bad offset %d at byte %d", o, p)
	}
	t := p + o
	if t >= uint64(len(v.buf)) {
		return 0, v.fail("offset at byte %d points to %d, past the end of the %d-byte file", p, t, len(v.buf))
	}
	return t, nil
}

// vector checks the vector at pos and returns the position of its first
// element and its length.
func (v *verifier) vector(pos, elemSize, align uint64) (start, count uint64, err error) {
	n := uint64(len(v.buf))
	if pos%4 != 0 {
		return 0, 0, v.fail("vector at byte %d is not 4-byte aligned", pos)
	}
	if pos+4 > n {
		return 0, 0, v.fail("vector at byte %d runs past the end of the %d-byte file", pos, n)
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
		return 0, 0, v.fail("vector of %d elements runs past the end of the %d-byte file", count, n)
	}
	return start, count, v.charge(4 + count*elemSize)
}

func (v *verifier) str(pos uint64) error {
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
func (v *verifier) table(pos uint64, spec *TableSpec, depth int) error {
	if depth > v.lim.MaxDepth {
		return v.fail("tables nested more than %d deep", v.lim.MaxDepth)
	}
	v.tables++
	if v.tables > v.lim.MaxTables {
		return v.fail("more than %d table visits for a %d-byte file (shared subtables?)", v.lim.MaxTables, len(v.buf))
	}
	vt, vtSize, objSize, err := v.tableHeader(pos)
	if err != nil {
		return err
	}
	if err := v.charge(objSize); err != nil {
		return err
	}
	var unionType uint64 // the previous slot's value when it is a 1-byte scalar
	for slot := range spec.Fields {
		f := &spec.Fields[slot]
		v.push(f.Name, -1)
		size := f.Size
		if f.Kind != Scalar {
			size = 4 // an offset
		}
		p, err := v.fieldPos(pos, vt, vtSize, slot, size)
		if err != nil {
			return err
		}
		if f.Kind == Scalar {
			unionType = 0
			if p != 0 && f.Size == 1 {
				unionType = uint64(v.buf[p])
			}
		} else {
			if err := v.field(p, f, unionType, depth); err != nil {
				return err
			}
			unionType = 0
		}
		v.pop()
	}
	return nil
}

// field verifies the object of the non-scalar field f stored at p (0:
// absent); unionType is the previous slot's 1-byte value.
func (v *verifier) field(p uint64, f *Field, unionType uint64, depth int) error {
	if f.Kind == Union {
		switch {
		case p == 0 && unionType == 0:
			return nil
		case p == 0:
			return v.fail("union type %d without a value", unionType)
		case unionType == 0:
			return v.fail("union value without a type")
		}
	}
	if p == 0 {
		return nil
	}
	t, err := v.target(p)
	if err != nil {
		return err
	}
	switch f.Kind {
	case String:
		return v.str(t)
	case Vector:
		_, _, err := v.vector(t, f.Size, f.Align)
		return err
	case Table:
		return v.table(t, f.Table, depth+1)
	case Union:
		member := unknown
		if unionType < uint64(len(f.Members)) && f.Members[unionType] != nil {
			member = f.Members[unionType]
		}
		return v.table(t, member, depth+1)
	}
	// Vectors of tables or strings.
	start, count, err := v.vector(t, 4, 4)
	if err != nil {
		return err
	}
	last := len(v.path) - 1
	for i := uint64(0); i < count; i++ {
		v.path[last].idx = int(i)
		e, err := v.target(start + 4*i)
		if err != nil {
			return err
		}
		if f.Kind == TableVector {
			err = v.table(e, f.Table, depth+1)
		} else {
			err = v.str(e)
		}
		if err != nil {
			return err
		}
	}
	v.path[last].idx = -1
	return nil
}

// unknown stands for a union member this reader does not know: only its
// header is checked.
var unknown = &TableSpec{Name: "table"}
