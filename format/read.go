package format

import (
	"fmt"
	"io"
	"os"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgeinfer/edgeinfer/format/internal/fb"
	"github.com/edgeinfer/edgeinfer/quant"
)

// Read decodes and verifies a .eim file. It first checks the raw bytes
// structurally (ErrMalformed), then decodes them, then checks the model
// semantically with Validate (ErrInvalid); files needing a newer reader
// give ErrUnsupported. Constant tensors' Data alias data, which must not be
// modified while the model is in use. Read never panics, whatever data
// holds.
func Read(data []byte) (*Model, error) {
	root, err := verifyStructure(data)
	if err != nil {
		return nil, err
	}
	m, err := decode(data, root)
	if err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadFile reads and verifies the .eim file at path (see Read). On Linux
// (and other Unix systems) the file is mapped read-only instead of read
// into the heap: constant tensors' Data are views of the mapping, so
// weights cost no heap and, where the runtime repacks them, no second
// resident copy (untouched pages are not even read). The Data must not be
// written (the pages are read-only). The mapping is never unmapped: a
// Model's tensors are shared by the models derived from it (pruned
// variants, output selections), so no single Model decides when the
// bytes are dead. A program that loads many models over its life should
// read them with Read instead.
func ReadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("format: reading model: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("format: reading model: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		// Pipes, devices and empty files: read what there is (Read
		// rejects a short file with a clear error).
		data, err := io.ReadAll(io.LimitReader(f, maxUnmappedFile))
		if err != nil {
			return nil, fmt.Errorf("format: reading model: %w", err)
		}
		return readNamed(path, data)
	}
	data, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("format: mapping %s: %w", path, err)
	}
	m, err := readNamed(path, data)
	if err != nil {
		unmapFile(data)
		return nil, err
	}
	m.mapped = data
	return m, nil
}

// maxUnmappedFile bounds what ReadFile reads from something that is not a
// regular file.
const maxUnmappedFile = 1 << 31

