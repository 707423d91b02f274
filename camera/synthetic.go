package camera

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"time"
)

// Pattern names accepted by NewSynthetic.
const (
	PatternBars     = "bars"     // eight vertical bars: white, yellow, cyan, green, magenta, red, blue, black
	PatternGradient = "gradient" // R grows left to right, G top to bottom, B = 128
	PatternChecker  = "checker"  // 8×8-pixel black and white squares
	PatternBox      = "box"      // black frame with a 16×16 white box moving one pixel right per frame
	PatternNoise    = "noise"    // pseudo-random pixels from Seed, different every frame
	PatternSolid    = "solid"    // every pixel Color
)

// BarColors are the colours of PatternBars, left to right.
var BarColors = [8][3]uint8{
	{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
	{255, 0, 255}, {255, 0, 0}, {0, 0, 255}, {0, 0, 0},
}

// SyntheticConfig configures a synthetic source.
type SyntheticConfig struct {
	Pattern string
	Format  Format           // size, pixel format, optional strides and FPS
	Color   [3]uint8         // for PatternSolid
	Seed    uint64           // for PatternNoise
	Frames  int              // stop with ErrEndOfStream after this many frames; 0 = endless
	Drop    int              // skip every Drop-th sequence number (simulated drops); 0 = none
	Clock   func() time.Time // for pacing when Format.FPS > 0; nil = time.Now
}

// Synthetic is a Source of deterministic generated frames. Frame n (from 0)
// has sequence number n (plus skipped numbers when Drop is set) and
// timestamp n/FPS (1/30 s steps when FPS is 0). Without FPS, frames are
// produced as fast as Next is called.
type Synthetic struct {
	cfg    SyntheticConfig
	seq    uint64
	n      int
	closed bool
	start  time.Time
	rgb    []uint8 // one rendered RGB frame, reused
}

// NewSynthetic returns a synthetic source.
func NewSynthetic(cfg SyntheticConfig) (*Synthetic, error) {
	switch cfg.Pattern {
	case PatternBars, PatternGradient, PatternChecker, PatternBox, PatternNoise, PatternSolid:
	default:
		return nil, fmt.Errorf("synthetic pattern %q unknown (bars, gradient, checker, box, noise, solid): %w", cfg.Pattern, ErrBadURI)
	}
	cfg.Format = cfg.Format.WithDefaults()
	if err := cfg.Format.Validate(); err != nil {
		return nil, err
	}
	if cfg.Format.Pixel == Y16 || cfg.Format.Pixel == Y14 {
		return nil, fmt.Errorf("synthetic source cannot generate %v: %w", cfg.Format.Pixel, ErrUnsupportedFormat)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Synthetic{cfg: cfg, start: cfg.Clock()}, nil
}

func openSyntheticURI(rest string) (Source, error) {
	name, p, err := splitQuery(rest)
	if err != nil {
		return nil, err
	}
	cfg := SyntheticConfig{
		Pattern: name,
		Format:  p.rawFormat(320, 240, YUYV),
		Seed:    uint64(p.int("seed", 1, 0, 1<<31-1)),
		Frames:  p.int("frames", 0, 0, 1<<31-1),
		Drop:    p.int("drop", 0, 0, 1<<31-1),
	}
	cfg.Color = [3]uint8{uint8(p.int("r", 0, 0, 255)), uint8(p.int("g", 0, 0, 255)), uint8(p.int("b", 0, 0, 255))}
	if err := p.done(); err != nil {
		return nil, err
	}
	return NewSynthetic(cfg)
}

// Format implements Source.
func (s *Synthetic) Format() Format { return s.cfg.Format }

// Close implements Source.
func (s *Synthetic) Close() error { s.closed = true; return nil }

// Next implements Source.
func (s *Synthetic) Next(ctx context.Context, f *Frame) error {
	if s.closed {
		return fmt.Errorf("synthetic: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("synthetic: waiting for frame: %w", err)
	}
	if s.cfg.Frames > 0 && s.n >= s.cfg.Frames {
		return fmt.Errorf("synthetic: after %d frames: %w", s.n, ErrEndOfStream)
	}
	if s.cfg.Drop > 0 && s.seq > 0 && s.seq%uint64(s.cfg.Drop) == 0 {
		s.seq++
	}
	fm := s.cfg.Format
	if fm.FPS > 0 {
		due := s.start.Add(time.Duration(float64(s.seq) * float64(time.Second) / fm.FPS))
		if d := due.Sub(s.cfg.Clock()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("synthetic: waiting for frame: %w", ctx.Err())
			case <-t.C:
			}
		}
	}
	w, h := fm.Width, fm.Height
	s.rgb = grow(s.rgb, 3*w*h)
	s.render(s.rgb)
	if fm.Pixel.Compressed() {
		img := &image.RGBA{Pix: make([]uint8, 4*w*h), Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
		for i := 0; i < w*h; i++ {
			copy(img.Pix[4*i:4*i+3], s.rgb[3*i:3*i+3])
			img.Pix[4*i+3] = 255
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
			return fmt.Errorf("synthetic: encoding JPEG: %w", err)
		}
		f.setup(fm, [3]int{buf.Len()})
		copy(f.Planes[0], buf.Bytes())
	} else {
		f.setupFormat(fm)
		EncodeRGB(f, s.rgb)
	}
	f.Seq = s.seq
	f.Timestamp = time.Duration(s.seq) * time.Second / 30
	if fm.FPS > 0 {
		f.Timestamp = time.Duration(float64(s.seq) * float64(time.Second) / fm.FPS)
	}
	s.seq++
	s.n++
	return nil
}

// render draws frame s.seq of the pattern as packed RGB.
func (s *Synthetic) render(rgb []uint8) {
	w, h := s.cfg.Format.Width, s.cfg.Format.Height
	rng := s.cfg.Seed*0x9e3779b97f4a7c15 + s.seq*0xbf58476d1ce4e5b9 + 1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c [3]uint8
			switch s.cfg.Pattern {
			case PatternBars:
				c = BarColors[x*8/w]
			case PatternGradient:
				c = [3]uint8{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), 128}
			case PatternChecker:
				if (x/8+y/8)%2 == 0 {
					c = [3]uint8{255, 255, 255}
				}
			case PatternBox:
				bx := int(s.seq) % max(w-16, 1)
				by := (h - 16) / 2
				if x >= bx && x < bx+16 && y >= by && y < by+16 {
					c = [3]uint8{255, 255, 255}
				}
			case PatternNoise:
				rng ^= rng << 13
				rng ^= rng >> 7
				rng ^= rng << 17
				c = [3]uint8{uint8(rng), uint8(rng >> 8), uint8(rng >> 16)}
			case PatternSolid:
				c = s.cfg.Color
			}
			i := 3 * (y*w + x)
			rgb[i], rgb[i+1], rgb[i+2] = c[0], c[1], c[2]
		}
	}
}

