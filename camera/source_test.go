package camera

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"

	"github.com/edgeinfer/edgeinfer/internal/testshared"
)

func TestOpenURIErrors(t *testing.T) {
	for _, tc := range []struct {
		uri  string
		want error
		msg  string
	}{
		{"", ErrBadURI, "missing scheme"},
		{"/dev/video0", ErrBadURI, "missing scheme"},
		{"http://x", ErrBadURI, `unknown scheme "http"`},
		{"synthetic:stripes", ErrBadURI, `"stripes" unknown`},
		{"synthetic:bars?w=abc", ErrBadURI, "w=\"abc\""},
		{"synthetic:bars?w=0", ErrBadURI, "1..16384"},
		{"synthetic:bars?fmt=H264", ErrBadURI, "H264"},
		{"synthetic:bars?fmt=H264", ErrUnsupportedFormat, "H264"},
		{"synthetic:bars?colour=red", ErrBadURI, "unknown parameter colour"},
		{"synthetic:bars?%zz", ErrBadURI, "query"},
		{"replay:", ErrBadURI, "empty path"},
		{"replay:/nonexistent/x.raw", os.ErrNotExist, "/nonexistent/x.raw"},
		{"file:/nonexistent/a.jpg", os.ErrNotExist, "a.jpg"},
		{"dir:/nonexistent", os.ErrNotExist, "/nonexistent"},
		{"pipe:cat", ErrBadURI, "?w=W&h=H&fmt=FMT"},
		{"pipe:?w=4&h=4&fmt=GREY", ErrBadURI, "empty command"},
		{"pipe:/nonexistent/cam?w=4&h=4&fmt=GREY", os.ErrNotExist, "/nonexistent/cam"},
		{"pipe:cat?w=4&h=4&fmt=MJPEG", ErrUnsupportedFormat, "raw format"},
		{"spi:webcam", ErrBadURI, "webcam"},
		{"file:x.png?loop=maybe", ErrBadURI, "loop"},
	} {
		src, err := Open(tc.uri)
		if err == nil {
			src.Close()
			t.Errorf("Open(%q) succeeded", tc.uri)
			continue
		}
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Open(%q) = %v; want %v mentioning %q", tc.uri, err, tc.want, tc.msg)
		}
	}
	if runtime.GOOS == "linux" {
		for _, uri := range []string{"v4l2://host/dev/video0", "v4l2:///dev/video0?w=-1", "v4l2:///dev/video0?zoom=2"} {
			if _, err := Open(uri); !errors.Is(err, ErrBadURI) {
				t.Errorf("Open(%q) = %v, want ErrBadURI", uri, err)
			}
		}
		if _, err := Open("v4l2:///nonexistent/video7"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "/nonexistent/video7") {
			t.Errorf("missing V4L2 device: %v", err)
		}
	}
}

