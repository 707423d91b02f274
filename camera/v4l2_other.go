//go:build !linux

package camera

import (
	"errors"
	"fmt"
	"runtime"
)

var errNoV4L2 = errors.New("V4L2 is only available on Linux")

func openV4L2URI(uri string) (Source, error) {
	return nil, fmt.Errorf("%s: %w (%w)", runtime.GOOS, errNoV4L2, ErrUnsupportedFormat)
}

// ProbeV4L2 reports that V4L2 is unavailable on this system.
func ProbeV4L2(path string) (*DeviceInfo, error) {
	return nil, fmt.Errorf("v4l2 %s: %s: %w", path, runtime.GOOS, errNoV4L2)
}
