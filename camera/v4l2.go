//go:build linux

package camera

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// V4L2Config selects what to negotiate with a V4L2 device. Zero fields
// keep the driver's current setting.
type V4L2Config struct {
	Path          string
	Width, Height int
	Pixel         PixelFormat
	FPS           float64
	Buffers       int // buffers to request; 0 means 4
	BayerShift    int // see Format.BayerShift
}

// V4L2 is a Source capturing from a Video4Linux2 device with memory-mapped
// streaming I/O. Each Next dequeues one buffer, copies it into the caller's
// frame and queues the buffer again, so the driver keeps capturing while the
// caller converts. Frame.Seq is the driver's sequence counter and
// Frame.Timestamp its (monotonic) buffer timestamp.
type V4L2 struct {
	mu      sync.Mutex // held by Next and Close
	closing atomic.Bool
	dev     v4l2Dev
	path    string
	bufType uint32
	mplane  bool
	nplanes int // memory planes per buffer (MPLANE)
	fm      Format
	bufs    [][][]byte // per buffer, per memory plane: the mapping
	planes  *[v4l2MaxPlanes]v4l2Plane
	pin     runtime.Pinner // pins planes during buffer ioctls
	buf     v4l2Buffer     // DQBUF/QBUF argument, reused
	seqHigh uint64
	lastSeq uint32
	started bool
	gone    bool
	closed  bool
	caps    uint32
	driver  string
	card    string
}

// pollSlice bounds one poll so that Close and context cancellation are
// noticed promptly.
const pollSlice = 50 * time.Millisecond

// OpenV4L2 opens and starts a V4L2 capture device.
func OpenV4L2(cfg V4L2Config) (*V4L2, error) {
	return openV4L2(cfg, openSysDev)
}

func openV4L2URI(uri string) (Source, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrBadURI)
	}
	if u.Host != "" || u.Path == "" {
		return nil, fmt.Errorf("v4l2 URI wants an absolute device path as in v4l2:///dev/video0, got host %q path %q: %w", u.Host, u.Path, ErrBadURI)
	}
	p, err := parseParams(u.RawQuery)
	if err != nil {
		return nil, err
	}
	cfg := V4L2Config{
		Path:       u.Path,
		Width:      p.int("w", 0, 0, maxDim),
		Height:     p.int("h", 0, 0, maxDim),
		Pixel:      p.pixel("fmt", 0),
		FPS:        p.float("fps", 0, 0, 10000),
		Buffers:    p.int("buffers", 4, 1, 32),
		BayerShift: p.int("bayershift", 0, 0, 6),
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	return OpenV4L2(cfg)
}

func openV4L2(cfg V4L2Config, open v4l2Opener) (_ *V4L2, err error) {
	dev, err := open(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("v4l2: %w", err)
	}
	v := &V4L2{dev: dev, path: cfg.Path, planes: new([v4l2MaxPlanes]v4l2Plane)}
	defer func() {
		if err != nil {
			v.teardown()
		}
	}()
	if err := v.querycap(); err != nil {
		return nil, err
	}
	if err := v.setFormat(cfg); err != nil {
		return nil, err
	}
	v.setFPS(cfg.FPS)
	n := cfg.Buffers
	if n <= 0 {
		n = 4
	}
	if err := v.mapBuffers(n); err != nil {
		return nil, err
	}
	for i := range v.bufs {
		if err := v.qbuf(uint32(i)); err != nil {
			return nil, err
		}
	}
	t := int32(v.bufType)
	if err := xioctl(v.dev, vidiocStreamon, unsafe.Pointer(&t)); err != nil {
		return nil, v.ioErr(vidiocStreamon, err)
	}
	v.started = true
	return v, nil
}

func (v *V4L2) ioErr(req uintptr, err error) error {
	if gone(err) {
		return fmt.Errorf("v4l2 %s: %s: %w (%w)", v.path, ioctlName(req), err, ErrDeviceGone)
	}
	return fmt.Errorf("v4l2 %s: %s: %w", v.path, ioctlName(req), err)
}

