package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/quant"
)

// ImportFile reads, verifies and imports a .tflite file. The model is
// named after the file.
func ImportFile(path string) (*format.Model, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	m, err := Import(f, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Import translates a verified TFLite file into a validated model called
// name. Errors name the operator (index and TFLite name) and the reason;
// an operator with no translation wraps ErrUnsupported and lists the
// operators that have one.
func Import(f *File, name string) (*format.Model, error) {
	im := &importer{f: f, b: format.NewBuilder(name)}
	im.ids = make([]int32, len(f.Tensors))
	for i := range im.ids {
		im.ids[i] = -1
	}
	m := im.b.Model()
	m.Description = f.Description
	// LiteRT's CPU path: XNNPACK for convolutions, fully-connected layers
	// and additions, builtin kernels for the rest; uint8 models also
	// average in unsigned arithmetic (see README.md).
	m.Rounding = quant.RoundXNNPACK
	if f.hasUint8() {
		m.Rounding = quant.RoundXNNPACKUint8
	}
	if err := im.inputs(); err != nil {
		return nil, err
	}
	for i := range f.Operators {
		op := &f.Operators[i]
		code := f.OpCodes[op.OpcodeIndex].Builtin
		tr, ok := translators[code]
		if !ok || f.OpCodes[op.OpcodeIndex].Custom != "" && code == opCustom {
			return nil, fmt.Errorf("operator %d (%s): %w operator; supported: %s", i, f.OpName(op), ErrUnsupported, supportedList())
		}
		im.opIndex, im.op, im.opName = i, op, f.OpName(op)
		if err := tr(im); err != nil {
			return nil, fmt.Errorf("operator %d (%s): %w", i, im.opName, err)
		}
	}
	if err := im.outputs(); err != nil {
		return nil, err
	}
	im.preprocess()
	model, err := im.b.Finish()
	if err != nil {
		return nil, fmt.Errorf("%w: imported graph: %w", ErrMalformed, err)
	}
	return model, nil
}

// hasUint8 reports whether any tensor is quantized uint8 (a legacy uint8
// model); a raw uint8 input (MoveNet's image bytes) does not count.
func (f *File) hasUint8() bool {
	for i := range f.Tensors {
		if f.Tensors[i].Type == TypeUInt8 && f.Tensors[i].Quant != nil {
			return true
		}
	}
	return false
}

type importer struct {
	f *File
	b *format.Builder
	// ids maps TFLite tensors to the model's tensors (−1: not yet made).
	ids []int32
	// weights caches weight tensors made with per-channel parameters.
	opIndex int
	op      *Operator
	opName  string
}

// errf reports a problem with the current operator's file contents.
func (im *importer) errf(f string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(f, args...))
}

// unsupportedf reports a valid construct the importer does not translate.
func (im *importer) unsupportedf(f string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(f, args...))
}

// opName names a new op after the current operator and its first output.
func (im *importer) name(suffix string) string {
	n := fmt.Sprintf("op%d_%s", im.opIndex, strings.ToLower(im.opName))
	if len(im.op.Outputs) > 0 {
		n = im.f.Tensors[im.op.Outputs[0]].Name
	}
	if suffix != "" {
		n += "/" + suffix
	}
	return n
}

// dtype maps a TFLite activation type to ours; uint8 becomes int8.
func dtypeOf(t *Tensor) (format.DType, error) {
	switch t.Type {
	case TypeFloat32:
		return format.Float32, nil
	case TypeInt8, TypeUInt8:
		return format.Int8, nil
	case TypeInt32:
		return format.Int32, nil
	}
	return format.DTypeInvalid, fmt.Errorf("%w: tensor %q has type %v", ErrUnsupported, t.Name, t.Type)
}

// quantOf converts t's quantization to ours, shifting uint8 zero points
// by −128.
func quantOf(t *Tensor) *format.Quantization {
	if t.Quant == nil {
		return nil
	}
	q := &format.Quantization{Scale: append([]float32(nil), t.Quant.Scale...), Axis: t.Quant.Dim}
	if len(q.Scale) == 1 {
		q.Axis = 0
	}
	q.ZeroPoint = make([]int32, len(t.Quant.ZeroPoint))
	for c, zp := range t.Quant.ZeroPoint {
		if t.Type == TypeUInt8 {
			zp -= 128
		}
		q.ZeroPoint[c] = int32(zp)
	}
	return q
}

// tensor returns the model tensor for TFLite tensor i, making it on first use.
func (im *importer) tensor(i int32) (int32, error) {
	if id := im.ids[i]; id >= 0 {
		return id, nil
	}
	t := &im.f.Tensors[i]
	dt, err := dtypeOf(t)
	if err != nil {
		if t.Type == TypeInt64 && im.f.data(t) != nil {
			return im.int64Const(i)
		}
		return -1, err
	}
	q := quantOf(t)
	if (dt == format.Int8) && q == nil {
		return -1, im.unsupportedf("tensor %d %q is %v without quantization parameters", i, t.Name, t.Type)
	}
	if dt == format.Int32 && q != nil && len(q.Scale) == 0 {
		q = nil
	}
	data := im.f.data(t)
	if data != nil {
		data = append([]byte(nil), data...)
		if t.Type == TypeUInt8 {
			for j := range data {
				data[j] ^= 0x80 // q − 128
			}
		}
	}
	id := im.b.AddTensor(format.Tensor{Name: t.Name, DType: dt, Shape: shapeOf(t), Quant: q, Data: data})
	im.ids[i] = id
	return id, nil
}