// rgb2yuv converts RGB to BT.601 limited-range YCbCr (integer
// approximation).
func rgb2yuv(r, g, b uint8) (y, u, v uint8) {
	R, G, B := int32(r), int32(g), int32(b)
	y = uint8(((66*R + 129*G + 25*B + 128) >> 8) + 16)
	u = uint8(((-38*R - 74*G + 112*B + 128) >> 8) + 128)
	v = uint8(((112*R - 94*G - 18*B + 128) >> 8) + 128)
	return
}

// EncodeRGB writes packed RGB pixels (3 bytes per pixel, width×height of
// f.Format) into f's planes in f's raw pixel format. It is the inverse of
// the converters up to rounding and subsampling; tests and the synthetic
// source use it. Chroma of subsampled formats is taken from the top-left
// pixel of each 2×1 or 2×2 block; Bayer formats keep the pattern's colour
// of each pixel, scaled to 10 bits as v<<2.
func EncodeRGB(f *Frame, rgb []uint8) {
	fm := f.Format
	w, h := fm.Width, fm.Height
	at := func(x, y int) (uint8, uint8, uint8) {
		i := 3 * (y*w + x)
		return rgb[i], rgb[i+1], rgb[i+2]
	}
	p0, s0 := f.Planes[0], fm.Stride[0]
	if bi, ok := fm.Pixel.bayer(); ok {
		for y := 0; y < h; y++ {
			row := p0[y*s0:]
			for x := 0; x < w; x++ {
				r, g, b := at(x, y)
				c := [3]uint8{r, g, b}[bi.pattern[(y&1)*2+(x&1)]]
				v10 := uint16(c) << 2
				switch {
				case bi.packed:
					grp := (x >> 2) * 5
					row[grp+(x&3)] = uint8(v10 >> 2)
					sh := 2 * uint(x&3)
					row[grp+4] = row[grp+4]&^(3<<sh) | uint8(v10&3)<<sh
				case bi.bits == 10:
					v := v10 << uint(fm.BayerShift)
					row[2*x], row[2*x+1] = uint8(v), uint8(v>>8)
				default:
					row[x] = c
				}
			}
		}
		return
	}
	for y := 0; y < h; y++ {
		row := p0[y*s0:]
		for x := 0; x < w; x++ {
			r, g, b := at(x, y)
			yy, _, _ := rgb2yuv(r, g, b)
			cx, cy := x&^1, y&^1
			_, u, v := rgb2yuv(at(cx, cy))
			switch fm.Pixel {
			case YUYV, UYVY:
				_, u, v = rgb2yuv(at(cx, y))
				p := (x >> 1) * 4
				if fm.Pixel == YUYV {
					row[2*x] = yy
					row[p+1], row[p+3] = u, v
				} else {
					row[2*x+1] = yy
					row[p], row[p+2] = u, v
				}
			case NV12, NV21:
				row[x] = yy
				c := f.Planes[1][(y>>1)*fm.Stride[1]+(x>>1)*2:]
				if fm.Pixel == NV12 {
					c[0], c[1] = u, v
				} else {
					c[0], c[1] = v, u
				}
			case I420:
				row[x] = yy
				f.Planes[1][(y>>1)*fm.Stride[1]+(x>>1)] = u
				f.Planes[2][(y>>1)*fm.Stride[2]+(x>>1)] = v
			case RGB24:
				row[3*x], row[3*x+1], row[3*x+2] = r, g, b
			case BGR24:
				row[3*x], row[3*x+1], row[3*x+2] = b, g, r
			case GREY:
				row[x] = luma(r, g, b)
			}
		}
	}
}
