package format

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// ReadFile maps the file: every constant's Data lies in a read-only
// mapping of that file (not in the heap), and the model equals the one
// Read decodes from the same bytes.
func TestReadFileMapsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.eim")
	if err := WriteFile(path, int8CNN()); err != nil {
		t.Fatal(err)
	}
	m, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Read(raw)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, perms := mappingOf(t, path)
	consts := 0
	for i, tn := range m.Tensors {
		if len(tn.Data) == 0 {
			continue
		}
		consts++
		p := uintptr(unsafe.Pointer(&tn.Data[0]))
		if p < lo || p+uintptr(len(tn.Data)) > hi {
			t.Errorf("tensor %d %q: data at %#x is outside the file's mapping %#x-%#x", i, tn.Name, p, lo, hi)
		}
		if !bytes.Equal(tn.Data, want.Tensors[i].Data) {
			t.Errorf("tensor %d %q: mapped data differ from the file's bytes", i, tn.Name)
		}
	}
	if consts == 0 {
		t.Fatal("the test model has no constant data")
	}
	if !strings.HasPrefix(perms, "r-") {
		t.Errorf("the mapping is %q, want read-only", perms)
	}
}

// mappingOf finds path's mapping in /proc/self/maps.
func mappingOf(t *testing.T, path string) (lo, hi uintptr, perms string) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 6 || fields[len(fields)-1] != path {
			continue
		}
		a, b, _ := strings.Cut(fields[0], "-")
		l, err1 := strconv.ParseUint(a, 16, 64)
		h, err2 := strconv.ParseUint(b, 16, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad maps line %q", s.Text())
		}
		return uintptr(l), uintptr(h), fields[1]
	}
	t.Fatalf("%s is not mapped", path)
	return
}

// What is not a regular file is read, not mapped; an empty file is a
// clear error.
func TestReadFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.eim")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(empty); err == nil || !strings.Contains(err.Error(), "empty.eim") {
		t.Fatalf("empty file: %v", err)
	}
	if _, err := ReadFile(dir); err == nil {
		t.Fatal("a directory read as a model")
	}
}
