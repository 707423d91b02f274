package live

import (
	"fmt"
	"image/color"
	"strconv"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// Keypoint is one body keypoint of a pose: X and Y are fractions of the
// width and height of the image the model saw (0 left or top, 1 right or
// bottom), Score the model's confidence in [0, 1].
type Keypoint struct {
	Name  string  `json:"name"`
	X     float32 `json:"x"`
	Y     float32 `json:"y"`
	Score float32 `json:"score"`
}

// ClassShare is one class of a segmentation: how many pixels of the class
// map hold it, and which fraction of the map's pixels that is.
type ClassShare struct {
	Index  int     `json:"index"`
	Label  string  `json:"label,omitempty"`
	Pixels int     `json:"pixels"`
	Share  float64 `json:"share"`
}

// COCOKeypoints are the names of the 17 COCO keypoints, in the order
// MoveNet and other COCO-trained pose models output them.
var COCOKeypoints = [17]string{
	"nose", "left_eye", "right_eye", "left_ear", "right_ear",
	"left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
	"left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
}

// PoseMinScore is the least score of a keypoint an overlay draws (and of
// both ends of a limb): the CLI's and the live page's.
const PoseMinScore = 0.3

// COCOLimbs are the pairs of COCO keypoints (indices into COCOKeypoints)
// joined in a drawn skeleton.
var COCOLimbs = [...][2]int{
	{0, 1}, {0, 2}, {1, 3}, {2, 4}, // face
	{5, 6}, {5, 7}, {7, 9}, {6, 8}, {8, 10}, // shoulders, arms
	{5, 11}, {6, 12}, {11, 12}, // torso
	{11, 13}, {13, 15}, {12, 14}, {14, 16}, // legs
}

// classMapClasses is how many classes a class-per-pixel output is counted
// over when the labels name fewer: every uint8 value.
const classMapClasses = 256

// Decoder reads a pose or segmentation model's output after each Invoke,
// into buffers allocated once by NewDecoder: Decode allocates nothing.
// Classification needs no Decoder (TopK).
type Decoder struct {
	task   format.Task
	out    *runtime.Tensor
	labels []string

	// Pose.
	vals []float32
	kps  []Keypoint

	// Segmentation.
	seg      format.SegmentShape
	classMap []int32
	counts   []int
	shares   []ClassShare
}

// NewDecoder sets up decoding of it's output for task (pose or segment;
// see format.Task for the outputs they read) with labels naming the
// keypoints or classes. The error, wrapping format.ErrInvalid, says what
// the task needs when no output of the model fits it.
func NewDecoder(it *runtime.Interpreter, task format.Task, labels []string) (*Decoder, error) {
	m := it.Model()
	if task != format.TaskPose && task != format.TaskSegment {
		return nil, fmt.Errorf("live: no decoder for task %q (pose or segment)", task)
	}
	k, err := m.TaskOutput(task)
	if err != nil {
		return nil, err
	}
	d := &Decoder{task: task, out: it.Output(k), labels: labels}
	if task == format.TaskPose {
		n := d.out.NumElements() / 3
		d.vals = make([]float32, 3*n)
		d.kps = make([]Keypoint, n)
		for i := range d.kps {
			switch {
			case len(labels) == n:
				d.kps[i].Name = labels[i]
			case n == len(COCOKeypoints):
				d.kps[i].Name = COCOKeypoints[i]
			default:
				d.kps[i].Name = strconv.Itoa(i)
			}
		}
		return d, nil
	}
	d.seg, _ = m.SegmentShape(&m.Tensors[m.Outputs[k]])
	classes := d.seg.Classes
	if classes == 0 {
		classes = max(len(labels), classMapClasses)
	}
	d.classMap = make([]int32, d.seg.H*d.seg.W)
	d.counts = make([]int, classes)
	d.shares = make([]ClassShare, 0, classes)
	return d, nil
}

// Decode reads the output of the last Invoke; Keypoints or Classes and
// ClassMap then describe it, until the next Decode.
func (d *Decoder) Decode() {
	if d.task == format.TaskPose {
		v := d.out.Dequantized(d.vals)
		for i := range d.kps {
			d.kps[i].Y, d.kps[i].X, d.kps[i].Score = v[3*i], v[3*i+1], v[3*i+2]
		}
		return
	}
	d.fillClassMap()
	clear(d.counts)
	for _, c := range d.classMap {
		if c >= 0 && int(c) < len(d.counts) {
			d.counts[c]++
		}
	}
	// The classes present, most pixels first (ties: lower index first).
	d.shares = d.shares[:0]
	total := float64(len(d.classMap))
	for c, n := range d.counts {
		if n == 0 {
			continue
		}
		s := ClassShare{Index: c, Pixels: n, Share: float64(n) / total}
		if c < len(d.labels) {
			s.Label = d.labels[c]
		}
		d.shares = append(d.shares, s)
		for j := len(d.shares) - 1; j > 0 && d.shares[j-1].Pixels < n; j-- {
			d.shares[j-1], d.shares[j] = d.shares[j], d.shares[j-1]
		}
	}
}

// Keypoints returns the pose of the last Decode, one keypoint per row of
// the model's output.
func (d *Decoder) Keypoints() []Keypoint { return d.kps }

// Classes returns the classes the last Decode found in the class map, most
// pixels first. Pixels whose class is negative or beyond the classes
// counted (the model's score channels; for a class map, the labels or 256)
// are in no entry.
func (d *Decoder) Classes() []ClassShare { return d.shares }

// ClassMap returns the class of every pixel of the last Decode, row-major
// h×w (the output's resolution, which may be below the input's).
func (d *Decoder) ClassMap() (classes []int32, h, w int) {
	return d.classMap, d.seg.H, d.seg.W
}

// fillClassMap copies a class-per-pixel output into classMap, or takes
// the class of highest score for each pixel (ties: the lower class, as
// ARG_MAX does). Quantized scores are compared as integers: with a
// positive scale their order is the reals' order.
func (d *Decoder) fillClassMap() {
	g, dst := d.seg, d.classMap
	if g.Classes == 0 {
		switch d.out.DType {
		case format.Int32:
			copy(dst, d.out.Int32())
		case format.Int16:
			b := d.out.Bytes()
			for i := range dst {
				dst[i] = int32(int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8))
			}
		case format.UInt8:
			for i, v := range d.out.Bytes() {
				dst[i] = int32(v)
			}
		case format.Int8:
			for i, v := range d.out.Bytes() {
				dst[i] = int32(int8(v))
			}
		}
		return
	}
	// Element (pixel p, class c) is at p·ps + c·cs.
	cs, ps := 1, g.Classes
	if g.NCHW {
		cs, ps = g.H*g.W, 1
	}
	switch d.out.DType {
	case format.Float32:
		argmax(dst, d.out.Float32(), g.Classes, cs, ps)
	case format.Int8:
		argmax(dst, d.out.Int8(), g.Classes, cs, ps)
	case format.UInt8:
		argmax(dst, d.out.Uint8(), g.Classes, cs, ps)
	case format.Int16:
		b := d.out.Bytes()
		for p := range dst {
			best, bi := int16(0), 0
			for c := 0; c < g.Classes; c++ {
				e := 2 * (p*ps + c*cs)
				if v := int16(uint16(b[e]) | uint16(b[e+1])<<8); c == 0 || v > best {
					best, bi = v, c
				}
			}
			dst[p] = int32(bi)
		}
	}
}

// argmax writes, for each pixel p, the class c whose score v[p·ps + c·cs]
// is highest (the first of equal ones).
func argmax[T int8 | uint8 | float32](dst []int32, v []T, classes, cs, ps int) {
	for p := range dst {
		base := p * ps
		best, bi := v[base], 0
		for c := 1; c < classes; c++ {
			if x := v[base+c*cs]; x > best {
				best, bi = x, c
			}
		}
		dst[p] = int32(bi)
	}
}

// MaskColor is class c's colour in a segmentation overlay, not
// premultiplied: Pascal VOC's palette (the bits of c spread over the high
// bits of red, green and blue, so every class below 256 has its own
// colour) at alpha 140 of 255; class 0, VOC's background, is transparent.
// The CLI's overlays and the live page's mask use it.
func MaskColor(c int32) color.NRGBA {
	if c == 0 {
		return color.NRGBA{}
	}
	var rgb [3]uint8
	for j := 0; c > 0 && j < 8; j++ {
		for ch := 0; ch < 3; ch++ {
			rgb[ch] |= uint8(c>>ch&1) << (7 - j)
		}
		c >>= 3
	}
	return color.NRGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 140}
}
