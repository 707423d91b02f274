package camera

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
)

// Layout is the order of a tensor's dimensions.
type Layout uint8

// Layouts.
const (
	NHWC Layout = iota // batch, row, column, channel (TFLite)
	NCHW               // batch, channel, row, column (ONNX)
)

// ColorOrder is the channel order of a tensor.
type ColorOrder uint8

// Channel orders.
const (
	RGB  ColorOrder = iota // three channels R, G, B
	BGR                    // three channels B, G, R
	Gray                   // one channel of BT.601 luma
)

// DType is the element type of a tensor.
type DType uint8

// Element types.
const (
	Uint8   DType = iota // one byte per element
	Int8                 // one byte per element, two's complement
	Float32              // four bytes per element, IEEE 754 little endian
)

// Fit says how a frame whose aspect ratio differs from the target's is
// mapped onto it.
type Fit uint8

// Fit modes.
const (
	// CenterCrop keeps the largest centred region of the frame that has
	// the target's aspect ratio (a centred square for a square target)
	// and scales it to the target size.
	CenterCrop Fit = iota
	// Stretch scales the whole frame to the target size, changing the
	// aspect ratio.
	Stretch
)

// Target describes the input tensor a frame is converted into: one image
// (batch 1) of Height×Width pixels.
//
// The zero value of every field except Width and Height means "identity":
// NHWC, RGB, Scale 1, no mean/std normalisation, uint8, QScale 1,
// QZeroPoint 0 — raw 0..255 pixels in a uint8 NHWC tensor.
//
// Preprocessing, exactly:
//
//  1. Crop (Fit). CenterCrop keeps a centred w×h window of the frame: for a
//     frame of sw×sh and a target of W×H, if sw·H > sh·W then w = ⌊sh·W/H⌋,
//     h = sh, else w = sw, h = ⌊sw·H/W⌋; the window starts at
//     (⌊(sw−w)/2⌋, ⌊(sh−h)/2⌋). For a square target this is the centred
//     square of side min(sw, sh). Stretch uses the whole frame.
//  2. Colour. The window is converted to 8-bit RGB (or luma for Gray).
//     YUV formats use BT.601 limited range with the integer
//     approximation R = (298(Y−16) + 409(Cr−128) + 128) >> 8,
//     G = (298(Y−16) − 100(Cb−128) − 208(Cr−128) + 128) >> 8,
//     B = (298(Y−16) + 516(Cb−128) + 128) >> 8, clamped to 0..255; chroma
//     is taken from the sample covering the pixel (no chroma
//     interpolation). Decoded JPEG/MJPEG and image.YCbCr use the JFIF
//     full-range conversion of image/color. Raw Bayer is demosaiced
//     bilinearly (each missing colour is the mean of the same-colour
//     samples in the pixel's 3×3 neighbourhood, with mirrored borders) at
//     10 bits and reduced to 8 bits as min(255, (v+2)>>2); 8-bit Bayer is
//     demosaiced the same way. Y16 keeps the high byte, Y14 keeps bits
//     6..13. Gray is (77R + 150G + 29B + 128) >> 8 (exact for R=G=B);
//     GREY frames are used as they are.
//  3. Resize. Bilinear interpolation with half-pixel centres: output
//     pixel (ox, oy) samples the window at
//     x = (ox+0.5)·w/W − 0.5, y = (oy+0.5)·h/H − 0.5, clamped to
//     [0, w−1]×[0, h−1], weighting the four neighbouring pixels by their
//     distance; there is no anti-alias filter when shrinking (as OpenCV
//     INTER_LINEAR). Computed in float32 on 0..255 values, not rounded.
//  4. Normalise. For channel c, x' = x·(Scale/Std[c]) − Mean[c]/Std[c]
//     in float32, i.e. (x·Scale − Mean[c])/Std[c]. Mean and Std may be
//     empty (0 and 1), hold one value for all channels, or one per output
//     channel (in output order, so B first for BGR).
//  5. Store. Float32 stores x'. Uint8 and Int8 store
//     q = round(x'/QScale) + QZeroPoint clamped to 0..255 or −128..127,
//     where round is half away from zero.
type Target struct {
	Width, Height int
	Layout        Layout
	Color         ColorOrder
	Fit           Fit
	// Scale multiplies raw 0..255 pixels before Mean and Std apply;
	// 0 means 1. Use 1/255.0 for models that expect 0..1.
	Scale float32
	// Mean and Std are per channel; see the type documentation.
	Mean, Std []float32
	DType     DType
	// QScale and QZeroPoint quantize x' for Uint8 and Int8 targets;
	// QScale 0 means 1.
	QScale     float32
	QZeroPoint int32
}

