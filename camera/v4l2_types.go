//go:build linux

package camera

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Go mirrors of the linux/videodev2.h structures this package uses. Field
// order and types follow the C header; Go's alignment rules then give the
// same layout as the C ABI on arm64, amd64 and 32-bit arm (where a Go
// binary uses the 32-bit time_t "TIME32" variants of the buffer ioctls,
// which the kernel accepts natively and through compat). Sizes are checked
// per GOARCH in v4l2_types_test.go.

// V4L2 constants.
const (
	v4l2BufTypeVideoCapture       = 1
	v4l2BufTypeVideoCaptureMplane = 9
	v4l2MemoryMmap                = 1
	v4l2FieldNone                 = 1

	v4l2CapVideoCapture       = 0x00000001
	v4l2CapVideoCaptureMplane = 0x00001000
	v4l2CapStreaming          = 0x04000000
	v4l2CapIOMC               = 0x20000000
	v4l2CapDeviceCaps         = 0x80000000

	v4l2BufFlagError         = 0x00000040
	v4l2BufFlagTimestampMask = 0x0000e000
	v4l2BufFlagTimestampMono = 0x00002000

	v4l2FrmSizeTypeDiscrete = 1

	v4l2CapTimePerFrame = 0x1000

	v4l2MaxPlanes = 8
)

type v4l2Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

type v4l2PixFormat struct {
	Width        uint32
	Height       uint32
	Pixelformat  uint32
	Field        uint32
	Bytesperline uint32
	Sizeimage    uint32
	Colorspace   uint32
	Priv         uint32
	Flags        uint32
	YcbcrEnc     uint32
	Quantization uint32
	XferFunc     uint32
}

type v4l2PlanePixFormat struct {
	Sizeimage    uint32
	Bytesperline uint32
	Reserved     [6]uint16
}

type v4l2PixFormatMplane struct {
	Width        uint32
	Height       uint32
	Pixelformat  uint32
	Field        uint32
	Colorspace   uint32
	PlaneFmt     [v4l2MaxPlanes]v4l2PlanePixFormat
	NumPlanes    uint8
	Flags        uint8
	YcbcrEnc     uint8
	Quantization uint8
	XferFunc     uint8
	Reserved     [7]uint8
}

// v4l2FormatUnion is the 200-byte union inside v4l2_format. It contains
// pointers (struct v4l2_window) in C, so it is pointer-aligned: the zero
// length uintptr array gives it that alignment without taking space.
type v4l2FormatUnion struct {
	_   [0]uintptr
	Raw [200]byte
}

type v4l2Format struct {
	Type uint32
	Fmt  v4l2FormatUnion
}

func (f *v4l2Format) pix() *v4l2PixFormat {
	return (*v4l2PixFormat)(unsafe.Pointer(&f.Fmt.Raw[0]))
}

func (f *v4l2Format) mplane() *v4l2PixFormatMplane {
	return (*v4l2PixFormatMplane)(unsafe.Pointer(&f.Fmt.Raw[0]))
}

type v4l2RequestBuffers struct {
	Count        uint32
	Type         uint32
	Memory       uint32
	Capabilities uint32
	Flags        uint8
	Reserved     [3]uint8
}

type v4l2Timecode struct {
	Type     uint32
	Flags    uint32
	Frames   uint8
	Seconds  uint8
	Minutes  uint8
	Hours    uint8
	Userbits [4]uint8
}

// v4l2Buffer is struct v4l2_buffer. M is the union of offset (u32, the
// low half on little-endian machines), userptr, planes pointer and fd.
type v4l2Buffer struct {
	Index     uint32
	Type      uint32
	Bytesused uint32
	Flags     uint32
	Field     uint32
	Timestamp unix.Timeval
	Timecode  v4l2Timecode
	Sequence  uint32
	Memory    uint32
	M         uintptr
	Length    uint32
	Reserved2 uint32
	RequestFD int32
}

type v4l2Plane struct {
	Bytesused  uint32
	Length     uint32
	M          uintptr // mem_offset (u32, low half), userptr or fd
	DataOffset uint32
	Reserved   [11]uint32
}

type v4l2FmtDesc struct {
	Index       uint32
	Type        uint32
	Flags       uint32
	Description [32]byte
	Pixelformat uint32
	MbusCode    uint32
	Reserved    [3]uint32
}

type v4l2FrmSizeEnum struct {
	Index       uint32
	PixelFormat uint32
	Type        uint32
	// discrete: width, height; stepwise: min_width, max_width,
	// step_width, min_height, max_height, step_height
	Size     [6]uint32
	Reserved [2]uint32
}

type v4l2FrmIvalEnum struct {
	Index       uint32
	PixelFormat uint32
	Width       uint32
	Height      uint32
	Type        uint32
	// discrete: numerator, denominator; stepwise: min, max, step fractions
	Ival     [6]uint32
	Reserved [2]uint32
}

type v4l2CaptureParm struct {
	Capability   uint32
	Capturemode  uint32
	Numerator    uint32 // timeperframe
	Denominator  uint32
	Extendedmode uint32
	Readbuffers  uint32
	Reserved     [4]uint32
}

type v4l2StreamParm struct {
	Type uint32
	Parm [200]byte // union; capture is v4l2CaptureParm
}

func (p *v4l2StreamParm) capture() *v4l2CaptureParm {
	return (*v4l2CaptureParm)(unsafe.Pointer(&p.Parm[0]))
}

// ioctl request encoding (asm-generic/ioctl.h, used by arm, arm64, amd64).
const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | 'V'<<8 | nr
}

// V4L2 ioctl requests, sized from the Go mirrors so that each GOARCH gets
// its own ABI's numbers.
var (
	vidiocQuerycap           = ioc(iocRead, 0, unsafe.Sizeof(v4l2Capability{}))
	vidiocEnumFmt            = ioc(iocRead|iocWrite, 2, unsafe.Sizeof(v4l2FmtDesc{}))
	vidiocGFmt               = ioc(iocRead|iocWrite, 4, unsafe.Sizeof(v4l2Format{}))
	vidiocSFmt               = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(v4l2Format{}))
	vidiocReqbufs            = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(v4l2RequestBuffers{}))
	vidiocQuerybuf           = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(v4l2Buffer{}))
	vidiocQbuf               = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(v4l2Buffer{}))
	vidiocDqbuf              = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(v4l2Buffer{}))
	vidiocStreamon           = ioc(iocWrite, 18, unsafe.Sizeof(int32(0)))
	vidiocStreamoff          = ioc(iocWrite, 19, unsafe.Sizeof(int32(0)))
	vidiocGParm              = ioc(iocRead|iocWrite, 21, unsafe.Sizeof(v4l2StreamParm{}))
	vidiocSParm              = ioc(iocRead|iocWrite, 22, unsafe.Sizeof(v4l2StreamParm{}))
	vidiocEnumFramesizes     = ioc(iocRead|iocWrite, 74, unsafe.Sizeof(v4l2FrmSizeEnum{}))
	vidiocEnumFrameintervals = ioc(iocRead|iocWrite, 75, unsafe.Sizeof(v4l2FrmIvalEnum{}))
)

// cstr returns the NUL-terminated string in b.
func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
