package camera

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/format"
)

// TargetFor describes graph input 0 of m as a conversion target: size,
// layout, channel order and x' = (p·Scale − Mean[c])/Std[c] from the
// model's preprocessing metadata, element type and quantization from the
// input tensor. Cameras, photos (run --image) and datasets (eval,
// calibration) all convert through it, so they agree exactly.
func TargetFor(m *format.Model) (*Target, error) {
	pp := m.Preprocess
	if pp == nil {
		return nil, fmt.Errorf("model %q has no preprocessing metadata, so images and frames cannot be converted into its input", m.Name)
	}
	if len(m.Inputs) == 0 || m.Inputs[0] < 0 || int(m.Inputs[0]) >= len(m.Tensors) {
		return nil, fmt.Errorf("model %q has no input 0", m.Name)
	}
	in := &m.Tensors[m.Inputs[0]]
	t := &Target{Width: int(pp.Width), Height: int(pp.Height), Scale: pp.Scale, Mean: pp.Mean, Std: pp.Std}
	switch pp.Layout {
	case format.NCHW:
		t.Layout = NCHW
	default:
		t.Layout = NHWC
	}
	switch pp.Color {
	case format.BGR:
		t.Color = BGR
	case format.Gray:
		t.Color = Gray
	default:
		t.Color = RGB
	}
	switch in.DType {
	case format.Float32:
		t.DType = Float32
	case format.Int8:
		t.DType = Int8
	case format.UInt8:
		t.DType = Uint8
	default:
		return nil, fmt.Errorf("input %q has dtype %v, which images cannot be converted into", in.Name, in.DType)
	}
	if in.DType != format.Float32 {
		if in.Quant == nil || len(in.Quant.Scale) != 1 || len(in.Quant.ZeroPoint) != 1 {
			return nil, fmt.Errorf("input %q is %v without per-tensor quantization", in.Name, in.DType)
		}
		t.QScale, t.QZeroPoint = in.Quant.Scale[0], in.Quant.ZeroPoint[0]
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("model %q: %w", m.Name, err)
	}
	if t.Size() != in.ByteSize() {
		return nil, fmt.Errorf("model %q: preprocessing makes %d bytes (%d×%d×%d %v), input %q %v holds %d",
			m.Name, t.Size(), t.Width, t.Height, t.Channels(), in.DType, in.Name, in.Shape, in.ByteSize())
	}
	return t, nil
}
