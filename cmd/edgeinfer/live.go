package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/signal"
	goruntime "runtime"

	"github.com/edgeinfer/edgeinfer/boards"
	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/live"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// liveFlags are run's options for photos and cameras.
type liveFlags struct {
	image    string
	camera   string
	frames   int
	fps      float64
	governor bool
	maxTemp  float64
	maxPower float64
	root     string
}

// fillImage decodes a photo and converts it into input 0 with the model's
// preprocessing (centre crop, bilinear resize, normalisation, quantization).
// It returns the decoded photo.
func fillImage(it *runtime.Interpreter, path string) (image.Image, error) {
	target, err := camera.TargetFor(it.Model())
	if err != nil {
		return nil, err
	}
	img, err := camera.DecodeImage(path)
	if err != nil {
		return nil, err
	}
	var s camera.Scratch
	if err := camera.ConvertImage(it.Input(0).Bytes(), img, target, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// governed sets up the governor from the detected board's profile.
func governed(lf *liveFlags, stderr io.Writer) (*live.Governed, error) {
	fsys := os.DirFS(lf.root)
	cpu := boards.HostCPU()
	if lf.root != "/" {
		cpu = boards.CPUInfoCPU(fsys)
	}
	det, err := boards.Detect(fsys, cpu)
	if err != nil {
		return nil, fmt.Errorf("governor: detecting the board: %w", err)
	}
	cfg := boards.ConfigFor(det.Profile, goruntime.NumCPU())
	if lf.maxTemp > 0 {
		cfg.TargetC = lf.maxTemp
	}
	if lf.maxPower > 0 {
		cfg.BudgetMW = lf.maxPower * 1000
	}
	if lf.fps > 0 {
		cfg.Full.FPS = lf.fps
	}
	g, err := boards.NewGovernor(cfg)
	if err != nil {
		return nil, fmt.Errorf("governor: %w", err)
	}
	r, err := boards.NewReader(fsys, det.Profile)
	if err != nil {
		return nil, fmt.Errorf("governor: telemetry: %w", err)
	}
	fmt.Fprintf(stderr, "governor: %s, hold %.0f °C", det.Profile.Name, cfg.TargetC)
	if cfg.BudgetMW > 0 {
		fmt.Fprintf(stderr, " and %.1f W", cfg.BudgetMW/1000)
	}
	fmt.Fprintln(stderr)
	return &live.Governed{Governor: g, Reader: r, Zones: cfg.Zones, Rail: cfg.TotalRail}, nil
}

// openLoop opens --camera and sets up the frame loop (and its governor)
// for it; the caller closes l.Source.
func openLoop(it *runtime.Interpreter, labels []string, top int, lf *liveFlags, stderr io.Writer) (*live.Loop, error) {
	target, err := camera.TargetFor(it.Model())
	if err != nil {
		return nil, err
	}
	src, err := camera.Open(lf.camera)
	if errors.Is(err, camera.ErrBadURI) {
		return nil, usagef("--camera: %v", err)
	}
	if err != nil {
		return nil, err
	}
	l := &live.Loop{Source: src, Interp: it, Target: target, Labels: labels, TopK: min(top, live.MaxTop), FPS: lf.fps}
	if lf.governor {
		if l.Gov, err = governed(lf, stderr); err != nil {
			src.Close()
			return nil, err
		}
	}
	return l, nil
}

// runCamera is run's live loop: one line (or JSON object) per frame,
// decoded as task says.
func runCamera(it *runtime.Interpreter, labels []string, top int, task format.Task, lf *liveFlags, asJSON bool, stdout, stderr io.Writer) error {
	l, err := openLoop(it, labels, top, lf, stderr)
	if err != nil {
		return err
	}
	l.Task = task
	defer l.Source.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	enc := json.NewEncoder(stdout)
	emit := func(r *live.Result) error {
		if asJSON {
			return enc.Encode(r)
		}
		fmt.Fprintf(stdout, "frame %d: preprocess %.2f ms, inference %.2f ms", r.Seq, r.Preprocess, r.Inference)
		if r.Drops > 0 {
			fmt.Fprintf(stdout, ", %d dropped", r.Drops)
		}
		for _, s := range r.Top {
			fmt.Fprintf(stdout, " | %d %s %.3f", s.Index, s.Label, s.Score)
		}
		if r.Keypoints != nil {
			n := 0
			for _, k := range r.Keypoints {
				if k.Score >= live.PoseMinScore {
					n++
				}
			}
			fmt.Fprintf(stdout, " | pose: %d of %d keypoints scored ≥ %.2f", n, len(r.Keypoints), live.PoseMinScore)
		}
		for i, c := range r.Classes {
			if i == top {
				break
			}
			fmt.Fprintf(stdout, " | %d %s %.1f%%", c.Index, c.Label, 100*c.Share)
		}
		fmt.Fprintln(stdout)
		if r.Decision != "" {
			fmt.Fprintf(stdout, "  governor: %s\n", r.Decision)
		}
		return nil
	}
	warn := func(err error) { fmt.Fprintf(stderr, "edgeinfer run: camera: %v (continuing)\n", err) }
	return l.Run(ctx, lf.frames, emit, warn)
}
