//go:build linux

package camera

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestVivid captures from the kernel's vivid virtual camera. It runs only
// with EDGEINFER_VIVID=1, inside the VM that .ci/vivid-vm.sh boots (vivid
// loaded with n_devs=2 multiplanar=1,2: one single-plane and one MPLANE
// capture device).
func TestVivid(t *testing.T) {
	if os.Getenv("EDGEINFER_VIVID") != "1" {
		t.Skip("set EDGEINFER_VIVID=1 on a kernel with the vivid module loaded (.ci/vivid-vm.sh)")
	}
	paths, err := ListDevices("/dev")
	if err != nil {
		t.Fatal(err)
	}
	var single, mplane string
	for _, p := range paths {
		info, err := ProbeV4L2(p)
		if err != nil || info.Driver != "vivid" || len(info.Formats) == 0 {
			continue
		}
		t.Logf("%s: %s caps %#x mplane=%v, %d formats", p, info.Card, info.Caps, info.MPlane, len(info.Formats))
		if info.MPlane && mplane == "" {
			mplane = p
		}
		if !info.MPlane && single == "" {
			single = p
		}
	}
	if single == "" || mplane == "" {
		t.Fatalf("want a single-plane and an MPLANE vivid capture device among %v", paths)
	}
	for _, dev := range []string{single, mplane} {
		ref := map[string][]byte{}
		for _, pf := range []string{"YUYV", "NV12", "RG10"} {
			t.Run(fmt.Sprintf("%s/%s", dev, pf), func(t *testing.T) {
				got := vividCapture(t, dev, pf)
				if got == nil {
					return
				}
				ref[pf] = got
				// The same test pattern through another pixel format
				// converts to about the same colours.
				if y := ref["YUYV"]; y != nil && pf != "YUYV" {
					tol := 12
					if pf == "RG10" {
						tol = 40 // demosaic edges, no colour correction
					}
					bad := 0
					for i := range got {
						if absDiff(int(got[i]), int(y[i])) > tol {
							bad++
						}
					}
					if bad > len(got)/10 {
						t.Errorf("%s differs from YUYV by more than %d in %d of %d values", pf, tol, bad, len(got))
					}
				}
			})
		}
	}
}

// vividCapture opens dev in format pf, checks 10 frames and returns the
// conversion of the last one to a 32×32 RGB tensor.
func vividCapture(t *testing.T, dev, pf string) []byte {
	uri := fmt.Sprintf("v4l2://%s?w=640&h=480&fmt=%s&fps=30", dev, pf)
	start := time.Now()
	src, err := Open(uri)
	if errors.Is(err, ErrUnsupportedFormat) && pf == "RG10" {
		t.Skipf("%s: %v", dev, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	v := src.(*V4L2)
	fm := src.Format()
	t.Logf("%s: %v stride %v mplane=%v planes=%d (open %v)", uri, fm, fm.Stride, v.mplane, v.nplanes, time.Since(start))
	if fm.Width != 640 || fm.Height != 480 || fm.Pixel.String() != pf && !(pf == "RG10" && fm.Pixel == SRGGB10) {
		t.Fatalf("negotiated %v", fm)
	}
	var f Frame
	var prevSeq uint64
	var prevTS, firstTS time.Duration
	drops := uint64(0)
	tg := &Target{Width: 32, Height: 32}
	dst := make([]byte, tg.Size())
	var s Scratch
	for i := 0; i < 10; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := src.Next(ctx, &f)
		cancel()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if err := f.Validate(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if i > 0 {
			// vivid derives sequence numbers from its frame timer; when the
			// emulated machine is starved it can hand out one number twice
			// (seen under qemu on a loaded 2-core host), so only a step back
			// is an error. Timestamps must still advance.
			if f.Seq < prevSeq || f.Timestamp <= prevTS {
				t.Errorf("frame %d: seq %d ts %v after seq %d ts %v", i, f.Seq, f.Timestamp, prevSeq, prevTS)
			}
			drops += f.Drops(prevSeq)
		}
		if i == 0 {
			firstTS = f.Timestamp
		}
		prevSeq, prevTS = f.Seq, f.Timestamp
		if err := Convert(dst, &f, tg, &s); err != nil {
			t.Fatalf("frame %d: convert: %v", i, err)
		}
	}
	// A short deadline on a 30 fps stream either yields a frame or a
	// deadline error, never a hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	if err := src.Next(ctx, &f); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("1ms deadline: %v", err)
	}
	cancel()
	t.Logf("%s: 10 frames, last seq %d, %d dropped, %.1f fps by timestamps", pf, f.Seq, drops, 9/(prevTS-firstTS).Seconds())
	if err := src.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// The colour bars give several distinct colours along the middle row.
	row := dst[16*32*3 : 17*32*3]
	distinct := map[[3]byte]bool{}
	for x := 0; x < 32; x++ {
		var c [3]byte
		for k := 0; k < 3; k++ {
			c[k] = row[3*x+k] / 32
		}
		distinct[c] = true
	}
	if len(distinct) < 4 {
		t.Errorf("%s: only %d distinct colours along the middle row: %v", pf, len(distinct), row)
	}
	// Reopening works: Close released the buffers (REQBUFS 0).
	src2, err := Open(uri)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	src2.Close()
	return dst
}
