//go:build linux

package camera

import (
	"runtime"
	"testing"
	"unsafe"
)

// TestV4L2StructSizes pins the Go mirrors to the C layouts measured with
// aarch64/arm cross compilers against linux-libc-dev 6.1 headers.
func TestV4L2StructSizes(t *testing.T) {
	is64 := unsafe.Sizeof(uintptr(0)) == 8
	pick := func(b64, b32 uintptr) uintptr {
		if is64 {
			return b64
		}
		return b32
	}
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"v4l2_capability", unsafe.Sizeof(v4l2Capability{}), 104},
		{"v4l2_pix_format", unsafe.Sizeof(v4l2PixFormat{}), 48},
		{"v4l2_pix_format_mplane", unsafe.Sizeof(v4l2PixFormatMplane{}), 192},
		{"v4l2_format", unsafe.Sizeof(v4l2Format{}), pick(208, 204)},
		{"v4l2_format.fmt offset", unsafe.Offsetof(v4l2Format{}.Fmt), pick(8, 4)},
		{"v4l2_requestbuffers", unsafe.Sizeof(v4l2RequestBuffers{}), 20},
		{"v4l2_buffer", unsafe.Sizeof(v4l2Buffer{}), pick(88, 68)},
		{"v4l2_buffer.timestamp", unsafe.Offsetof(v4l2Buffer{}.Timestamp), pick(24, 20)},
		{"v4l2_buffer.sequence", unsafe.Offsetof(v4l2Buffer{}.Sequence), pick(56, 44)},
		{"v4l2_buffer.m", unsafe.Offsetof(v4l2Buffer{}.M), pick(64, 52)},
		{"v4l2_buffer.length", unsafe.Offsetof(v4l2Buffer{}.Length), pick(72, 56)},
		{"v4l2_plane", unsafe.Sizeof(v4l2Plane{}), pick(64, 60)},
		{"v4l2_plane.m", unsafe.Offsetof(v4l2Plane{}.M), 8},
		{"v4l2_plane.data_offset", unsafe.Offsetof(v4l2Plane{}.DataOffset), pick(16, 12)},
		{"v4l2_fmtdesc", unsafe.Sizeof(v4l2FmtDesc{}), 64},
		{"v4l2_frmsizeenum", unsafe.Sizeof(v4l2FrmSizeEnum{}), 44},
		{"v4l2_frmivalenum", unsafe.Sizeof(v4l2FrmIvalEnum{}), 52},
		{"v4l2_streamparm", unsafe.Sizeof(v4l2StreamParm{}), 204},
		{"v4l2_captureparm", unsafe.Sizeof(v4l2CaptureParm{}), 40},
	} {
		if c.got != c.want {
			t.Errorf("%s on %s: %d, want %d", c.name, runtime.GOARCH, c.got, c.want)
		}
	}
}

// TestV4L2IoctlNumbers checks the request codes against the values the C
// headers give on each architecture.
func TestV4L2IoctlNumbers(t *testing.T) {
	is64 := unsafe.Sizeof(uintptr(0)) == 8
	pick := func(b64, b32 uintptr) uintptr {
		if is64 {
			return b64
		}
		return b32
	}
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"QUERYCAP", vidiocQuerycap, 0x80685600},
		{"ENUM_FMT", vidiocEnumFmt, 0xc0405602},
		{"S_FMT", vidiocSFmt, pick(0xc0d05605, 0xc0cc5605)},
		{"REQBUFS", vidiocReqbufs, 0xc0145608},
		{"QUERYBUF", vidiocQuerybuf, pick(0xc0585609, 0xc0445609)},
		{"QBUF", vidiocQbuf, pick(0xc058560f, 0xc044560f)},
		{"DQBUF", vidiocDqbuf, pick(0xc0585611, 0xc0445611)},
		{"STREAMON", vidiocStreamon, 0x40045612},
		{"STREAMOFF", vidiocStreamoff, 0x40045613},
		{"S_PARM", vidiocSParm, 0xc0cc5616},
		{"ENUM_FRAMESIZES", vidiocEnumFramesizes, 0xc02c564a},
		{"ENUM_FRAMEINTERVALS", vidiocEnumFrameintervals, 0xc034564b},
	} {
		if c.got != c.want {
			t.Errorf("VIDIOC_%s on %s = %#x, want %#x", c.name, runtime.GOARCH, c.got, c.want)
		}
	}
}
