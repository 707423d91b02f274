//go:build linux

package camera

import (
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fakeStep scripts one frame of the fake device.
type fakeStep struct {
	eagain   int    // DQBUF answers EAGAIN this many times first
	seqSkip  uint32 // the driver's sequence jumps by this much (drops)
	short    int    // bytesused override (>0)
	errFlag  bool   // V4L2_BUF_FLAG_ERROR
	unplug   bool   // the device disappears instead of delivering
	dataOffs uint32 // MPLANE data_offset of plane 0
}

// fakeV4L2 implements v4l2Dev with the semantics of a vb2 MMAP capture
// queue, and injects faults.
type fakeV4L2 struct {
	mu        sync.Mutex
	caps      uint32
	mplane    bool
	formats   []PixelFormat // first is the default
	maxW      int
	pad       int // extra bytes per line
	nplanes   int // memory planes for MPLANE (1 or 2)
	grant     int // buffers granted (0: as requested)
	w, h      int
	pf        PixelFormat
	fps       float64
	bufs      [][][]byte // per buffer, per memory plane
	queued    []uint32
	streaming bool
	maps      int // live mappings
	closed    bool
	unplugged bool
	seq       uint32
	script    []fakeStep
	eintr     map[uintptr]int   // pending EINTRs per request
	fail      map[uintptr]error // request failures
	mmapFail  int               // the n-th Mmap (1-based) fails
	nmmap     int
	reqbufs0  bool   // REQBUFS(0) seen
	frame     Frame  // rendered content
	rendered  Format // format of frame
	noFrames  bool   // Poll times out forever, DQBUF gives EAGAIN
}

func newFake(mplane bool) *fakeV4L2 {
	f := &fakeV4L2{
		caps:    v4l2CapStreaming | v4l2CapVideoCapture,
		formats: []PixelFormat{YUYV, NV12, I420, GREY, SRGGB10},
		maxW:    1920, w: 640, h: 480, pf: YUYV, nplanes: 1,
		eintr: map[uintptr]int{}, fail: map[uintptr]error{},
	}
	if mplane {
		f.mplane = true
		f.caps = v4l2CapStreaming | v4l2CapVideoCaptureMplane
	}
	return f
}

func (k *fakeV4L2) opener() v4l2Opener {
	return func(path string) (v4l2Dev, error) {
		if path != "/dev/video0" {
			return nil, &unixPathError{path}
		}
		return k, nil
	}
}

type unixPathError struct{ path string }

func (e *unixPathError) Error() string { return "open " + e.path + ": no such file or directory" }
func (e *unixPathError) Unwrap() error { return unix.ENOENT }

// bpl returns the bytes per line of memory plane i.
func (k *fakeV4L2) bpl(i int) int {
	return k.pf.minStride(k.w) + k.pad
}

// memPlaneSizes returns the bytes of each memory plane.
func (k *fakeV4L2) memPlaneSizes() []int {
	fm := Format{Width: k.w, Height: k.h, Pixel: k.pf, Stride: [3]int{k.bpl(0)}}.WithDefaults()
	n := fm.planeSizes()
	if k.nplanes == 2 {
		return []int{n[0], n[1] + n[2]}
	}
	return []int{n[0] + n[1] + n[2]}
}

func (k *fakeV4L2) Ioctl(req uintptr, arg unsafe.Pointer) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return unix.EBADF
	}
	if k.eintr[req] > 0 {
		k.eintr[req]--
		return unix.EINTR
	}
	if err := k.fail[req]; err != nil {
		return err
	}
	if k.unplugged && req != vidiocStreamoff && req != vidiocReqbufs {
		return unix.ENODEV
	}
	switch req {
	case vidiocQuerycap:
		c := (*v4l2Capability)(arg)
		copy(c.Driver[:], "fake")
		copy(c.Card[:], "Fake Camera")
		copy(c.BusInfo[:], "platform:fake")
		c.Capabilities = k.caps | v4l2CapDeviceCaps
		c.DeviceCaps = k.caps
	case vidiocGFmt, vidiocSFmt:
		f := (*v4l2Format)(arg)
		if (f.Type == v4l2BufTypeVideoCaptureMplane) != k.mplane {
			return unix.EINVAL
		}
		if req == vidiocSFmt {
			if k.streaming || len(k.bufs) > 0 {
				return unix.EBUSY
			}
			var w, h, pf uint32
			if k.mplane {
				m := f.mplane()
				w, h, pf = m.Width, m.Height, m.Pixelformat
			} else {
				p := f.pix()
				w, h, pf = p.Width, p.Height, p.Pixelformat
			}
			k.w = max(2, min(int(w), k.maxW)) &^ 1
			k.h = max(2, min(int(h), k.maxW)) &^ 1
			k.pf = k.formats[0]
			for _, p := range k.formats {
				if p == PixelFormat(pf) {
					k.pf = p
				}
			}
		}
		sizes := k.memPlaneSizes()
		if k.mplane {
			m := f.mplane()
			*m = v4l2PixFormatMplane{Width: uint32(k.w), Height: uint32(k.h), Pixelformat: uint32(k.pf), Field: v4l2FieldNone, NumPlanes: uint8(k.nplanes)}
			if k.nplanes == 2 && k.pf == NV12 {
				m.Pixelformat = uint32(fourcc("NM12"))
			}
			for i, n := range sizes {
				m.PlaneFmt[i] = v4l2PlanePixFormat{Sizeimage: uint32(n), Bytesperline: uint32(k.bpl(i))}
			}
		} else {
			p := f.pix()
			*p = v4l2PixFormat{Width: uint32(k.w), Height: uint32(k.h), Pixelformat: uint32(k.pf), Field: v4l2FieldNone,
				Bytesperline: uint32(k.bpl(0)), Sizeimage: uint32(sizes[0])}
		}
	case vidiocSParm, vidiocGParm:
		p := (*v4l2StreamParm)(arg)
		c := p.capture()
		if req == vidiocSParm {
			if c.Numerator == 0 || c.Denominator == 0 {
				return unix.EINVAL
			}
			k.fps = float64(c.Denominator) / float64(c.Numerator)
		}
		if k.fps == 0 {
			k.fps = 30
		}
		c.Capability = v4l2CapTimePerFrame
		c.Numerator, c.Denominator = 1000, uint32(k.fps*1000)
	case vidiocReqbufs:
		rb := (*v4l2RequestBuffers)(arg)
		if rb.Memory != v4l2MemoryMmap {
			return unix.EINVAL
		}
		if k.streaming {
			return unix.EBUSY
		}
		if rb.Count == 0 {
			k.reqbufs0 = true
			k.bufs, k.queued = nil, nil
			return nil
		}
		n := int(rb.Count)
		if k.grant > 0 {
			n = k.grant
		}
		k.bufs = make([][][]byte, n)
		for i := range k.bufs {
			for _, sz := range k.memPlaneSizes() {
				k.bufs[i] = append(k.bufs[i], make([]byte, sz))
			}
		}
		rb.Count = uint32(n)
	case vidiocQuerybuf, vidiocQbuf, vidiocDqbuf:
		b := (*v4l2Buffer)(arg)
		if (b.Type == v4l2BufTypeVideoCaptureMplane) != k.mplane || b.Memory != v4l2MemoryMmap {
			return unix.EINVAL
		}
		var planes *[v4l2MaxPlanes]v4l2Plane
		if k.mplane {
			if b.Length < uint32(k.nplanes) {
				return unix.EINVAL
			}
			planes = (*[v4l2MaxPlanes]v4l2Plane)(*(*unsafe.Pointer)(unsafe.Pointer(&b.M)))
		}
		switch req {
		case vidiocQuerybuf:
			if int(b.Index) >= len(k.bufs) {
				return unix.EINVAL
			}
			if k.mplane {
				for j, m := range k.bufs[b.Index] {
					planes[j].Length = uint32(len(m))
					planes[j].M = uintptr(b.Index)<<20 | uintptr(j)<<16
				}
			} else {
				b.Length = uint32(len(k.bufs[b.Index][0]))
				b.M = uintptr(b.Index) << 20
			}
		case vidiocQbuf:
			if int(b.Index) >= len(k.bufs) {
				return unix.EINVAL
			}
			for _, q := range k.queued {
				if q == b.Index {
					return unix.EINVAL
				}
			}
			k.queued = append(k.queued, b.Index)
		case vidiocDqbuf:
			return k.dqbuf(b, planes)
		}
	case vidiocEnumFmt:
		d := (*v4l2FmtDesc)(arg)
		if int(d.Index) >= len(k.formats) {
			return unix.EINVAL
		}
		d.Pixelformat = uint32(k.formats[d.Index])
		copy(d.Description[:], k.formats[d.Index].String())
	case vidiocEnumFramesizes:
		s := (*v4l2FrmSizeEnum)(arg)
		if s.Index > 1 {
			return unix.EINVAL
		}
		s.Type = v4l2FrmSizeTypeDiscrete
		s.Size[0], s.Size[1] = 640>>s.Index, 480>>s.Index
	case vidiocEnumFrameintervals:
		iv := (*v4l2FrmIvalEnum)(arg)
		if iv.Index > 1 {
			return unix.EINVAL
		}
		iv.Type = v4l2FrmSizeTypeDiscrete
		iv.Ival[0], iv.Ival[1] = 1, 30>>iv.Index
	case vidiocStreamon:
		if len(k.queued) == 0 && len(k.bufs) == 0 {
			return unix.EINVAL
		}
		k.streaming = true
	case vidiocStreamoff:
		k.streaming = false
		k.queued = nil
	default:
		return unix.ENOTTY
	}
	return nil
}

