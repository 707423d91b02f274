package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgeinfer/edgeinfer/format/internal/fb"
	"github.com/edgeinfer/edgeinfer/format/internal/fbverify"
)

// TestSchemaSpecMatchesGenerated keeps the verifier's hand-written schema
// description in step with the generated code: same tables, same number
// of slots, and for every slot the same name, and a scalar of the same
// size or an offset.
func TestSchemaSpecMatchesGenerated(t *testing.T) {
	specs := map[string]*fbverify.TableSpec{}
	var add func(s *fbverify.TableSpec)
	add = func(s *fbverify.TableSpec) {
		if s == nil || specs[s.Name] != nil {
			return
		}
		specs[s.Name] = s
		for _, f := range s.Fields {
			add(f.Table)
			for _, u := range f.Members {
				add(u)
			}
		}
	}
	add(schemaModel)

	files, err := filepath.Glob("internal/fb/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated files: %v", err)
	}
	startRE := regexp.MustCompile(`func (\w+)Start\(builder \*flatbuffers\.Builder\) \{\n\tbuilder\.StartObject\((\d+)\)`)
	addRE := regexp.MustCompile(`func (\w+)Add(\w+)\(builder \*flatbuffers\.Builder, \w+ [\w.]+\) \{\n\tbuilder\.Prepend(\w+)Slot\((\d+),`)
	vecRE := regexp.MustCompile(`func (\w+)Start(\w+)Vector\(builder \*flatbuffers\.Builder, numElems int\) flatbuffers\.UOffsetT \{\n\treturn builder\.StartVector\((\d+),`)
	sizes := map[string]uint64{"Bool": 1, "Byte": 1, "Uint8": 1, "Int8": 1, "Uint16": 2, "Int16": 2,
		"Uint32": 4, "Int32": 4, "Float32": 4, "Uint64": 8, "Int64": 8, "Float64": 8}
	seen := map[string]bool{}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range startRE.FindAllStringSubmatch(string(src), -1) {
			s := specs[m[1]]
			if s == nil {
				t.Errorf("generated table %s has no verifier spec", m[1])
				continue
			}
			seen[m[1]] = true
			if n, _ := strconv.Atoi(m[2]); n != len(s.Fields) {
				t.Errorf("table %s: generated code has %d slots, verifier spec %d", m[1], n, len(s.Fields))
			}
		}
		for _, m := range addRE.FindAllStringSubmatch(string(src), -1) {
			s := specs[m[1]]
			slot, _ := strconv.Atoi(m[4])
			if s == nil || slot >= len(s.Fields) {
				continue // reported above
			}
			f := s.Fields[slot]
			if camel(f.Name) != m[2] {
				t.Errorf("%s slot %d: generated %s, spec %s", m[1], slot, m[2], f.Name)
			}
			if m[3] == "UOffsetT" {
				if f.Kind == fbverify.Scalar {
					t.Errorf("%s.%s: generated as an offset, spec says scalar", m[1], f.Name)
				}
			} else if f.Kind != fbverify.Scalar || f.Size != sizes[m[3]] {
				t.Errorf("%s.%s: generated as %s, spec kind %d size %d", m[1], f.Name, m[3], f.Kind, f.Size)
			}
		}
		for _, m := range vecRE.FindAllStringSubmatch(string(src), -1) {
			s := specs[m[1]]
			if s == nil {
				continue
			}
			for _, f := range s.Fields {
				if camel(f.Name) == m[2] {
					if n, _ := strconv.Atoi(m[3]); uint64(n) != f.Size {
						t.Errorf("%s.%s: generated elements of %d bytes, spec %d", m[1], f.Name, n, f.Size)
					}
				}
			}
		}
	}
	for name := range specs {
		if !seen[name] {
			t.Errorf("verifier spec %s has no generated table", name)
		}
	}
}

