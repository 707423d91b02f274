// Package format defines edgeinfer's model: the in-memory graph (Model,
// Tensor, Op) that builders, importers and the runtime share, and its file
// form, the .eim FlatBuffer described by schema/edgeinfer.fbs.
//
// A Model read from a file has been verified (see Read); its constant
// tensor data aliases the file's bytes, so a model can be used straight
// from an mmap'd file without copying weights.
package format

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/quant"
)

// DType is a tensor element type.
type DType uint8

// Element types. The values are the schema's TensorType values.
const (
	DTypeInvalid DType = 0
	Int8         DType = 1
	UInt8        DType = 2
	Int16        DType = 3
	Int32        DType = 4
	Float32      DType = 5
)

// Size returns the size of one element in bytes (0 for an invalid type).
func (d DType) Size() int {
	switch d {
	case Int8, UInt8:
		return 1
	case Int16:
		return 2
	case Int32, Float32:
		return 4
	}
	return 0
}

// Range returns the integer range of an integer type.
func (d DType) Range() (lo, hi int32) {
	switch d {
	case Int8:
		return quant.Int8Min, quant.Int8Max
	case UInt8:
		return quant.UInt8Min, quant.UInt8Max
	case Int16:
		return quant.Int16Min, quant.Int16Max
	case Int32:
		return -1 << 31, 1<<31 - 1
	}
	return 0, 0
}

func (d DType) String() string {
	switch d {
	case Int8:
		return "int8"
	case UInt8:
		return "uint8"
	case Int16:
		return "int16"
	case Int32:
		return "int32"
	case Float32:
		return "float32"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// ParseDType is the inverse of DType.String.
func ParseDType(s string) (DType, error) {
	for d := Int8; d <= Float32; d++ {
		if d.String() == s {
			return d, nil
		}
	}
	return DTypeInvalid, fmt.Errorf("unknown dtype %q", s)
}

// Quantization describes how a tensor's integers map to reals:
// real = Scale[c]·(q − ZeroPoint[c]). With one scale the tensor is
// per-tensor quantized; with several, element c along Axis uses Scale[c].
type Quantization struct {
	Scale     []float32
	ZeroPoint []int32
	Axis      int32
}

// PerTensor returns the single parameters of a per-tensor quantization.
func (q *Quantization) PerTensor() quant.Params {
	return quant.Params{Scale: q.Scale[0], ZeroPoint: q.ZeroPoint[0]}
}

// Tensor is a value in the graph: a constant (Data != nil) or an
// activation whose memory the runtime plans.
type Tensor struct {
	Name  string
	Shape []int32
	DType DType
	// Quant is nil for float32 tensors and plain integer tensors (indices).
	Quant *Quantization
	// Data holds a constant's little-endian contents, len = NumElements·DType.Size().
	Data []byte
}

// NumElements returns the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= int(d)
	}
	return n
}

// ByteSize returns the tensor's size in bytes.
func (t *Tensor) ByteSize() int { return t.NumElements() * t.DType.Size() }

// IsConst reports whether the tensor is a constant.
func (t *Tensor) IsConst() bool { return t.Data != nil }

// Op is one operator application. Inputs and outputs index Model.Tensors;
// an optional input that is absent is −1.
type Op struct {
	Code    OpCode
	Version uint16
	Name    string
	Inputs  []int32
	Outputs []int32
	// Options holds the op's typed attributes (a pointer to one of the
	// *Options types), or nil for ops without attributes.
	Options Options
}

// Model is a whole graph: tensors, the ops in execution order, the graph's
// inputs and outputs, and metadata.
type Model struct {
	Name        string
	Description string
	Tensors     []Tensor
	Ops         []Op
	Inputs      []int32
	Outputs     []int32
	// Rounding is the requantization rounding the model was calibrated with.
	Rounding quant.Rounding
	Labels   []string
	// Preprocess says how to turn a photo or a camera frame into input 0;
	// nil when the model does not say.
	Preprocess *Preprocess
	// MemoryPlan is an optional offline plan (see MemoryPlan).
	MemoryPlan *MemoryPlan
	// Task says how the outputs are read (TaskUnspecified: as class
	// scores); Validate checks that an output fits it.
	Task Task

	mapped []byte // the file mapping constants' Data view (ReadFile), or nil
}

// MemoryPlan is an arena layout computed ahead of time: Offsets[i] is the
// byte offset of tensor i in the arena, or −1 for tensors the plan does
// not place (constants). The runtime checks it before trusting it.
type MemoryPlan struct {
	ArenaBytes int64
	Offsets    []int64
}

// Layout is the memory order of an image tensor.
type Layout uint8

// Image layouts.
const (
	NHWC Layout = 0
	NCHW Layout = 1
)

func (l Layout) String() string {
	if l == NCHW {
		return "NCHW"
	}
	return "NHWC"
}

// ColorOrder is the channel order an image input expects.
type ColorOrder uint8

// Channel orders.
const (
	RGB  ColorOrder = 0
	BGR  ColorOrder = 1
	Gray ColorOrder = 2
)

func (c ColorOrder) String() string {
	switch c {
	case BGR:
		return "BGR"
	case Gray:
		return "gray"
	}
	return "RGB"
}

// Preprocess describes how raw pixels p in [0, 255] become input values:
// x = (p·Scale − Mean[c]) / Std[c], then quantized with the input tensor's
// parameters when the input is an integer tensor. Mean and Std have one
// entry per channel, or one for all channels.
type Preprocess struct {
	Width, Height int32
	Layout        Layout
	Color         ColorOrder
	Scale         float32
	Mean          []float32
	Std           []float32
}