func (v *V4L2) querycap() error {
	var c v4l2Capability
	if err := xioctl(v.dev, vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
		if err == unix.ENOTTY || err == unix.EINVAL {
			return fmt.Errorf("v4l2 %s: not a V4L2 device (VIDIOC_QUERYCAP: %w)", v.path, err)
		}
		return v.ioErr(vidiocQuerycap, err)
	}
	caps := c.Capabilities
	if caps&v4l2CapDeviceCaps != 0 {
		caps = c.DeviceCaps
	}
	v.caps, v.driver, v.card = caps, cstr(c.Driver[:]), cstr(c.Card[:])
	switch {
	case caps&v4l2CapVideoCapture != 0:
		v.bufType = v4l2BufTypeVideoCapture
	case caps&v4l2CapVideoCaptureMplane != 0:
		v.bufType, v.mplane = v4l2BufTypeVideoCaptureMplane, true
	default:
		return fmt.Errorf("v4l2 %s (%s): not a video capture device (caps %#x): %w", v.path, v.driver, caps, ErrUnsupportedFormat)
	}
	if caps&v4l2CapStreaming == 0 {
		return fmt.Errorf("v4l2 %s (%s): no streaming I/O (caps %#x): %w", v.path, v.driver, caps, ErrUnsupportedFormat)
	}
	return nil
}

// v4l2Alias maps multi-memory-plane fourccs to the contiguous format whose
// planes, once concatenated, have the same layout.
func v4l2Alias(p PixelFormat) PixelFormat {
	switch p {
	case fourcc("NM12"):
		return NV12
	case fourcc("NM21"):
		return NV21
	case fourcc("YM12"):
		return I420
	}
	return p
}

func (v *V4L2) setFormat(cfg V4L2Config) error {
	var f v4l2Format
	f.Type = v.bufType
	if err := xioctl(v.dev, vidiocGFmt, unsafe.Pointer(&f)); err != nil {
		return v.ioErr(vidiocGFmt, err)
	}
	if cfg.Width > 0 || cfg.Height > 0 || cfg.Pixel != 0 {
		if v.mplane {
			m := f.mplane()
			if cfg.Width > 0 {
				m.Width = uint32(cfg.Width)
			}
			if cfg.Height > 0 {
				m.Height = uint32(cfg.Height)
			}
			if cfg.Pixel != 0 {
				m.Pixelformat = uint32(cfg.Pixel)
			}
			m.Field = v4l2FieldNone
			for i := range m.PlaneFmt {
				m.PlaneFmt[i].Bytesperline = 0
				m.PlaneFmt[i].Sizeimage = 0
			}
		} else {
			p := f.pix()
			if cfg.Width > 0 {
				p.Width = uint32(cfg.Width)
			}
			if cfg.Height > 0 {
				p.Height = uint32(cfg.Height)
			}
			if cfg.Pixel != 0 {
				p.Pixelformat = uint32(cfg.Pixel)
			}
			p.Field = v4l2FieldNone
			p.Bytesperline, p.Sizeimage = 0, 0
		}
		if err := xioctl(v.dev, vidiocSFmt, unsafe.Pointer(&f)); err != nil {
			return v.ioErr(vidiocSFmt, err)
		}
	}
	// Read back what the driver chose.
	fm := Format{BayerShift: cfg.BayerShift}
	var got PixelFormat
	if v.mplane {
		m := f.mplane()
		fm.Width, fm.Height = int(m.Width), int(m.Height)
		got = PixelFormat(m.Pixelformat)
		v.nplanes = int(m.NumPlanes)
		if v.nplanes < 1 || v.nplanes > 3 {
			return fmt.Errorf("v4l2 %s: driver reports %d planes for %v: %w", v.path, v.nplanes, got, ErrUnsupportedFormat)
		}
		for i := 0; i < v.nplanes; i++ {
			fm.Stride[i] = int(m.PlaneFmt[i].Bytesperline)
		}
	} else {
		p := f.pix()
		fm.Width, fm.Height = int(p.Width), int(p.Height)
		got = PixelFormat(p.Pixelformat)
		fm.Stride[0] = int(p.Bytesperline)
		v.nplanes = 1
	}
	fm.Pixel = v4l2Alias(got)
	if cfg.Pixel != 0 && fm.Pixel != v4l2Alias(cfg.Pixel) {
		return fmt.Errorf("v4l2 %s (%s): asked for %v, driver offers %v (see 'edgeinfer camera probe'): %w", v.path, v.driver, cfg.Pixel, got, ErrUnsupportedFormat)
	}
	if !fm.Pixel.known() {
		return fmt.Errorf("v4l2 %s (%s): driver format %v cannot be converted; ask for another with fmt=: %w", v.path, v.driver, got, ErrUnsupportedFormat)
	}
	if fm.Pixel.Compressed() {
		fm.Stride = [3]int{}
	}
	// Chroma planes that follow the luma plane in one buffer have strides
	// derived from the luma stride (the V4L2 convention, as WithDefaults).
	fm = fm.WithDefaults()
	if err := fm.Validate(); err != nil {
		return fmt.Errorf("v4l2 %s: negotiated format: %w", v.path, err)
	}
	v.fm = fm
	return nil
}