func readNamed(path string, data []byte) (*Model, error) {
	m, err := Read(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// decode turns a structurally verified file into a Model.
func decode(data []byte, root uint64) (*Model, error) {
	r := &fb.Model{}
	r.Init(data, flatbuffers.UOffsetT(root))
	m := &Model{
		Name:        string(r.Name()),
		Description: string(r.Description()),
		Inputs:      int32s(r.InputsLength(), r.Inputs, r.Table(), 14),
		Outputs:     int32s(r.OutputsLength(), r.Outputs, r.Table(), 16),
		Rounding:    quant.Rounding(r.Rounding()),
		Task:        Task(r.Task()),
	}

	// Buffers first: tensors refer to them by index.
	nb := r.BuffersLength()
	bufs := make([][]byte, nb)
	var b fb.Buffer
	for i := 0; i < nb; i++ {
		r.Buffers(&b, i)
		d, err := bufferData(data, &b, i)
		if err != nil {
			return nil, err
		}
		bufs[i] = d
	}
	if nb > 0 && bufs[0] != nil && len(bufs[0]) > 0 {
		return nil, malformed("buffers[0]: the sentinel buffer holds %d bytes, want none", len(bufs[0]))
	}

	if n := r.TensorsLength(); n > 0 || hasField(r.Table(), 10) {
		m.Tensors = make([]Tensor, n)
	}
	var t fb.Tensor
	var q fb.Quantization
	for i := range m.Tensors {
		r.Tensors(&t, i)
		mt := &m.Tensors[i]
		mt.Name = string(t.Name())
		mt.Shape = int32s(t.ShapeLength(), t.Shape, t.Table(), 6)
		mt.DType = DType(t.Type())
		if t.Quantization(&q) != nil {
			mt.Quant = &Quantization{
				Scale:     float32s(q.ScaleLength(), q.Scale, q.Table(), 4),
				ZeroPoint: int32s(q.ZeroPointLength(), q.ZeroPoint, q.Table(), 6),
				Axis:      q.Axis(),
			}
		}
		if bi := t.Buffer(); bi != 0 {
			if uint64(bi) >= uint64(nb) {
				return nil, malformed("tensors[%d]: buffer %d out of range (%d buffers)", i, bi, nb)
			}
			mt.Data = bufs[bi]
			if mt.Data == nil {
				mt.Data = []byte{}
			}
		}
	}

	if n := r.OperatorsLength(); n > 0 || hasField(r.Table(), 12) {
		m.Ops = make([]Op, n)
	}
	var o fb.Operator
	for i := range m.Ops {
		r.Operators(&o, i)
		op := &m.Ops[i]
		op.Code = OpCode(o.Opcode())
		op.Version = o.Version()
		op.Name = string(o.Name())
		op.Inputs = int32s(o.InputsLength(), o.Inputs, o.Table(), 10)
		op.Outputs = int32s(o.OutputsLength(), o.Outputs, o.Table(), 12)
		op.Options = decodeOptions(&o)
	}

	if n := r.LabelsLength(); n > 0 || hasField(r.Table(), 20) {
		m.Labels = make([]string, n)
		for i := range m.Labels {
			m.Labels[i] = string(r.Labels(i))
		}
	}
	var p fb.Preprocess
	if r.Preprocess(&p) != nil {
		m.Preprocess = &Preprocess{
			Width:  p.Width(),
			Height: p.Height(),
			Layout: Layout(p.Layout()),
			Color:  ColorOrder(p.Color()),
			Scale:  p.Scale(),
			Mean:   float32s(p.MeanLength(), p.Mean, p.Table(), 14),
			Std:    float32s(p.StdLength(), p.Std, p.Table(), 16),
		}
	}
	var mp fb.MemoryPlan
	if r.MemoryPlan(&mp) != nil {
		plan := &MemoryPlan{ArenaBytes: int64(mp.ArenaBytes())}
		if n := mp.OffsetsLength(); n > 0 || hasField(mp.Table(), 6) {
			plan.Offsets = make([]int64, n)
			for i := range plan.Offsets {
				plan.Offsets[i] = mp.Offsets(i)
			}
		}
		if plan.ArenaBytes < 0 {
			return nil, invalid("memory_plan: arena of %d bytes", mp.ArenaBytes())
		}
		m.MemoryPlan = plan
	}
	return m, nil
}

// bufferData returns buffer i's bytes: inline, or after the FlatBuffer.
func bufferData(data []byte, b *fb.Buffer, i int) ([]byte, error) {
	off, size := b.Offset(), b.Size()
	inline := hasField(b.Table(), 4)
	if !inline && off == 0 && size == 0 {
		return nil, nil
	}
	if inline {
		if off != 0 || size != 0 {
			return nil, malformed("buffers[%d]: both inline data and an external offset/size", i)
		}
		d := b.DataBytes()
		return d[:len(d):len(d)], nil
	}
	if off%DataAlign != 0 {
		return nil, malformed("buffers[%d]: external data at byte %d is not %d-byte aligned", i, off, DataAlign)
	}
	if off > uint64(len(data)) || size > uint64(len(data))-off {
		return nil, malformed("buffers[%d]: external data of %d bytes at byte %d runs past the end of the %d-byte file", i, size, off, len(data))
	}
	return data[off : off+size : off+size], nil
}

// hasField reports whether the table stores the field at vtable offset vo.
func hasField(t flatbuffers.Table, vo flatbuffers.VOffsetT) bool { return t.Offset(vo) != 0 }

// int32s copies a vector of int32: nil when the field is absent, empty
// when it is present and empty.
func int32s(n int, at func(int) int32, t flatbuffers.Table, vo flatbuffers.VOffsetT) []int32 {
	if n == 0 && !hasField(t, vo) {
		return nil
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = at(i)
	}
	return out
}

func float32s(n int, at func(int) float32, t flatbuffers.Table, vo flatbuffers.VOffsetT) []float32 {
	if n == 0 && !hasField(t, vo) {
		return nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = at(i)
	}
	return out
}

// unknownOptions stands for an options table of a union member this build
// does not know (a newer file); Validate reports it as ErrUnsupported.
type unknownOptions struct{ typ uint8 }

func (*unknownOptions) isOptions() {}

func decodeOptions(o *fb.Operator) Options {
	typ := o.OptionsType()
	if typ == fb.OpOptionsNONE {
		return nil
	}
	var t flatbuffers.Table
	o.Options(&t)
	switch typ {
	case fb.OpOptionsConv2DOptions:
		var x fb.Conv2DOptions
		x.Init(t.Bytes, t.Pos)
		return &Conv2DOptions{
			StrideH: x.StrideH(), StrideW: x.StrideW(), DilationH: x.DilationH(), DilationW: x.DilationW(),
			PadTop: x.PadTop(), PadBottom: x.PadBottom(), PadLeft: x.PadLeft(), PadRight: x.PadRight(),
			Activation: Activation(x.Activation()), Groups: x.Groups(),
		}
	case fb.OpOptionsDepthwiseConv2DOptions:
		var x fb.DepthwiseConv2DOptions
		x.Init(t.Bytes, t.Pos)
		return &DepthwiseConv2DOptions{
			Conv2DOptions: Conv2DOptions{
				StrideH: x.StrideH(), StrideW: x.StrideW(), DilationH: x.DilationH(), DilationW: x.DilationW(),
				PadTop: x.PadTop(), PadBottom: x.PadBottom(), PadLeft: x.PadLeft(), PadRight: x.PadRight(),
				Activation: Activation(x.Activation()),
			},
			DepthMultiplier: x.DepthMultiplier(),
		}
	case fb.OpOptionsFullyConnectedOptions:
		var x fb.FullyConnectedOptions
		x.Init(t.Bytes, t.Pos)
		return &FullyConnectedOptions{Activation: Activation(x.Activation())}
	case fb.OpOptionsBatchMatMulOptions:
		var x fb.BatchMatMulOptions
		x.Init(t.Bytes, t.Pos)
		return &BatchMatMulOptions{AdjX: x.AdjX(), AdjY: x.AdjY()}
	case fb.OpOptionsPool2DOptions:
		var x fb.Pool2DOptions
		x.Init(t.Bytes, t.Pos)
		return &Pool2DOptions{
			FilterH: x.FilterH(), FilterW: x.FilterW(), StrideH: x.StrideH(), StrideW: x.StrideW(),
			PadTop: x.PadTop(), PadBottom: x.PadBottom(), PadLeft: x.PadLeft(), PadRight: x.PadRight(),
			Activation: Activation(x.Activation()),
		}
	case fb.OpOptionsBinaryOptions:
		var x fb.BinaryOptions
		x.Init(t.Bytes, t.Pos)
		return &BinaryOptions{Activation: Activation(x.Activation())}
	case fb.OpOptionsArgMaxOptions:
		var x fb.ArgMaxOptions
		x.Init(t.Bytes, t.Pos)
		return &ArgMaxOptions{Axis: x.Axis()}
	case fb.OpOptionsResizeBilinearOptions:
		var x fb.ResizeBilinearOptions
		x.Init(t.Bytes, t.Pos)
		return &ResizeBilinearOptions{AlignCorners: x.AlignCorners(), HalfPixelCenters: x.HalfPixelCenters()}
	case fb.OpOptionsHardSigmoidOptions:
		var x fb.HardSigmoidOptions
		x.Init(t.Bytes, t.Pos)
		return &HardSigmoidOptions{Alpha: x.Alpha(), Beta: x.Beta()}
	case fb.OpOptionsLayerNormOptions:
		var x fb.LayerNormOptions
		x.Init(t.Bytes, t.Pos)
		return &LayerNormOptions{Epsilon: x.Epsilon()}
	case fb.OpOptionsSoftmaxOptions:
		var x fb.SoftmaxOptions
		x.Init(t.Bytes, t.Pos)
		return &SoftmaxOptions{Beta: x.Beta()}
	case fb.OpOptionsMeanOptions:
		var x fb.MeanOptions
		x.Init(t.Bytes, t.Pos)
		return &MeanOptions{Axes: int32s(x.AxesLength(), x.Axes, x.Table(), 4), KeepDims: x.KeepDims()}
	case fb.OpOptionsGELUOptions:
		var x fb.GELUOptions
		x.Init(t.Bytes, t.Pos)
		return &GELUOptions{Approximate: x.Approximate()}
	case fb.OpOptionsTransposeOptions:
		var x fb.TransposeOptions
		x.Init(t.Bytes, t.Pos)
		return &TransposeOptions{Perm: int32s(x.PermLength(), x.Perm, x.Table(), 4)}
	case fb.OpOptionsConcatOptions:
		var x fb.ConcatOptions
		x.Init(t.Bytes, t.Pos)
		return &ConcatOptions{Axis: x.Axis()}
	case fb.OpOptionsGatherOptions:
		var x fb.GatherOptions
		x.Init(t.Bytes, t.Pos)
		return &GatherOptions{Axis: x.Axis()}
	case fb.OpOptionsSliceOptions:
		var x fb.SliceOptions
		x.Init(t.Bytes, t.Pos)
		return &SliceOptions{
			Begin: int32s(x.BeginLength(), x.Begin, x.Table(), 4),
			Size:  int32s(x.SizeLength(), x.Size, x.Table(), 6),
		}
	}
	return decodeTokenOptions(typ, t)
}
