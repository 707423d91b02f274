package npy

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, a := range []*Array{
		{Descr: "<f4", Shape: []int{2, 3}, Data: make([]byte, 24)},
		{Descr: "|i1", Shape: []int{5}, Data: []byte{1, 2, 3, 4, 255}},
		{Descr: "|u1", Shape: []int{}, Data: []byte{7}},
		{Descr: "<i4", Shape: []int{1, 1, 2}, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0}},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		if (buf.Len()-len(a.Data))%64 != 0 {
			t.Errorf("%v: data starts at %d, not 64-aligned", a.Shape, buf.Len()-len(a.Data))
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("round trip: got %+v, want %+v", b, a)
		}
	}
}

func TestReadNumpyHeader(t *testing.T) {
	// Header as numpy 1.x writes it for np.zeros((1, 2), np.int8).
	hdr := "{'descr': '|i1', 'fortran_order': False, 'shape': (1, 2), }"
	hdr += string(bytes.Repeat([]byte(" "), (64-(10+len(hdr)+1)%64)%64)) + "\n"
	raw := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), 0)
	raw = append(raw, hdr...)
	raw = append(raw, 9, 250)
	a, err := Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if a.Descr != "|i1" || !reflect.DeepEqual(a.Shape, []int{1, 2}) || !bytes.Equal(a.Data, []byte{9, 250}) {
		t.Errorf("got %+v", a)
	}
}

func TestReadErrors(t *testing.T) {
	var good bytes.Buffer
	Write(&good, &Array{Descr: "<f4", Shape: []int{4}, Data: make([]byte, 16)})
	cases := map[string][]byte{
		"empty":     nil,
		"magic":     []byte("NOTNUMPY........"),
		"truncated": good.Bytes()[:good.Len()-1],
		"dtype":     bytes.Replace(good.Bytes(), []byte("<f4"), []byte("<f8"), 1),
		"fortran":   bytes.Replace(good.Bytes(), []byte("False"), []byte("True "), 1),
		"badtuple":  bytes.Replace(good.Bytes(), []byte("(4,)"), []byte("(4x)"), 1),
	}
	for name, raw := range cases {
		if _, err := Read(bytes.NewReader(raw)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	var good bytes.Buffer
	Write(&good, &Array{Descr: "<f4", Shape: []int{2, 2}, Data: make([]byte, 16)})
	f.Add(good.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err == nil && len(a.Data) > len(b) {
			t.Fatalf("read %d data bytes from a %d-byte input", len(a.Data), len(b))
		}
	})
}
