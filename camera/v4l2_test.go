//go:build linux

package camera

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// checkBars converts f and checks the centre bars (see TestBarsGolden).
func checkBars(t *testing.T, f *Frame) {
	t.Helper()
	got := convert(t, f, &Target{Width: 6, Height: 6})
	for ox := 0; ox < 6; ox++ {
		for c := 0; c < 3; c++ {
			if absDiff(int(got[ox*3+c]), int(BarColors[ox+1][c])) > 3 {
				t.Fatalf("frame %d %v: column %d = %v, want %v", f.Seq, f.Format, ox, got[ox*3:ox*3+3], BarColors[ox+1])
			}
		}
	}
}

// checkReleased asserts the fake has no mapping, no open file and no
// stream left, and no goroutine was left behind.
func checkReleased(t *testing.T, k *fakeV4L2, goroutines int) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.maps != 0 || !k.closed || k.streaming {
		t.Errorf("after close: %d mappings, closed=%v, streaming=%v", k.maps, k.closed, k.streaming)
	}
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after close, %d before", n, goroutines)
	}
}

func TestV4L2Capture(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mplane  bool
		nplanes int
		pf      PixelFormat
		pad     int
	}{
		{"single/YUYV", false, 1, YUYV, 0},
		{"single/YUYV-padded", false, 1, YUYV, 64},
		{"single/NV12", false, 1, NV12, 0},
		{"single/I420-padded", false, 1, I420, 32},
		{"mplane/YUYV", true, 1, YUYV, 0},
		{"mplane/NV12", true, 1, NV12, 0},
		{"mplane/NM12", true, 2, NV12, 16},
		{"single/RG10", false, 1, SRGGB10, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := runtime.NumGoroutine()
			k := newFake(tc.mplane)
			k.nplanes, k.pad = tc.nplanes, tc.pad
			v, err := openV4L2(V4L2Config{Path: "/dev/video0", Width: 320, Height: 240, Pixel: tc.pf, FPS: 15}, k.opener())
			if err != nil {
				t.Fatal(err)
			}
			fm := v.Format()
			if fm.Width != 320 || fm.Height != 240 || fm.Pixel != tc.pf || fm.FPS != 15 {
				t.Errorf("negotiated %v at %v fps", fm, fm.FPS)
			}
			if want := tc.pf.minStride(320) + tc.pad; fm.Stride[0] != want {
				t.Errorf("stride %d, want %d", fm.Stride[0], want)
			}
			if k.maps != 4 && tc.nplanes == 1 || k.maps != 8 && tc.nplanes == 2 {
				t.Errorf("%d mappings for 4 buffers of %d planes", k.maps, tc.nplanes)
			}
			var f Frame
			for i := 0; i < 6; i++ { // more frames than buffers: requeue works
				if err := v.Next(context.Background(), &f); err != nil {
					t.Fatal(err)
				}
				if ts := time.Duration(i) * time.Second / 30; f.Seq != uint64(i) || f.Timestamp < ts || f.Timestamp > ts+time.Microsecond {
					t.Errorf("frame %d: seq %d ts %v", i, f.Seq, f.Timestamp)
				}
				checkBars(t, &f)
			}
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			if !k.reqbufs0 {
				t.Error("Close did not free buffers with REQBUFS(0)")
			}
			checkReleased(t, k, g)
			if err := v.Next(context.Background(), &f); !errors.Is(err, ErrClosed) {
				t.Errorf("Next after Close: %v", err)
			}
			if err := v.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestV4L2Negotiation(t *testing.T) {
	k := newFake(false)
	// The driver rounds 641x479 down to 640x478.
	v, err := openV4L2(V4L2Config{Path: "/dev/video0", Width: 641, Height: 479, Pixel: YUYV}, k.opener())
	if err != nil {
		t.Fatal(err)
	}
	if fm := v.Format(); fm.Width != 640 || fm.Height != 478 || fm.Stride[0] != 1280 {
		t.Errorf("read back %v stride %d", fm, fm.Stride[0])
	}
	v.Close()
	// A format the driver replaces is an error naming both, and nothing
	// stays mapped or open.
	k = newFake(false)
	_, err = openV4L2(V4L2Config{Path: "/dev/video0", Pixel: MJPEG}, k.opener())
	if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "MJPEG") || !strings.Contains(err.Error(), "YUYV") {
		t.Errorf("MJPEG on a YUYV device: %v", err)
	}
	if !k.closed || k.maps != 0 {
		t.Errorf("failed open left closed=%v maps=%d", k.closed, k.maps)
	}
	// Zero config keeps the current format.
	k = newFake(false)
	v, err = openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener())
	if err != nil {
		t.Fatal(err)
	}
	if fm := v.Format(); fm.Width != 640 || fm.Height != 480 || fm.Pixel != YUYV || fm.FPS != 30 {
		t.Errorf("default format %v at %v fps", fm, fm.FPS)
	}
	v.Close()
}

