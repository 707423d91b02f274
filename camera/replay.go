package camera

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// Replay file format (version 1), all integers little endian:
//
//	file header, 64 bytes:
//	  0  [8]byte  magic "EIRAWCAM"
//	  8  uint16   version (1)
//	 10  uint16   header size (64; readers skip bytes beyond the fields they know)
//	 12  uint32   pixel format fourcc
//	 16  uint32   width
//	 20  uint32   height
//	 24  [3]uint32 stride per plane (bytes per row)
//	 36  uint8    Bayer shift
//	 37  [3]byte  zero
//	 40  uint32   nominal frame rate in millihertz (0 = unknown)
//	 44  [20]byte zero
//	then records until end of file, each:
//	  0  uint64   sequence number
//	  8  int64    timestamp, nanoseconds (CLOCK_MONOTONIC time base)
//	 16  uint32   payload size in bytes
//	 20  uint32   CRC-32 (IEEE) of the payload
//	 24  payload: the frame's planes back to back (exactly Format.FrameSize
//	     bytes for raw formats; one JPEG image for MJPEG/JPEG)
const (
	replayMagic      = "EIRAWCAM"
	replayVersion    = 1
	replayHeaderSize = 64
	replayRecordSize = 24
	// MaxReplayPayload bounds one compressed record (64 MiB).
	maxReplayPayload = 64 << 20
)

// ErrBadReplay reports a replay file that is not in the format above.
var ErrBadReplay = errors.New("bad replay file")

// Recorder writes frames to a replay file.
type Recorder struct {
	w   io.Writer
	fm  Format
	hdr [replayRecordSize]byte
	n   int
}

// NewRecorder writes the file header for frames of format fm to w.
func NewRecorder(w io.Writer, fm Format) (*Recorder, error) {
	fm = fm.WithDefaults()
	if err := fm.Validate(); err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	var h [replayHeaderSize]byte
	copy(h[:], replayMagic)
	binary.LittleEndian.PutUint16(h[8:], replayVersion)
	binary.LittleEndian.PutUint16(h[10:], replayHeaderSize)
	binary.LittleEndian.PutUint32(h[12:], uint32(fm.Pixel))
	binary.LittleEndian.PutUint32(h[16:], uint32(fm.Width))
	binary.LittleEndian.PutUint32(h[20:], uint32(fm.Height))
	for i := 0; i < 3; i++ {
		binary.LittleEndian.PutUint32(h[24+4*i:], uint32(fm.Stride[i]))
	}
	h[36] = uint8(fm.BayerShift)
	binary.LittleEndian.PutUint32(h[40:], uint32(fm.FPS*1000+0.5))
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("recorder: writing header: %w", err)
	}
	return &Recorder{w: w, fm: fm}, nil
}

// Write appends frame f. Its format must equal the recorder's (size, pixel
// format and strides); raw frames must hold at least a full frame.
func (r *Recorder) Write(f *Frame) error {
	ff := f.Format.WithDefaults()
	if ff.Width != r.fm.Width || ff.Height != r.fm.Height || ff.Pixel != r.fm.Pixel || ff.Stride != r.fm.Stride {
		return fmt.Errorf("recorder: frame %d is %v stride %v, file holds %v stride %v: %w", f.Seq, ff, ff.Stride, r.fm, r.fm.Stride, ErrUnsupportedFormat)
	}
	g := *f
	g.Format = ff
	if err := g.Validate(); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	var sizes [3]int
	if ff.Pixel.Compressed() {
		sizes[0] = len(f.Planes[0])
		if sizes[0] > maxReplayPayload {
			return fmt.Errorf("recorder: frame %d has %d bytes, limit %d: %w", f.Seq, sizes[0], maxReplayPayload, ErrUnsupportedFormat)
		}
	} else {
		sizes = ff.planeSizes()
	}
	crc := uint32(0)
	total := 0
	for i, n := range sizes {
		if n > 0 {
			crc = crc32.Update(crc, crc32.IEEETable, f.Planes[i][:n])
			total += n
		}
	}
	binary.LittleEndian.PutUint64(r.hdr[0:], f.Seq)
	binary.LittleEndian.PutUint64(r.hdr[8:], uint64(f.Timestamp))
	binary.LittleEndian.PutUint32(r.hdr[16:], uint32(total))
	binary.LittleEndian.PutUint32(r.hdr[20:], crc)
	if _, err := r.w.Write(r.hdr[:]); err != nil {
		return fmt.Errorf("recorder: frame %d: %w", f.Seq, err)
	}
	for i, n := range sizes {
		if n > 0 {
			if _, err := r.w.Write(f.Planes[i][:n]); err != nil {
				return fmt.Errorf("recorder: frame %d: %w", f.Seq, err)
			}
		}
	}
	r.n++
	return nil
}