// Channels returns the number of channels of the tensor: 1 for Gray,
// 3 otherwise.
func (t *Target) Channels() int {
	if t.Color == Gray {
		return 1
	}
	return 3
}

// Size returns the number of bytes of the tensor.
func (t *Target) Size() int {
	n := t.Width * t.Height * t.Channels()
	if t.DType == Float32 {
		n *= 4
	}
	return n
}

// Validate checks the target's fields.
func (t *Target) Validate() error {
	if t.Width <= 0 || t.Height <= 0 || t.Width > maxDim || t.Height > maxDim {
		return fmt.Errorf("camera: target size %dx%d out of range 1..%d: %w", t.Width, t.Height, maxDim, ErrUnsupportedFormat)
	}
	if t.Layout > NCHW {
		return fmt.Errorf("camera: target layout %d unknown: %w", t.Layout, ErrUnsupportedFormat)
	}
	if t.Color > Gray {
		return fmt.Errorf("camera: target colour order %d unknown: %w", t.Color, ErrUnsupportedFormat)
	}
	if t.DType > Float32 {
		return fmt.Errorf("camera: target dtype %d unknown: %w", t.DType, ErrUnsupportedFormat)
	}
	if t.Fit > Stretch {
		return fmt.Errorf("camera: target fit %d unknown: %w", t.Fit, ErrUnsupportedFormat)
	}
	c := t.Channels()
	if n := len(t.Mean); n != 0 && n != 1 && n != c {
		return fmt.Errorf("camera: target has %d mean values for %d channels: %w", n, c, ErrUnsupportedFormat)
	}
	if n := len(t.Std); n != 0 && n != 1 && n != c {
		return fmt.Errorf("camera: target has %d std values for %d channels: %w", n, c, ErrUnsupportedFormat)
	}
	for i, s := range t.Std {
		if s == 0 || s != s {
			return fmt.Errorf("camera: target std[%d] is %v: %w", i, s, ErrUnsupportedFormat)
		}
	}
	if t.QScale < 0 || t.QScale != t.QScale {
		return fmt.Errorf("camera: target quantization scale %v is not positive: %w", t.QScale, ErrUnsupportedFormat)
	}
	return nil
}

// Scratch holds the buffers Convert reuses between calls. The zero value is
// ready to use; keep one per conversion loop (it is not safe for concurrent
// use).
type Scratch struct {
	px []uint8 // the cropped window, 8-bit, 1 or 3 channels

	// resize tables, valid for key
	key      [5]int
	xi, yi   []int32 // left/top neighbour
	xf, yf   []float32
	xi1, yi1 []int32 // right/bottom neighbour

	jpeg []byte // MJPEG frame with default Huffman tables inserted

	rows [3][]int32 // unpacked Bayer rows
	rowY [3]int     // which frame row each holds
}

