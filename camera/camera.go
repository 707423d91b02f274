// Package camera captures frames from cameras and converts them straight
// into a model's input tensor.
//
// A Source negotiates a format once, when it is opened, and then fills
// frames the caller owns:
//
//	src, err := camera.Open("v4l2:///dev/video0?w=640&h=480&fmt=YUYV&fps=15")
//	if err != nil { ... }
//	defer src.Close()
//	var f camera.Frame                      // reused for every frame
//	var s camera.Scratch                    // reused conversion buffers
//	t := &camera.Target{Width: 224, Height: 224, Color: camera.RGB, DType: camera.Uint8, QScale: 1}
//	in := make([]byte, t.Size())            // or a view of the model's input tensor
//	for {
//		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
//		err := src.Next(ctx, &f)
//		cancel()
//		if err != nil { ... }
//		if err := camera.Convert(in, &f, t, &s); err != nil { ... }
//	}
//
// In the steady state neither Next (for raw formats) nor Convert (for every
// format except MJPEG/JPEG, which go through the standard library decoder)
// allocates.
//
// Sources are opened by URI (see Open): V4L2 devices, a child process
// writing raw frames to its stdout, SPI/I²C camera modules driven through
// periph.io interfaces, recorded replay files, still images and folders of
// images, and deterministic synthetic test patterns.
//
// The package knows nothing about model formats: a Target describes the
// tensor to fill.
package camera

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Errors returned by this package wrap one of these (or a
// context error) where the condition applies, so callers can test with
// errors.Is.
var (
	// ErrBadURI reports a URI that cannot be parsed or names an unknown
	// scheme or parameter.
	ErrBadURI = errors.New("bad camera URI")
	// ErrUnsupportedFormat reports a pixel format or size that a source
	// or converter cannot handle.
	ErrUnsupportedFormat = errors.New("unsupported format")
	// ErrShortFrame reports a frame with fewer bytes than its format needs.
	ErrShortFrame = errors.New("short frame")
	// ErrClosed reports use of a source after Close.
	ErrClosed = errors.New("camera closed")
	// ErrDeviceGone reports a device that disappeared (unplugged, EIO,
	// ENODEV) while streaming. The source must be closed and reopened.
	ErrDeviceGone = errors.New("camera device gone")
	// ErrEndOfStream reports that a finite source (replay file, photo
	// folder without loop, child process) has no more frames.
	ErrEndOfStream = errors.New("end of stream")
)

// Source is a camera: something that produces frames of one negotiated
// format.
//
// Next blocks until the next frame is available, the context is done, or
// the source fails. It fills f in place, reusing f's buffers when they are
// large enough, so a caller that keeps one Frame gets no allocation per
// frame. When ctx is done first, Next returns an error wrapping ctx.Err()
// (context.DeadlineExceeded for a frame timeout) and the source stays
// usable. Dropped frames show as gaps in Frame.Seq.
//
// Close releases the device; it is safe to call more than once. Next after
// Close returns ErrClosed. A Source is not safe for concurrent use, except
// that Close may be called while Next is waiting.
type Source interface {
	// Format returns the negotiated format of every frame.
	Format() Format
	// Next fills f with the next frame.
	Next(ctx context.Context, f *Frame) error
	// Close stops capture and releases the device.
	Close() error
}

// Frame is one captured image. The caller owns it; a Source overwrites it
// on every Next.
type Frame struct {
	// Seq is the frame's sequence number as counted by the source (the
	// V4L2 driver sequence for V4L2 devices). Consecutive frames differ
	// by one; a larger step means frames were dropped.
	Seq uint64
	// Timestamp is the capture time on the CLOCK_MONOTONIC time base
	// (time since boot for V4L2 and since the source was opened for
	// generated sources).
	Timestamp time.Duration
	// Format describes the pixels in Planes.
	Format Format
	// Planes holds the pixel data, one slice per plane: one for packed
	// formats (YUYV, RGB24, GREY, Bayer, MJPEG), two for NV12 (Y, CbCr),
	// three for I420 (Y, Cb, Cr). Each row starts at a multiple of the
	// plane's stride in Format.Stride. For MJPEG/JPEG, Planes[0] is the
	// compressed image and its length is the number of bytes used.
	Planes [][]byte

	buf []byte // backing store for Planes, reused across frames
}

// Drops returns how many frames were lost between prev and f, judged by
// their sequence numbers. It returns 0 when f does not follow prev.
func (f *Frame) Drops(prev uint64) uint64 {
	if f.Seq <= prev {
		return 0
	}
	return f.Seq - prev - 1
}

// setup sizes f's planes for format fm, reusing the backing buffer when it
// is large enough. n is the byte size of each plane (unused ones zero).
func (f *Frame) setup(fm Format, n [3]int) {
	total := n[0] + n[1] + n[2]
	if cap(f.buf) < total {
		f.buf = make([]byte, total)
	}
	f.buf = f.buf[:total]
	f.Format = fm
	f.Planes = f.Planes[:0]
	off := 0
	for _, sz := range n {
		if sz == 0 {
			break
		}
		f.Planes = append(f.Planes, f.buf[off:off+sz:off+sz])
		off += sz
	}
}

// setupFormat sizes f for a raw frame of format fm.
func (f *Frame) setupFormat(fm Format) {
	f.setup(fm, fm.planeSizes())
}

// CopyFrom makes f a deep copy of src, reusing f's buffers.
func (f *Frame) CopyFrom(src *Frame) {
	var n [3]int
	for i := 0; i < len(src.Planes) && i < 3; i++ {
		n[i] = len(src.Planes[i])
	}
	f.setup(src.Format, n)
	for i := range f.Planes {
		copy(f.Planes[i], src.Planes[i])
	}
	f.Seq = src.Seq
	f.Timestamp = src.Timestamp
}

// Validate checks that the planes of f hold at least as many bytes as its
// format needs. It returns an error wrapping ErrShortFrame otherwise.
func (f *Frame) Validate() error {
	fm := f.Format
	if err := fm.Validate(); err != nil {
		return err
	}
	need := fm.minPlaneSizes()
	np := fm.Pixel.planes()
	if len(f.Planes) < np {
		return fmt.Errorf("camera: frame %d: %v has %d planes, want %d: %w", f.Seq, fm.Pixel, len(f.Planes), np, ErrShortFrame)
	}
	if fm.Pixel.Compressed() {
		if len(f.Planes[0]) == 0 {
			return fmt.Errorf("camera: frame %d: empty %v frame: %w", f.Seq, fm.Pixel, ErrShortFrame)
		}
		return nil
	}
	for i := 0; i < np; i++ {
		if len(f.Planes[i]) < need[i] {
			return fmt.Errorf("camera: frame %d: %v %dx%d plane %d has %d bytes, want %d: %w",
				f.Seq, fm.Pixel, fm.Width, fm.Height, i, len(f.Planes[i]), need[i], ErrShortFrame)
		}
	}
	return nil
}