func (k *fakeV4L2) dqbuf(b *v4l2Buffer, planes *[v4l2MaxPlanes]v4l2Plane) error {
	if !k.streaming {
		return unix.EINVAL
	}
	if len(k.queued) == 0 || k.noFrames {
		return unix.EAGAIN
	}
	var st fakeStep
	if len(k.script) > 0 {
		st = k.script[0]
		if st.eagain > 0 {
			k.script[0].eagain--
			return unix.EAGAIN
		}
		k.script = k.script[1:]
	}
	if st.unplug {
		k.unplugged = true
		return unix.EIO
	}
	idx := k.queued[0]
	k.queued = k.queued[1:]
	k.seq += st.seqSkip
	// Content: the bars pattern in the current format, planes back to back.
	fm := Format{Width: k.w, Height: k.h, Pixel: k.pf, Stride: [3]int{k.bpl(0)}}.WithDefaults()
	if fm != k.rendered {
		k.frame.setupFormat(fm)
		rgb := make([]uint8, 3*k.w*k.h)
		for y := 0; y < k.h; y++ {
			for x := 0; x < k.w; x++ {
				c := BarColors[x*8/k.w]
				copy(rgb[3*(y*k.w+x):], c[:])
			}
		}
		EncodeRGB(&k.frame, rgb)
		k.rendered = fm
	}
	data := k.frame.buf
	*b = v4l2Buffer{Index: idx, Type: b.Type, Memory: b.Memory, M: b.M, Length: b.Length,
		Sequence: k.seq, Flags: v4l2BufFlagTimestampMono}
	b.Timestamp = unix.NsecToTimeval(int64(k.seq) * int64(time.Second/30))
	if st.errFlag {
		b.Flags |= v4l2BufFlagError
	}
	if k.mplane {
		off := 0
		for j, m := range k.bufs[idx] {
			do := uint32(0)
			if j == 0 {
				do = st.dataOffs
			}
			n := copy(m[do:], data[off:])
			off += n
			planes[j].Bytesused = uint32(n) + do
			planes[j].DataOffset = do
			if st.short > 0 {
				planes[j].Bytesused = uint32(st.short)
			}
		}
	} else {
		n := copy(k.bufs[idx][0], data)
		b.Bytesused = uint32(n)
		if st.short > 0 {
			b.Bytesused = uint32(st.short)
		}
	}
	k.seq++
	return nil
}

func (k *fakeV4L2) Mmap(offset int64, length int) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.nmmap++
	if k.nmmap == k.mmapFail {
		return nil, unix.ENOMEM
	}
	i, j := int(offset>>20), int(offset>>16)&0xf
	if i >= len(k.bufs) || j >= len(k.bufs[i]) || length != len(k.bufs[i][j]) {
		return nil, unix.EINVAL
	}
	k.maps++
	return k.bufs[i][j], nil
}

func (k *fakeV4L2) Munmap(b []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.maps == 0 {
		return unix.EINVAL
	}
	k.maps--
	return nil
}

func (k *fakeV4L2) Poll(timeout time.Duration) (int16, error) {
	k.mu.Lock()
	if k.unplugged {
		k.mu.Unlock()
		return unix.POLLERR, nil
	}
	ready := k.streaming && len(k.queued) > 0 && !k.noFrames
	k.mu.Unlock()
	if ready {
		return unix.POLLIN, nil
	}
	time.Sleep(timeout)
	return 0, nil
}

func (k *fakeV4L2) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return unix.EBADF
	}
	k.closed = true
	return nil
}

func (k *fakeV4L2) set(fn func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	fn()
}
