package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// Converter turns images into input 0 of a model. It reuses its buffers:
// one per goroutine.
type Converter struct {
	t camera.Target
	s camera.Scratch
}

// NewConverter returns a Converter for input 0 of m (see
// camera.TargetFor).
func NewConverter(m *format.Model) (*Converter, error) {
	t, err := camera.TargetFor(m)
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
	// Output names the graph output that was scored.
	Output string `json:"output"`
	// Correct1 and Correct5 count the images whose label ranks first, or
	// among the first five.
	Correct1 int `json:"-"`
	Correct5 int `json:"-"`
	// Pred holds the top-1 class of every image evaluated, in order.
	Pred []int `json:"-"`
}

// ErrClassOutput is wrapped by ClassOutput's errors: no graph output, or
// more than one, can be the class scores.
var ErrClassOutput = errors.New("dataset: cannot tell which output holds the class scores")

// ClassOutput returns the position in m.Outputs of the output that holds
// the scores of a set with the given number of classes: the only output
// with exactly that many elements or, when there is none, the model's only
// output if it has at least that many (a background class, say). Models
// that also output attention maps or features need no flag as long as one
// output alone has the class count. The error wraps ErrClassOutput and
// lists the outputs.
func ClassOutput(m *format.Model, classes int) (int, error) {
	found, n := -1, 0
	for k, t := range m.Outputs {
		if m.Tensors[t].NumElements() == classes {
			found, n = k, n+1
		}
	}
	switch {
	case n == 1:
		return found, nil
	case n > 1:
		return 0, fmt.Errorf("%w: %d outputs of model %q have %d elements, one per class (choose one): %s", ErrClassOutput, n, m.Name, classes, m.OutputList())
	case len(m.Outputs) == 1 && m.Tensors[m.Outputs[0]].NumElements() > classes:
		return 0, nil
	}
	return 0, fmt.Errorf("%w: no output of model %q has %d elements, one per class: %s", ErrClassOutput, m.Name, classes, m.OutputList())
}

// Evaluate runs it on images [offset, offset+limit) of s (limit ≤ 0: to
// the end) and scores the output ClassOutput picks against the labels.
// progress, if not nil, is called after each image.
func Evaluate(it *runtime.Interpreter, s *Set, offset, limit int, progress func(done, total int)) (Accuracy, error) {
	k, err := ClassOutput(it.Model(), len(s.Classes))
	if err != nil {
		return Accuracy{}, err
	}
	return EvaluateOutput(it, s, k, offset, limit, progress)
}

// EvaluateOutput is Evaluate scoring graph output number output. A label
// ranks above every class with a lower score and every equal-scored class
// with a higher index.
func EvaluateOutput(it *runtime.Interpreter, s *Set, output, offset, limit int, progress func(done, total int)) (Accuracy, error) {
	var acc Accuracy
	if offset < 0 || offset > s.Len() {
		return acc, fmt.Errorf("dataset: offset %d out of range [0, %d]", offset, s.Len())
	}
	if output < 0 || output >= it.NumOutputs() {
		return acc, fmt.Errorf("dataset: output %d out of range: model %q has %d", output, it.Model().Name, it.NumOutputs())
	}
	end := s.Len()
	if limit > 0 {
		end = min(end, offset+limit)
	}
	c, err := NewConverter(it.Model())
	if err != nil {
		return acc, err
	}
	out := it.Output(output)
	acc.Output = out.Name
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
