// Package npy reads and writes NumPy .npy files (format versions 1.0, 2.0
// and 3.0, little-endian, C order) for the dtypes edgeinfer tensors use:
// uint8, int8, int16, int32 and float32.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Array is an n-dimensional array with raw little-endian data.
type Array struct {
	// Descr is the NumPy dtype string: "|u1", "|i1", "<i2", "<i4" or "<f4".
	Descr string
	Shape []int
	Data  []byte
}

var itemSize = map[string]int{"|u1": 1, "|i1": 1, "<i2": 2, "<i4": 4, "<f4": 4}

var magic = []byte("\x93NUMPY")

// maxHeader bounds the header we accept; real headers are < 200 bytes.
const maxHeader = 1 << 16

// maxElements bounds the element count a file may declare, so that a
// hostile header cannot make us allocate gigabytes.
const maxElements = 1 << 30

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("npy: malformed file")

// Read parses an .npy stream.
func Read(r io.Reader) (*Array, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("%w: reading magic: %v", ErrFormat, err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return nil, fmt.Errorf("%w: not an .npy file (bad magic)", ErrFormat)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: reading header length: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: reading header length: %v", ErrFormat, err)
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > maxHeader {
			return nil, fmt.Errorf("%w: header of %d bytes is too long", ErrFormat, n)
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf("%w: unsupported format version %d.%d", ErrFormat, pre[6], pre[7])
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("%w: reading %d-byte header: %v", ErrFormat, hlen, err)
	}
	a, err := parseHeader(string(hdr))
	if err != nil {
		return nil, err
	}
	n := 1
	for _, d := range a.Shape {
		if d < 0 || (d > 0 && n > maxElements/d) {
			return nil, fmt.Errorf("%w: shape %v is too large", ErrFormat, a.Shape)
		}
		n *= d
	}
	a.Data = make([]byte, n*itemSize[a.Descr])
	if _, err := io.ReadFull(r, a.Data); err != nil {
		return nil, fmt.Errorf("%w: shape %v needs %d data bytes: %v", ErrFormat, a.Shape, len(a.Data), err)
	}
	return a, nil
}

// parseHeader reads the Python dict literal of the header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }.
func parseHeader(h string) (*Array, error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return nil, fmt.Errorf("%w: header %q is not a dict", ErrFormat, h)
	}
	body := h[1 : len(h)-1]
	a := &Array{}
	var haveDescr, haveShape bool
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimSpace(body)
		key, rest, ok := cutQuoted(body)
		if !ok {
			return nil, fmt.Errorf("%w: header key in %q", ErrFormat, body)
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return nil, fmt.Errorf("%w: missing ':' after %q", ErrFormat, key)
		}
		rest = strings.TrimSpace(rest[1:])
		var val string
		switch {
		case strings.HasPrefix(rest, "("):
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated tuple for %q", ErrFormat, key)
			}
			val, rest = rest[:end+1], rest[end+1:]
		case strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, "\""):
			v, r, ok := cutQuoted(rest)
			if !ok {
				return nil, fmt.Errorf("%w: bad string for %q", ErrFormat, key)
			}
			val, rest = v, r
		default:
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		switch key {
		case "descr":
			if _, ok := itemSize[val]; !ok {
				return nil, fmt.Errorf("%w: unsupported dtype %q (want |u1, |i1, <i2, <i4 or <f4)", ErrFormat, val)
			}
			a.Descr, haveDescr = val, true
		case "fortran_order":
			if val != "False" {
				return nil, fmt.Errorf("%w: Fortran-order arrays are not supported", ErrFormat)
			}
		case "shape":
			s, err := parseShape(val)
			if err != nil {
				return nil, err
			}
			a.Shape, haveShape = s, true
		}
		rest = strings.TrimSpace(rest)
		rest = strings.TrimPrefix(rest, ",")
		body = rest
	}
	if !haveDescr || !haveShape {
		return nil, fmt.Errorf("%w: header lacks descr or shape", ErrFormat)
	}
	return a, nil
}

func cutQuoted(s string) (val, rest string, ok bool) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", false
	}
	return s[1 : 1+end], s[2+end:], true
}

func parseShape(t string) ([]int, error) {
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "("), ")"))
	shape := []int{}
	for _, f := range strings.Split(t, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%w: bad dimension %q in shape", ErrFormat, f)
		}
		shape = append(shape, d)
	}
	return shape, nil
}

// Write encodes a as a version 1.0 .npy stream.
func Write(w io.Writer, a *Array) error {
	size, ok := itemSize[a.Descr]
	if !ok {
		return fmt.Errorf("npy: unsupported dtype %q", a.Descr)
	}
	n := 1
	dims := make([]string, len(a.Shape))
	for i, d := range a.Shape {
		n *= d
		dims[i] = strconv.Itoa(d)
	}
	if n*size != len(a.Data) {
		return fmt.Errorf("npy: shape %v needs %d bytes, have %d", a.Shape, n*size, len(a.Data))
	}
	shape := strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", a.Descr, shape)
	// Pad so that the data starts on a 64-byte boundary, ending in '\n'.
	total := len(magic) + 2 + 2 + len(hdr) + 1
	hdr += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var buf bytes.Buffer
	buf.Write(magic)
	buf.Write([]byte{1, 0})
	binary.Write(&buf, binary.LittleEndian, uint16(len(hdr)))
	buf.WriteString(hdr)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(a.Data)
	return err
}

// ReadFile reads an .npy file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// WriteFile writes an .npy file.
func WriteFile(path string, a *Array) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := Write(f, a); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
