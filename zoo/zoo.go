// Package zoo builds the models edgeinfer tests and benchmarks itself on:
// vision transformers (DeiT-tiny and a small vit-micro) and a small CNN,
// with seeded random weights, calibrated to int8 by package ptq on seeded
// sample images. Everything is deterministic: the same name and seed give
// the same bytes.
package zoo

import (
	"fmt"
	"math"
	"math/rand"
	"sort"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/ptq"
)

// Spec describes one zoo model.
type Spec struct {
	Name        string
	Description string
	build       func(r *rand.Rand) (*format.Model, error)
	// Image is the input's side in pixels.
	Image int
}

// ViTConfig is the shape of a vision transformer.
type ViTConfig struct {
	Image, Patch int
	Dim, Heads   int
	Blocks, MLP  int
	Classes      int
}

// DeiTTiny is DeiT-tiny's shape: 224², patch 16, D 192, 3 heads, 12
// blocks, MLP 768, 1000 classes.
var DeiTTiny = ViTConfig{Image: 224, Patch: 16, Dim: 192, Heads: 3, Blocks: 12, MLP: 768, Classes: 1000}

// ViTMicro is a small ViT for fast tests: 32², patch 8, D 32, 2 heads,
// 2 blocks, MLP 64, 10 classes.
var ViTMicro = ViTConfig{Image: 32, Patch: 8, Dim: 32, Heads: 2, Blocks: 2, MLP: 64, Classes: 10}

var specs = map[string]Spec{
	"deit-tiny": {Name: "deit-tiny", Image: DeiTTiny.Image,
		Description: "DeiT-tiny shape (224², patch 16, D 192, 3 heads, 12 blocks, MLP 768, 1000 classes), seeded weights",
		build:       func(r *rand.Rand) (*format.Model, error) { return BuildViT("deit-tiny", DeiTTiny, r) }},
	"vit-micro": {Name: "vit-micro", Image: ViTMicro.Image,
		Description: "small ViT (32², patch 8, D 32, 2 heads, 2 blocks, MLP 64, 10 classes), seeded weights",
		build:       func(r *rand.Rand) (*format.Model, error) { return BuildViT("vit-micro", ViTMicro, r) }},
	"cnn-micro": {Name: "cnn-micro", Image: 32,
		Description: "small CNN (conv 3×3/2, depthwise 3×3, conv 1×1, average pool, mean, fully connected), seeded weights",
		build:       buildCNNMicro},
}

// Names lists the zoo's models.
func Names() []string {
	var n []string
	for k := range specs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Options control Build.
type Options struct {
	Seed int64
	// Calibration is the number of seeded sample images used to choose
	// activation ranges (default 8).
	Calibration int
	Threads     int
}

// Build returns the int8 model called name and the float model it was
// calibrated from.
func Build(name string, opts Options) (q, f *format.Model, err error) {
	s, ok := specs[name]
	if !ok {
		return nil, nil, fmt.Errorf("zoo: no model %q (have %v)", name, Names())
	}
	if opts.Calibration <= 0 {
		opts.Calibration = 8
	}
	f, err = s.build(rand.New(rand.NewSource(opts.Seed)))
	if err != nil {
		return nil, nil, fmt.Errorf("zoo: %s: %w", name, err)
	}
	f.Description = s.Description
	samples := make([][][]float32, opts.Calibration)
	r := rand.New(rand.NewSource(opts.Seed + 1))
	for i := range samples {
		samples[i] = [][]float32{SampleInput(f, r)}
	}
	ranges, err := ptq.Observe(f, samples, opts.Threads, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("zoo: %s: %w", name, err)
	}
	q, err = ptq.Quantize(f, ranges)
	if err != nil {
		return nil, nil, fmt.Errorf("zoo: %s: %w", name, err)
	}
	return q, f, nil
}

// SampleImage returns a seeded synthetic RGB image of side×side pixels
// (HWC, 0…255): smooth colour gradients, a few rectangles and noise, so
// that activations see structure rather than white noise.
func SampleImage(side int, r *rand.Rand) []uint8 {
	img := make([]uint8, side*side*3)
	var base, grad [3]float64
	for c := 0; c < 3; c++ {
		base[c] = r.Float64() * 255
		grad[c] = (r.Float64() - 0.5) * 4 * 255 / float64(side)
	}
	type rect struct {
		x0, y0, x1, y1 int
		col            [3]float64
	}
	rects := make([]rect, 1+r.Intn(4))
	for i := range rects {
		x0, y0 := r.Intn(side), r.Intn(side)
		rects[i] = rect{x0, y0, x0 + 1 + r.Intn(side/2+1), y0 + 1 + r.Intn(side/2+1),
			[3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}}
	}
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			for c := 0; c < 3; c++ {
				v := base[c] + grad[c]*float64(x+y)/2
				for _, rc := range rects {
					if x >= rc.x0 && x < rc.x1 && y >= rc.y0 && y < rc.y1 {
						v = rc.col[c]
					}
				}
				v += r.NormFloat64() * 8
				img[(y*side+x)*3+c] = uint8(math.Max(0, math.Min(255, math.Round(v))))
			}
		}
	}
	return img
}

// SampleInput returns a seeded sample image preprocessed as input 0 of m
// expects (m must carry Preprocess metadata for an RGB NHWC float input).
func SampleInput(m *format.Model, r *rand.Rand) []float32 {
	pp := m.Preprocess
	img := SampleImage(int(pp.Width), r)
	out := make([]float32, len(img))
	for i, p := range img {
		c := i % 3
		out[i] = (float32(p)*pp.Scale - pick(pp.Mean, c)) / pick(pp.Std, c)
	}
	return out
}

func pick(v []float32, c int) float32 {
	if len(v) == 1 {
		return v[0]
	}
	return v[c]
}

// imagePreprocess is the zoo's input convention: RGB NHWC, x = (p/255 − 0.5)/0.5.
func imagePreprocess(side int) *format.Preprocess {
	return &format.Preprocess{Width: int32(side), Height: int32(side), Layout: format.NHWC, Color: format.RGB,
		Scale: 1.0 / 255, Mean: []float32{0.5}, Std: []float32{0.5}}
}

func classLabels(n int) []string {
	l := make([]string, n)
	for i := range l {
		l[i] = fmt.Sprintf("class %d", i)
	}
	return l
}
