package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// MaxElements bounds the element count of any one tensor whose values
// the file does not hold (an activation, a shape computed from the
// graph), and so what a hostile file can make the importer allocate from
// a few bytes: 1<<26 elements, 256 MiB of float32. A weight may be as
// large as the values the file really holds for it (VGG's 4096×25088
// classifier): converting it costs at most 4 bytes per byte held. Tests
// and fuzzing lower it.
var MaxElements = 1 << 26

// NumElements returns the product of the tensor's dims, or an error when a
// dim is negative or the product exceeds both MaxElements and the number
// of values the tensor holds.
func (t *Tensor) NumElements() (int, error) {
	return numElementsUpTo(t.Dims, max(int64(MaxElements), t.held()))
}

// held returns how many values the tensor carries in the file (raw data
// loaded from external data included).
func (t *Tensor) held() int64 {
	if t.RawData != nil {
		if sz := t.DataType.size(); sz > 0 {
			return int64(len(t.RawData) / sz)
		}
		return 0
	}
	return int64(len(t.FloatData) + len(t.Int32Data) + len(t.Int64Data) + len(t.DoubleData) + len(t.Uint64Data) + len(t.StringData))
}

func numElements(dims []int64) (int, error) {
	return numElementsUpTo(dims, int64(MaxElements))
}

func numElementsUpTo(dims []int64, limit int64) (int, error) {
	limit = min(limit, math.MaxInt)
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in %v", d, dims)
		}
		if d > 0 && n > limit/d {
			return 0, fmt.Errorf("shape %v has more than %d elements", dims, limit)
		}
		n *= d
	}
	if n > limit {
		return 0, fmt.Errorf("shape %v has more than %d elements", dims, limit)
	}
	return int(n), nil
}

// Float32s returns the tensor's values as float32 (from float, double,
// float16 or any integer type).
func (t *Tensor) Float32s() ([]float32, error) {
	n, err := t.NumElements()
	if err != nil {
		return nil, t.errf("%w", err)
	}
	if t.IsExternal() && t.RawData == nil {
		return nil, t.errf("external data not loaded")
	}
	out := make([]float32, 0, n)
	switch {
	case t.RawData != nil:
		if t.DataType.size() == 0 {
			return nil, t.errf("raw data of type %v is not supported", t.DataType)
		}
		if len(t.RawData) != n*t.DataType.size() {
			return nil, t.errf("raw data has %d bytes, want %d for %v %v", len(t.RawData), n*t.DataType.size(), t.DataType, t.Dims)
		}
		for i := 0; i < n; i++ {
			out = append(out, rawFloat(t.DataType, t.RawData, i))
		}
		return out, nil
	case t.DataType == Float:
		if len(t.FloatData) != n {
			return nil, t.errf("has %d float_data values, want %d", len(t.FloatData), n)
		}
		return append(out, t.FloatData...), nil
	case t.DataType == Double:
		if len(t.DoubleData) != n {
			return nil, t.errf("has %d double_data values, want %d", len(t.DoubleData), n)
		}
		for _, v := range t.DoubleData {
			out = append(out, float32(v))
		}
		return out, nil
	}
	ints, err := t.Int64s()
	if err != nil {
		return nil, err
	}
	for _, v := range ints {
		out = append(out, float32(v))
	}
	return out, nil
}

// Int64s returns the values of an integer or bool tensor.
func (t *Tensor) Int64s() ([]int64, error) {
	n, err := t.NumElements()
	if err != nil {
		return nil, t.errf("%w", err)
	}
	if t.IsExternal() && t.RawData == nil {
		return nil, t.errf("external data not loaded")
	}
	out := make([]int64, 0, n)
	switch t.DataType {
	case Int8, Uint8, Int16, Uint16, Int32, Int64, Bool, Uint32, Uint64:
	default:
		return nil, t.errf("%v is not an integer type", t.DataType)
	}
	switch {
	case t.RawData != nil:
		if len(t.RawData) != n*t.DataType.size() {
			return nil, t.errf("raw data has %d bytes, want %d for %v %v", len(t.RawData), n*t.DataType.size(), t.DataType, t.Dims)
		}
		for i := 0; i < n; i++ {
			out = append(out, rawInt(t.DataType, t.RawData, i))
		}
	case t.DataType == Int64:
		if len(t.Int64Data) != n {
			return nil, t.errf("has %d int64_data values, want %d", len(t.Int64Data), n)
		}
		out = append(out, t.Int64Data...)
	case t.DataType == Uint32 || t.DataType == Uint64:
		if len(t.Uint64Data) != n {
			return nil, t.errf("has %d uint64_data values, want %d", len(t.Uint64Data), n)
		}
		for _, v := range t.Uint64Data {
			out = append(out, int64(v))
		}
	default:
		if len(t.Int32Data) != n {
			return nil, t.errf("has %d int32_data values, want %d", len(t.Int32Data), n)
		}
		for _, v := range t.Int32Data {
			switch t.DataType {
			case Int8:
				v = int32(int8(v))
			case Uint8:
				v = int32(uint8(v))
			case Int16:
				v = int32(int16(v))
			case Uint16:
				v = int32(uint16(v))
			}
			out = append(out, int64(v))
		}
	}
	return out, nil
}

