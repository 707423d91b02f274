package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/internal/testshared"
)

func TestRunCameraJSONLines(t *testing.T) {
	st, out, errOut := edgeinfer("run", "--model", "../../testdata/vit-micro.eim", "--camera", "synthetic:box?w=64&h=48&fmt=YUYV", "--frames", "5", "--json", "--top", "2")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d JSON lines for 5 frames:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var r struct {
			Seq        uint64  `json:"seq"`
			Inference  float64 `json:"inference_ms"`
			Preprocess float64 `json:"preprocess_ms"`
			Top        []struct {
				Index int
				Label string
			} `json:"top"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, l)
		}
		if r.Seq != uint64(i) || len(r.Top) != 2 || r.Top[0].Label == "" || r.Inference <= 0 {
			t.Errorf("line %d = %+v", i, r)
		}
	}
}

func TestRunGovernedFromFixture(t *testing.T) {
	st, out, errOut := edgeinfer("run", "--camera", "synthetic:bars?w=32&h=32&fmt=RGB24", "--frames", "2", "--json",
		"--governor", "--root", "../../boards/testdata/rpi-4b", "--max-temp", "70")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	var r struct {
		Budget *struct{ FPS float64 } `json:"budget"`
		TempC  float64                `json:"temp_c"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Budget == nil || r.Budget.FPS <= 0 || r.TempC <= 0 {
		t.Errorf("governed frame lacks budget or temperature: %s", out)
	}
	if !strings.Contains(errOut, "Raspberry Pi 4") {
		t.Errorf("stderr does not name the detected board: %q", errOut)
	}
}

func TestRunImage(t *testing.T) {
	st, _, errOut := edgeinfer("run", "--model", "../../testdata/cnn-micro.eim", "--image", "../../camera/testdata/does-not-exist.png")
	if st != 1 || !strings.Contains(errOut, "does-not-exist.png") {
		t.Errorf("missing photo: status %d, stderr %q", st, errOut)
	}
	st, _, errOut = edgeinfer("run", "--image", "x.png", "--camera", "synthetic:bars")
	if st != 2 {
		t.Errorf("--image with --camera: status %d (%s)", st, errOut)
	}
	st, _, errOut = edgeinfer("run", "--frames", "3")
	if st != 2 {
		t.Errorf("--frames without --camera: status %d (%s)", st, errOut)
	}
	st, _, errOut = edgeinfer("run", "--camera", "bogus:thing", "--frames", "1")
	if st != 2 || !strings.Contains(errOut, "bogus") {
		t.Errorf("bad camera URI: status %d, stderr %q", st, errOut)
	}
}

func TestRunPhoto(t *testing.T) {
	photo := testshared.Path(t, "models/cat.bmp")
	st, out, errOut := edgeinfer("run", "--model", "../../testdata/cnn-micro.eim", "--image", photo, "--json", "--top", "1")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	var r runJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Outputs) != 1 || len(r.Outputs[0].Top) != 1 {
		t.Fatalf("run --image --json = %q (%v)", out, err)
	}
	if !strings.HasSuffix(r.Input, "cat.bmp") {
		t.Errorf("input described as %q", r.Input)
	}
}
