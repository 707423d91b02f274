// Package live connects a camera to an interpreter: frames are converted
// straight into the model's input tensor, inference runs, and what the
// model is for is reported — the top classes, a pose's keypoints or a
// segmentation's classes — with no allocation per frame in the steady
// state.
// An optional governor (package boards) paces the loop from telemetry.
package live

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/edgeinfer/edgeinfer/boards"
	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// MaxTop is the largest number of classes a Result reports.
const MaxTop = 10

// Score is one class of a Result.
type Score struct {
	Index int     `json:"index"`
	Label string  `json:"label,omitempty"`
	Score float32 `json:"score"`
}

// Result describes one processed frame. The Loop reuses one Result: copy
// what you keep.
type Result struct {
	Seq   uint64 `json:"seq"`
	Drops uint64 `json:"drops"`
	// Capture is the frame's timestamp (monotonic, from the source).
	CaptureNS  int64   `json:"capture_ns"`
	Preprocess float64 `json:"preprocess_ms"`
	Inference  float64 `json:"inference_ms"`
	// Task is what the model is for: "classify" (Top), "pose"
	// (Keypoints) or "segment" (Classes and MapSize, the class map's
	// height and width). X and Y of keypoints are fractions of the part
	// of the frame the model saw, Window.
	Task      string       `json:"task"`
	Top       []Score      `json:"top,omitempty"`
	Keypoints []Keypoint   `json:"keypoints,omitempty"`
	Classes   []ClassShare `json:"classes,omitempty"`
	MapSize   []int        `json:"map_size,omitempty"`
	// Governed fields, present with a governor.
	Budget   *boards.Budget `json:"budget,omitempty"`
	TempC    float64        `json:"temp_c,omitempty"`
	PowerMW  float64        `json:"power_mw,omitempty"`
	EnergyMJ float64        `json:"energy_mj,omitempty"` // input power × frame period
	Decision string         `json:"decision,omitempty"`  // set when the budget changed
	Tokens   int            `json:"tokens,omitempty"`    // kept tokens, for models that prune
	// For models that prune at run time: Kept lists the patch-grid cells
	// (row-major indices into a Grid[0]×Grid[1] grid) the model kept for
	// this frame. Window, for those and for pose and segmentation models,
	// is the part of the frame the model saw, [x0, y0, x1, y1] as
	// fractions of the frame's width and height.
	Kept   []int     `json:"kept,omitempty"`
	Grid   []int     `json:"grid,omitempty"`
	Window []float64 `json:"window,omitempty"`

	topBuf    [MaxTop]Score
	budget    boards.Budget
	keptBuf   []int
	gridBuf   [2]int
	windowBuf [4]float64
	mapBuf    [2]int
}

// Governed adds telemetry-driven pacing to a Loop.
type Governed struct {
	Governor *boards.Governor
	Reader   *boards.Reader
	Zones    []string
	Rail     string
}

// Loop is one camera feeding one interpreter.
type Loop struct {
	Source camera.Source
	Interp *runtime.Interpreter
	Target *camera.Target
	Labels []string
	TopK   int
	// Task overrides what the model is for (format.TaskUnspecified: the
	// model's own Task; a model that says none is a classifier).
	Task    format.Task
	Timeout time.Duration // per frame; default 2 s
	// FPS caps the frame rate (0: as fast as frames come).
	FPS float64
	// Gov, when set, is consulted once per frame.
	Gov *Governed
	// Settle is how many frames each Run reads and discards before the
	// first it processes (exposure settling after a camera opens).
	Settle int
	// Beat, when set, is called once per pass of the loop, before it
	// waits for a frame (also while the governor pauses it): a liveness
	// signal, e.g. for a watchdog.
	Beat func()

	frame   camera.Frame
	fctx    deadlineCtx
	scratch camera.Scratch
	scores  []float32
	dec     *Decoder
	// readyFor is the interpreter the scores or decoder were set up for.
	readyFor *runtime.Interpreter
	res      Result
	snap     boards.Snapshot
	prevSeq  uint64
	started  bool
}

// ErrFatal wraps camera errors that end the loop.
var ErrFatal = errors.New("camera failed")

// recoverable reports whether a camera error can be survived by waiting for
// the next frame.
func recoverable(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, camera.ErrShortFrame)
}

