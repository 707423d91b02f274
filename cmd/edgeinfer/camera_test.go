package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCameraProbeRecordAndReplay(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "bars.replay")
	st, out, errOut := edgeinfer("camera", "probe", "--frames", "6", "--record", rec, "synthetic:bars?w=64&h=48&fmt=YUYV")
	if st != 0 {
		t.Fatalf("probe: status %d: %s", st, errOut)
	}
	if !strings.Contains(out, "64") || !strings.Contains(out, "YUYV") {
		t.Errorf("probe output does not describe the format:\n%s", out)
	}
	if fi, err := os.Stat(rec); err != nil || fi.Size() < 6*64*48*2 {
		t.Fatalf("recording: %v", err)
	}
	// The recording replays end to end through the default model.
	st, out, errOut = edgeinfer("run", "--camera", "replay:"+rec, "--json")
	if st != 0 {
		t.Fatalf("run replay: status %d: %s", st, errOut)
	}
	if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != 6 {
		t.Errorf("replay of 6 frames gave %d lines:\n%s", n, out)
	}
}

func TestCameraErrors(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status int
	}{
		{[]string{"camera"}, 2},
		{[]string{"camera", "frobnicate"}, 2},
		{[]string{"camera", "probe"}, 2},
		{[]string{"camera", "probe", "v4l2:///dev/video-does-not-exist"}, 1},
		{[]string{"camera", "probe", "synthetic:bars?w=-1"}, 2}, // a bad URI is a usage error
		{[]string{"camera", "list", "--dev", t.TempDir()}, 0},
	} {
		st, _, errOut := edgeinfer(c.args...)
		if st != c.status {
			t.Errorf("edgeinfer %v: status %d, want %d (%s)", c.args, st, c.status, errOut)
		}
		if strings.Contains(errOut, "goroutine") {
			t.Errorf("edgeinfer %v panicked: %s", c.args, errOut)
		}
	}
}