// setFPS asks for a frame interval (fps > 0) or reads the current one;
// drivers that cannot are left alone and Format().FPS stays 0.
func (v *V4L2) setFPS(fps float64) {
	var p v4l2StreamParm
	p.Type = v.bufType
	c := p.capture()
	req := vidiocGParm
	if fps > 0 {
		req = vidiocSParm
		c.Numerator, c.Denominator = 1000, uint32(fps*1000+0.5)
	}
	if err := xioctl(v.dev, req, unsafe.Pointer(&p)); err != nil {
		return
	}
	if c.Numerator != 0 && c.Denominator != 0 {
		v.fm.FPS = float64(c.Denominator) / float64(c.Numerator)
	}
}

func (v *V4L2) mapBuffers(n int) error {
	rb := v4l2RequestBuffers{Count: uint32(n), Type: v.bufType, Memory: v4l2MemoryMmap}
	if err := xioctl(v.dev, vidiocReqbufs, unsafe.Pointer(&rb)); err != nil {
		return v.ioErr(vidiocReqbufs, err)
	}
	if rb.Count == 0 || rb.Count > 64 {
		return fmt.Errorf("v4l2 %s: driver granted %d buffers: %w", v.path, rb.Count, ErrUnsupportedFormat)
	}
	v.bufs = make([][][]byte, rb.Count)
	for i := range v.bufs {
		b := v.newBuf(uint32(i))
		if err := v.bufIoctl(vidiocQuerybuf, &b); err != nil {
			return v.ioErr(vidiocQuerybuf, err)
		}
		v.bufs[i] = make([][]byte, 0, v.nplanes)
		if !v.mplane {
			m, err := v.dev.Mmap(int64(uint32(b.M)), int(b.Length))
			if err != nil {
				return fmt.Errorf("v4l2 %s: mmap buffer %d (%d bytes): %w", v.path, i, b.Length, err)
			}
			v.bufs[i] = append(v.bufs[i], m)
			continue
		}
		for j := 0; j < v.nplanes; j++ {
			pl := v.planes[j]
			m, err := v.dev.Mmap(int64(uint32(pl.M)), int(pl.Length))
			if err != nil {
				return fmt.Errorf("v4l2 %s: mmap buffer %d plane %d (%d bytes): %w", v.path, i, j, pl.Length, err)
			}
			v.bufs[i] = append(v.bufs[i], m)
		}
	}
	return nil
}

// newBuf returns a v4l2_buffer for index i; for MPLANE it points at the
// pinned plane array.
func (v *V4L2) newBuf(i uint32) v4l2Buffer {
	b := v4l2Buffer{Index: i, Type: v.bufType, Memory: v4l2MemoryMmap}
	if v.mplane {
		*v.planes = [v4l2MaxPlanes]v4l2Plane{}
		b.M = uintptr(unsafe.Pointer(v.planes))
		b.Length = uint32(v.nplanes)
	}
	return b
}

// bufIoctl issues a buffer ioctl. For MPLANE the buffer points at the
// plane array, which stays pinned for the duration of the call.
func (v *V4L2) bufIoctl(req uintptr, b *v4l2Buffer) error {
	if v.mplane {
		v.pin.Pin(v.planes)
		defer v.pin.Unpin()
	}
	return xioctl(v.dev, req, unsafe.Pointer(b))
}

func (v *V4L2) qbuf(i uint32) error {
	v.buf = v.newBuf(i)
	if err := v.bufIoctl(vidiocQbuf, &v.buf); err != nil {
		return v.ioErr(vidiocQbuf, err)
	}
	return nil
}

// Format implements Source.
func (v *V4L2) Format() Format { return v.fm }

// Driver returns the driver name, card name and device capabilities
// reported by VIDIOC_QUERYCAP.
func (v *V4L2) Driver() (driver, card string, caps uint32) { return v.driver, v.card, v.caps }

