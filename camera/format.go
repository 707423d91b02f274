package camera

import (
	"fmt"
	"strings"
)

// PixelFormat is a V4L2 fourcc code: the four characters packed little
// endian, as in linux/videodev2.h.
type PixelFormat uint32

// fourcc packs four characters into a PixelFormat.
func fourcc(s string) PixelFormat {
	return PixelFormat(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24)
}

// Pixel formats understood by the converters.
var (
	YUYV   = fourcc("YUYV") // packed 4:2:2, Y0 Cb Y1 Cr, BT.601 limited range
	UYVY   = fourcc("UYVY") // packed 4:2:2, Cb Y0 Cr Y1
	NV12   = fourcc("NV12") // 4:2:0, Y plane then interleaved CbCr plane
	NV21   = fourcc("NV21") // 4:2:0, Y plane then interleaved CrCb plane
	I420   = fourcc("YU12") // 4:2:0, Y, Cb, Cr planes (V4L2_PIX_FMT_YUV420)
	RGB24  = fourcc("RGB3") // packed R G B, 8 bits each
	BGR24  = fourcc("BGR3") // packed B G R, 8 bits each
	GREY   = fourcc("GREY") // 8-bit luma
	Y16    = fourcc("Y16 ") // 16-bit little-endian luma, full range
	Y14    = fourcc("Y14 ") // 14-bit value in 16-bit little-endian words (thermal cameras)
	MJPEG  = fourcc("MJPG") // motion JPEG, one JPEG image per frame
	JPEG   = fourcc("JPEG") // JPEG still image
	SRGGB8 = fourcc("RGGB") // 8-bit Bayer, RGGB
	SBGGR8 = fourcc("BA81") // 8-bit Bayer, BGGR
	SGBRG8 = fourcc("GBRG") // 8-bit Bayer, GBRG
	SGRBG8 = fourcc("GRBG") // 8-bit Bayer, GRBG
	// 10-bit Bayer in 16-bit little-endian containers. The bit position is
	// given by Format.BayerShift (0: LSB-aligned, 6: MSB-aligned).
	SRGGB10 = fourcc("RG10")
	SBGGR10 = fourcc("BG10")
	SGBRG10 = fourcc("GB10")
	SGRBG10 = fourcc("BA10")
	// 10-bit Bayer, MIPI CSI-2 packed: 4 pixels in 5 bytes.
	SRGGB10P = fourcc("pRAA")
	SBGGR10P = fourcc("pBAA")
	SGBRG10P = fourcc("pGAA")
	SGRBG10P = fourcc("pgAA")
)

// formatNames maps the names accepted in URIs (and printed by String) to
// formats. Fourcc codes are accepted as well.
var formatNames = []struct {
	name string
	pf   PixelFormat
}{
	{"YUYV", YUYV}, {"UYVY", UYVY}, {"NV12", NV12}, {"NV21", NV21}, {"I420", I420},
	{"RGB24", RGB24}, {"BGR24", BGR24}, {"GREY", GREY}, {"Y16", Y16}, {"Y14", Y14},
	{"MJPEG", MJPEG}, {"JPEG", JPEG},
	{"SRGGB8", SRGGB8}, {"SBGGR8", SBGGR8}, {"SGBRG8", SGBRG8}, {"SGRBG8", SGRBG8},
	{"SRGGB10", SRGGB10}, {"SBGGR10", SBGGR10}, {"SGBRG10", SGBRG10}, {"SGRBG10", SGRBG10},
	{"SRGGB10P", SRGGB10P}, {"SBGGR10P", SBGGR10P}, {"SGBRG10P", SGBRG10P}, {"SGRBG10P", SGRBG10P},
}

// ParsePixelFormat accepts a format name (YUYV, NV12, I420, RGB24, GREY,
// MJPEG, SRGGB10, SRGGB10P, ...; case-insensitive; "GRAY", "YUV420" and
// "MJPG" are aliases) or a four-character fourcc such as "RG10" or "pRAA".
func ParsePixelFormat(s string) (PixelFormat, error) {
	u := strings.ToUpper(s)
	switch u {
	case "GRAY", "Y8":
		return GREY, nil
	case "YUV420", "YU12":
		return I420, nil
	case "MJPG":
		return MJPEG, nil
	case "RGB", "RGB3":
		return RGB24, nil
	case "BGR", "BGR3":
		return BGR24, nil
	}
	for _, n := range formatNames {
		if n.name == u {
			return n.pf, nil
		}
	}
	if len(s) == 4 {
		pf := fourcc(s)
		if pf.known() {
			return pf, nil
		}
	}
	return 0, fmt.Errorf("camera: pixel format %q: %w", s, ErrUnsupportedFormat)
}

