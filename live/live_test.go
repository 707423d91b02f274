package live

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/edgeinfer/edgeinfer/boards"
	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

func loop(t testing.TB, uri string) *Loop {
	t.Helper()
	return loopModel(t, "vit-micro", uri)
}

func loopModel(t testing.TB, model, uri string) *Loop {
	t.Helper()
	q, _, err := zoo.Build(model, zoo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(q, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(it.Close)
	src, err := camera.Open(uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	target, err := camera.TargetFor(it.Model())
	if err != nil {
		t.Fatal(err)
	}
	return &Loop{Source: src, Interp: it, Target: target, Labels: q.Labels, TopK: 3}
}

func TestLoopSynthetic(t *testing.T) {
	l := loop(t, "synthetic:box?w=64&h=48&fmt=YUYV&frames=12&drop=5")
	var seqs []uint64
	var drops uint64
	err := l.Run(context.Background(), 0, func(r *Result) error {
		seqs = append(seqs, r.Seq)
		drops += r.Drops
		if len(r.Top) != 3 || r.Top[0].Score < r.Top[1].Score || r.Top[0].Label == "" {
			t.Errorf("frame %d: top = %+v", r.Seq, r.Top)
		}
		if r.Inference <= 0 {
			t.Errorf("frame %d: inference time %v", r.Seq, r.Inference)
		}
		return nil
	}, func(err error) { t.Errorf("warning: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 12 {
		t.Fatalf("%d frames processed, want the source's 12", len(seqs))
	}
	if drops == 0 {
		t.Errorf("the source drops every 5th frame but the loop saw no drops (seqs %v)", seqs)
	}
}

func TestLoopFrameLimitAndCancel(t *testing.T) {
	l := loop(t, "synthetic:bars?w=32&h=32&fmt=RGB24")
	n := 0
	if err := l.Run(context.Background(), 4, func(*Result) error { n++; return nil }, func(error) {}); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d frames, want 4", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Run(ctx, 0, func(*Result) error { t.Error("frame after cancel"); return nil }, func(error) {}); err != nil {
		t.Errorf("cancelled run: %v", err)
	}
}

// failing is a source that fails with the given errors, then ends.
type failing struct {
	errs []error
	fm   camera.Format
}

func (f *failing) Format() camera.Format { return f.fm }
func (f *failing) Close() error          { return nil }
func (f *failing) Next(ctx context.Context, fr *camera.Frame) error {
	if len(f.errs) == 0 {
		return camera.ErrEndOfStream
	}
	err := f.errs[0]
	f.errs = f.errs[1:]
	return err
}

func TestLoopRecoverableAndFatalErrors(t *testing.T) {
	l := loop(t, "synthetic:bars?w=32&h=32&fmt=RGB24")
	var warned int
	l.Source = &failing{errs: []error{context.DeadlineExceeded, camera.ErrShortFrame}}
	if err := l.Run(context.Background(), 0, func(*Result) error { return nil }, func(error) { warned++ }); err != nil {
		t.Fatalf("recoverable errors ended the loop: %v", err)
	}
	if warned != 2 {
		t.Errorf("%d warnings, want 2", warned)
	}
	l.Source = &failing{errs: []error{camera.ErrDeviceGone}}
	err := l.Run(context.Background(), 0, func(*Result) error { return nil }, func(error) {})
	if !errors.Is(err, ErrFatal) || !errors.Is(err, camera.ErrDeviceGone) {
		t.Errorf("unplugged camera: err = %v, want ErrFatal wrapping ErrDeviceGone", err)
	}
}

func TestLoopAllocatesNothingPerFrame(t *testing.T) {
	for _, tc := range []struct{ model, uri string }{
		{"vit-micro", "synthetic:bars?w=64&h=48&fmt=YUYV"},
		{"vit-micro", "synthetic:gradient?w=40&h=40&fmt=NV12"},
		{"vit-micro-seed", "synthetic:bars?w=64&h=48&fmt=YUYV"}, // prunes: Kept, Grid, Window
	} {
		uri := tc.model + " " + tc.uri
		l := loopModel(t, tc.model, tc.uri)
		emit := func(*Result) error { return nil }
		warn := func(err error) { t.Error(err) }
		l.Run(context.Background(), 2, emit, warn) // warm up buffers
		allocs := testing.AllocsPerRun(20, func() { l.Run(context.Background(), 1, emit, warn) })
		if allocs != 0 {
			t.Errorf("%s: %v allocations per frame", uri, allocs)
		}
		if tc.model == "vit-micro-seed" && (len(l.res.Kept) == 0 || len(l.res.Grid) != 2) {
			t.Errorf("%s: kept %v, grid %v", uri, l.res.Kept, l.res.Grid)
		}
	}
}

func BenchmarkLoopFrame(b *testing.B) {
	l := loop(b, "synthetic:bars?w=64&h=48&fmt=YUYV")
	emit := func(*Result) error { return nil }
	warn := func(error) {}
	l.Run(context.Background(), 2, emit, warn)
	b.ReportAllocs()
	b.ResetTimer()
	l.Run(context.Background(), b.N, emit, warn)
}

func TestTopK(t *testing.T) {
	var buf [3]Score
	got := TopK([]float32{0.1, 0.9, 0.5, 0.9, -1}, []string{"a", "b", "c", "d", "e"}, buf[:])
	want := []Score{{1, "b", 0.9}, {3, "d", 0.9}, {2, "c", 0.5}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("TopK = %+v, want %+v", got, want)
		}
	}
	if n := len(TopK([]float32{1}, nil, buf[:])); n != 1 {
		t.Errorf("TopK of 1 score returned %d", n)
	}
	if n := len(TopK([]float32{1, 2}, nil, buf[:0])); n != 0 { // run --top 0
		t.Errorf("TopK into no room returned %d", n)
	}
}

// TestGovernorShedsTokens runs a pruning ViT on a fixture Pi 4 whose
// 52 °C reading is above a 30 °C target: with the telemetry clock moving
// a minute per frame, the governor steps down its ladder and the loop
// applies the token budget to the interpreter.
func TestGovernorShedsTokens(t *testing.T) {
	q, _, err := zoo.Build("vit-micro-seed", zoo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(q, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	maxTok := it.MaxTokens()
	if maxTok == 0 {
		t.Fatal("vit-micro-seed has no token budget")
	}
	prof, err := boards.Lookup("rpi-4b")
	if err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS("../boards/testdata/rpi-4b")
	r, err := boards.NewReader(fsys, prof)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	r.Now = func() time.Time { now = now.Add(time.Minute); return now }
	cfg := boards.ConfigFor(prof, 4)
	cfg.TargetC = 30
	cfg.Full.FPS = 1000 // paced at most 8 ms a frame: the test stays fast
	g, err := boards.NewGovernor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src, err := camera.Open("synthetic:bars?w=32&h=32&fmt=RGB24")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	target, err := camera.TargetFor(it.Model())
	if err != nil {
		t.Fatal(err)
	}
	l := &Loop{Source: src, Interp: it, Target: target, Gov: &Governed{Governor: g, Reader: r, Zones: cfg.Zones, Rail: cfg.TotalRail}}
	minTok := maxTok
	err = l.Run(context.Background(), 40, func(res *Result) error {
		if res.Budget == nil || res.TempC < 50 {
			t.Fatalf("frame %d: no budget or temperature: %+v", res.Seq, res)
		}
		if res.Tokens > 0 {
			minTok = min(minTok, res.Tokens)
		}
		return nil
	}, func(err error) { t.Logf("warning: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	if minTok >= maxTok {
		t.Errorf("a board 22 °C over target never shed tokens (max %d)", maxTok)
	}
}