// Next implements Source. A buffer flagged as erroneous by the driver is
// requeued and skipped (it shows as a sequence gap). A buffer with fewer
// bytes than the format needs is requeued and reported as ErrShortFrame; the
// source stays usable. EIO, ENODEV or ENXIO (unplug) give ErrDeviceGone.
func (v *V4L2) Next(ctx context.Context, f *Frame) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.closing.Load() {
		return fmt.Errorf("v4l2 %s: %w", v.path, ErrClosed)
	}
	if v.gone {
		return fmt.Errorf("v4l2 %s: %w", v.path, ErrDeviceGone)
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("v4l2 %s: waiting for frame: %w", v.path, err)
		}
		v.buf = v.newBuf(0)
		err := v.bufIoctl(vidiocDqbuf, &v.buf)
		if err == nil {
			if v.buf.Flags&v4l2BufFlagError != 0 {
				if err := v.qbuf(v.buf.Index); err != nil {
					return v.fail(err)
				}
				continue
			}
			return v.deliver(f)
		}
		if err != unix.EAGAIN {
			return v.fail(v.ioErr(vidiocDqbuf, err))
		}
		wait := pollSlice
		if dl, ok := ctx.Deadline(); ok {
			if d := time.Until(dl); d < wait {
				wait = max(d, 0)
			}
		}
		if v.closing.Load() {
			return fmt.Errorf("v4l2 %s: %w", v.path, ErrClosed)
		}
		rev, err := v.dev.Poll(wait)
		if err != nil && err != unix.EINTR {
			return v.fail(fmt.Errorf("v4l2 %s: poll: %w", v.path, err))
		}
		if rev&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 && rev&unix.POLLIN == 0 {
			// vb2 reports POLLERR when the queue is in error (device
			// gone) or not streaming; DQBUF then tells which.
			err := v.bufIoctl(vidiocDqbuf, &v.buf)
			if err == nil {
				return v.deliver(f)
			}
			if err == unix.EAGAIN {
				err = unix.EIO
			}
			return v.fail(v.ioErr(vidiocDqbuf, err))
		}
	}
}

// fail records a device loss so later calls fail fast.
func (v *V4L2) fail(err error) error {
	if errors.Is(err, ErrDeviceGone) {
		v.gone = true
	}
	return err
}

// deliver copies dequeued buffer v.buf into f and requeues it.
func (v *V4L2) deliver(f *Frame) error {
	b := &v.buf
	idx := b.Index
	if int(idx) >= len(v.bufs) {
		return fmt.Errorf("v4l2 %s: driver returned buffer %d of %d", v.path, idx, len(v.bufs))
	}
	// Sequence numbers are 32-bit in the driver; extend them.
	if b.Sequence < v.lastSeq && v.lastSeq-b.Sequence > 1<<31 {
		v.seqHigh += 1 << 32
	}
	v.lastSeq = b.Sequence
	fm := v.fm
	var used int
	var short error
	if v.mplane {
		total := 0
		for j := 0; j < v.nplanes; j++ {
			pl := &v.planes[j]
			if pl.DataOffset > pl.Bytesused || int(pl.Bytesused) > len(v.bufs[idx][j]) {
				short = fmt.Errorf("v4l2 %s: buffer %d plane %d: bytesused %d, data offset %d, length %d: %w", v.path, idx, j, pl.Bytesused, pl.DataOffset, len(v.bufs[idx][j]), ErrShortFrame)
				break
			}
			total += int(pl.Bytesused - pl.DataOffset)
		}
		used = total
	} else {
		used = int(b.Bytesused)
		if used > len(v.bufs[idx][0]) {
			short = fmt.Errorf("v4l2 %s: buffer %d: bytesused %d exceeds its length %d: %w", v.path, idx, used, len(v.bufs[idx][0]), ErrShortFrame)
		}
	}
	if short == nil {
		if fm.Pixel.Compressed() {
			if used == 0 {
				short = fmt.Errorf("v4l2 %s: frame %d: empty %v buffer: %w", v.path, b.Sequence, fm.Pixel, ErrShortFrame)
			} else {
				f.setup(fm, [3]int{used})
			}
		} else {
			f.setupFormat(fm)
			if need := fm.minFrameBytes(); used < need {
				short = fmt.Errorf("v4l2 %s: frame %d: %v %dx%d buffer has %d bytes, want %d: %w", v.path, b.Sequence, fm.Pixel, fm.Width, fm.Height, used, need, ErrShortFrame)
			}
		}
	}
	if short == nil {
		off := 0
		if v.mplane {
			for j := 0; j < v.nplanes && off < len(f.buf); j++ {
				pl := &v.planes[j]
				off += copy(f.buf[off:], v.bufs[idx][j][pl.DataOffset:pl.Bytesused])
			}
		} else {
			off = copy(f.buf, v.bufs[idx][0][:used])
		}
		// A frame whose last row has no padding leaves the tail zero.
		clear(f.buf[off:])
		f.Seq = v.seqHigh | uint64(b.Sequence)
		f.Timestamp = time.Duration(b.Timestamp.Nano())
	}
	if err := v.qbuf(idx); err != nil {
		return v.fail(err)
	}
	return short
}

