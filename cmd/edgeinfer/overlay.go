package main

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// tokenWatch copies the kept-row indices of a model's pruning ops
// (DiverseSelect's int16 output) right after each runs, through the
// interpreter's AfterOp hook, into buffers allocated once: the arena may
// reuse those bytes before Invoke returns.
type tokenWatch struct {
	it     *runtime.Interpreter
	sel    []watchedSelect
	prefix int // rows before the first pruning op's patch tokens
	rows   int // patch tokens there: gh·gw
	gh, gw int // the patch grid
}

type watchedSelect struct {
	op  int
	out int32
	buf []byte
}

// newTokenWatch finds the pruning ops of m and its patch grid. It fails
// for a model without pruning or whose grid it cannot tell.
func newTokenWatch(m *format.Model) (*tokenWatch, error) {
	w := &tokenWatch{}
	for i, op := range m.Ops {
		if op.Code != format.OpDiverseSelect {
			continue
		}
		if len(w.sel) == 0 {
			o := op.Options.(*format.DiverseSelectOptions)
			w.prefix = int(o.Prefix)
			w.rows = int(m.Tensors[op.Inputs[0]].Shape[0]) - w.prefix
		}
		out := op.Outputs[0]
		w.sel = append(w.sel, watchedSelect{op: i, out: out, buf: make([]byte, 2*m.Tensors[out].NumElements())})
	}
	if len(w.sel) == 0 {
		return nil, usagef("--overlay: model %q prunes no tokens (no DiverseSelect op; convert it with --prune)", m.Name)
	}
	var err error
	if w.gh, w.gw, err = patchGrid(m, w.rows); err != nil {
		return nil, fmt.Errorf("--overlay: model %q: %w", m.Name, err)
	}
	return w, nil
}

// afterOp is the interpreter's AfterOp hook. It allocates nothing.
func (w *tokenWatch) afterOp(op int) {
	for i := range w.sel {
		if w.sel[i].op == op {
			copy(w.sel[i].buf, w.it.Tensor(int(w.sel[i].out)).Bytes())
		}
	}
}

// kept returns the grid indices (row-major) of the patch tokens that
// survive every pruning op of the last Invoke, in increasing order of
// row. Pruning ops are taken to be chained: each selects among the rows
// the one before kept.
func (w *tokenWatch) kept() []int {
	rows := make([]int, w.prefix+w.rows) // grid index of each row, −1 for the prefix
	for r := range rows {
		rows[r] = r - w.prefix
	}
	for _, s := range w.sel {
		var next []int
		for k := 0; k+1 < len(s.buf); k += 2 {
			idx := int(int16(binary.LittleEndian.Uint16(s.buf[k:])))
			if idx >= 0 && idx < len(rows) {
				next = append(next, rows[idx])
			}
		}
		rows = next
	}
	var out []int
	for _, g := range rows {
		if g >= 0 {
			out = append(out, g)
		}
	}
	return out
}

// patchGrid returns the grid of a model's patch tokens as its ops state
// it: the GridH/GridW of a token op (AdaptiveTokenPool2D, PoolMixer,
// TokenAwareAvgPool), the output of a patch-embedding convolution of
// input 0, or a 6-D reshape of input 0 (possibly transposed first) into
// [… gh, ph, gw, pw …] blocks, as ONNX exports of ViTs patchify.
func patchGrid(m *format.Model, patches int) (gh, gw int, err error) {
	for _, op := range m.Ops {
		var h, w int32
		switch o := op.Options.(type) {
		case *format.AdaptiveTokenPool2DOptions:
			h, w = o.GridH, o.GridW
		case *format.PoolMixerOptions:
			h, w = o.GridH, o.GridW
		case *format.TokenAwareAvgPoolOptions:
			h, w = o.GridH, o.GridW
		}
		if h > 0 && int(h*w) == patches {
			return int(h), int(w), nil
		}
	}
	if len(m.Inputs) == 0 {
		return 0, 0, fmt.Errorf("no input")
	}
	img := map[int32]bool{m.Inputs[0]: true} // input 0 and its transposes
	ih, iw := inputSize(m)
	for _, op := range m.Ops {
		if len(op.Inputs) == 0 || !img[op.Inputs[0]] {
			continue
		}
		s := m.Tensors[op.Outputs[0]].Shape
		switch op.Code {
		case format.OpTranspose:
			img[op.Outputs[0]] = true
		case format.OpConv2D, format.OpDepthwiseConv2D:
			if len(s) == 4 && int(s[1]*s[2]) == patches {
				return int(s[1]), int(s[2]), nil
			}
		case format.OpReshape:
			for i := 0; len(s) == 6 && i+3 < len(s); i++ {
				if int(s[i]*s[i+1]) == ih && int(s[i+2]*s[i+3]) == iw && int(s[i]*s[i+2]) == patches {
					return int(s[i]), int(s[i+2]), nil
				}
			}
		}
	}
	return 0, 0, fmt.Errorf("cannot tell the grid of its %d patch tokens: no token op names it and no convolution or 6-D reshape of input 0 makes it", patches)
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

// writeOverlay writes a PNG of the image the model saw, scaled up, with
// the kept patches of the watched model's grid framed and the others
// dimmed.
func writeOverlay(path string, pic *overlayImage, w *tokenWatch, kept []int) error {
	src, rect, ih, iw := pic.src, pic.rect, pic.ih, pic.iw
	s := max(1, (overlayMinSide+max(ih, iw)-1)/max(ih, iw))
	ow, oh := s*iw, s*ih
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
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
					r, g, b, _ := src.At(rect.Min.X+x*rect.Dx()/ow, rect.Min.Y+y*rect.Dy()/oh).RGBA()
					c := color.RGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 255}
					if !k {
						c.R, c.G, c.B = uint8(int(c.R)*overlayDim/10), uint8(int(c.G)*overlayDim/10), uint8(int(c.B)*overlayDim/10)
					}
					out.SetRGBA(x, y, c)
				}
			}
		}
	}
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
