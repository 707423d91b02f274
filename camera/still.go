package camera

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif"  // register GIF for image.Decode
	_ "image/jpeg" // register JPEG for image.Decode
	_ "image/png"  // register PNG for image.Decode
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "golang.org/x/image/bmp" // register BMP for image.Decode
)

// MaxImagePixels bounds the width × height an image file or compressed
// frame may declare (50 megapixels: a 48 MP phone photo fits); each side is
// also at most 16384. Both are checked on the header, before the decoder
// allocates the pixels, so a small file declaring a huge image is refused
// without using its memory.
const MaxImagePixels = 50_000_000

// checkImageSize refuses sizes outside 1..maxDim per side or above
// MaxImagePixels.
func checkImageSize(kind string, w, h int) error {
	if w <= 0 || h <= 0 || w > maxDim || h > maxDim {
		return fmt.Errorf("%s size %dx%d out of range 1..%d: %w", kind, w, h, maxDim, ErrUnsupportedFormat)
	}
	if w*h > MaxImagePixels {
		return fmt.Errorf("%s size %dx%d is %d pixels, more than %d: %w", kind, w, h, w*h, MaxImagePixels, ErrUnsupportedFormat)
	}
	return nil
}

// DecodeImage reads a JPEG, PNG, BMP or GIF file. The size its header
// declares is checked (see MaxImagePixels) before the pixels are decoded.
// Every image file that enters the program — photos, still-image cameras,
// dataset folders — comes through here.
func DecodeImage(path string) (image.Image, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("camera: image: %w", err)
	}
	defer fh.Close()
	img, err := decodeChecked(bufio.NewReader(fh))
	if err != nil {
		return nil, fmt.Errorf("camera: image %s: %w", path, err)
	}
	return img, nil
}

// decodeChecked decodes r after checking the size in its header. The
// header's bytes are kept and replayed to the decoder, so r is read once.
func decodeChecked(r io.Reader) (image.Image, error) {
	var head bytes.Buffer
	cfg, kind, err := image.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		// A header the decoders refuse is no image we can use: on 32-bit
		// platforms that includes sizes whose pixel buffer would overflow
		// int (Go's PNG decoder says "dimension overflow").
		return nil, fmt.Errorf("reading the header (JPEG, PNG, BMP or GIF expected): %w: %w", err, ErrUnsupportedFormat)
	}
	if err := checkImageSize(kind, cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, kind, err := image.Decode(io.MultiReader(&head, r))
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kind, err)
	}
	b := img.Bounds()
	if err := checkImageSize(kind, b.Dx(), b.Dy()); err != nil {
		return nil, err
	}
	return img, nil
}

// ImageFrame fills f with img as an RGB24 frame (premultiplied over black).
func ImageFrame(f *Frame, img image.Image) {
	b := img.Bounds()
	fm := Format{Width: b.Dx(), Height: b.Dy(), Pixel: RGB24}.WithDefaults()
	f.setupFormat(fm)
	unpackImage(f.Planes[0], img, b.Min.X, b.Min.Y, b.Dx(), b.Dy(), false)
}

// Still is a Source of still images: one photo, or the images of a folder
// in name order. Frames are RGB24 at each image's own size, so the format
// of a folder's frames may change from frame to frame; Format reports the
// first image's.
type Still struct {
	paths  []string
	loop   bool
	i      int
	seq    uint64
	first  Format
	closed bool
	cached *Frame // the decoded photo when there is only one
}

// NewStill returns a source over the given image files. With loop it
// starts again after the last file instead of returning ErrEndOfStream.
func NewStill(paths []string, loop bool) (*Still, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("still source: no images: %w", ErrBadURI)
	}
	img, err := DecodeImage(paths[0])
	if err != nil {
		return nil, err
	}
	s := &Still{paths: paths, loop: loop}
	var f Frame
	ImageFrame(&f, img)
	s.first = f.Format
	if len(paths) == 1 {
		s.cached = &f
	}
	return s, nil
}

func openStillURI(scheme, rest string) (Source, error) {
	path, p, err := splitQuery(rest)
	if err != nil {
		return nil, err
	}
	loop := p.bool("loop")
	if err := p.done(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("%s: empty path: %w", scheme, ErrBadURI)
	}
	if scheme == "file" {
		return NewStill([]string{path}, loop)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	var paths []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".bmp":
			if !e.IsDir() {
				paths = append(paths, filepath.Join(path, e.Name()))
			}
		}
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("dir %s: no .jpg, .jpeg, .png or .bmp files: %w", path, os.ErrNotExist)
	}
	return NewStill(paths, loop)
}

// Format implements Source.
func (s *Still) Format() Format { return s.first }

// Close implements Source.
func (s *Still) Close() error { s.closed = true; return nil }

// Next implements Source. The timestamp is the frame index × 1/30 s.
func (s *Still) Next(ctx context.Context, f *Frame) error {
	if s.closed {
		return fmt.Errorf("still: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("still: %w", err)
	}
	if s.i >= len(s.paths) {
		if !s.loop {
			return fmt.Errorf("still: after %d images: %w", len(s.paths), ErrEndOfStream)
		}
		s.i = 0
	}
	if s.cached != nil {
		f.CopyFrom(s.cached)
	} else {
		img, err := DecodeImage(s.paths[s.i])
		if err != nil {
			return err
		}
		ImageFrame(f, img)
	}
	s.i++
	f.Seq = s.seq
	f.Timestamp = time.Duration(s.seq) * time.Second / 30
	s.seq++
	return nil
}
