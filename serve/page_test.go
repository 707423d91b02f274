package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/internal/tasktest"
	"github.com/edgeinfer/edgeinfer/live"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/serve/servetest"
)

// chromium loads url in headless Chromium with the given extra flags (after
// letting the page run for 3 s of virtual time) and returns its stdout.
func chromium(bin, dir, url string, extra ...string) ([]byte, error) {
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + dir, "--virtual-time-budget=3000", "--window-size=800,600"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("chromium %v: %v\n%s", extra, err, errb.Bytes())
	}
	return out.Bytes(), nil
}

// latestResult returns the newest result as /api/status reports it.
func latestResult(t *testing.T, base string) resultJSON {
	t.Helper()
	var st StatusJSON
	_, b := get(t, base+"/api/status", "")
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	var latest resultJSON
	if err := json.Unmarshal(st.Latest, &latest); err != nil {
		t.Fatal(err)
	}
	return latest
}

// servedFrame decodes /frame.jpg.
func servedFrame(t *testing.T, base string) image.Image {
	t.Helper()
	_, jb := get(t, base+"/frame.jpg", "")
	frame, err := jpeg.Decode(bytes.NewReader(jb))
	if err != nil {
		t.Fatal(err)
	}
	return frame
}

// pageInChromium loads the page at url in two headless Chromiums at once
// and returns its DOM after 3 s and a screenshot of it.
func pageInChromium(t *testing.T, url string) (string, image.Image) {
	t.Helper()
	bin := servetest.NeedTool(t, "chromium", "chromium")
	shot := filepath.Join(t.TempDir(), "page.png")
	var domb []byte
	var domErr error
	dc := make(chan struct{})
	dir1, dir2 := t.TempDir(), t.TempDir()
	go func() {
		defer close(dc)
		domb, domErr = chromium(bin, dir1, url, "--dump-dom")
	}()
	_, shotErr := chromium(bin, dir2, url, "--screenshot="+shot)
	<-dc
	if domErr != nil || shotErr != nil {
		t.Fatal(domErr, shotErr)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(domb), img
}

// The live page in headless Chromium shows the frame (its pixels are in
// the screenshot) and the top class, and updates by itself.
func TestPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium twice; runs without -short")
	}
	svc, base := httpService(t, "synthetic:solid?w=160&h=120&fmt=YUYV&fps=30&r=200&g=30&b=40", "")
	latest := latestResult(t, base)
	want := fmt.Sprintf("%s %.3f", latest.Top[0].Label, latest.Top[0].Score)
	wr, wg, wb, _ := servedFrame(t, base).At(80, 60).RGBA()
	dom, img := pageInChromium(t, base+"/")

	// The DOM: the top class, several updates, a frame loaded.
	field := func(id string) string {
		m := regexp.MustCompile(`id="` + id + `"[^>]*>(?:<b>)?([^<]*)<`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("no #%s in the page's DOM:\n%s", id, dom)
		}
		return m[1]
	}
	if got := field("class"); got != want {
		t.Errorf("the page shows %q as the top class, /api/status %q", got, want)
	}
	if n, _ := strconv.Atoi(field("updates")); n < 3 {
		t.Errorf("the page updated %d times in 3 s at 30 fps", n)
	}
	seq := regexp.MustCompile(`id="frame"[^>]*data-seq="(\d+)"|data-seq="(\d+)"[^>]*id="frame"`).FindStringSubmatch(dom)
	if seq == nil || !strings.Contains(dom, `src="blob:`) {
		t.Errorf("no frame loaded in the page's <img>:\n%s", dom)
	}
	if first, _ := strconv.Atoi(field("seq")); uint64(first) <= latest.Seq {
		t.Errorf("the page shows frame %d, no later than frame %d seen before it loaded", first, latest.Seq)
	}

	// The screenshot: the frame fills the 640×480 image box at the top
	// left (below the class box), in the camera's colour.
	for _, p := range []image.Point{{320, 240}, {600, 400}, {50, 450}} {
		r, g, b, _ := img.At(p.X, p.Y).RGBA()
		if !near(r, wr) || !near(g, wg) || !near(b, wb) {
			t.Errorf("screenshot pixel %v is %d,%d,%d; the frame's is %d,%d,%d", p, r>>8, g>>8, b>>8, wr>>8, wg>>8, wb>>8)
		}
	}
	if r, g, b, _ := img.At(720, 300).RGBA(); near(r, wr) && near(g, wg) && near(b, wb) {
		t.Errorf("the frame's colour also right of the image box: the check proves nothing")
	}
	t.Logf("page: top class %q, %s updates, frame colour %d,%d,%d; %d frames served", want, field("updates"), wr>>8, wg>>8, wb>>8, svc.Status().Frames)
}