func TestSynthetic(t *testing.T) {
	src, err := Open("synthetic:box?w=64&h=48&fmt=NV12&frames=3&drop=2")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if fm := src.Format(); fm.Width != 64 || fm.Height != 48 || fm.Pixel != NV12 || fm.Stride != [3]int{64, 64, 0} {
		t.Errorf("format %v %v", fm, fm.Stride)
	}
	var f, g Frame
	var seqs []uint64
	ctx := context.Background()
	for {
		err := src.Next(ctx, &f)
		if errors.Is(err, ErrEndOfStream) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) > 0 && bytes.Equal(f.Planes[0], g.Planes[0]) {
			t.Error("box did not move between frames")
		}
		g.CopyFrom(&f)
		seqs = append(seqs, f.Seq)
	}
	// drop=2 skips every second sequence number after 0: 0, 1, 3.
	if len(seqs) != 3 || seqs[0] != 0 || seqs[1] != 1 || seqs[2] != 3 {
		t.Errorf("sequence numbers %v, want [0 1 3]", seqs)
	}
	if f.Timestamp != 3*time.Second/30 {
		t.Errorf("timestamp %v", f.Timestamp)
	}
	// Same config, same bytes: deterministic.
	a := frameOf(t, PatternNoise, 16, 16, RGB24, [3]uint8{})
	b := frameOf(t, PatternNoise, 16, 16, RGB24, [3]uint8{})
	if !bytes.Equal(a.Planes[0], b.Planes[0]) {
		t.Error("noise pattern is not deterministic")
	}
	// Pacing and context.
	src2, err := Open("synthetic:solid?w=8&h=8&fps=20&r=9")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		if err := src2.Next(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("3 frames at 20 fps took %v", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := src2.Next(cctx, &f); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	src2.Close()
	if err := src2.Next(ctx, &f); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestSyntheticNextNoAllocs(t *testing.T) {
	src, err := Open("synthetic:bars?w=320&h=240&fmt=YUYV")
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	ctx := context.Background()
	src.Next(ctx, &f)
	if a := testing.AllocsPerRun(5, func() { src.Next(ctx, &f) }); a != 0 {
		t.Errorf("Synthetic.Next: %v allocs, want 0", a)
	}
}

func TestReplayRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, pf := range []PixelFormat{YUYV, I420, SRGGB10P, MJPEG} {
		path := filepath.Join(dir, pf.String()+".raw")
		src, err := NewSynthetic(SyntheticConfig{Pattern: PatternBox, Format: Format{Width: 40, Height: 30, Pixel: pf, FPS: 25}})
		if err != nil {
			t.Fatal(err)
		}
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := NewRecorder(fh, src.Format())
		if err != nil {
			t.Fatal(err)
		}
		var want []Frame
		for i := 0; i < 4; i++ {
			var f Frame
			if err := src.Next(context.Background(), &f); err != nil {
				t.Fatal(err)
			}
			if err := rec.Write(&f); err != nil {
				t.Fatal(err)
			}
			want = append(want, f)
		}
		fh.Close()
		r, err := Open("replay:" + path + "?loop=1")
		if err != nil {
			t.Fatal(err)
		}
		if fm := r.Format(); fm.Width != 40 || fm.Pixel != pf || fm.FPS != 25 {
			t.Errorf("%v: replay format %v fps %v", pf, fm, fm.FPS)
		}
		var f Frame
		for i := 0; i < 6; i++ { // loops after 4
			if err := r.Next(context.Background(), &f); err != nil {
				t.Fatalf("%v frame %d: %v", pf, i, err)
			}
			w := want[i%4]
			if f.Seq != w.Seq || f.Timestamp != w.Timestamp || len(f.Planes) != len(w.Planes) {
				t.Fatalf("%v frame %d: seq %d ts %v, want %d %v", pf, i, f.Seq, f.Timestamp, w.Seq, w.Timestamp)
			}
			for p := range f.Planes {
				if !bytes.Equal(f.Planes[p], w.Planes[p]) {
					t.Fatalf("%v frame %d plane %d differs", pf, i, p)
				}
			}
		}
		r.Close()
	}
}

// replayBytes returns a small valid replay file of n GREY 4×2 frames.
func replayBytes(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	rec, err := NewRecorder(&buf, Format{Width: 4, Height: 2, Pixel: GREY})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		f := rawFrame(Format{Width: 4, Height: 2, Pixel: GREY}, []byte{byte(i), 1, 2, 3, 4, 5, 6, 7})
		f.Seq = uint64(10 + i)
		if err := rec.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestReplayDamage(t *testing.T) {
	good := replayBytes(t, 2)
	read := func(b []byte) (int, error) {
		rr, err := NewReplayReader(bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		var f Frame
		n := 0
		for {
			if err := rr.Next(&f); err != nil {
				return n, err
			}
			n++
		}
	}
	if n, err := read(good); n != 2 || !errors.Is(err, ErrEndOfStream) {
		t.Fatalf("good file: %d frames, %v", n, err)
	}
	trunc := good[:len(good)-3]
	if n, err := read(trunc); n != 1 || !errors.Is(err, ErrShortFrame) || !errors.Is(err, ErrBadReplay) {
		t.Errorf("truncated: %d frames, %v", n, err)
	}
	flip := append([]byte{}, good...)
	flip[len(flip)-1] ^= 0xff
	if n, err := read(flip); n != 1 || !errors.Is(err, ErrBadReplay) || !strings.Contains(err.Error(), "CRC") {
		t.Errorf("corrupt payload: %d frames, %v", n, err)
	}
	badMagic := append([]byte("NOTRAWCM"), good[8:]...)
	if _, err := read(badMagic); !errors.Is(err, ErrBadReplay) || !strings.Contains(err.Error(), "magic") {
		t.Errorf("bad magic: %v", err)
	}
	size := append([]byte{}, good...)
	size[replayHeaderSize+16] = 9 // payload size 9, frame needs 8
	if _, err := read(size); !errors.Is(err, ErrBadReplay) || !strings.Contains(err.Error(), "needs 8") {
		t.Errorf("bad size: %v", err)
	}
	huge := append([]byte{}, good...)
	huge[16], huge[17], huge[18] = 0xff, 0xff, 0xff // width 16M
	if _, err := read(huge); !errors.Is(err, ErrBadReplay) {
		t.Errorf("huge width: %v", err)
	}
	if _, err := read(good[:30]); !errors.Is(err, ErrBadReplay) {
		t.Errorf("short header: %v", err)
	}
	// Recorder refuses frames of another format.
	rec, _ := NewRecorder(&bytes.Buffer{}, Format{Width: 4, Height: 2, Pixel: GREY})
	if err := rec.Write(rawFrame(Format{Width: 2, Height: 2, Pixel: GREY}, make([]byte, 4))); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("recorder format mismatch: %v", err)
	}
	if err := rec.Write(rawFrame(Format{Width: 4, Height: 2, Pixel: GREY}, make([]byte, 5))); !errors.Is(err, ErrShortFrame) {
		t.Errorf("recorder short frame: %v", err)
	}
}

// FuzzReplayReader: arbitrary bytes never panic, hang or allocate beyond
// the bounded frame size, and whatever parses re-records identically.
func FuzzReplayReader(f *testing.F) {
	f.Add(replayBytes(f, 2))
	f.Add(replayBytes(f, 0))
	f.Add([]byte(replayMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		rr, err := NewReplayReader(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadReplay) {
				t.Fatalf("header error not ErrBadReplay: %v", err)
			}
			return
		}
		var out bytes.Buffer
		rec, err := NewRecorder(&out, rr.Format())
		if err != nil {
			t.Fatalf("parsed format %v does not record: %v", rr.Format(), err)
		}
		var fr Frame
		for i := 0; i < 1000; i++ {
			err := rr.Next(&fr)
			if errors.Is(err, ErrEndOfStream) {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrBadReplay) {
					t.Fatalf("record error not ErrBadReplay: %v", err)
				}
				return
			}
			if err := rec.Write(&fr); err != nil {
				t.Fatalf("parsed frame does not record: %v", err)
			}
		}
		// A file that parsed completely with a standard header re-records
		// byte for byte.
		hs := int(uint16(data[10]) | uint16(data[11])<<8)
		if hs == replayHeaderSize && bytes.Equal(data[36:replayHeaderSize], out.Bytes()[36:replayHeaderSize]) &&
			!bytes.Equal(out.Bytes()[replayHeaderSize:], data[replayHeaderSize:]) {
			t.Fatalf("re-recorded records differ")
		}
	})
}

