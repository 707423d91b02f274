package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// tokenWatch reads, after each Invoke, which patches of the model's grid
// survived its pruning ops (Interpreter.KeptPatches) into a buffer
// allocated once.
type tokenWatch struct {
	it     *runtime.Interpreter
	gh, gw int // the patch grid
	buf    []int
}

// newTokenWatch checks that it's model prunes tokens and has a patch grid
// the token analysis can tell.
func newTokenWatch(it *runtime.Interpreter) (*tokenWatch, error) {
	m := it.Model()
	if _, err := it.TokenBudget(); err == runtime.ErrNoTokenBudget {
		return nil, usagef("--overlay: model %q prunes no tokens (no pruning op; convert it with --prune); for a pose or segmentation model give --task pose or segment", m.Name)
	} else if err != nil {
		return nil, usagef("--overlay: model %q has no run-time token budget: %v", m.Name, err)
	}
	w := &tokenWatch{it: it}
	if w.gh, w.gw = it.PatchGrid(); w.gh == 0 {
		return nil, fmt.Errorf("--overlay: model %q: cannot tell the grid of its patch tokens", m.Name)
	}
	w.buf = make([]int, 0, w.gh*w.gw)
	return w, nil
}

// kept returns the grid indices (row-major) of the patch tokens that
// survived every pruning op of the last Invoke, in increasing order.
func (w *tokenWatch) kept() []int {
	w.buf = w.it.KeptPatches(w.buf[:0])
	return w.buf
}

// inputSize returns the height and width of input 0 (0, 0 if it is not a
// 4-D image).
func inputSize(m *format.Model) (h, w int) {
	if pp := m.Preprocess; pp != nil {
		return int(pp.Height), int(pp.Width)
	}
	s := m.Tensors[m.Inputs[0]].Shape
	switch {
	case len(s) != 4:
		return 0, 0
	case s[1] == 1 || s[1] == 3:
		return int(s[2]), int(s[3])
	default:
		return int(s[1]), int(s[2])
	}
}

// overlayMinSide is the least number of pixels on the longer side of an
// overlay: small inputs are scaled up by a whole factor to reach it.
const overlayMinSide = 224

// overlayFrame is the colour of the frame around a kept patch; pruned
// patches are dimmed to overlayDim tenths, so no pruned pixel matches it.
var overlayFrame = color.RGBA{R: 0, G: 230, B: 64, A: 255}

const overlayDim = 3

// overlayImage is the picture under an overlay: the part src.Rect of
// src that became the model's ih×iw input.
type overlayImage struct {
	src    image.Image
	rect   image.Rectangle
	ih, iw int
}

// overlaySource returns what the model sees: the photo's centre crop with
// the input's aspect ratio (as camera.ConvertImage crops it), or, without
// a photo, input 0 rendered back through the inverse of the model's
// preprocessing.
func overlaySource(it *runtime.Interpreter, photo image.Image) (*overlayImage, error) {
	m := it.Model()
	ih, iw := inputSize(m)
	if ih <= 0 || iw <= 0 {
		return nil, fmt.Errorf("--overlay: input 0 of model %q is not an image", m.Name)
	}
	if photo != nil {
		b := photo.Bounds()
		cw, ch := b.Dx(), b.Dy()
		if cw*ih > ch*iw {
			cw = max(ch*iw/ih, 1)
		} else {
			ch = max(cw*ih/iw, 1)
		}
		x0, y0 := b.Min.X+(b.Dx()-cw)/2, b.Min.Y+(b.Dy()-ch)/2
		return &overlayImage{src: photo, rect: image.Rect(x0, y0, x0+cw, y0+ch), ih: ih, iw: iw}, nil
	}
	img, err := renderInput(it.Input(0), m.Preprocess, ih, iw)
	if err != nil {
		return nil, fmt.Errorf("--overlay: %w", err)
	}
	return &overlayImage{src: img, rect: img.Bounds(), ih: ih, iw: iw}, nil
}