// Run processes frames until n have been reported (n ≤ 0: until the source
// ends or ctx is done), calling emit for each. Recoverable camera errors
// (frame timeouts, short frames) are passed to warn and the loop goes on;
// fatal ones end it with an error wrapping ErrFatal. The end of a finite
// source ends the loop without error.
func (l *Loop) Run(ctx context.Context, n int, emit func(*Result) error, warn func(error)) error {
	if l.Timeout <= 0 {
		l.Timeout = 2 * time.Second
	}
	if l.TopK <= 0 || l.TopK > MaxTop {
		l.TopK = 5
	}
	var last time.Time
	settle := l.Settle
	for done := 0; n <= 0 || done < n; {
		if err := ctx.Err(); err != nil {
			return nil
		}
		if l.Beat != nil {
			l.Beat()
		}
		fps := l.FPS
		if l.Gov != nil {
			if err := l.govern(); err != nil {
				warn(err)
			}
			if l.res.budget.Pause {
				if sleep(ctx, time.Second) != nil {
					return nil
				}
				continue
			}
			if fps == 0 || l.res.budget.FPS < fps {
				fps = l.res.budget.FPS
			}
		}
		if fps > 0 && !last.IsZero() {
			if wait := time.Duration(float64(time.Second)/fps) - time.Since(last); wait > 0 {
				if sleep(ctx, wait) != nil {
					return nil
				}
			}
		}
		last = time.Now()
		l.fctx = deadlineCtx{Context: ctx, deadline: time.Now().Add(l.Timeout)}
		err := l.Source.Next(&l.fctx, &l.frame)
		if err != nil {
			switch {
			case errors.Is(err, camera.ErrEndOfStream):
				return nil
			case ctx.Err() != nil:
				return nil
			case recoverable(err):
				warn(err)
				continue
			}
			return fmt.Errorf("%w: %w", ErrFatal, err)
		}
		if settle > 0 {
			settle--
			continue
		}
		if err := l.process(); err != nil {
			return err
		}
		done++
		if err := emit(&l.res); err != nil {
			return err
		}
	}
	return nil
}

// SetModel makes the loop run another interpreter, with its conversion
// target and labels, from the next frame on. Call it between frames: from
// the emit callback or while Run is not running. The caller closes the
// interpreter it replaced.
func (l *Loop) SetModel(it *runtime.Interpreter, t *camera.Target, labels []string) {
	l.Interp, l.Target, l.Labels = it, t, labels
	l.readyFor = nil
	l.res.Tokens = 0
}

// prepare sets up the decoding of the interpreter's output (once per
// interpreter): a buffer for the scores of a classifier, a Decoder for a
// pose or segmentation model.
func (l *Loop) prepare() error {
	if l.readyFor == l.Interp {
		return nil
	}
	task := l.Task.Or(l.Interp.Model().Task).Or(format.TaskClassify)
	l.dec = nil
	if task == format.TaskClassify {
		if n := l.Interp.Output(0).NumElements(); len(l.scores) != n {
			l.scores = make([]float32, n)
		}
	} else {
		d, err := NewDecoder(l.Interp, task, l.Labels)
		if err != nil {
			return err
		}
		l.dec = d
	}
	l.res.Task = task.String()
	l.res.Top, l.res.Keypoints, l.res.Classes, l.res.MapSize = nil, nil, nil, nil
	l.readyFor = l.Interp
	return nil
}

// Frame returns the frame behind the Result being emitted; it is valid
// only during the emit call (the loop reuses it).
func (l *Loop) Frame() *camera.Frame { return &l.frame }

func (l *Loop) govern() error {
	g := l.Gov
	l.res.Decision = ""
	if err := g.Reader.Read(&l.snap); err != nil {
		// A broken sensor leaves the rest of the snapshot usable.
		_ = err
	}
	d := g.Governor.Step(&l.snap)
	l.res.budget = d.Budget
	l.res.Budget = &l.res.budget
	if d.Changed {
		l.res.Decision = d.Reason
	}
	if d.Budget.Threads > 0 {
		l.Interp.SetThreads(d.Budget.Threads)
	}
	// The token budget applies to models with pruning ops (MaxTokens > 0);
	// others ignore it.
	if maxTok := l.Interp.MaxTokens(); maxTok > 0 && d.Budget.Tokens > 0 {
		keep := max(1, int(math.Round(d.Budget.Tokens*float64(maxTok))))
		if err := l.Interp.SetTokens(keep); err != nil {
			return err
		}
		l.res.Tokens = keep
	}
	l.res.TempC, _, _ = l.snap.MaxTempC(g.Zones)
	l.res.PowerMW, _ = l.snap.PowerMW(g.Rail)
	l.res.EnergyMJ = 0
	if d.Budget.FPS > 0 {
		l.res.EnergyMJ = l.res.PowerMW / d.Budget.FPS
	}
	return nil
}

