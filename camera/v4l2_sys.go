//go:build linux

package camera

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// v4l2Dev is the narrow seam between the V4L2 source and the kernel: one
// open device node. Tests replace it with a fake that injects faults.
type v4l2Dev interface {
	// Ioctl issues one ioctl; arg points at the request's structure.
	// It returns the raw errno (EINTR is retried by the caller).
	Ioctl(req uintptr, arg unsafe.Pointer) error
	// Mmap maps length bytes of the device at offset, shared read/write.
	Mmap(offset int64, length int) ([]byte, error)
	// Munmap releases a mapping returned by Mmap.
	Munmap(b []byte) error
	// Poll waits up to timeout for the device to become readable and
	// returns the poll revents (0 on timeout).
	Poll(timeout time.Duration) (revents int16, err error)
	// Close closes the device node.
	Close() error
}

// v4l2Opener opens a device node; tests swap it for a fake.
type v4l2Opener func(path string) (v4l2Dev, error)

// sysDev is the real device: a file descriptor.
type sysDev struct{ fd int }

func openSysDev(path string) (v4l2Dev, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &sysDev{fd: fd}, nil
}

func (d *sysDev) Ioctl(req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

func (d *sysDev) Mmap(offset int64, length int) ([]byte, error) {
	return unix.Mmap(d.fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func (d *sysDev) Munmap(b []byte) error { return unix.Munmap(b) }

func (d *sysDev) Poll(timeout time.Duration) (int16, error) {
	ms := int(timeout / time.Millisecond)
	if ms < 0 {
		ms = 0
	}
	fds := [1]unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds[:], ms)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return fds[0].Revents, nil
}

func (d *sysDev) Close() error { return unix.Close(d.fd) }

// xioctl issues an ioctl, retrying when a signal interrupted it.
func xioctl(d v4l2Dev, req uintptr, arg unsafe.Pointer) error {
	for i := 0; ; i++ {
		err := d.Ioctl(req, arg)
		if err != unix.EINTR || i >= 100 {
			return err
		}
	}
}

// gone reports errnos meaning the device disappeared.
func gone(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO)
}

// ioctlName names a request for error messages.
func ioctlName(req uintptr) string {
	switch req {
	case vidiocQuerycap:
		return "VIDIOC_QUERYCAP"
	case vidiocEnumFmt:
		return "VIDIOC_ENUM_FMT"
	case vidiocGFmt:
		return "VIDIOC_G_FMT"
	case vidiocSFmt:
		return "VIDIOC_S_FMT"
	case vidiocReqbufs:
		return "VIDIOC_REQBUFS"
	case vidiocQuerybuf:
		return "VIDIOC_QUERYBUF"
	case vidiocQbuf:
		return "VIDIOC_QBUF"
	case vidiocDqbuf:
		return "VIDIOC_DQBUF"
	case vidiocStreamon:
		return "VIDIOC_STREAMON"
	case vidiocStreamoff:
		return "VIDIOC_STREAMOFF"
	case vidiocGParm:
		return "VIDIOC_G_PARM"
	case vidiocSParm:
		return "VIDIOC_S_PARM"
	case vidiocEnumFramesizes:
		return "VIDIOC_ENUM_FRAMESIZES"
	case vidiocEnumFrameintervals:
		return "VIDIOC_ENUM_FRAMEINTERVALS"
	}
	return fmt.Sprintf("ioctl %#x", req)
}