func TestV4L2OpenErrors(t *testing.T) {
	_, err := openV4L2(V4L2Config{Path: "/dev/video9"}, newFake(false).opener())
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "/dev/video9") {
		t.Errorf("missing device: %v", err)
	}
	k := newFake(false)
	k.fail[vidiocQuerycap] = unix.ENOTTY
	if _, err := openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener()); err == nil || !strings.Contains(err.Error(), "not a V4L2 device") {
		t.Errorf("non-V4L2 node: %v", err)
	}
	k = newFake(false)
	k.caps = v4l2CapStreaming | 0x2 // video output only
	if _, err := openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener()); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("output-only device: %v", err)
	}
	k = newFake(false)
	k.caps = v4l2CapVideoCapture // read() only
	if _, err := openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener()); err == nil || !strings.Contains(err.Error(), "streaming") {
		t.Errorf("no streaming: %v", err)
	}
	// A mmap failing on the third buffer releases the first two.
	k = newFake(false)
	k.mmapFail = 3
	if _, err := openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener()); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("mmap failure: %v", err)
	}
	if k.maps != 0 || !k.closed || !k.reqbufs0 {
		t.Errorf("after mmap failure: maps=%d closed=%v reqbufs0=%v", k.maps, k.closed, k.reqbufs0)
	}
	k = newFake(false)
	k.fail[vidiocStreamon] = unix.ENOSPC
	if _, err := openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener()); !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), "STREAMON") {
		t.Errorf("STREAMON failure: %v", err)
	}
	if k.maps != 0 || !k.closed {
		t.Errorf("after STREAMON failure: maps=%d closed=%v", k.maps, k.closed)
	}
}

func TestV4L2Faults(t *testing.T) {
	g := runtime.NumGoroutine()
	k := newFake(false)
	k.grant = 2 // fewer buffers than asked
	k.eintr[vidiocQbuf] = 3
	k.eintr[vidiocStreamon] = 1
	k.eintr[vidiocDqbuf] = 2
	k.script = []fakeStep{
		{eagain: 3},     // frame 0 after three EAGAINs
		{seqSkip: 2},    // frames 1 and 2 dropped
		{short: 1000},   // short frame
		{errFlag: true}, // corrupt buffer, skipped
		{},              // delivered
		{unplug: true},  // unplugged
	}
	v, err := openV4L2(V4L2Config{Path: "/dev/video0", Width: 64, Height: 48, Pixel: YUYV}, k.opener())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.bufs) != 2 {
		t.Errorf("%d buffers, driver granted 2", len(v.bufs))
	}
	ctx := context.Background()
	var f Frame
	if err := v.Next(ctx, &f); err != nil || f.Seq != 0 {
		t.Fatalf("frame 0: seq %d, %v", f.Seq, err)
	}
	prev := f.Seq
	if err := v.Next(ctx, &f); err != nil || f.Seq != 3 || f.Drops(prev) != 2 {
		t.Fatalf("after gap: seq %d drops %d, %v", f.Seq, f.Drops(prev), err)
	}
	err = v.Next(ctx, &f)
	if !errors.Is(err, ErrShortFrame) || !strings.Contains(err.Error(), "1000") {
		t.Fatalf("short frame: %v", err)
	}
	if err := v.Next(ctx, &f); err != nil || f.Seq != 6 {
		t.Fatalf("after error-flagged buffer: seq %d, %v", f.Seq, err)
	}
	checkBars(t, &f)
	err = v.Next(ctx, &f)
	if !errors.Is(err, ErrDeviceGone) || !errors.Is(err, unix.EIO) {
		t.Fatalf("unplug: %v", err)
	}
	start := time.Now()
	if err := v.Next(ctx, &f); !errors.Is(err, ErrDeviceGone) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("Next after unplug: %v after %v", err, time.Since(start))
	}
	if err := v.Close(); err != nil {
		t.Errorf("Close after unplug: %v", err)
	}
	checkReleased(t, k, g)
}