// Convert converts frame f into the tensor described by t, writing
// t.Size() bytes at the start of dst. It allocates nothing once s has grown
// to the frame and target sizes, except for MJPEG/JPEG frames, which are
// decoded with image/jpeg. See Target for the exact preprocessing.
func Convert(dst []byte, f *Frame, t *Target, s *Scratch) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if len(dst) < t.Size() {
		return fmt.Errorf("camera: tensor buffer has %d bytes, target %dx%dx%d needs %d: %w", len(dst), t.Width, t.Height, t.Channels(), t.Size(), ErrShortFrame)
	}
	fm := f.Format.WithDefaults()
	if fm.Pixel.Compressed() {
		if len(f.Planes) == 0 || len(f.Planes[0]) == 0 {
			return fmt.Errorf("camera: frame %d: empty %v frame: %w", f.Seq, fm.Pixel, ErrShortFrame)
		}
		data := f.Planes[0]
		if fm.Pixel == MJPEG {
			data = withHuffmanTables(data, &s.jpeg)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err == nil {
			err = checkImageSize(fm.Pixel.String(), cfg.Width, cfg.Height)
		}
		if err != nil {
			return fmt.Errorf("camera: frame %d: %v header: %w", f.Seq, fm.Pixel, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("camera: frame %d: decoding %v: %w", f.Seq, fm.Pixel, err)
		}
		return ConvertImage(dst, img, t, s)
	}
	g := *f
	g.Format = fm
	if err := g.Validate(); err != nil {
		return err
	}
	x0, y0, w, h := t.Window(fm.Width, fm.Height)
	c := t.Channels()
	s.px = grow(s.px, w*h*c)
	if err := unpack(s.px, &g, x0, y0, w, h, c == 1, s); err != nil {
		return err
	}
	resizeStore(dst, s, w, h, t)
	return nil
}

// ConvertImage converts a decoded image into the tensor described by t with
// the same crop, resize and normalisation as Convert. Pixels are taken as
// premultiplied RGBA (transparent areas become black). It allocates nothing
// for *image.YCbCr, *image.RGBA, *image.NRGBA and *image.Gray once s has
// grown; other image types go through the image.Image interface.
func ConvertImage(dst []byte, img image.Image, t *Target, s *Scratch) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if len(dst) < t.Size() {
		return fmt.Errorf("camera: tensor buffer has %d bytes, target %dx%dx%d needs %d: %w", len(dst), t.Width, t.Height, t.Channels(), t.Size(), ErrShortFrame)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx() > 4*maxDim || b.Dy() > 4*maxDim {
		return fmt.Errorf("camera: image size %dx%d out of range: %w", b.Dx(), b.Dy(), ErrUnsupportedFormat)
	}
	x0, y0, w, h := t.Window(b.Dx(), b.Dy())
	c := t.Channels()
	s.px = grow(s.px, w*h*c)
	unpackImage(s.px, img, b.Min.X+x0, b.Min.Y+y0, w, h, c == 1)
	resizeStore(dst, s, w, h, t)
	return nil
}

// Window returns the part of a sw×sh frame that the conversion reads: w×h
// pixels from (x0, y0), after Fit (see Target).
func (t *Target) Window(sw, sh int) (x0, y0, w, h int) {
	w, h = sw, sh
	if t.Fit == CenterCrop {
		if sw*t.Height > sh*t.Width {
			w = sh * t.Width / t.Height
		} else {
			h = sw * t.Height / t.Width
		}
		w = max(w, 1)
		h = max(h, 1)
	}
	return (sw - w) / 2, (sh - h) / 2, w, h
}

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// resizeTable fills idx0/idx1/frac for mapping n output samples onto src
// input samples with half-pixel centres.
func resizeTable(i0, i1 []int32, frac []float32, src, n int) {
	scale := float64(src) / float64(n)
	for o := 0; o < n; o++ {
		x := (float64(o)+0.5)*scale - 0.5
		if x < 0 {
			x = 0
		}
		if x > float64(src-1) {
			x = float64(src - 1)
		}
		fl := math.Floor(x)
		a := int32(fl)
		b := a + 1
		if int(b) > src-1 {
			b = int32(src - 1)
		}
		i0[o], i1[o], frac[o] = a, b, float32(x-fl)
	}
}

// resizeStore resamples the w×h window in s.px into dst.
func resizeStore(dst []byte, s *Scratch, w, h int, t *Target) {
	W, H, C := t.Width, t.Height, t.Channels()
	key := [5]int{w, h, W, H, 1}
	if s.key != key {
		s.xi, s.xi1, s.xf = grow(s.xi, W), grow(s.xi1, W), grow(s.xf, W)
		s.yi, s.yi1, s.yf = grow(s.yi, H), grow(s.yi1, H), grow(s.yf, H)
		resizeTable(s.xi, s.xi1, s.xf, w, W)
		resizeTable(s.yi, s.yi1, s.yf, h, H)
		s.key = key
	}
	// Per output channel affine a·x + b, and the source channel feeding it.
	var a, bb [3]float32
	var srcC [3]int
	scale := t.Scale
	if scale == 0 {
		scale = 1
	}
	for k := 0; k < C; k++ {
		mean, std := float32(0), float32(1)
		if len(t.Mean) == 1 {
			mean = t.Mean[0]
		} else if len(t.Mean) > k {
			mean = t.Mean[k]
		}
		if len(t.Std) == 1 {
			std = t.Std[0]
		} else if len(t.Std) > k {
			std = t.Std[k]
		}
		a[k] = scale / std
		bb[k] = -mean / std
		srcC[k] = k
		if t.Color == BGR {
			srcC[k] = 2 - k
		}
	}
	qs := t.QScale
	if qs == 0 {
		qs = 1
	}
	inv := 1 / qs
	zp := t.QZeroPoint
	qmin, qmax := int32(0), int32(255)
	if t.DType == Int8 {
		qmin, qmax = -128, 127
	}
	px := s.px
	plane := W * H
	for oy := 0; oy < H; oy++ {
		r0 := int(s.yi[oy]) * w * C
		r1 := int(s.yi1[oy]) * w * C
		fy := s.yf[oy]
		for ox := 0; ox < W; ox++ {
			c0 := int(s.xi[ox]) * C
			c1 := int(s.xi1[ox]) * C
			fx := s.xf[ox]
			for k := 0; k < C; k++ {
				sc := srcC[k]
				p00 := float32(px[r0+c0+sc])
				p01 := float32(px[r0+c1+sc])
				p10 := float32(px[r1+c0+sc])
				p11 := float32(px[r1+c1+sc])
				top := p00 + (p01-p00)*fx
				bot := p10 + (p11-p10)*fx
				v := top + (bot-top)*fy
				xn := v*a[k] + bb[k]
				var idx int
				if t.Layout == NHWC {
					idx = (oy*W+ox)*C + k
				} else {
					idx = k*plane + oy*W + ox
				}
				switch t.DType {
				case Float32:
					binary.LittleEndian.PutUint32(dst[4*idx:], math.Float32bits(xn))
				default:
					q := quantize(xn*inv, zp, qmin, qmax)
					dst[idx] = byte(q)
				}
			}
		}
	}
}

// quantize returns round(v)+zp clamped to [qmin, qmax], rounding half away
// from zero.
func quantize(v float32, zp, qmin, qmax int32) int32 {
	if v != v {
		return max(min(zp, qmax), qmin)
	}
	if v > 1<<20 {
		v = 1 << 20
	} else if v < -(1 << 20) {
		v = -(1 << 20)
	}
	var r int32
	if v >= 0 {
		r = int32(v + 0.5)
	} else {
		r = -int32(-v + 0.5)
	}
	q := r + zp
	if q < qmin {
		return qmin
	}
	if q > qmax {
		return qmax
	}
	return q
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// yuv2rgb converts one BT.601 limited-range sample to RGB.
func yuv2rgb(y, u, v uint8) (r, g, b uint8) {
	c := 298 * (int32(y) - 16)
	d := int32(u) - 128
	e := int32(v) - 128
	return clamp8((c + 409*e + 128) >> 8), clamp8((c - 100*d - 208*e + 128) >> 8), clamp8((c + 516*d + 128) >> 8)
}

// luma returns the BT.601 luma of an RGB pixel.
func luma(r, g, b uint8) uint8 {
	return uint8((77*uint32(r) + 150*uint32(g) + 29*uint32(b) + 128) >> 8)
}

// put stores one RGB pixel at position i of dst (3 or 1 channels).
func put(dst []uint8, i int, gray bool, r, g, b uint8) {
	if gray {
		dst[i] = luma(r, g, b)
		return
	}
	dst[3*i], dst[3*i+1], dst[3*i+2] = r, g, b
}

// unpack converts the w×h window at (x0, y0) of f into 8-bit RGB or luma.
func unpack(dst []uint8, f *Frame, x0, y0, w, h int, gray bool, s *Scratch) error {
	fm := f.Format
	p0 := f.Planes[0]
	s0 := fm.Stride[0]
	if bi, ok := fm.Pixel.bayer(); ok {
		demosaic(dst, f, bi, x0, y0, w, h, gray, s)
		return nil
	}
	i := 0
	switch fm.Pixel {
	case YUYV, UYVY:
		yo, uo, vo := 0, 1, 3
		if fm.Pixel == UYVY {
			yo, uo, vo = 1, 0, 2
		}
		for y := y0; y < y0+h; y++ {
			row := p0[y*s0:]
			for x := x0; x < x0+w; x++ {
				p := (x >> 1) * 4
				r, g, b := yuv2rgb(row[2*x+yo], row[p+uo], row[p+vo])
				put(dst, i, gray, r, g, b)
				i++
			}
		}
	case NV12, NV21:
		p1, s1 := f.Planes[1], fm.Stride[1]
		uo, vo := 0, 1
		if fm.Pixel == NV21 {
			uo, vo = 1, 0
		}
		for y := y0; y < y0+h; y++ {
			row := p0[y*s0:]
			crow := p1[(y>>1)*s1:]
			for x := x0; x < x0+w; x++ {
				p := (x >> 1) * 2
				r, g, b := yuv2rgb(row[x], crow[p+uo], crow[p+vo])
				put(dst, i, gray, r, g, b)
				i++
			}
		}
	case I420:
		p1, p2 := f.Planes[1], f.Planes[2]
		s1, s2 := fm.Stride[1], fm.Stride[2]
		for y := y0; y < y0+h; y++ {
			row := p0[y*s0:]
			urow := p1[(y>>1)*s1:]
			vrow := p2[(y>>1)*s2:]
			for x := x0; x < x0+w; x++ {
				r, g, b := yuv2rgb(row[x], urow[x>>1], vrow[x>>1])
				put(dst, i, gray, r, g, b)
				i++
			}
		}
	case RGB24, BGR24:
		ro, bo := 0, 2
		if fm.Pixel == BGR24 {
			ro, bo = 2, 0
		}
		for y := y0; y < y0+h; y++ {
			row := p0[y*s0:]
			for x := x0; x < x0+w; x++ {
				put(dst, i, gray, row[3*x+ro], row[3*x+1], row[3*x+bo])
				i++
			}
		}
	case GREY, Y16, Y14:
		for y := y0; y < y0+h; y++ {
			row := p0[y*s0:]
			for x := x0; x < x0+w; x++ {
				var v uint8
				switch fm.Pixel {
				case GREY:
					v = row[x]
				case Y16:
					v = row[2*x+1]
				default:
					v = uint8(min(binary.LittleEndian.Uint16(row[2*x:])>>6, 255))
				}
				if gray {
					dst[i] = v
				} else {
					dst[3*i], dst[3*i+1], dst[3*i+2] = v, v, v
				}
				i++
			}
		}
	default:
		return fmt.Errorf("camera: converting %v: %w", fm.Pixel, ErrUnsupportedFormat)
	}
	return nil
}

// rawSample returns the 10-bit Bayer sample at (x, y).
func rawSample(p []byte, stride int, bi bayerInfo, shift int, x, y int) int32 {
	row := p[y*stride:]
	switch {
	case bi.packed:
		g := (x >> 2) * 5
		lo := (row[g+4] >> (2 * uint(x&3))) & 3
		return int32(row[g+(x&3)])<<2 | int32(lo)
	case bi.bits == 10:
		return int32(binary.LittleEndian.Uint16(row[2*x:])>>uint(shift)) & 0x3ff
	}
	return int32(row[x]) << 2
}

// mirror reflects coordinate v into [0, n) keeping its parity.
func mirror(v, n int) int {
	if v < 0 {
		return -v
	}
	if v >= n {
		return 2*(n-1) - v
	}
	return v
}

// demosaic converts a window of a Bayer frame with bilinear interpolation:
// each missing colour is the rounded mean of the same-colour samples in
// the 3×3 neighbourhood (the 4 cross or 4 diagonal neighbours at R and B
// sites, the 2 horizontal or 2 vertical ones at G sites), with mirrored
// borders. Raw rows are unpacked once into s.rows.
func demosaic(dst []uint8, f *Frame, bi bayerInfo, x0, y0, w, h int, gray bool, s *Scratch) {
	fm := f.Format
	H := fm.Height
	for k := range s.rows {
		s.rows[k] = grow(s.rows[k], w+2)
		s.rowY[k] = -1
	}
	i := 0
	for y := y0; y < y0+h; y++ {
		up := s.bayerRow(f, bi, mirror(y-1, H), x0, w)
		mid := s.bayerRow(f, bi, y, x0, w)
		dn := s.bayerRow(f, bi, mirror(y+1, H), x0, w)
		pr := bi.pattern[(y&1)*2:]     // colours of this row
		po := bi.pattern[((y+1)&1)*2:] // colours of the rows above and below
		for x := x0; x < x0+w; x++ {
			c := x - x0 + 1
			own := pr[x&1]
			var rgb [3]int32
			rgb[own] = mid[c]
			if own == 1 { // G site
				rgb[pr[(x+1)&1]] = (mid[c-1] + mid[c+1] + 1) >> 1
				rgb[po[x&1]] = (up[c] + dn[c] + 1) >> 1
			} else { // R or B site
				rgb[1] = (up[c] + dn[c] + mid[c-1] + mid[c+1] + 2) >> 2
				rgb[2-own] = (up[c-1] + up[c+1] + dn[c-1] + dn[c+1] + 2) >> 2
			}
			put(dst, i, gray, to8(rgb[0]), to8(rgb[1]), to8(rgb[2]))
			i++
		}
	}
}

// to8 reduces a 10-bit sample to 8 bits, rounding.
func to8(v int32) uint8 { return uint8(min((v+2)>>2, 255)) }

// bayerRow returns raw row y (10-bit samples) for columns x0-1 .. x0+w,
// mirrored at the frame edges, unpacking it unless one of the three row
// buffers already holds it.
func (s *Scratch) bayerRow(f *Frame, bi bayerInfo, y, x0, w int) []int32 {
	slot := -1
	for k, ry := range s.rowY {
		if ry == y {
			return s.rows[k]
		}
		if slot < 0 || s.rowY[k] < s.rowY[slot] {
			slot = k
		}
	}
	fm := f.Format
	row := f.Planes[0][y*fm.Stride[0]:]
	buf := s.rows[slot]
	W := fm.Width
	switch {
	case bi.packed:
		for i := range buf {
			x := mirror(x0-1+i, W)
			g := (x >> 2) * 5
			buf[i] = int32(row[g+(x&3)])<<2 | int32(row[g+4]>>(2*uint(x&3)))&3
		}
	case bi.bits == 10:
		sh := uint(fm.BayerShift)
		for i := range buf {
			x := mirror(x0-1+i, W)
			buf[i] = int32(binary.LittleEndian.Uint16(row[2*x:])>>sh) & 0x3ff
		}
	default:
		for i := range buf {
			buf[i] = int32(row[mirror(x0-1+i, W)]) << 2
		}
	}
	s.rowY[slot] = y
	return buf
}

// unpackImage converts a w×h window at (x0, y0) (absolute coordinates) of
// img into 8-bit RGB or luma.
func unpackImage(dst []uint8, img image.Image, x0, y0, w, h int, gray bool) {
	i := 0
	switch m := img.(type) {
	case *image.YCbCr:
		for y := y0; y < y0+h; y++ {
			for x := x0; x < x0+w; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				put(dst, i, gray, r, g, b)
				i++
			}
		}
	case *image.RGBA:
		for y := y0; y < y0+h; y++ {
			for x := x0; x < x0+w; x++ {
				o := m.PixOffset(x, y)
				put(dst, i, gray, m.Pix[o], m.Pix[o+1], m.Pix[o+2])
				i++
			}
		}
	case *image.NRGBA:
		for y := y0; y < y0+h; y++ {
			for x := x0; x < x0+w; x++ {
				o := m.PixOffset(x, y)
				a := m.Pix[o+3]
				put(dst, i, gray, premul(m.Pix[o], a), premul(m.Pix[o+1], a), premul(m.Pix[o+2], a))
				i++
			}
		}
	case *image.Gray:
		for y := y0; y < y0+h; y++ {
			for x := x0; x < x0+w; x++ {
				v := m.Pix[m.PixOffset(x, y)]
				if gray {
					dst[i] = v
				} else {
					dst[3*i], dst[3*i+1], dst[3*i+2] = v, v, v
				}
				i++
			}
		}
	default:
		for y := y0; y < y0+h; y++ {
			for x := x0; x < x0+w; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				put(dst, i, gray, uint8(r>>8), uint8(g>>8), uint8(b>>8))
				i++
			}
		}
	}
}

// premul multiplies an 8-bit colour value by alpha a (0..255), rounding.
func premul(v, a uint8) uint8 {
	return uint8((uint32(v)*uint32(a) + 127) / 255)
}