// base returns the image the model saw, scaled up by a whole factor until
// its longer side has at least overlayMinSide pixels (nearest pixel).
func (pic *overlayImage) base() *image.RGBA {
	src, rect, ih, iw := pic.src, pic.rect, pic.ih, pic.iw
	s := max(1, (overlayMinSide+max(ih, iw)-1)/max(ih, iw))
	ow, oh := s*iw, s*ih
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			r, g, b, _ := src.At(rect.Min.X+x*rect.Dx()/ow, rect.Min.Y+y*rect.Dy()/oh).RGBA()
			out.SetRGBA(x, y, color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 255})
		}
	}
	return out
}

// drawTokens frames, on the scaled-up image out, the kept patches of the
// watched model's grid and dims the others.
func drawTokens(out *image.RGBA, w *tokenWatch, kept []int) {
	ow, oh := out.Bounds().Dx(), out.Bounds().Dy()
	isKept := make([]bool, w.gh*w.gw)
	for _, g := range kept {
		isKept[g] = true
	}
	for gy := 0; gy < w.gh; gy++ {
		y0, y1 := gy*oh/w.gh, (gy+1)*oh/w.gh
		for gx := 0; gx < w.gw; gx++ {
			x0, x1 := gx*ow/w.gw, (gx+1)*ow/w.gw
			k := isKept[gy*w.gw+gx]
			th := max(1, min(x1-x0, y1-y0)/16)
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					if k && (x < x0+th || x >= x1-th || y < y0+th || y >= y1-th) {
						out.SetRGBA(x, y, overlayFrame)
						continue
					}
					if !k {
						c := out.RGBAAt(x, y)
						c.R, c.G, c.B = uint8(int(c.R)*overlayDim/10), uint8(int(c.G)*overlayDim/10), uint8(int(c.B)*overlayDim/10)
						out.SetRGBA(x, y, c)
					}
				}
			}
		}
	}
}

// writePNG writes an overlay.
func writePNG(path string, out image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--overlay: %w", err)
	}
	if err := png.Encode(f, out); err != nil {
		f.Close()
		return fmt.Errorf("--overlay %s: %w", path, err)
	}
	return f.Close()
}

// renderInput turns an image input tensor back into pixels: dequantized,
// then x = (x'·Std + Mean)/Scale with the model's preprocessing, or
// stretched from its minimum to its maximum when the model has none.
func renderInput(t *runtime.Tensor, pp *format.Preprocess, h, w int) (*image.RGBA, error) {
	s := t.Shape
	if len(s) != 4 {
		return nil, fmt.Errorf("input %q has shape %v, not an image", t.Name, s)
	}
	nchw := s[1] == 1 || s[1] == 3
	if pp != nil {
		nchw = pp.Layout == format.NCHW
	}
	c := s[3]
	if nchw {
		c = s[1]
	}
	if c != 1 && c != 3 || c*h*w != t.NumElements() {
		return nil, fmt.Errorf("input %q has shape %v, not a %d×%d gray or RGB image", t.Name, s, h, w)
	}
	vals := t.Dequantized(make([]float32, t.NumElements()))
	at := func(ch, y, x int) float32 {
		if nchw {
			return vals[(ch*h+y)*w+x]
		}
		return vals[(y*w+x)*c+ch]
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	pixel := func(ch int, v float32) uint8 {
		var p float32
		if pp != nil {
			mean, std, scale := float32(0), float32(1), pp.Scale
			if len(pp.Mean) > 0 {
				mean = pp.Mean[min(ch, len(pp.Mean)-1)]
			}
			if len(pp.Std) > 0 {
				std = pp.Std[min(ch, len(pp.Std)-1)]
			}
			if scale == 0 {
				scale = 1
			}
			p = (v*std + mean) / scale
		} else if hi > lo {
			p = (v - lo) / (hi - lo) * 255
		}
		return uint8(max(0, min(255, p+0.5)))
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var rgb [3]uint8
			for ch := 0; ch < 3; ch++ {
				rgb[ch] = pixel(min(ch, c-1), at(min(ch, c-1), y, x))
			}
			if pp != nil && pp.Color == format.BGR {
				rgb[0], rgb[2] = rgb[2], rgb[0]
			}
			img.SetRGBA(x, y, color.RGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 255})
		}
	}
	return img, nil
}
