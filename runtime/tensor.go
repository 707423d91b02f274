package runtime

import (
	"fmt"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/quant"
)

// Tensor is a view of one tensor of an Interpreter: an arena slice for
// activations, the model's read-only bytes for constants. The views stay
// valid for the Interpreter's lifetime; writing to a constant is a bug.
type Tensor struct {
	Name  string
	Shape []int
	DType format.DType
	// Params are the per-tensor quantization parameters (zero for float
	// tensors and for per-channel quantized constants).
	Params quant.Params
	data   []byte
}

// Bytes returns the tensor's raw little-endian contents.
func (t *Tensor) Bytes() []byte { return t.data }

// NumElements returns the number of elements.
func (t *Tensor) NumElements() int { return len(t.data) / t.DType.Size() }

// Int8 returns the contents as int8 values. It panics unless DType is Int8.
func (t *Tensor) Int8() []int8 {
	t.mustBe(format.Int8)
	return asInt8(t.data)
}

// Uint8 returns the contents as uint8 values. It panics unless DType is UInt8.
func (t *Tensor) Uint8() []uint8 {
	t.mustBe(format.UInt8)
	return t.data
}

// Int32 returns the contents as int32 values. It panics unless DType is Int32.
func (t *Tensor) Int32() []int32 {
	t.mustBe(format.Int32)
	return asInt32(t.data)
}

// Float32 returns the contents as float32 values. It panics unless DType
// is Float32.
func (t *Tensor) Float32() []float32 {
	t.mustBe(format.Float32)
	return asFloat32(t.data)
}

// Dequantized writes the tensor's real values into dst (len NumElements)
// and returns it; float tensors are copied as they are.
func (t *Tensor) Dequantized(dst []float32) []float32 {
	switch t.DType {
	case format.Float32:
		copy(dst, t.Float32())
	case format.Int8:
		for i, q := range t.Int8() {
			dst[i] = t.Params.Dequantize(int32(q))
		}
	case format.UInt8:
		for i, q := range t.data {
			dst[i] = t.Params.Dequantize(int32(q))
		}
	case format.Int16:
		for i := range dst {
			q := int16(uint16(t.data[2*i]) | uint16(t.data[2*i+1])<<8)
			dst[i] = t.Params.Dequantize(int32(q))
		}
	case format.Int32:
		for i, q := range t.Int32() {
			dst[i] = float32(q)
		}
	}
	return dst
}

// SetReal writes real values into the tensor, the inverse of Dequantized:
// float32 tensors take them as they are, int8 and uint8 tensors quantized
// with the tensor's parameters (rounding half away from zero, clamped).
// src must hold NumElements values; other types are an error.
func (t *Tensor) SetReal(src []float32) error {
	if len(src) != t.NumElements() {
		return fmt.Errorf("runtime: %d values for tensor %q of %d elements", len(src), t.Name, t.NumElements())
	}
	switch t.DType {
	case format.Float32:
		copy(t.Float32(), src)
	case format.Int8, format.UInt8:
		lo, hi := t.DType.Range()
		for i, v := range src {
			t.data[i] = byte(t.Params.Quantize(v, lo, hi))
		}
	default:
		return fmt.Errorf("runtime: tensor %q is %v: real values go into float32, int8 or uint8 tensors", t.Name, t.DType)
	}
	return nil
}

func (t *Tensor) mustBe(d format.DType) {
	if t.DType != d {
		panic(fmt.Sprintf("runtime: tensor %q is %v, not %v", t.Name, t.DType, d))
	}
}

func asInt8(b []byte) []int8 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

func asInt32(b []byte) []int32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
}

func asFloat32(b []byte) []float32 {
	if len(b) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// aligned reports whether b starts on an n-byte boundary.
func aligned(b []byte, n uintptr) bool {
	return len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%n == 0
}