// int64Const converts an int64 constant (shapes, axes, paddings) to int32.
func (im *importer) int64Const(i int32) (int32, error) {
	t := &im.f.Tensors[i]
	data := im.f.data(t)
	v := make([]int32, len(data)/8)
	for j := range v {
		x := int64(binary.LittleEndian.Uint64(data[8*j:]))
		if x < math.MinInt32 || x > math.MaxInt32 {
			return -1, im.unsupportedf("int64 constant %q holds %d, outside int32", t.Name, x)
		}
		v[j] = int32(x)
	}
	id := im.b.ConstInt32(t.Name, shapeOf(t), v, nil)
	im.ids[i] = id
	return id, nil
}

func shapeOf(t *Tensor) []int32 {
	s := append([]int32(nil), t.Shape...)
	if s == nil {
		s = []int32{}
	}
	return s
}

// inputs makes the graph inputs; a quantized uint8 input stays uint8 and
// feeds an exact Quantize to the internal int8 tensor; a raw uint8 input
// (no quantization) becomes a uint8 input with scale 1 and zero point 0,
// which only CAST may read (see cast).
func (im *importer) inputs() error {
	for _, i := range im.f.Inputs {
		t := &im.f.Tensors[i]
		if im.ids[i] >= 0 {
			continue
		}
		if im.f.data(t) != nil {
			return im.errf("graph input %d %q is a constant", i, t.Name)
		}
		if t.Type != TypeUInt8 {
			id, err := im.tensor(i)
			if err != nil {
				return fmt.Errorf("graph input: %w", err)
			}
			im.b.Model().Inputs = append(im.b.Model().Inputs, id)
			continue
		}
		if t.Quant == nil {
			// Raw bytes (an image fed as it is, then CAST to float32):
			// scale 1 and zero point 0 make the value the byte itself.
			id := im.b.Input(t.Name, format.UInt8, shapeOf(t), format.PerTensor(1, 0))
			im.ids[i] = id
			continue
		}
		if len(t.Quant.Scale) != 1 {
			return im.unsupportedf("uint8 graph input %q has %d scales, want one (per-tensor quantization)", t.Name, len(t.Quant.Scale))
		}
		in := im.b.Input(t.Name, format.UInt8, shapeOf(t), format.PerTensor(t.Quant.Scale[0], int32(t.Quant.ZeroPoint[0])))
		id, err := im.tensor(i)
		if err != nil {
			return fmt.Errorf("graph input: %w", err)
		}
		im.b.Tensor(id).Name = t.Name + "/int8"
		im.b.Op(format.OpQuantize, t.Name+"/to_int8", nil, []int32{in}, id)
	}
	return nil
}

// outputs marks the graph outputs; a uint8 output gets an exact Quantize
// from the internal int8 tensor.
func (im *importer) outputs() error {
	for _, i := range im.f.Outputs {
		t := &im.f.Tensors[i]
		id := im.ids[i]
		if id < 0 {
			return im.errf("graph output %d %q is not produced by any operator", i, t.Name)
		}
		if t.Type != TypeUInt8 {
			im.b.Output(id)
			continue
		}
		im.b.Tensor(id).Name = t.Name + "/int8"
		out := im.b.Activation(t.Name, format.UInt8, shapeOf(t), format.PerTensor(t.Quant.Scale[0], int32(t.Quant.ZeroPoint[0])))
		im.b.Op(format.OpQuantize, t.Name+"/to_uint8", nil, []int32{id}, out)
		im.b.Output(out)
	}
	return nil
}

// preprocess records how a photo becomes input 0 when it is an image:
// [1,H,W,3] is RGB, [1,H,W,1] grayscale. Pixels map to the integers the
// TFLite examples feed: q = p for uint8 inputs, q = p − 128 for int8
// ones (with the model's own input parameters, this is
// x = (p·s − Mean)/1 with Mean = s·(zp − offset)); raw uint8 inputs
// (no quantization) take the byte, q = p; float inputs take
// p/127.5 − 1.
func (im *importer) preprocess() {
	m := im.b.Model()
	if len(im.f.Inputs) != 1 {
		return
	}
	t := &im.f.Tensors[im.f.Inputs[0]]
	if len(t.Shape) != 4 || t.Shape[0] != 1 || (t.Shape[3] != 3 && t.Shape[3] != 1) {
		return
	}
	p := &format.Preprocess{Width: t.Shape[2], Height: t.Shape[1], Layout: format.NHWC, Color: format.RGB, Std: []float32{1}}
	if t.Shape[3] == 1 {
		p.Color = format.Gray
	}
	switch {
	case t.Type == TypeFloat32:
		p.Scale, p.Mean, p.Std = 1/127.5, []float32{1}, []float32{1}
	case t.Type == TypeUInt8 && t.Quant == nil:
		p.Scale, p.Mean = 1, []float32{0} // raw bytes: q = p
	case t.Quant != nil && len(t.Quant.Scale) == 1:
		s := t.Quant.Scale[0]
		zp := float32(t.Quant.ZeroPoint[0])
		offset := float32(0)
		if t.Type == TypeInt8 {
			offset = -128
		}
		p.Scale, p.Mean = s, []float32{s * (zp - offset)}
	default:
		return
	}
	m.Preprocess = p
}