func near(a, b uint32) bool {
	d := int(a>>8) - int(b>>8)
	return d >= -12 && d <= 12
}

// For a model that prunes (vit-micro-seed keeps about half its 4×4 patches),
// the page dims the patches the model dropped for the frame it shows and
// leaves the kept ones in the frame's colour, over the centred square the
// model saw.
func TestPageDrawsKeptPatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium; runs without -short")
	}
	var logs servetest.LogBuffer
	svc, err := New(Config{
		Device: "cam1", Version: "test", Model: ModelInfo{Name: "vit-micro-seed", SHA256: strings.Repeat("cd", 32)},
		HTTPAddr: "127.0.0.1:0", Log: log.New(&logs, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A solid frame: every frame keeps the same patches, and a dimmed
	// patch is plainly darker than the frame.
	runService(t, svc, testLoopModel(t, "vit-micro-seed", "synthetic:solid?w=160&h=120&fmt=YUYV&fps=30&r=200&g=180&b=40"), &logs)
	base := "http://" + svc.HTTPAddr()
	latest := latestResult(t, base)
	if len(latest.Grid) != 2 || latest.Grid[0] != 4 || latest.Grid[1] != 4 || len(latest.Kept) == 0 || len(latest.Kept) >= 16 || len(latest.Window) != 4 {
		t.Fatalf("result: grid %v, kept %v, window %v; want a 4×4 grid with some patches kept and some dropped", latest.Grid, latest.Kept, latest.Window)
	}
	// The 160×120 frame's centred 120×120 square.
	if w := latest.Window; w[0] != 0.125 || w[1] != 0 || w[2] != 0.875 || w[3] != 1 {
		t.Fatalf("window %v, want [0.125 0 0.875 1]", w)
	}
	fr, fg, fb, _ := servedFrame(t, base).At(80, 60).RGBA()
	dom, img := pageInChromium(t, base+"/")
	if want := fmt.Sprintf(`data-kept="%d of 16"`, len(latest.Kept)); !strings.Contains(dom, want) {
		t.Errorf("the page's kept-patch canvas does not say %s:\n%s", want, dom)
	}
	isKept := map[int]bool{}
	for _, k := range latest.Kept {
		isKept[k] = true
	}
	// The image box is 640×480 at the page's top left: the window is
	// x 80..560, y 0..480, cells of 120×120. Sample each cell below and
	// right of its centre (clear of the class box and the kept frame).
	dark := 0
	for cell := 0; cell < 16; cell++ {
		x, y := 80+120*(cell%4)+84, 120*(cell/4)+84
		r, g, b, _ := img.At(x, y).RGBA()
		frameColour := near(r, fr) && near(g, fg) && near(b, fb)
		dimmed := r>>8 < fr>>8*6/10 && g>>8 < fg>>8*6/10
		switch {
		case isKept[cell] && !frameColour:
			t.Errorf("kept patch %d at (%d,%d) is %d,%d,%d, not the frame's %d,%d,%d", cell, x, y, r>>8, g>>8, b>>8, fr>>8, fg>>8, fb>>8)
		case !isKept[cell] && !dimmed:
			t.Errorf("dropped patch %d at (%d,%d) is %d,%d,%d, not dimmed from %d,%d,%d", cell, x, y, r>>8, g>>8, b>>8, fr>>8, fg>>8, fb>>8)
		case !isKept[cell]:
			dark++
		}
	}
	// Outside the window (x < 80) the frame is not dimmed.
	if r, g, b, _ := img.At(40, 300).RGBA(); !near(r, fr) || !near(g, fg) || !near(b, fb) {
		t.Errorf("left of the window the page shows %d,%d,%d, the frame is %d,%d,%d", r>>8, g>>8, b>>8, fr>>8, fg>>8, fb>>8)
	}
	t.Logf("kept %v of 16: %d dropped patches dimmed", latest.Kept, dark)
}

// taskService runs a service on a tasktest model (its task decoded by the
// loop) and camera uri, and returns its address.
func taskService(t *testing.T, m *format.Model, uri string) string {
	t.Helper()
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(it.Close)
	src, err := camera.Open(uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	target, err := camera.TargetFor(m)
	if err != nil {
		t.Fatal(err)
	}
	var logs servetest.LogBuffer
	svc, err := New(Config{
		Device: "cam1", Version: "test", Model: ModelInfo{Name: m.Name, SHA256: strings.Repeat("cd", 32)},
		HTTPAddr: "127.0.0.1:0", Log: log.New(&logs, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	runService(t, svc, &live.Loop{Source: src, Interp: it, Target: target}, &logs)
	return "http://" + svc.HTTPAddr()
}

// For a pose model the page draws every keypoint scored at least
// live.PoseMinScore (and no other) where the result puts it, in the part
// of the frame the model saw.
func TestPageDrawsPose(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium; runs without -short")
	}
	base := taskService(t, tasktest.Pose(32, 32, false, format.TaskPose), "synthetic:solid?w=160&h=120&fmt=YUYV&fps=30&r=40&g=60&b=200")
	latest := latestResult(t, base)
	if len(latest.Keypoints) != 17 || len(latest.Window) != 4 {
		t.Fatalf("result: %d keypoints, window %v", len(latest.Keypoints), latest.Window)
	}
	dom, img := pageInChromium(t, base+"/")
	sure := 0
	for _, k := range latest.Keypoints {
		if k.Score >= live.PoseMinScore {
			sure++
		}
	}
	if want := fmt.Sprintf(`data-keypoints="%d of 17"`, sure); !strings.Contains(dom, want) {
		t.Errorf("the page's overlay does not say %s:\n%s", want, dom)
	}
	// The image box is 640×480 at the top left; the window maps onto it.
	w := latest.Window
	for _, k := range latest.Keypoints {
		x := int(640 * (w[0] + float64(k.X)*(w[2]-w[0])))
		y := int(480 * (w[1] + float64(k.Y)*(w[3]-w[1])))
		r, g, b, _ := img.At(x, y).RGBA()
		drawn := r>>8 > 230 && g>>8 < 30 && b>>8 > 230 // the joints' magenta
		if drawn != (k.Score >= live.PoseMinScore) {
			t.Errorf("keypoint %s (score %.2f) at (%d,%d): pixel %d,%d,%d, drawn %v", k.Name, k.Score, x, y, r>>8, g>>8, b>>8, drawn)
		}
	}
	t.Logf("%d of 17 keypoints drawn", sure)
}

// For a segmentation model the page tints the part of the frame the model
// saw with its class map (/mask.png: class 1 everywhere here, as green
// dominates the frame) and leaves the rest of the frame as it is.
func TestPageDrawsMask(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium; runs without -short")
	}
	base := taskService(t, tasktest.Segment(32, 32, "map", format.TaskSegment), "synthetic:solid?w=160&h=120&fmt=YUYV&fps=30&r=40&g=200&b=60")
	latest := latestResult(t, base)
	if len(latest.Classes) != 1 || latest.Classes[0].Index != 1 || latest.Classes[0].Share != 1 {
		t.Fatalf("result classes %+v, want class 1 on every pixel", latest.Classes)
	}
	_, pb := get(t, base+"/mask.png", "")
	mask, err := png.Decode(bytes.NewReader(pb))
	if err != nil {
		t.Fatal(err)
	}
	if b := mask.Bounds(); b.Dx() != 32 || b.Dy() != 32 {
		t.Fatalf("/mask.png is %v, want the 32×32 class map", b)
	}
	if got, want := color.NRGBAModel.Convert(mask.At(5, 5)), live.MaskColor(1); got != want {
		t.Fatalf("/mask.png pixel %v, want class 1's %v", got, want)
	}
	fr, fg, fb, _ := servedFrame(t, base).At(80, 60).RGBA()
	dom, img := pageInChromium(t, base+"/")
	if !strings.Contains(dom, `data-mask="32x32"`) {
		t.Errorf("the page drew no 32×32 mask:\n%s", dom)
	}
	k := live.MaskColor(1)
	tint := func(f uint32, c uint8) uint32 {
		return uint32((int(f>>8)*(255-int(k.A))+int(c)*int(k.A)+127)/255) << 8
	}
	w := latest.Window
	for _, p := range []image.Point{{int(640 * (w[0] + 0.5*(w[2]-w[0]))), 300}, {int(640*w[2]) - 20, 400}} {
		r, g, b, _ := img.At(p.X, p.Y).RGBA()
		if !near(r, tint(fr, k.R)) || !near(g, tint(fg, k.G)) || !near(b, tint(fb, k.B)) {
			t.Errorf("pixel %v inside the window is %d,%d,%d; the frame %d,%d,%d tinted by class 1 is %d,%d,%d", p, r>>8, g>>8, b>>8, fr>>8, fg>>8, fb>>8, tint(fr, k.R)>>8, tint(fg, k.G)>>8, tint(fb, k.B)>>8)
		}
	}
	if x := int(640*w[0]) - 30; x > 0 {
		if r, g, b, _ := img.At(x, 300).RGBA(); !near(r, fr) || !near(g, fg) || !near(b, fb) {
			t.Errorf("left of the window the page shows %d,%d,%d, the frame is %d,%d,%d", r>>8, g>>8, b>>8, fr>>8, fg>>8, fb>>8)
		}
	}
	if _, b := get(t, base+"/mask.png?x=1", ""); !bytes.Contains(b, []byte("only query parameter")) {
		t.Errorf("/mask.png?x=1: %s", b)
	}
}