func (t *Tensor) errf(format string, args ...any) error {
	return fmt.Errorf("tensor %q: %s", t.Name, fmt.Errorf(format, args...))
}

func rawInt(d DataType, b []byte, i int) int64 {
	switch d {
	case Int8:
		return int64(int8(b[i]))
	case Uint8, Bool:
		return int64(b[i])
	case Int16:
		return int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	case Uint16:
		return int64(binary.LittleEndian.Uint16(b[2*i:]))
	case Int32:
		return int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
	case Uint32:
		return int64(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return int64(binary.LittleEndian.Uint64(b[8*i:]))
}

func rawFloat(d DataType, b []byte, i int) float32 {
	switch d {
	case Float:
		return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	case Double:
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
	case Float16:
		return half(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return float32(rawInt(d, b, i))
}

// half converts an IEEE binary16 value.
func half(h uint16) float32 {
	sign := float32(1)
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * float32(math.Ldexp(frac, -24))
	case 0x1f:
		if frac != 0 {
			return float32(math.NaN())
		}
		return sign * float32(math.Inf(1))
	}
	return sign * float32(math.Ldexp(1024+frac, exp-25))
}

// ErrExternal is wrapped by errors about external data files.
var ErrExternal = errors.New("external data")

// LoadExternal reads the bytes of every initializer stored outside the
// model file, from files relative to dir. A location must be a local path
// (no "..", not absolute), must name a regular file, and offset/length must
// lie inside it. Files are opened through an [os.Root] at dir, so neither a
// symbolic link nor a symlinked folder inside dir can lead outside it.
func (m *Model) LoadExternal(dir string) error {
	var root *os.Root
	defer func() {
		if root != nil {
			root.Close()
		}
	}()
	for _, t := range m.Graph.Initializers {
		if !t.IsExternal() {
			continue
		}
		if root == nil {
			var err error
			if root, err = os.OpenRoot(dir); err != nil {
				return fmt.Errorf("%w: initializer %q: %w", ErrExternal, t.Name, err)
			}
		}
		if err := t.loadExternal(root); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tensor) loadExternal(root *os.Root) error {
	var loc string
	var off, length int64 = 0, -1
	for _, kv := range t.External {
		var err error
		switch kv.Key {
		case "location":
			loc = kv.Value
		case "offset":
			off, err = strconv.ParseInt(kv.Value, 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.Value, 10, 64)
		}
		if err != nil || off < 0 {
			return fmt.Errorf("%w: initializer %q: bad %s %q", ErrExternal, t.Name, kv.Key, kv.Value)
		}
	}
	if loc == "" || !filepath.IsLocal(loc) {
		return fmt.Errorf("%w: initializer %q: location %q is not a path inside the model's directory", ErrExternal, t.Name, loc)
	}
	n, err := t.NumElements()
	if err != nil {
		return fmt.Errorf("%w: initializer %q: %w", ErrExternal, t.Name, err)
	}
	want := int64(n) * int64(t.DataType.size())
	if t.DataType.size() == 0 {
		return fmt.Errorf("%w: initializer %q: type %v cannot be stored externally", ErrExternal, t.Name, t.DataType)
	}
	if length >= 0 && length != want {
		return fmt.Errorf("%w: initializer %q: length %d, want %d bytes for %v %v", ErrExternal, t.Name, length, want, t.DataType, t.Dims)
	}
	// Stat before opening: opening a FIFO or a device would block or
	// read forever.
	if st, err := root.Stat(loc); err != nil {
		return fmt.Errorf("%w: initializer %q: %w", ErrExternal, t.Name, err)
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: initializer %q: %s is not a regular file (%v)", ErrExternal, t.Name, loc, st.Mode().Type())
	}
	f, err := root.Open(loc)
	if err != nil {
		return fmt.Errorf("%w: initializer %q: %w", ErrExternal, t.Name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: initializer %q: %w", ErrExternal, t.Name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%w: initializer %q: %s is not a regular file (%v)", ErrExternal, t.Name, loc, st.Mode().Type())
	}
	if off > st.Size() || want > st.Size()-off {
		return fmt.Errorf("%w: initializer %q: bytes [%d, %d) lie outside %s (%d bytes)", ErrExternal, t.Name, off, off+want, loc, st.Size())
	}
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && want == 0) {
		return fmt.Errorf("%w: initializer %q: %w", ErrExternal, t.Name, err)
	}
	t.RawData = buf
	return nil
}

// ReadFile decodes an ONNX model file and loads its external data from the
// file's directory.
func ReadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.LoadExternal(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
