package dataset

import (
	"encoding/binary"
	"fmt"
	"image"
	"math"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// Target describes graph input 0 of m as a camera conversion target, from
// the model's preprocessing metadata (x' = (p·Scale − Mean[c])/Std[c] on
// raw pixels p) and the input tensor's type and quantization. Cameras,
// run --image and eval all convert through it, so they agree exactly.
func Target(m *format.Model) (*camera.Target, error) {
	pp := m.Preprocess
	if pp == nil {
		return nil, fmt.Errorf("model %q has no preprocessing metadata, so images cannot be converted into its input", m.Name)
	}
	if len(m.Inputs) == 0 {
		return nil, fmt.Errorf("model %q has no inputs", m.Name)
	}
	in := &m.Tensors[m.Inputs[0]]
	t := &camera.Target{Width: int(pp.Width), Height: int(pp.Height), Scale: pp.Scale, Mean: pp.Mean, Std: pp.Std}
	switch pp.Layout {
	case format.NCHW:
		t.Layout = camera.NCHW
	default:
		t.Layout = camera.NHWC
	}
	switch pp.Color {
	case format.BGR:
		t.Color = camera.BGR
	case format.Gray:
		t.Color = camera.Gray
	default:
		t.Color = camera.RGB
	}
	switch in.DType {
	case format.Float32:
		t.DType = camera.Float32
	case format.Int8:
		t.DType = camera.Int8
	case format.UInt8:
		t.DType = camera.Uint8
	default:
		return nil, fmt.Errorf("input %q has dtype %v, which images cannot be converted into", in.Name, in.DType)
	}
	if in.DType != format.Float32 {
		if in.Quant == nil || len(in.Quant.Scale) != 1 {
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

// Converter turns images into input 0 of a model. It reuses its buffers:
// one per goroutine.
type Converter struct {
	t camera.Target
	s camera.Scratch
}

// NewConverter returns a Converter for input 0 of m (see Target).
func NewConverter(m *format.Model) (*Converter, error) {
	t, err := Target(m)
	if err != nil {
		return nil, err
	}
	return &Converter{t: *t}, nil
}

// Convert writes img, preprocessed, into dst (the input tensor's bytes).
func (c *Converter) Convert(dst []byte, img image.Image) error {
	return camera.ConvertImage(dst, img, &c.t, &c.s)
}

// Floats converts images [offset, offset+count) of s for a float32 model
// input, one []float32 per image (the calibration samples of package ptq).
func (c *Converter) Floats(s *Set, offset, count int) ([][]float32, error) {
	if c.t.DType != camera.Float32 {
		return nil, fmt.Errorf("dataset: model input is not float32")
	}
	if offset < 0 || count < 0 || offset+count > s.Len() {
		return nil, fmt.Errorf("dataset: images [%d, %d) out of range: the set has %d", offset, offset+count, s.Len())
	}
	buf := make([]byte, c.t.Size())
	out := make([][]float32, count)
	for i := range out {
		img, err := s.Image(offset + i)
		if err != nil {
			return nil, err
		}
		if err := c.Convert(buf, img); err != nil {
			return nil, fmt.Errorf("dataset: %s: %w", s.Source(offset+i), err)
		}
		v := make([]float32, len(buf)/4)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
		}
		out[i] = v
	}
	return out, nil
}

// Accuracy is the result of Evaluate.
type Accuracy struct {
	Top1 float64 `json:"top1"`
	Top5 float64 `json:"top5"`
	N    int     `json:"n"`
	// Correct1 and Correct5 count the images whose label ranks first, or
	// among the first five.
	Correct1 int `json:"-"`
	Correct5 int `json:"-"`
	// Pred holds the top-1 class of every image evaluated, in order.
	Pred []int `json:"-"`
}

// Evaluate runs it on images [offset, offset+limit) of s (limit ≤ 0: to
// the end) and scores output 0 against the labels. A label ranks above
// every class with a lower score and every equal-scored class with a
// higher index. progress, if not nil, is called after each image.
func Evaluate(it *runtime.Interpreter, s *Set, offset, limit int, progress func(done, total int)) (Accuracy, error) {
	var acc Accuracy
	if offset < 0 || offset > s.Len() {
		return acc, fmt.Errorf("dataset: offset %d out of range [0, %d]", offset, s.Len())
	}
	end := s.Len()
	if limit > 0 {
		end = min(end, offset+limit)
	}
	c, err := NewConverter(it.Model())
	if err != nil {
		return acc, err
	}
	out := it.Output(0)
	scores := make([]float32, out.NumElements())
	if len(scores) < len(s.Classes) {
		return acc, fmt.Errorf("dataset: model output %q has %d values for %d classes", out.Name, len(scores), len(s.Classes))
	}
	dst := it.Input(0).Bytes()
	for i := offset; i < end; i++ {
		img, err := s.Image(i)
		if err != nil {
			return acc, err
		}
		if err := c.Convert(dst, img); err != nil {
			return acc, fmt.Errorf("dataset: %s: %w", s.Source(i), err)
		}
		if err := it.Invoke(); err != nil {
			return acc, err
		}
		out.Dequantized(scores)
		label := s.Label(i)
		rank, best := 0, 0
		for k, v := range scores {
			if v > scores[label] || (v == scores[label] && k < label) {
				rank++
			}
			if v > scores[best] {
				best = k
			}
		}
		acc.Pred = append(acc.Pred, best)
		if rank == 0 {
			acc.Correct1++
		}
		if rank < 5 {
			acc.Correct5++
		}
		acc.N++
		if progress != nil {
			progress(acc.N, end-offset)
		}
	}
	if acc.N > 0 {
		acc.Top1 = float64(acc.Correct1) / float64(acc.N)
		acc.Top5 = float64(acc.Correct5) / float64(acc.N)
	}
	return acc, nil
}
