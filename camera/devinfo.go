package camera

import (
	"path/filepath"
	"sort"
)

// DeviceInfo describes a V4L2 device for listing and probing.
type DeviceInfo struct {
	Path    string
	Driver  string
	Card    string
	Bus     string
	Caps    uint32
	MPlane  bool
	Formats []FormatInfo
}

// FormatInfo is one pixel format a device offers, with its frame sizes.
type FormatInfo struct {
	Pixel       PixelFormat
	Description string
	Supported   bool   // the converters handle it
	Sizes       []Size // discrete sizes, or the min and max of a range
	Stepwise    bool   // Sizes holds min and max of a continuous/stepwise range
}

// Size is a frame size with the frame rates offered for it (discrete
// intervals only).
type Size struct {
	Width, Height int
	FPS           []float64
}

// ListDevices returns the V4L2 device nodes under dir (normally "/dev"),
// sorted.
func ListDevices(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "video*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(m)
	return m, nil
}