func TestV4L2UnplugWhileWaiting(t *testing.T) {
	g := runtime.NumGoroutine()
	k := newFake(true)
	k.noFrames = true
	v, err := openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener())
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(60 * time.Millisecond)
		k.set(func() { k.unplugged = true })
	}()
	var f Frame
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.Next(ctx, &f); !errors.Is(err, ErrDeviceGone) {
		t.Fatalf("unplug while polling: %v", err)
	}
	if err := v.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkReleased(t, k, g)
}

func TestV4L2Timeouts(t *testing.T) {
	g := runtime.NumGoroutine()
	k := newFake(false)
	k.noFrames = true
	v, err := openV4L2(V4L2Config{Path: "/dev/video0"}, k.opener())
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	// Deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	err = v.Next(ctx, &f)
	// Next gave up because the deadline passed, not before it: the
	// context is done by the time Next returns (no wall-clock bound).
	ctxErr := ctx.Err()
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
	if !errors.Is(ctxErr, context.DeadlineExceeded) {
		t.Errorf("Next returned %v while its context was still live (err %v)", err, ctxErr)
	}
	// Cancellation without a deadline.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(40*time.Millisecond, cancel)
	if err := v.Next(ctx, &f); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	// The source is still usable after a timeout.
	k.set(func() { k.noFrames = false })
	if err := v.Next(context.Background(), &f); err != nil {
		t.Fatalf("after timeouts: %v", err)
	}
	// Close while another goroutine waits in Next.
	k.set(func() { k.noFrames = true })
	done := make(chan error)
	go func() { done <- v.Next(context.Background(), &f) }()
	time.Sleep(30 * time.Millisecond)
	if err := v.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Next during Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Next still blocked 2s after Close")
	}
	checkReleased(t, k, g)
}

func TestV4L2NextNoAllocs(t *testing.T) {
	k := newFake(true)
	v, err := openV4L2(V4L2Config{Path: "/dev/video0", Width: 64, Height: 48, Pixel: NV12}, k.opener())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var f Frame
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := v.Next(ctx, &f); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := v.Next(ctx, &f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("V4L2.Next: %v allocs per frame, want 0", allocs)
	}
}

func TestV4L2Probe(t *testing.T) {
	k := newFake(false)
	info, err := probeV4L2("/dev/video0", k.opener())
	if err != nil {
		t.Fatal(err)
	}
	if info.Driver != "fake" || info.Card != "Fake Camera" || info.MPlane || info.Caps&v4l2CapVideoCapture == 0 {
		t.Errorf("info %+v", info)
	}
	if !k.closed {
		t.Error("probe left the device open")
	}
	if len(info.Formats) != len(k.formats) {
		t.Fatalf("%d formats, want %d", len(info.Formats), len(k.formats))
	}
	f0 := info.Formats[0]
	if f0.Pixel != YUYV || !f0.Supported || f0.Description != "YUYV" || len(f0.Sizes) != 2 ||
		f0.Sizes[0].Width != 640 || f0.Sizes[1].Height != 240 || len(f0.Sizes[0].FPS) != 2 || f0.Sizes[0].FPS[1] != 15 {
		t.Errorf("format 0: %+v", f0)
	}
	if _, err := probeV4L2("/dev/nope", k.opener()); err == nil {
		t.Error("probe of a missing device succeeded")
	}
}