// Close implements Source: STREAMOFF, munmap every buffer, REQBUFS(0) and
// close the device. It may be called while Next is waiting; Next then
// returns ErrClosed within about 50 ms.
func (v *V4L2) Close() error {
	v.closing.Store(true)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	return v.teardown()
}

func (v *V4L2) teardown() error {
	v.closed = true
	var errs []error
	if v.started {
		t := int32(v.bufType)
		if err := xioctl(v.dev, vidiocStreamoff, unsafe.Pointer(&t)); err != nil && !v.gone && !gone(err) {
			errs = append(errs, v.ioErr(vidiocStreamoff, err))
		}
		v.started = false
	}
	for _, planes := range v.bufs {
		for _, m := range planes {
			if err := v.dev.Munmap(m); err != nil {
				errs = append(errs, fmt.Errorf("v4l2 %s: munmap: %w", v.path, err))
			}
		}
	}
	if v.bufs != nil {
		rb := v4l2RequestBuffers{Count: 0, Type: v.bufType, Memory: v4l2MemoryMmap}
		// Drivers without orphaned-buffer support may refuse while the
		// device is going away; the close below frees them anyway.
		_ = xioctl(v.dev, vidiocReqbufs, unsafe.Pointer(&rb))
		v.bufs = nil
	}
	if err := v.dev.Close(); err != nil {
		errs = append(errs, fmt.Errorf("v4l2 %s: close: %w", v.path, err))
	}
	return errors.Join(errs...)
}

// ProbeV4L2 queries a device's identity, formats, sizes and frame rates
// without starting capture.
func ProbeV4L2(path string) (*DeviceInfo, error) {
	return probeV4L2(path, openSysDev)
}

func probeV4L2(path string, open v4l2Opener) (*DeviceInfo, error) {
	dev, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("v4l2: %w", err)
	}
	defer dev.Close()
	var c v4l2Capability
	if err := xioctl(dev, vidiocQuerycap, unsafe.Pointer(&c)); err != nil {
		return nil, fmt.Errorf("v4l2 %s: not a V4L2 device (VIDIOC_QUERYCAP: %w)", path, err)
	}
	caps := c.Capabilities
	if caps&v4l2CapDeviceCaps != 0 {
		caps = c.DeviceCaps
	}
	info := &DeviceInfo{Path: path, Driver: cstr(c.Driver[:]), Card: cstr(c.Card[:]), Bus: cstr(c.BusInfo[:]), Caps: caps}
	bt := uint32(v4l2BufTypeVideoCapture)
	switch {
	case caps&v4l2CapVideoCapture != 0:
	case caps&v4l2CapVideoCaptureMplane != 0:
		bt, info.MPlane = v4l2BufTypeVideoCaptureMplane, true
	default:
		return info, nil // not a capture node (metadata, output, ...)
	}
	for i := uint32(0); i < 64; i++ {
		d := v4l2FmtDesc{Index: i, Type: bt}
		if err := xioctl(dev, vidiocEnumFmt, unsafe.Pointer(&d)); err != nil {
			break
		}
		pf := PixelFormat(d.Pixelformat)
		fi := FormatInfo{Pixel: pf, Description: cstr(d.Description[:]), Supported: v4l2Alias(pf).known()}
		for j := uint32(0); j < 256; j++ {
			s := v4l2FrmSizeEnum{Index: j, PixelFormat: d.Pixelformat}
			if err := xioctl(dev, vidiocEnumFramesizes, unsafe.Pointer(&s)); err != nil {
				break
			}
			if s.Type != v4l2FrmSizeTypeDiscrete {
				fi.Stepwise = true
				fi.Sizes = append(fi.Sizes, Size{Width: int(s.Size[0]), Height: int(s.Size[3])}, Size{Width: int(s.Size[1]), Height: int(s.Size[4])})
				break
			}
			sz := Size{Width: int(s.Size[0]), Height: int(s.Size[1])}
			for k := uint32(0); k < 32; k++ {
				iv := v4l2FrmIvalEnum{Index: k, PixelFormat: d.Pixelformat, Width: s.Size[0], Height: s.Size[1]}
				if err := xioctl(dev, vidiocEnumFrameintervals, unsafe.Pointer(&iv)); err != nil || iv.Type != v4l2FrmSizeTypeDiscrete {
					break
				}
				if iv.Ival[0] != 0 {
					sz.FPS = append(sz.FPS, float64(iv.Ival[1])/float64(iv.Ival[0]))
				}
			}
			fi.Sizes = append(fi.Sizes, sz)
		}
		info.Formats = append(info.Formats, fi)
	}
	return info, nil
}
