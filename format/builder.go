package format

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Builder constructs a Model op by op. Tests, the model zoo and the
// importers use it; Finish validates the result, so a Builder never hands
// out a model the runtime would reject.
type Builder struct {
	m Model
}

// NewBuilder starts an empty model called name.
func NewBuilder(name string) *Builder {
	return &Builder{m: Model{Name: name}}
}

// Model gives access to the model under construction, for setting metadata
// (Labels, Preprocess, Description, Rounding) and for inspecting tensors.
func (b *Builder) Model() *Model { return &b.m }

// AddTensor appends t and returns its index.
func (b *Builder) AddTensor(t Tensor) int32 {
	b.m.Tensors = append(b.m.Tensors, t)
	return int32(len(b.m.Tensors) - 1)
}

// Tensor returns tensor i of the model under construction.
func (b *Builder) Tensor(i int32) *Tensor { return &b.m.Tensors[i] }

// Activation adds a non-constant tensor. q may be nil for float tensors.
func (b *Builder) Activation(name string, dt DType, shape []int32, q *Quantization) int32 {
	return b.AddTensor(Tensor{Name: name, DType: dt, Shape: append([]int32(nil), shape...), Quant: q})
}

// Input adds a graph input.
func (b *Builder) Input(name string, dt DType, shape []int32, q *Quantization) int32 {
	i := b.Activation(name, dt, shape, q)
	b.m.Inputs = append(b.m.Inputs, i)
	return i
}

// Output marks tensors as graph outputs.
func (b *Builder) Output(ts ...int32) { b.m.Outputs = append(b.m.Outputs, ts...) }

// ConstFloat32 adds a float32 constant.
func (b *Builder) ConstFloat32(name string, shape []int32, v []float32) int32 {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return b.AddTensor(Tensor{Name: name, DType: Float32, Shape: append([]int32(nil), shape...), Data: data})
}

// ConstInt8 adds an int8 constant with quantization q.
func (b *Builder) ConstInt8(name string, shape []int32, v []int8, q *Quantization) int32 {
	data := make([]byte, len(v))
	for i, x := range v {
		data[i] = byte(x)
	}
	return b.AddTensor(Tensor{Name: name, DType: Int8, Shape: append([]int32(nil), shape...), Data: data, Quant: q})
}

// ConstInt32 adds an int32 constant (a bias when q is set, indices or
// paddings when q is nil).
func (b *Builder) ConstInt32(name string, shape []int32, v []int32, q *Quantization) int32 {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(x))
	}
	return b.AddTensor(Tensor{Name: name, DType: Int32, Shape: append([]int32(nil), shape...), Data: data, Quant: q})
}

// Op appends an operator (version 1) and returns its index.
func (b *Builder) Op(code OpCode, name string, opts Options, inputs []int32, outputs ...int32) int {
	b.m.Ops = append(b.m.Ops, Op{
		Code: code, Version: MinVersion(code, opts), Name: name, Options: opts,
		Inputs: append([]int32(nil), inputs...), Outputs: append([]int32(nil), outputs...),
	})
	return len(b.m.Ops) - 1
}

// Finish validates the model and returns it. The Builder must not be used
// afterwards.
func (b *Builder) Finish() (*Model, error) {
	m := &b.m
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("builder %q: %w", m.Name, err)
	}
	return m, nil
}

// PerTensor returns a per-tensor Quantization.
func PerTensor(scale float32, zeroPoint int32) *Quantization {
	return &Quantization{Scale: []float32{scale}, ZeroPoint: []int32{zeroPoint}}
}

// PerAxis returns a symmetric per-axis Quantization (zero points all 0).
func PerAxis(scales []float32, axis int32) *Quantization {
	return &Quantization{Scale: append([]float32(nil), scales...), ZeroPoint: make([]int32, len(scales)), Axis: axis}
}

// Float32s decodes a float32 constant's data.
func (t *Tensor) Float32s() []float32 {
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out
}

// Int32s decodes an int32 constant's data.
func (t *Tensor) Int32s() []int32 {
	out := make([]int32, len(t.Data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out
}
