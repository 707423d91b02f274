package camera

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

// hugePNG is a 533-byte grey PNG whose header declares 30000×30000 pixels
// (900 MB once decoded), followed by 16 rows of zeros.
const hugePNG = "testdata/declares-30000x30000.png"

// allocated returns the bytes allocated while f ran. TotalAlloc only grows,
// so this bounds the peak heap growth during f from above.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// maxRefusedAlloc is what refusing a huge image may cost: buffers and the
// header, nowhere near the pixels.
const maxRefusedAlloc = 1 << 20

// TestHugeImageRefusedBeforeDecoding: an image file or MJPEG frame that
// declares more pixels than allowed is refused on its header, through
// every way an image enters (DecodeImage, file: and dir: cameras, MJPEG
// frames), with ErrUnsupportedFormat and without allocating the pixels.
func TestHugeImageRefusedBeforeDecoding(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(hugePNG)
	if err != nil {
		t.Fatal(err)
	}
	// On 32-bit platforms Go's PNG decoder itself refuses this header
	// (30000×30000×8 bytes overflows int); the refusal must still be
	// ErrUnsupportedFormat, checked below.
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); strconv.IntSize == 64 && (err != nil || cfg.Width != 30000 || cfg.Height != 30000) {
		t.Fatalf("fixture header: %+v, %v; want 30000x30000", cfg, err)
	}
	p := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		open func() error
	}{
		{"DecodeImage", func() error { _, err := DecodeImage(p); return err }},
		{"file:", func() error { _, err := Open("file:" + p); return err }},
		{"dir:", func() error { _, err := Open("dir:" + dir); return err }},
	} {
		var err error
		n := allocated(func() { err = c.open() })
		if !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("%s: error %v, want ErrUnsupportedFormat", c.name, err)
		}
		if n > maxRefusedAlloc {
			t.Errorf("%s: %d bytes allocated refusing a 30000x30000 declaration, want <= %d", c.name, n, maxRefusedAlloc)
		}
		t.Logf("%s: %v; %d bytes allocated", c.name, err, n)
	}
}

// TestHugeMJPEGFrameRefused: a compressed frame whose SOF declares 9000×9000
// (81 MP, each side allowed) is refused by the pixel count before decoding.
func TestHugeMJPEGFrameRefused(t *testing.T) {
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	data := jb.Bytes()
	sof := bytes.Index(data, []byte{0xff, 0xc0})
	if sof < 0 {
		t.Fatal("no SOF0 in the encoded JPEG")
	}
	// SOF0: marker, length(2), precision(1), height(2), width(2).
	data[sof+5], data[sof+6], data[sof+7], data[sof+8] = 9000>>8, 9000&0xff, 9000>>8, 9000&0xff
	f := rawFrame(Format{Width: 16, Height: 16, Pixel: MJPEG}, data)
	tg := &Target{Width: 8, Height: 8}
	dst := make([]byte, tg.Size())
	var s Scratch
	var err error
	n := allocated(func() { err = Convert(dst, f, tg, &s) })
	if !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("error %v, want ErrUnsupportedFormat", err)
	}
	if n > maxRefusedAlloc {
		t.Errorf("%d bytes allocated refusing a 9000x9000 frame, want <= %d", n, maxRefusedAlloc)
	}
	t.Logf("%v; %d bytes allocated", err, n)
}