// Frames returns the number of frames written.
func (r *Recorder) Frames() int { return r.n }

// ReplayReader parses a replay stream.
type ReplayReader struct {
	r   io.Reader
	fm  Format
	hdr [replayRecordSize]byte
	n   int
}

// NewReplayReader reads and checks the file header from r.
func NewReplayReader(r io.Reader) (*ReplayReader, error) {
	var h [replayHeaderSize]byte
	if _, err := io.ReadFull(r, h[:12]); err != nil {
		return nil, fmt.Errorf("replay: reading header: %w (%w)", err, ErrBadReplay)
	}
	if string(h[:8]) != replayMagic {
		return nil, fmt.Errorf("replay: magic %q, want %q: %w", h[:8], replayMagic, ErrBadReplay)
	}
	if v := binary.LittleEndian.Uint16(h[8:]); v != replayVersion {
		return nil, fmt.Errorf("replay: version %d, this reader knows %d: %w", v, replayVersion, ErrBadReplay)
	}
	hs := int(binary.LittleEndian.Uint16(h[10:]))
	if hs < replayHeaderSize {
		return nil, fmt.Errorf("replay: header size %d, want at least %d: %w", hs, replayHeaderSize, ErrBadReplay)
	}
	if _, err := io.ReadFull(r, h[12:]); err != nil {
		return nil, fmt.Errorf("replay: reading header: %w (%w)", err, ErrBadReplay)
	}
	if _, err := io.CopyN(io.Discard, r, int64(hs-replayHeaderSize)); err != nil {
		return nil, fmt.Errorf("replay: reading header extension: %w (%w)", err, ErrBadReplay)
	}
	u32 := func(o int) int {
		v := binary.LittleEndian.Uint32(h[o:])
		if v > 1<<24 {
			return -1 // out of range, rejected by Validate
		}
		return int(v)
	}
	fm := Format{
		Pixel:      PixelFormat(binary.LittleEndian.Uint32(h[12:])),
		Width:      u32(16),
		Height:     u32(20),
		Stride:     [3]int{u32(24), u32(28), u32(32)},
		BayerShift: int(h[36]),
		FPS:        float64(binary.LittleEndian.Uint32(h[40:])) / 1000,
	}
	if err := fm.Validate(); err != nil {
		return nil, fmt.Errorf("replay: header: %w (%w)", err, ErrBadReplay)
	}
	return &ReplayReader{r: r, fm: fm}, nil
}

// Format returns the format recorded in the header.
func (rr *ReplayReader) Format() Format { return rr.fm }