func TestStillSources(t *testing.T) {
	dir := t.TempDir()
	img := image.NewNRGBA(image.Rect(0, 0, 6, 4))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 255})
	var pb, bb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	if err := bmp.Encode(&bb, img); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "b.png"), pb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "a.BMP"), bb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	src, err := Open("dir:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := src.Next(ctx, &f); err != nil {
			t.Fatal(err)
		}
		if f.Format.Pixel != RGB24 || f.Format.Width != 6 || f.Seq != uint64(i) || !bytes.Equal(f.Planes[0][:4], []byte{10, 20, 30, 255}) {
			t.Errorf("image %d: %v %v", i, f.Format, f.Planes[0][:4])
		}
	}
	if err := src.Next(ctx, &f); !errors.Is(err, ErrEndOfStream) {
		t.Errorf("after the folder: %v", err)
	}
	src, err = Open("file:" + filepath.Join(dir, "b.png") + "?loop=1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := src.Next(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "bad.jpg"), []byte("not a jpeg"), 0o644)
	if _, err := Open("file:" + filepath.Join(dir, "bad.jpg")); err == nil || !strings.Contains(err.Error(), "bad.jpg") {
		t.Errorf("corrupt image: %v", err)
	}
	if _, err := Open("dir:" + t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty folder: %v", err)
	}
}

// TestSharedImages converts the project's test photos the way
// "edgeinfer run --image" will.
func TestSharedImages(t *testing.T) {
	path := testshared.Path(t, "models/cat.bmp")
	img, err := DecodeImage(path)
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{Width: 224, Height: 224}
	dst := make([]byte, tg.Size())
	var s Scratch
	if err := ConvertImage(dst, img, tg, &s); err != nil {
		t.Fatal(err)
	}
	// Through the file: source and Convert the result is identical.
	src, err := Open("file:" + path)
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	if err := src.Next(context.Background(), &f); err != nil {
		t.Fatal(err)
	}
	dst2 := make([]byte, tg.Size())
	if err := Convert(dst2, &f, tg, &s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst, dst2) {
		t.Error("file: source + Convert differs from ConvertImage")
	}
}

func TestPipe(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	g := runtime.NumGoroutine()
	// Two 4×2 GREY frames then a partial one.
	dir := t.TempDir()
	script := filepath.Join(dir, "cam.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nprintf 'ABCDEFGHabcdefghXYZ'\necho oops >&2\nexit 3\n"), 0o755)
	src, err := Open("pipe:" + script + "?w=4&h=2&fmt=GREY")
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	ctx := context.Background()
	for i, want := range []string{"ABCDEFGH", "abcdefgh"} {
		if err := src.Next(ctx, &f); err != nil {
			t.Fatal(err)
		}
		if string(f.Planes[0]) != want || f.Seq != uint64(i) {
			t.Errorf("frame %d = %q seq %d", i, f.Planes[0], f.Seq)
		}
	}
	err = src.Next(ctx, &f)
	if !errors.Is(err, ErrShortFrame) || !strings.Contains(err.Error(), "3 of 8") || !strings.Contains(err.Error(), "oops") {
		t.Errorf("partial frame: %v", err)
	}
	src.Close()
	// A stalled producer times out, then Close kills it.
	src, err = Open("pipe:sleep 30?w=4&h=2&fmt=GREY")
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = src.Next(tctx, &f)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled pipe: %v", err)
	}
	start := time.Now()
	src.Close()
	if time.Since(start) > 2*time.Second {
		t.Errorf("Close took %v", time.Since(start))
	}
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > g && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > g {
		t.Errorf("%d goroutines after Close, %d before", n, g)
	}
}
