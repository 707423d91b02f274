package format

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unsafe"
)

func TestModelsValid(t *testing.T) {
	for name, mk := range testModels() {
		if err := mk().Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for name, mk := range testModels() {
		m := mk()
		for _, external := range []bool{false, true} {
			var data []byte
			var err error
			if external {
				data, err = marshal(m, true)
			} else {
				data, err = Marshal(m)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, err := Read(data)
			if err != nil {
				t.Fatalf("%s (external %v): %v", name, external, err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("%s (external %v): round trip differs:\n got %+v\nwant %+v", name, external, got, m)
			}
			checkAliasedAligned(t, name, data, got)
		}
	}
}

// checkAliasedAligned checks that constant data points into the file (zero
// copy) at 16-byte aligned offsets from its start.
func checkAliasedAligned(t *testing.T, name string, data []byte, m *Model) {
	t.Helper()
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	consts := 0
	for i := range m.Tensors {
		d := m.Tensors[i].Data
		if d == nil {
			continue
		}
		consts++
		off := uintptr(unsafe.Pointer(unsafe.SliceData(d))) - base
		if off >= uintptr(len(data)) || off+uintptr(len(d)) > uintptr(len(data)) {
			t.Errorf("%s: tensor %d data is not inside the file (copied?)", name, i)
			continue
		}
		if off%DataAlign != 0 {
			t.Errorf("%s: tensor %d %q data at file offset %d, not %d-byte aligned", name, i, m.Tensors[i].Name, off, DataAlign)
		}
		if cap(d) != len(d) {
			t.Errorf("%s: tensor %d data has capacity %d beyond its %d bytes", name, i, cap(d), len(d))
		}
	}
	if consts == 0 {
		t.Errorf("%s: no constants", name)
	}
}

func TestNilAndEmptySurvive(t *testing.T) {
	m := floatMisc()
	m.Labels = []string{}
	m.Description = ""
	m.Tensors[0].Name = ""
	sc := m.Outputs[0]
	m.Tensors[sc].Shape = []int32{} // scalar, empty rather than nil
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels == nil || len(got.Labels) != 0 {
		t.Errorf("empty labels came back as %#v", got.Labels)
	}
	if got.Preprocess != nil || got.MemoryPlan != nil {
		t.Errorf("absent preprocess/plan came back as %v, %v", got.Preprocess, got.MemoryPlan)
	}
	if !reflect.DeepEqual(got, m) {
		t.Error("round trip differs")
	}
	if s := got.Tensors[sc].Shape; s == nil || len(s) != 0 {
		t.Errorf("scalar shape came back as %#v", s)
	}
}

func TestWriteReadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.eim")
	m := int8CNN()
	if err := WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got.mapped = nil // the file mapping the data view (TestReadFileMapsTheFile)
	if !reflect.DeepEqual(got, m) {
		t.Error("ReadFile(WriteFile(m)) differs from m")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.eim")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.eim")
	os.WriteFile(bad, []byte("not a model at all"), 0o644)
	if _, err := ReadFile(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad file: %v, want ErrMalformed", err)
	}
}

func TestMarshalValidates(t *testing.T) {
	m := floatCNN()
	m.Outputs = []int32{int32(len(m.Tensors))}
	if _, err := Marshal(m); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Marshal of an invalid model: %v, want ErrInvalid", err)
	}
}

func BenchmarkRead(b *testing.B) {
	for name, mk := range testModels() {
		data := mustMarshal(b, mk())
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Read(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	m := floatMisc()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}