// Next reads the next record into f. It returns an error wrapping
// ErrEndOfStream at a clean end of file, and one wrapping ErrBadReplay (and
// ErrShortFrame for a truncated payload) for a damaged record.
func (rr *ReplayReader) Next(f *Frame) error {
	if _, err := io.ReadFull(rr.r, rr.hdr[:]); err != nil {
		if err == io.EOF {
			return fmt.Errorf("replay: after %d frames: %w", rr.n, ErrEndOfStream)
		}
		return fmt.Errorf("replay: record %d header: %w (%w)", rr.n, err, ErrBadReplay)
	}
	size := binary.LittleEndian.Uint32(rr.hdr[16:])
	crc := binary.LittleEndian.Uint32(rr.hdr[20:])
	fm := rr.fm
	if fm.Pixel.Compressed() {
		if size == 0 || size > maxReplayPayload {
			return fmt.Errorf("replay: record %d: %v payload of %d bytes, want 1..%d: %w", rr.n, fm.Pixel, size, maxReplayPayload, ErrBadReplay)
		}
		f.setup(fm, [3]int{int(size)})
	} else {
		if int64(size) != int64(fm.FrameSize()) {
			return fmt.Errorf("replay: record %d: payload of %d bytes, %v stride %v needs %d: %w", rr.n, size, fm, fm.Stride, fm.FrameSize(), ErrBadReplay)
		}
		f.setupFormat(fm)
	}
	if _, err := io.ReadFull(rr.r, f.buf); err != nil {
		return fmt.Errorf("replay: record %d payload (%d bytes): %w (%w, %w)", rr.n, size, err, ErrShortFrame, ErrBadReplay)
	}
	if got := crc32.ChecksumIEEE(f.buf); got != crc {
		return fmt.Errorf("replay: record %d: CRC %08x, header says %08x: %w", rr.n, got, crc, ErrBadReplay)
	}
	f.Seq = binary.LittleEndian.Uint64(rr.hdr[0:])
	f.Timestamp = time.Duration(binary.LittleEndian.Uint64(rr.hdr[8:]))
	rr.n++
	return nil
}

// Replay is a Source reading a replay file. Without realtime it delivers
// frames as fast as Next is called; with realtime it waits so that frames
// come out spaced as their timestamps. With loop it rewinds at the end of
// the file (sequence numbers and timestamps then repeat as recorded).
type Replay struct {
	file     *os.File
	br       *bufio.Reader
	rr       *ReplayReader
	loop     bool
	realtime bool
	t0       time.Duration // first timestamp
	start    time.Time
	started  bool
	closed   bool
}

// OpenReplay opens a replay file.
func OpenReplay(path string, loop, realtime bool) (*Replay, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	br := bufio.NewReaderSize(fh, 64<<10)
	rr, err := NewReplayReader(br)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Replay{file: fh, br: br, rr: rr, loop: loop, realtime: realtime}, nil
}

func openReplayURI(rest string) (Source, error) {
	path, p, err := splitQuery(rest)
	if err != nil {
		return nil, err
	}
	loop, rt := p.bool("loop"), p.bool("realtime")
	if err := p.done(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("replay: empty path: %w", ErrBadURI)
	}
	return OpenReplay(path, loop, rt)
}

// Format implements Source.
func (r *Replay) Format() Format { return r.rr.fm }

// Close implements Source.
func (r *Replay) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.file.Close()
}

// Next implements Source.
func (r *Replay) Next(ctx context.Context, f *Frame) error {
	if r.closed {
		return fmt.Errorf("replay: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	err := r.rr.Next(f)
	if errors.Is(err, ErrEndOfStream) && r.loop && r.rr.n > 0 {
		if _, serr := r.file.Seek(0, io.SeekStart); serr != nil {
			return fmt.Errorf("replay: rewinding: %w", serr)
		}
		r.br.Reset(r.file)
		rr, herr := NewReplayReader(r.br)
		if herr != nil {
			return herr
		}
		r.rr = rr
		r.started = false
		err = r.rr.Next(f)
	}
	if err != nil {
		return err
	}
	if r.realtime {
		if !r.started {
			r.started, r.t0, r.start = true, f.Timestamp, time.Now()
		}
		if d := time.Until(r.start.Add(f.Timestamp - r.t0)); d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return fmt.Errorf("replay: waiting for frame time: %w", ctx.Err())
			case <-t.C:
			}
		}
	}
	return nil
}