func camel(snake string) string {
	var sb strings.Builder
	for _, p := range strings.Split(snake, "_") {
		if p != "" {
			sb.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return sb.String()
}

func mustMarshal(t testing.TB, m *Model) []byte {
	t.Helper()
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// expectErr checks that err wraps kind and mentions every fragment.
func expectErr(t *testing.T, err, kind error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v mentioning %q", kind, fragments)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q does not wrap %v", err, kind)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

func TestTruncated(t *testing.T) {
	for name, mk := range testModels() {
		for _, external := range []bool{false, true} {
			data, err := marshal(mk(), external)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < len(data); n++ {
				if _, err := Read(data[:n:n]); !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s (external %v) truncated to %d of %d bytes: %v, want ErrMalformed", name, external, n, len(data), err)
				}
			}
		}
	}
}

// TestFlippedBytes changes every byte of small models in two ways: Read
// must never panic, and whatever it accepts must be a valid model that
// marshals again.
func TestFlippedBytes(t *testing.T) {
	for _, mk := range []func() *Model{int8CNN, floatMisc} {
		orig := mustMarshal(t, mk())
		data := make([]byte, len(orig))
		for i := range orig {
			for _, x := range []byte{0x01, 0xff} {
				copy(data, orig)
				data[i] ^= x
				m, err := Read(data)
				if err != nil {
					if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
						t.Fatalf("byte %d ^ %#x: error %v wraps no sentinel", i, x, err)
					}
					continue
				}
				if _, err := Marshal(m); err != nil {
					t.Fatalf("byte %d ^ %#x: Read accepted a model Marshal rejects: %v", i, x, err)
				}
			}
		}
	}
}

// fieldPos returns the position of a present field of a table (vo: the
// field's vtable offset, 4 + 2·slot).
func fieldPos(t *testing.T, tab flatbuffers.Table, vo flatbuffers.VOffsetT) uint32 {
	t.Helper()
	o := tab.Offset(vo)
	if o == 0 {
		t.Fatalf("field %d absent", vo)
	}
	return uint32(tab.Pos) + uint32(o)
}

// deref follows the offset stored at p.
func deref(data []byte, p uint32) uint32 { return p + binary.LittleEndian.Uint32(data[p:]) }

func TestHugeVector(t *testing.T) {
	data := mustMarshal(t, floatCNN())
	r := fb.GetRootAsModel(data, 0)
	var tt fb.Tensor
	r.Tensors(&tt, 2)
	vec := deref(data, fieldPos(t, tt.Table(), 6))
	binary.LittleEndian.PutUint32(data[vec:], 4000000000)
	_, err := Read(data)
	expectErr(t, err, ErrMalformed, fmt.Sprintf("format: tensors[2].shape: vector of 4000000000 elements runs past the end of the %d-byte file", len(data)))
}

func TestBadOffsets(t *testing.T) {
	orig := mustMarshal(t, floatMisc())
	r := fb.GetRootAsModel(orig, 0)
	var o fb.Operator
	r.Operators(&o, 3)
	namePos := fieldPos(t, o.Table(), 8)
	cases := []struct {
		name  string
		patch func(d []byte)
		frags []string
	}{
		{"root past end", func(d []byte) { binary.LittleEndian.PutUint32(d, uint32(len(d))) }, []string{"root table offset"}},
		{"root misaligned", func(d []byte) { binary.LittleEndian.PutUint32(d, 9) }, []string{"not 4-byte aligned"}},
		{"vtable outside", func(d []byte) {
			root := binary.LittleEndian.Uint32(d)
			binary.LittleEndian.PutUint32(d[root:], 0x7fffffff)
		}, []string{"vtable of table at byte"}},
		{"string offset past end", func(d []byte) { binary.LittleEndian.PutUint32(d[namePos:], uint32(len(d))) }, []string{"operators[3].name", "past the end"}},
		{"string offset zero", func(d []byte) { binary.LittleEndian.PutUint32(d[namePos:], 0) }, []string{"operators[3].name", "bad offset 0"}},
		{"string not terminated", func(d []byte) {
			s := deref(d, namePos)
			n := binary.LittleEndian.Uint32(d[s:])
			d[s+4+n] = 'x'
		}, []string{"operators[3].name", "not NUL-terminated"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := append([]byte(nil), orig...)
			c.patch(data)
			_, err := Read(data)
			expectErr(t, err, ErrMalformed, c.frags...)
		})
	}
}

func TestIdentifierAndVersion(t *testing.T) {
	orig := mustMarshal(t, int8CNN())
	if string(orig[4:8]) != "EIM1" {
		t.Fatalf("identifier %q", orig[4:8])
	}
	data := append([]byte(nil), orig...)
	copy(data[4:], "TFL3")
	_, err := Read(data)
	expectErr(t, err, ErrMalformed, `file identifier "TFL3", want "EIM1"`)

	_, err = Read([]byte("EIM"))
	expectErr(t, err, ErrMalformed, "too short")

	for _, v := range []uint32{2, 0} {
		data = append([]byte(nil), orig...)
		if !fb.GetRootAsModel(data, 0).MutateSchemaVersion(v) {
			t.Fatal("schema_version not stored")
		}
		_, err = Read(data)
		if v == 2 {
			expectErr(t, err, ErrUnsupported, "schema version 2 is newer than this reader's 1")
		} else {
			expectErr(t, err, ErrMalformed, "schema version 0")
		}
	}
}

// TestNewerSchemaVersionFirst: a newer file whose layout this reader cannot
// verify is still reported as unsupported, not malformed.
func TestNewerSchemaVersionFirst(t *testing.T) {
	data := mustMarshal(t, int8CNN())
	fb.GetRootAsModel(data, 0).MutateSchemaVersion(7)
	r := fb.GetRootAsModel(data, 0)
	var tt fb.Tensor
	r.Tensors(&tt, 0)
	vec := deref(data, fieldPos(t, tt.Table(), 6))
	binary.LittleEndian.PutUint32(data[vec:], 4000000000)
	_, err := Read(data)
	expectErr(t, err, ErrUnsupported, "schema version 7")
}

func TestUnionConsistency(t *testing.T) {
	orig := mustMarshal(t, floatCNN())
	data := append([]byte(nil), orig...)
	r := fb.GetRootAsModel(data, 0)
	var o fb.Operator
	r.Operators(&o, 0)
	o.MutateOptionsType(99)
	_, err := Read(data)
	expectErr(t, err, ErrUnsupported, `op 0 Conv2D "conv": options of unknown type 99`)

	data = append([]byte(nil), orig...)
	r = fb.GetRootAsModel(data, 0)
	r.Operators(&o, 0)
	o.MutateOptionsType(0)
	_, err = Read(data)
	expectErr(t, err, ErrMalformed, "operators[0].options: union value without a type")

	// A type naming a different member: the table is read as that member
	// and the op's options no longer match its code.
	data = append([]byte(nil), orig...)
	r = fb.GetRootAsModel(data, 0)
	r.Operators(&o, 0)
	o.MutateOptionsType(fb.OpOptionsSoftmaxOptions)
	_, err = Read(data)
	expectErr(t, err, ErrInvalid, `op 0 Conv2D "conv": options are SoftmaxOptions, want Conv2DOptions`)
}

func TestBufferReferences(t *testing.T) {
	orig := mustMarshal(t, floatCNN())
	data := append([]byte(nil), orig...)
	r := fb.GetRootAsModel(data, 0)
	var tt fb.Tensor
	r.Tensors(&tt, 2)
	if !tt.MutateBuffer(9999) {
		t.Fatal("tensor 2 has no buffer")
	}
	_, err := Read(data)
	expectErr(t, err, ErrMalformed, "tensors[2]: buffer 9999 out of range")

	ext, err := marshal(floatCNN(), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		off, size uint64
		frag      string
	}{
		{uint64(len(ext)), 16, "runs past the end"},
		{1 << 63, 1 << 63, "runs past the end"},
		{8, 16, "not 16-byte aligned"},
	} {
		data = append([]byte(nil), ext...)
		var b fb.Buffer
		fb.GetRootAsModel(data, 0).Buffers(&b, 1)
		if !b.MutateOffset(c.off) || !b.MutateSize(c.size) {
			t.Fatal("buffer 1 is not external")
		}
		_, err = Read(data)
		expectErr(t, err, ErrMalformed, "buffers[1]: external data", c.frag)
	}
}

// TestSharedObjects: a small file that points many times at one table
// must not decode into a huge model.
func TestSharedObjects(t *testing.T) {
	b := flatbuffers.NewBuilder(0)
	b.StartVector(4, 1000, 4)
	for i := 0; i < 1000; i++ {
		b.PrependInt32(1)
	}
	shape := b.EndVector(1000)
	fb.TensorStart(b)
	fb.TensorAddShape(b, shape)
	fb.TensorAddType(b, fb.TensorTypeFLOAT32)
	tensor := fb.TensorEnd(b)
	const refs = 10000
	b.StartVector(4, refs, 4)
	for i := 0; i < refs; i++ {
		b.PrependUOffsetT(tensor)
	}
	tensors := b.EndVector(refs)
	fb.ModelStart(b)
	fb.ModelAddTensors(b, tensors)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(FileIdentifier))
	data := b.FinishedBytes()
	_, err := Read(data)
	expectErr(t, err, ErrMalformed, "tensors[", "shared or overlapping objects")
}