func (p PixelFormat) known() bool {
	for _, n := range formatNames {
		if n.pf == p {
			return true
		}
	}
	return false
}

// String returns the format's name, or its fourcc characters when the
// package has no name for it.
func (p PixelFormat) String() string {
	for _, n := range formatNames {
		if n.pf == p {
			return n.name
		}
	}
	return p.FourCC()
}

// FourCC returns the four characters of the code, with unprintable
// characters as '?'.
func (p PixelFormat) FourCC() string {
	b := [4]byte{byte(p), byte(p >> 8), byte(p >> 16), byte(p >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b[:])
}

// Compressed reports whether frames of this format are variable-length
// compressed images (MJPEG, JPEG).
func (p PixelFormat) Compressed() bool { return p == MJPEG || p == JPEG }

// planes returns how many planes a frame of this format has.
func (p PixelFormat) planes() int {
	switch p {
	case NV12, NV21:
		return 2
	case I420:
		return 3
	}
	return 1
}

// bayer describes a raw Bayer format: its 2×2 pattern (colour of the
// top-left pixel and its right neighbour, as 0=R 1=G 2=B) and packing.
type bayerInfo struct {
	pattern [4]uint8 // colours at (0,0) (1,0) (0,1) (1,1)
	bits    int      // 8 or 10
	packed  bool     // CSI-2 packed 10-bit
}

func (p PixelFormat) bayer() (bayerInfo, bool) {
	var rggb = [4]uint8{0, 1, 1, 2}
	var bggr = [4]uint8{2, 1, 1, 0}
	var gbrg = [4]uint8{1, 2, 0, 1}
	var grbg = [4]uint8{1, 0, 2, 1}
	switch p {
	case SRGGB8:
		return bayerInfo{rggb, 8, false}, true
	case SBGGR8:
		return bayerInfo{bggr, 8, false}, true
	case SGBRG8:
		return bayerInfo{gbrg, 8, false}, true
	case SGRBG8:
		return bayerInfo{grbg, 8, false}, true
	case SRGGB10:
		return bayerInfo{rggb, 10, false}, true
	case SBGGR10:
		return bayerInfo{bggr, 10, false}, true
	case SGBRG10:
		return bayerInfo{gbrg, 10, false}, true
	case SGRBG10:
		return bayerInfo{grbg, 10, false}, true
	case SRGGB10P:
		return bayerInfo{rggb, 10, true}, true
	case SBGGR10P:
		return bayerInfo{bggr, 10, true}, true
	case SGBRG10P:
		return bayerInfo{gbrg, 10, true}, true
	case SGRBG10P:
		return bayerInfo{grbg, 10, true}, true
	}
	return bayerInfo{}, false
}

// minStride returns the smallest number of bytes per row of plane 0 for a
// frame width w, or 0 for compressed formats.
func (p PixelFormat) minStride(w int) int {
	if b, ok := p.bayer(); ok {
		switch {
		case b.packed:
			return (w + 3) / 4 * 5 // whole 4-pixel groups
		case b.bits == 10:
			return 2 * w
		}
		return w
	}
	switch p {
	case YUYV, UYVY:
		return 2 * ((w + 1) &^ 1)
	case NV12, NV21, I420, GREY:
		return w
	case RGB24, BGR24:
		return 3 * w
	case Y16, Y14:
		return 2 * w
	}
	return 0
}

// Format describes the frames of a source.
type Format struct {
	Width, Height int
	Pixel         PixelFormat
	// Stride is the number of bytes from one row to the next, per plane.
	// Zero entries mean "tightly packed" and are filled in by
	// WithDefaults. For I420 and NV12 the chroma planes default to the
	// luma stride (NV12) or half of it rounded up (I420).
	Stride [3]int
	// BayerShift is the right shift that brings a 10-bit Bayer sample in
	// its 16-bit container (SRGGB10 and friends) down to bits 0..9: 0 for
	// LSB-aligned data (Jetson Nano VI2, vivid), 6 for MSB-aligned data
	// (Jetson Xavier/Orin VI5). It is a board property.
	BayerShift int
	// FPS is the nominal frame rate, 0 when unknown.
	FPS float64
}

// String formats f as "640x480 YUYV".
func (f Format) String() string {
	return fmt.Sprintf("%dx%d %v", f.Width, f.Height, f.Pixel)
}

// WithDefaults returns f with zero strides set to the tightly packed value.
func (f Format) WithDefaults() Format {
	if f.Pixel.Compressed() {
		return f
	}
	if f.Stride[0] == 0 {
		f.Stride[0] = f.Pixel.minStride(f.Width)
	}
	switch f.Pixel {
	case NV12, NV21:
		if f.Stride[1] == 0 {
			f.Stride[1] = f.Stride[0]
		}
	case I420:
		if f.Stride[1] == 0 {
			f.Stride[1] = (f.Stride[0] + 1) / 2
		}
		if f.Stride[2] == 0 {
			f.Stride[2] = f.Stride[1]
		}
	}
	return f
}

// maxDim bounds frame sizes so that size arithmetic cannot overflow even on
// 32-bit platforms.
const maxDim = 1 << 14

// Validate checks that f describes a frame this package can hold: a known
// pixel format, a positive size within 16384×16384, and strides at least as
// wide as a row.
func (f Format) Validate() error {
	if !f.Pixel.known() {
		return fmt.Errorf("camera: format %v: %w", f.Pixel, ErrUnsupportedFormat)
	}
	if f.Width <= 0 || f.Height <= 0 || f.Width > maxDim || f.Height > maxDim {
		return fmt.Errorf("camera: %v frame size %dx%d out of range 1..%d: %w", f.Pixel, f.Width, f.Height, maxDim, ErrUnsupportedFormat)
	}
	if f.Pixel.Compressed() {
		return nil
	}
	if _, ok := f.Pixel.bayer(); ok && (f.Width < 2 || f.Height < 2) {
		return fmt.Errorf("camera: Bayer frame %dx%d smaller than 2x2: %w", f.Width, f.Height, ErrUnsupportedFormat)
	}
	if f.BayerShift < 0 || f.BayerShift > 6 {
		return fmt.Errorf("camera: Bayer shift %d out of range 0..6: %w", f.BayerShift, ErrUnsupportedFormat)
	}
	min := f.Pixel.minStride(f.Width)
	if f.Stride[0] < min || f.Stride[0] > 8*maxDim {
		return fmt.Errorf("camera: %v width %d: stride %d, want %d..%d: %w", f.Pixel, f.Width, f.Stride[0], min, 8*maxDim, ErrUnsupportedFormat)
	}
	cw := (f.Width + 1) / 2
	switch f.Pixel {
	case NV12, NV21:
		if f.Stride[1] < 2*cw || f.Stride[1] > 8*maxDim {
			return fmt.Errorf("camera: %v chroma stride %d, want at least %d: %w", f.Pixel, f.Stride[1], 2*cw, ErrUnsupportedFormat)
		}
	case I420:
		for i := 1; i < 3; i++ {
			if f.Stride[i] < cw || f.Stride[i] > 8*maxDim {
				return fmt.Errorf("camera: %v plane %d stride %d, want at least %d: %w", f.Pixel, i, f.Stride[i], cw, ErrUnsupportedFormat)
			}
		}
	}
	return nil
}

// planeSizes returns the byte size of each plane of a raw frame:
// stride × rows. Compressed formats return zeros.
func (f Format) planeSizes() [3]int {
	var n [3]int
	if f.Pixel.Compressed() {
		return n
	}
	ch := (f.Height + 1) / 2
	n[0] = f.Stride[0] * f.Height
	switch f.Pixel {
	case NV12, NV21:
		n[1] = f.Stride[1] * ch
	case I420:
		n[1] = f.Stride[1] * ch
		n[2] = f.Stride[2] * ch
	}
	return n
}

// minPlaneSizes returns the fewest bytes each plane of a raw frame may
// hold: full strides for every row but the last, which needs only its
// pixels.
func (f Format) minPlaneSizes() [3]int {
	var n [3]int
	if f.Pixel.Compressed() {
		return n
	}
	ch, cw := (f.Height+1)/2, (f.Width+1)/2
	n[0] = f.Stride[0]*(f.Height-1) + f.Pixel.minStride(f.Width)
	switch f.Pixel {
	case NV12, NV21:
		n[1] = f.Stride[1]*(ch-1) + 2*cw
	case I420:
		n[1] = f.Stride[1]*(ch-1) + cw
		n[2] = f.Stride[2]*(ch-1) + cw
	}
	return n
}

// minFrameBytes returns the fewest bytes of a raw frame stored as planes
// back to back: every plane full except the last, which may stop after its
// last pixel.
func (f Format) minFrameBytes() int {
	full, min := f.planeSizes(), f.minPlaneSizes()
	last := f.Pixel.planes() - 1
	n := 0
	for i := 0; i < last; i++ {
		n += full[i]
	}
	return n + min[last]
}

// FrameSize returns the number of bytes of one raw frame with all planes
// stored back to back (the layout of pipe and replay streams), or 0 for
// compressed formats.
func (f Format) FrameSize() int {
	n := f.WithDefaults().planeSizes()
	return n[0] + n[1] + n[2]
}