// ClassMap returns the class of every pixel of the last frame's class map,
// row-major h×w, for a segmentation model (nil otherwise). It is valid
// until the next Step.
func (l *Loop) ClassMap() (classes []int32, h, w int) {
	if l.dec == nil || l.dec.task != format.TaskSegment {
		return nil, 0, 0
	}
	return l.dec.ClassMap()
}

// process converts the current frame, runs the model and fills l.res.
func (l *Loop) process() error {
	if err := l.prepare(); err != nil {
		return err
	}
	t0 := time.Now()
	if err := camera.Convert(l.Interp.Input(0).Bytes(), &l.frame, l.Target, &l.scratch); err != nil {
		return fmt.Errorf("frame %d: %w", l.frame.Seq, err)
	}
	t1 := time.Now()
	if err := l.Interp.Invoke(); err != nil {
		return fmt.Errorf("frame %d: %w", l.frame.Seq, err)
	}
	t2 := time.Now()
	r := &l.res
	r.Seq = l.frame.Seq
	r.Drops = 0
	if l.started {
		r.Drops = l.frame.Drops(l.prevSeq)
	}
	l.prevSeq, l.started = l.frame.Seq, true
	r.CaptureNS = int64(l.frame.Timestamp)
	r.Preprocess = float64(t1.Sub(t0).Nanoseconds()) / 1e6
	r.Inference = float64(t2.Sub(t1).Nanoseconds()) / 1e6
	r.keptPatches(l.Interp, &l.frame, l.Target)
	switch d := l.dec; {
	case d == nil:
		r.Top = TopK(l.Interp.Output(0).Dequantized(l.scores), l.Labels, r.topBuf[:l.TopK])
	case d.task == format.TaskPose:
		d.Decode()
		r.Keypoints = d.Keypoints()
		r.setWindow(&l.frame, l.Target)
	default:
		d.Decode()
		r.Classes = d.Classes()
		r.mapBuf = [2]int{d.seg.H, d.seg.W}
		r.MapSize = r.mapBuf[:]
		r.setWindow(&l.frame, l.Target)
	}
	return nil
}

// setWindow sets Window to the part of frame f that t converts.
func (r *Result) setWindow(f *camera.Frame, t *camera.Target) {
	sw, sh := f.Format.Width, f.Format.Height
	x0, y0, w, h := t.Window(sw, sh)
	r.windowBuf = [4]float64{float64(x0) / float64(sw), float64(y0) / float64(sh), float64(x0+w) / float64(sw), float64(y0+h) / float64(sh)}
	r.Window = r.windowBuf[:]
}

// keptPatches fills Kept, Grid and Window for a model that prunes at run
// time, and clears them otherwise. The buffers are sized once per grid.
func (r *Result) keptPatches(it *runtime.Interpreter, f *camera.Frame, t *camera.Target) {
	r.Kept, r.Grid, r.Window = nil, nil, nil
	gh, gw := it.PatchGrid()
	if gh <= 0 || gw <= 0 || it.MaxTokens() <= 0 {
		return
	}
	if cap(r.keptBuf) < gh*gw {
		r.keptBuf = make([]int, 0, gh*gw)
	}
	r.Kept = it.KeptPatches(r.keptBuf[:0])
	r.gridBuf = [2]int{gh, gw}
	r.Grid = r.gridBuf[:]
	r.setWindow(f, t)
}

// TopK fills dst with the len(dst) highest scores in descending order
// (ties: lower index first) and returns it; it allocates nothing.
func TopK(scores []float32, labels []string, dst []Score) []Score {
	if len(dst) == 0 {
		return dst
	}
	n := 0
	for i, s := range scores {
		if n == len(dst) && s <= dst[n-1].Score {
			continue
		}
		j := n
		if n < len(dst) {
			n++
		} else {
			j = n - 1
		}
		for j > 0 && dst[j-1].Score < s {
			dst[j] = dst[j-1]
			j--
		}
		dst[j] = Score{Index: i, Score: s}
	}
	for k := 0; k < n; k++ {
		dst[k].Label = ""
		if dst[k].Index < len(labels) {
			dst[k].Label = labels[dst[k].Index]
		}
	}
	return dst[:n]
}

// deadlineCtx is a frame timeout that, unlike context.WithTimeout, costs
// no allocation: it reports the deadline through Deadline and Err, which
// is how sources wait (poll timeouts, read deadlines). Its Done channel is
// the parent's, so a source blocked only on Done wakes at cancellation or
// its own next frame time, not at the deadline.
type deadlineCtx struct {
	context.Context
	deadline time.Time
}

func (c *deadlineCtx) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *deadlineCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