// TestReadAllocBound builds files of many minimal tables, the shape that
// maximises decoded size per file byte, and checks Read stays within the
// bound FuzzRead enforces.
func TestReadAllocBound(t *testing.T) {
	const n = 20000
	b := flatbuffers.NewBuilder(0)
	tensors := make([]flatbuffers.UOffsetT, n)
	for i := range tensors {
		fb.QuantizationStart(b)
		q := fb.QuantizationEnd(b)
		fb.TensorStart(b)
		fb.TensorAddQuantization(b, q)
		tensors[i] = fb.TensorEnd(b)
	}
	ops := make([]flatbuffers.UOffsetT, n)
	for i := range ops {
		fb.DepthwiseConv2DOptionsStart(b)
		o := fb.DepthwiseConv2DOptionsEnd(b)
		fb.OperatorStart(b)
		fb.OperatorAddOptionsType(b, fb.OpOptionsDepthwiseConv2DOptions)
		fb.OperatorAddOptions(b, o)
		ops[i] = fb.OperatorEnd(b)
	}
	labels := make([]flatbuffers.UOffsetT, n)
	for i := range labels {
		labels[i] = b.CreateString("ab")
	}
	tv, ov, lv := tableVector(b, tensors), tableVector(b, ops), tableVector(b, labels)
	fb.ModelStart(b)
	fb.ModelAddTensors(b, tv)
	fb.ModelAddOperators(b, ov)
	fb.ModelAddLabels(b, lv)
	b.FinishWithFileIdentifier(fb.ModelEnd(b), []byte(FileIdentifier))
	data := b.FinishedBytes()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Read(data)
	runtime.ReadMemStats(&after)
	expectErr(t, err, ErrInvalid) // structurally fine, semantically empty
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d-byte file: Read allocated %d bytes (%.1f× the file)", len(data), alloc, float64(alloc)/float64(len(data)))
	if alloc > maxReadAlloc(len(data)) {
		t.Errorf("Read of %d bytes allocated %d, limit %d", len(data), alloc, maxReadAlloc(len(data)))
	}
}
