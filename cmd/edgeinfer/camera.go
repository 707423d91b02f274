package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/edgeinfer/edgeinfer/camera"
)

func init() {
	commands["camera"] = command{summary: "list cameras, probe a camera URI (formats, sizes, test capture, recording)", run: cmdCamera}
}

const cameraUsage = `usage: edgeinfer camera list [--dev DIR]
       edgeinfer camera probe [--frames N] [--timeout D] [--record FILE] URI

URI is one of
  v4l2:///dev/video0?w=640&h=480&fmt=YUYV&fps=15   (or just /dev/video0)
  pipe:rpicam-vid -t 0 --codec yuv420 --width 640 --height 480 -o -?w=640&h=480&fmt=I420
  spi:arducam?spi=/dev/spidev0.0&i2c=/dev/i2c-1    spi:lepton?spi=/dev/spidev0.0
  replay:FILE   synthetic:bars?w=320&h=240&fmt=YUYV   file:PHOTO   dir:FOLDER`

func cmdCamera(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, cameraUsage)
		return usagef("missing subcommand (list or probe)")
	}
	switch args[0] {
	case "list":
		return cameraList(args[1:], stdout, stderr)
	case "probe":
		return cameraProbe(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, cameraUsage)
		return nil
	}
	fmt.Fprintln(stderr, cameraUsage)
	return usagef("unknown subcommand %q (list or probe)", args[0])
}

func cameraList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("camera list", stderr)
	dev := fs.String("dev", "/dev", "folder holding the video device nodes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	paths, err := camera.ListDevices(*dev)
	if err != nil {
		return fmt.Errorf("listing %s: %w", *dev, err)
	}
	if len(paths) == 0 {
		fmt.Fprintf(stdout, "no V4L2 devices under %s\n", *dev)
		fmt.Fprintln(stdout, "other sources: pipe:, spi:arducam, spi:lepton, replay:, synthetic:, file:, dir: (edgeinfer camera -h)")
		return nil
	}
	for _, p := range paths {
		info, err := camera.ProbeV4L2(p)
		if err != nil {
			fmt.Fprintf(stdout, "%s\t%v\n", p, err)
			continue
		}
		kind := "capture"
		switch {
		case len(info.Formats) == 0 && info.Caps&0x1001 == 0:
			kind = "not a capture node"
		case info.MPlane:
			kind = "capture (mplane)"
		}
		var fmts []string
		for _, f := range info.Formats {
			fmts = append(fmts, f.Pixel.String())
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\t%s\n", p, info.Driver, info.Card, info.Bus, kind, strings.Join(fmts, ","))
	}
	return nil
}

// v4l2Path returns the device path of a v4l2 URI (or bare /dev path).
func v4l2Path(uri string) (string, bool) {
	if strings.HasPrefix(uri, "/dev/") {
		return uri, true
	}
	if !strings.HasPrefix(uri, "v4l2:") {
		return "", false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Path == "" {
		return "", false
	}
	return u.Path, true
}

func cameraProbe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("camera probe", stderr)
	frames := fs.Int("frames", 5, "frames to capture after listing formats (0: none)")
	timeout := fs.Duration("timeout", 2*time.Second, "longest wait for one frame")
	record := fs.String("record", "", "write the captured frames to this replay file (replay:FILE plays it back)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, cameraUsage)
		return usagef("want exactly one camera URI, got %d arguments", fs.NArg())
	}
	if *frames < 0 || *timeout <= 0 {
		return usagef("--frames must be ≥ 0 and --timeout > 0")
	}
	uri := fs.Arg(0)
	if path, ok := v4l2Path(uri); ok {
		if strings.HasPrefix(uri, "/dev/") {
			uri = "v4l2://" + uri
		}
		info, err := camera.ProbeV4L2(path)
		if err != nil {
			return err
		}
		printDeviceInfo(stdout, info)
	}
	if *frames == 0 {
		return nil
	}
	src, err := camera.Open(uri)
	if err != nil {
		if errors.Is(err, camera.ErrBadURI) {
			return usagef("%v", err)
		}
		return err
	}
	defer src.Close()
	fm := src.Format()
	fmt.Fprintf(stdout, "negotiated: %v stride %v", fm, strideList(fm))
	if fm.FPS > 0 {
		fmt.Fprintf(stdout, " at %.4g fps", fm.FPS)
	}
	fmt.Fprintln(stdout)
	var rec *camera.Recorder
	if *record != "" {
		fh, err := os.Create(*record)
		if err != nil {
			return err
		}
		defer fh.Close()
		if rec, err = camera.NewRecorder(fh, fm); err != nil {
			return err
		}
	}
	var f camera.Frame
	var first, last time.Duration
	var prev uint64
	drops := uint64(0)
	got := 0
	for i := 0; i < *frames; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		err := src.Next(ctx, &f)
		cancel()
		if errors.Is(err, camera.ErrEndOfStream) {
			fmt.Fprintf(stdout, "end of stream after %d frames\n", got)
			break
		}
		if err != nil {
			return fmt.Errorf("frame %d: %w", i, err)
		}
		if got == 0 {
			first = f.Timestamp
		} else {
			drops += f.Drops(prev)
		}
		prev, last = f.Seq, f.Timestamp
		got++
		n := 0
		for _, p := range f.Planes {
			n += len(p)
		}
		fmt.Fprintf(stdout, "frame seq=%d ts=%.6fs %v %d bytes in %d planes\n", f.Seq, f.Timestamp.Seconds(), f.Format, n, len(f.Planes))
		if rec != nil {
			if err := rec.Write(&f); err != nil {
				return err
			}
		}
	}
	if got > 1 && last > first {
		fmt.Fprintf(stdout, "%d frames, %d dropped, %.2f fps by timestamps\n", got, drops, float64(got-1)/(last-first).Seconds())
	}
	if rec != nil {
		fmt.Fprintf(stdout, "recorded %d frames to %s\n", rec.Frames(), *record)
	}
	return nil
}

func strideList(fm camera.Format) []int {
	var s []int
	for _, v := range fm.Stride {
		if v > 0 {
			s = append(s, v)
		}
	}
	return s
}

func printDeviceInfo(w io.Writer, info *camera.DeviceInfo) {
	fmt.Fprintf(w, "device:  %s\ndriver:  %s\ncard:    %s\nbus:     %s\ncaps:    %#08x", info.Path, info.Driver, info.Card, info.Bus, info.Caps)
	if info.MPlane {
		fmt.Fprint(w, " (multi-planar)")
	}
	fmt.Fprintln(w)
	for _, f := range info.Formats {
		mark := ""
		if !f.Supported {
			mark = " (not convertible)"
		}
		fmt.Fprintf(w, "format:  %-8s %q%s\n", f.Pixel.FourCC(), f.Description, mark)
		if f.Stepwise && len(f.Sizes) == 2 {
			fmt.Fprintf(w, "         %dx%d .. %dx%d\n", f.Sizes[0].Width, f.Sizes[0].Height, f.Sizes[1].Width, f.Sizes[1].Height)
			continue
		}
		for _, s := range f.Sizes {
			fmt.Fprintf(w, "         %dx%d", s.Width, s.Height)
			for i, r := range s.FPS {
				sep := " @ "
				if i > 0 {
					sep = ", "
				}
				fmt.Fprintf(w, "%s%.4g", sep, r)
			}
			fmt.Fprintln(w)
		}
	}
}
