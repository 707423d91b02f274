package camera

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Open opens the camera named by uri. Schemes:
//
//	v4l2:///dev/video0?w=640&h=480&fmt=YUYV&fps=15&buffers=4
//	    A V4L2 capture device (Linux). The driver may adjust the size;
//	    Format reports what was negotiated. Single-plane and MPLANE
//	    devices are both handled.
//	pipe:CMD ARGS...?w=640&h=480&fmt=I420[&stride=N&cstride=N&fps=30]
//	    Raw frames read back to back from the standard output of a child
//	    process (split on spaces, no shell); stride and cstride give padded
//	    luma and chroma row lengths when the producer aligns rows, e.g.
//	    "pipe:rpicam-vid -t 0 --codec yuv420 --width 640 --height 480 -o -?w=640&h=480&fmt=I420".
//	    The query after the last '?' gives the frame format.
//	spi:arducam?spi=/dev/spidev0.0&i2c=1&w=320&h=240
//	    An ArduCAM OV2640 SPI module (JPEG frames), on the board only.
//	spi:lepton?spi=/dev/spidev0.0
//	    A FLIR Lepton 2.x thermal camera (80×60 Y14 frames), on the board only.
//	replay:PATH[?loop=1&realtime=1]
//	    A file written by Recorder.
//	synthetic:NAME?w=320&h=240&fmt=YUYV[&fps=30&frames=N&drop=K&seed=S]
//	    A deterministic test pattern: bars, gradient, checker, box (a
//	    box moving one pixel per frame), noise, or solid (&r=&g=&b=).
//	file:PHOTO[?loop=1]
//	    A JPEG, PNG, BMP or GIF image, delivered as RGB24 frames.
//	dir:FOLDER[?loop=1]
//	    The JPEG, PNG and BMP images of a folder in name order, as RGB24.
//
// Every parameter is checked: an unknown parameter or a bad value is an
// error wrapping ErrBadURI.
func Open(uri string) (Source, error) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("camera: %q: missing scheme (v4l2:, pipe:, spi:, replay:, synthetic:, file:, dir:): %w", uri, ErrBadURI)
	}
	var src Source
	var err error
	switch scheme {
	case "v4l2":
		src, err = openV4L2URI(uri)
	case "pipe":
		src, err = openPipeURI(rest)
	case "spi":
		src, err = openSPIURI(rest)
	case "replay":
		src, err = openReplayURI(rest)
	case "synthetic":
		src, err = openSyntheticURI(rest)
	case "file", "dir":
		src, err = openStillURI(scheme, rest)
	default:
		return nil, fmt.Errorf("camera: %q: unknown scheme %q: %w", uri, scheme, ErrBadURI)
	}
	if err != nil {
		return nil, fmt.Errorf("camera: open %q: %w", uri, err)
	}
	return src, nil
}

// params holds the query parameters of a URI and records which were used,
// so that unknown ones can be reported.
type params struct {
	v    url.Values
	used map[string]bool
	err  error
}

func parseParams(q string) (*params, error) {
	v, err := url.ParseQuery(q)
	if err != nil {
		return nil, fmt.Errorf("query %q: %v: %w", q, err, ErrBadURI)
	}
	return &params{v: v, used: map[string]bool{}}, nil
}

// splitQuery splits "PATH?QUERY" at the last '?'.
func splitQuery(s string) (path string, p *params, err error) {
	path, q := s, ""
	if i := strings.LastIndexByte(s, '?'); i >= 0 {
		path, q = s[:i], s[i+1:]
	}
	p, err = parseParams(q)
	return path, p, err
}

func (p *params) str(name, def string) string {
	p.used[name] = true
	if vs, ok := p.v[name]; ok && len(vs) > 0 {
		return vs[len(vs)-1]
	}
	return def
}

func (p *params) has(name string) bool {
	_, ok := p.v[name]
	return ok
}

func (p *params) int(name string, def, lo, hi int) int {
	s := p.str(name, "")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		p.fail(fmt.Errorf("parameter %s=%q: want an integer in %d..%d: %w", name, s, lo, hi, ErrBadURI))
		return def
	}
	return n
}

func (p *params) float(name string, def, lo, hi float64) float64 {
	s := p.str(name, "")
	if s == "" {
		return def
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || !(n >= lo && n <= hi) {
		p.fail(fmt.Errorf("parameter %s=%q: want a number in %g..%g: %w", name, s, lo, hi, ErrBadURI))
		return def
	}
	return n
}

func (p *params) bool(name string) bool {
	s := p.str(name, "")
	switch s {
	case "", "0", "false", "no":
		if s == "" && p.has(name) {
			return true // "?loop" alone
		}
		return false
	case "1", "true", "yes":
		return true
	}
	p.fail(fmt.Errorf("parameter %s=%q: want 0 or 1: %w", name, s, ErrBadURI))
	return false
}

func (p *params) pixel(name string, def PixelFormat) PixelFormat {
	s := p.str(name, "")
	if s == "" {
		return def
	}
	pf, err := ParsePixelFormat(s)
	if err != nil {
		p.fail(fmt.Errorf("parameter %s: %w (%w)", name, err, ErrBadURI))
		return def
	}
	return pf
}

func (p *params) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// done returns the first value error, or an error naming unknown
// parameters.
func (p *params) done() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.v {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var known []string
		for k := range p.used {
			known = append(known, k)
		}
		sort.Strings(known)
		return fmt.Errorf("unknown parameter %s (known: %s): %w", strings.Join(unknown, ", "), strings.Join(known, ", "), ErrBadURI)
	}
	return nil
}

// rawFormat reads w, h, fmt, stride, bayershift and fps.
func (p *params) rawFormat(defW, defH int, defPix PixelFormat) Format {
	fm := Format{
		Width:      p.int("w", defW, 1, maxDim),
		Height:     p.int("h", defH, 1, maxDim),
		Pixel:      p.pixel("fmt", defPix),
		BayerShift: p.int("bayershift", 0, 0, 6),
		FPS:        p.float("fps", 0, 0, 10000),
	}
	fm.Stride[0] = p.int("stride", 0, 0, 8*maxDim)
	return fm.WithDefaults()
}
