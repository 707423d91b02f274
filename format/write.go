package format

import (
	"fmt"
	"os"
	"strings"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgeinfer/edgeinfer/format/internal/fb"
)

// DataAlign is the alignment, relative to the start of the file, of every
// constant tensor's data in a .eim file.
const DataAlign = 16

// externalThreshold is the total constant size above which Marshal stores
// data after the FlatBuffer instead of inside it (a FlatBuffer cannot
// exceed 2 GiB).
const externalThreshold = 1 << 30

// Marshal validates m and encodes it as a .eim file. Constant data is
// 16-byte aligned relative to the start of the returned slice; models with
// more than 1 GiB of constants keep their data after the FlatBuffer.
func Marshal(m *Model) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	total := 0
	for i := range m.Tensors {
		total += len(m.Tensors[i].Data)
	}
	return marshal(m, total > externalThreshold)
}

// WriteFile marshals m and writes it to path.
func WriteFile(path string, m *Model) error {
	b, err := Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("format: writing model: %w", err)
	}
	return nil
}

// marshal encodes m without validating it. With external set, constant
// data follows the FlatBuffer and buffers hold its offset and size.
func marshal(m *Model, external bool) (out []byte, err error) {
	defer func() {
		// The FlatBuffers builder panics when its buffer would pass 2 GiB
		// (only possible with absurd metadata: constants past 1 GiB go
		// outside the FlatBuffer). Anything else is a bug: let it crash.
		if r := recover(); r != nil {
			if s, ok := r.(string); ok && strings.Contains(s, "2 gigabytes") {
				out, err = nil, invalid("model %q does not fit a FlatBuffer: %s", m.Name, s)
				return
			}
			panic(r)
		}
	}()
	if !external {
		return build(m, nil), nil
	}
	// The FlatBuffer's size does not depend on the offset values as long as
	// they are non-zero (zero fields are omitted), so build once with
	// placeholders to learn where the data starts, then for real.
	offs := make([]uint64, len(m.Tensors))
	for i := range offs {
		offs[i] = 1 << 40
	}
	head := len(build(m, offs))
	pos, end := alignUp(uint64(head), DataAlign), uint64(head)
	for i := range m.Tensors {
		if m.Tensors[i].Data != nil {
			offs[i] = pos
			end = pos + uint64(len(m.Tensors[i].Data))
			pos = alignUp(end, DataAlign)
		}
	}
	fbBytes := build(m, offs)
	if len(fbBytes) != head {
		return nil, fmt.Errorf("format: internal error: FlatBuffer size changed from %d to %d bytes", head, len(fbBytes))
	}
	out = make([]byte, end) // no padding after the last constant
	copy(out, fbBytes)
	for i := range m.Tensors {
		if d := m.Tensors[i].Data; d != nil {
			copy(out[offs[i]:], d)
		}
	}
	return out, nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

// build encodes m. With extOffsets non-nil, tensor i's data is referenced
// at extOffsets[i] instead of being stored inline.
func build(m *Model, extOffsets []uint64) []byte {
	size := 1024
	if extOffsets == nil {
		for i := range m.Tensors {
			size += len(m.Tensors[i].Data) + DataAlign
		}
	}
	b := flatbuffers.NewBuilder(size)

	// Buffers: 0 is the empty sentinel, then one per constant.
	bufs := []flatbuffers.UOffsetT{emptyBuffer(b)}
	bufIndex := make([]uint32, len(m.Tensors))
	for i := range m.Tensors {
		t := &m.Tensors[i]
		if t.Data == nil {
			continue
		}
		var data flatbuffers.UOffsetT
		if extOffsets == nil {
			// Align the vector's first element (not its length prefix).
			b.Prep(DataAlign, len(t.Data))
			data = b.CreateByteVector(t.Data)
		}
		fb.BufferStart(b)
		if extOffsets == nil {
			fb.BufferAddData(b, data)
		} else {
			fb.BufferAddOffset(b, extOffsets[i])
			fb.BufferAddSize(b, uint64(len(t.Data)))
		}
		bufIndex[i] = uint32(len(bufs))
		bufs = append(bufs, fb.BufferEnd(b))
	}
	buffers := tableVector(b, bufs)

	tensors := make([]flatbuffers.UOffsetT, len(m.Tensors))
	for i := range m.Tensors {
		tensors[i] = buildTensor(b, &m.Tensors[i], bufIndex[i])
	}
	tensorVec := tableVector(b, tensors)

	ops := make([]flatbuffers.UOffsetT, len(m.Ops))
	for i := range m.Ops {
		ops[i] = buildOp(b, &m.Ops[i])
	}
	opVec := tableVector(b, ops)

	name := b.CreateString(m.Name)
	desc := b.CreateString(m.Description)
	inputs := int32Vector(b, m.Inputs)
	outputs := int32Vector(b, m.Outputs)
	labels := stringVector(b, m.Labels)
	var pre, plan flatbuffers.UOffsetT
	if p := m.Preprocess; p != nil {
		mean := float32Vector(b, p.Mean)
		std := float32Vector(b, p.Std)
		fb.PreprocessStart(b)
		fb.PreprocessAddWidth(b, p.Width)
		fb.PreprocessAddHeight(b, p.Height)
		fb.PreprocessAddLayout(b, fb.Layout(p.Layout))
		fb.PreprocessAddColor(b, fb.ColorOrder(p.Color))
		fb.PreprocessAddScale(b, p.Scale)
		if mean != 0 {
			fb.PreprocessAddMean(b, mean)
		}
		if std != 0 {
			fb.PreprocessAddStd(b, std)
		}
		pre = fb.PreprocessEnd(b)
	}
	if p := m.MemoryPlan; p != nil {
		var offs flatbuffers.UOffsetT
		if p.Offsets != nil {
			b.StartVector(8, len(p.Offsets), 8)
			for i := len(p.Offsets) - 1; i >= 0; i-- {
				b.PrependInt64(p.Offsets[i])
			}
			offs = b.EndVector(len(p.Offsets))
		}
		fb.MemoryPlanStart(b)
		fb.MemoryPlanAddArenaBytes(b, uint64(p.ArenaBytes))
		if offs != 0 {
			fb.MemoryPlanAddOffsets(b, offs)
		}
		plan = fb.MemoryPlanEnd(b)
	}

	fb.ModelStart(b)
	// Always stored (the default 1 would be omitted) so every file says
	// which version it is.
	b.PrependUint32Slot(0, SchemaVersion, 0)
	fb.ModelAddName(b, name)
	fb.ModelAddDescription(b, desc)
	fb.ModelAddTensors(b, tensorVec)
	fb.ModelAddOperators(b, opVec)
	if inputs != 0 {
		fb.ModelAddInputs(b, inputs)
	}
	if outputs != 0 {
		fb.ModelAddOutputs(b, outputs)
	}
	fb.ModelAddBuffers(b, buffers)
	if labels != 0 {
		fb.ModelAddLabels(b, labels)
	}
	if pre != 0 {
		fb.ModelAddPreprocess(b, pre)
	}
	fb.ModelAddRounding(b, fb.Rounding(m.Rounding))
	if plan != 0 {
		fb.ModelAddMemoryPlan(b, plan)
	}
	fb.ModelAddTask(b, fb.Task(m.Task))
	root := fb.ModelEnd(b)
	// Make the whole buffer a multiple of DataAlign so that alignment
	// relative to its end (how FlatBuffers aligns) is alignment relative
	// to its start.
	b.Prep(DataAlign, 0)
	b.FinishWithFileIdentifier(root, []byte(FileIdentifier))
	return b.FinishedBytes()
}

func emptyBuffer(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	fb.BufferStart(b)
	return fb.BufferEnd(b)
}

func buildTensor(b *flatbuffers.Builder, t *Tensor, buf uint32) flatbuffers.UOffsetT {
	name := b.CreateString(t.Name)
	shape := int32Vector(b, t.Shape)
	var q flatbuffers.UOffsetT
	if t.Quant != nil {
		scale := float32Vector(b, t.Quant.Scale)
		zp := int32Vector(b, t.Quant.ZeroPoint)
		fb.QuantizationStart(b)
		if scale != 0 {
			fb.QuantizationAddScale(b, scale)
		}
		if zp != 0 {
			fb.QuantizationAddZeroPoint(b, zp)
		}
		fb.QuantizationAddAxis(b, t.Quant.Axis)
		q = fb.QuantizationEnd(b)
	}
	fb.TensorStart(b)
	fb.TensorAddName(b, name)
	if shape != 0 {
		fb.TensorAddShape(b, shape)
	}
	fb.TensorAddType(b, fb.TensorType(t.DType))
	if q != 0 {
		fb.TensorAddQuantization(b, q)
	}
	fb.TensorAddBuffer(b, buf)
	return fb.TensorEnd(b)
}

func buildOp(b *flatbuffers.Builder, op *Op) flatbuffers.UOffsetT {
	name := b.CreateString(op.Name)
	inputs := int32Vector(b, op.Inputs)
	outputs := int32Vector(b, op.Outputs)
	optType, opts := buildOptions(b, op.Options)
	fb.OperatorStart(b)
	fb.OperatorAddOpcode(b, fb.OpCode(op.Code))
	fb.OperatorAddVersion(b, op.Version)
	fb.OperatorAddName(b, name)
	if inputs != 0 {
		fb.OperatorAddInputs(b, inputs)
	}
	if outputs != 0 {
		fb.OperatorAddOutputs(b, outputs)
	}
	if optType != fb.OpOptionsNONE {
		fb.OperatorAddOptionsType(b, optType)
		fb.OperatorAddOptions(b, opts)
	}
	return fb.OperatorEnd(b)
}

// buildOptions encodes an op's options as a union member.
func buildOptions(b *flatbuffers.Builder, o Options) (fb.OpOptions, flatbuffers.UOffsetT) {
	switch o := o.(type) {
	case *Conv2DOptions:
		fb.Conv2DOptionsStart(b)
		fb.Conv2DOptionsAddStrideH(b, o.StrideH)
		fb.Conv2DOptionsAddStrideW(b, o.StrideW)
		fb.Conv2DOptionsAddDilationH(b, o.DilationH)
		fb.Conv2DOptionsAddDilationW(b, o.DilationW)
		fb.Conv2DOptionsAddPadTop(b, o.PadTop)
		fb.Conv2DOptionsAddPadBottom(b, o.PadBottom)
		fb.Conv2DOptionsAddPadLeft(b, o.PadLeft)
		fb.Conv2DOptionsAddPadRight(b, o.PadRight)
		fb.Conv2DOptionsAddActivation(b, fb.Activation(o.Activation))
		fb.Conv2DOptionsAddGroups(b, o.Groups)
		return fb.OpOptionsConv2DOptions, fb.Conv2DOptionsEnd(b)
	case *DepthwiseConv2DOptions:
		fb.DepthwiseConv2DOptionsStart(b)
		fb.DepthwiseConv2DOptionsAddStrideH(b, o.StrideH)
		fb.DepthwiseConv2DOptionsAddStrideW(b, o.StrideW)
		fb.DepthwiseConv2DOptionsAddDilationH(b, o.DilationH)
		fb.DepthwiseConv2DOptionsAddDilationW(b, o.DilationW)
		fb.DepthwiseConv2DOptionsAddPadTop(b, o.PadTop)
		fb.DepthwiseConv2DOptionsAddPadBottom(b, o.PadBottom)
		fb.DepthwiseConv2DOptionsAddPadLeft(b, o.PadLeft)
		fb.DepthwiseConv2DOptionsAddPadRight(b, o.PadRight)
		fb.DepthwiseConv2DOptionsAddActivation(b, fb.Activation(o.Activation))
		fb.DepthwiseConv2DOptionsAddDepthMultiplier(b, o.DepthMultiplier)
		return fb.OpOptionsDepthwiseConv2DOptions, fb.DepthwiseConv2DOptionsEnd(b)
	case *FullyConnectedOptions:
		fb.FullyConnectedOptionsStart(b)
		fb.FullyConnectedOptionsAddActivation(b, fb.Activation(o.Activation))
		return fb.OpOptionsFullyConnectedOptions, fb.FullyConnectedOptionsEnd(b)
	case *BatchMatMulOptions:
		fb.BatchMatMulOptionsStart(b)
		fb.BatchMatMulOptionsAddAdjX(b, o.AdjX)
		fb.BatchMatMulOptionsAddAdjY(b, o.AdjY)
		return fb.OpOptionsBatchMatMulOptions, fb.BatchMatMulOptionsEnd(b)
	case *Pool2DOptions:
		fb.Pool2DOptionsStart(b)
		fb.Pool2DOptionsAddFilterH(b, o.FilterH)
		fb.Pool2DOptionsAddFilterW(b, o.FilterW)
		fb.Pool2DOptionsAddStrideH(b, o.StrideH)
		fb.Pool2DOptionsAddStrideW(b, o.StrideW)
		fb.Pool2DOptionsAddPadTop(b, o.PadTop)
		fb.Pool2DOptionsAddPadBottom(b, o.PadBottom)
		fb.Pool2DOptionsAddPadLeft(b, o.PadLeft)
		fb.Pool2DOptionsAddPadRight(b, o.PadRight)
		fb.Pool2DOptionsAddActivation(b, fb.Activation(o.Activation))
		return fb.OpOptionsPool2DOptions, fb.Pool2DOptionsEnd(b)
	case *BinaryOptions:
		fb.BinaryOptionsStart(b)
		fb.BinaryOptionsAddActivation(b, fb.Activation(o.Activation))
		return fb.OpOptionsBinaryOptions, fb.BinaryOptionsEnd(b)
	case *ArgMaxOptions:
		fb.ArgMaxOptionsStart(b)
		fb.ArgMaxOptionsAddAxis(b, o.Axis)
		return fb.OpOptionsArgMaxOptions, fb.ArgMaxOptionsEnd(b)
	case *ResizeBilinearOptions:
		fb.ResizeBilinearOptionsStart(b)
		fb.ResizeBilinearOptionsAddAlignCorners(b, o.AlignCorners)
		fb.ResizeBilinearOptionsAddHalfPixelCenters(b, o.HalfPixelCenters)
		return fb.OpOptionsResizeBilinearOptions, fb.ResizeBilinearOptionsEnd(b)
	case *HardSigmoidOptions:
		fb.HardSigmoidOptionsStart(b)
		fb.HardSigmoidOptionsAddAlpha(b, o.Alpha)
		fb.HardSigmoidOptionsAddBeta(b, o.Beta)
		return fb.OpOptionsHardSigmoidOptions, fb.HardSigmoidOptionsEnd(b)
	case *LayerNormOptions:
		fb.LayerNormOptionsStart(b)
		fb.LayerNormOptionsAddEpsilon(b, o.Epsilon)
		return fb.OpOptionsLayerNormOptions, fb.LayerNormOptionsEnd(b)
	case *SoftmaxOptions:
		fb.SoftmaxOptionsStart(b)
		fb.SoftmaxOptionsAddBeta(b, o.Beta)
		return fb.OpOptionsSoftmaxOptions, fb.SoftmaxOptionsEnd(b)
	case *MeanOptions:
		axes := int32Vector(b, o.Axes)
		fb.MeanOptionsStart(b)
		if axes != 0 {
			fb.MeanOptionsAddAxes(b, axes)
		}
		fb.MeanOptionsAddKeepDims(b, o.KeepDims)
		return fb.OpOptionsMeanOptions, fb.MeanOptionsEnd(b)
	case *GELUOptions:
		fb.GELUOptionsStart(b)
		fb.GELUOptionsAddApproximate(b, o.Approximate)
		return fb.OpOptionsGELUOptions, fb.GELUOptionsEnd(b)
	case *TransposeOptions:
		perm := int32Vector(b, o.Perm)
		fb.TransposeOptionsStart(b)
		if perm != 0 {
			fb.TransposeOptionsAddPerm(b, perm)
		}
		return fb.OpOptionsTransposeOptions, fb.TransposeOptionsEnd(b)
	case *ConcatOptions:
		fb.ConcatOptionsStart(b)
		fb.ConcatOptionsAddAxis(b, o.Axis)
		return fb.OpOptionsConcatOptions, fb.ConcatOptionsEnd(b)
	case *GatherOptions:
		fb.GatherOptionsStart(b)
		fb.GatherOptionsAddAxis(b, o.Axis)
		return fb.OpOptionsGatherOptions, fb.GatherOptionsEnd(b)
	case *SliceOptions:
		begin := int32Vector(b, o.Begin)
		size := int32Vector(b, o.Size)
		fb.SliceOptionsStart(b)
		if begin != 0 {
			fb.SliceOptionsAddBegin(b, begin)
		}
		if size != 0 {
			fb.SliceOptionsAddSize(b, size)
		}
		return fb.OpOptionsSliceOptions, fb.SliceOptionsEnd(b)
	}
	return buildTokenOptions(b, o)
}

// int32Vector writes v, or nothing (offset 0) for a nil slice so that nil
// and empty survive a round trip.
func int32Vector(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	if v == nil {
		return 0
	}
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func float32Vector(b *flatbuffers.Builder, v []float32) flatbuffers.UOffsetT {
	if v == nil {
		return 0
	}
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependFloat32(v[i])
	}
	return b.EndVector(len(v))
}

func stringVector(b *flatbuffers.Builder, v []string) flatbuffers.UOffsetT {
	if v == nil {
		return 0
	}
	offs := make([]flatbuffers.UOffsetT, len(v))
	for i, s := range v {
		offs[i] = b.CreateString(s)
	}
	return tableVector(b, offs)
}

// tableVector writes a vector of offsets (tables or strings).
func tableVector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}
