package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/edgeinfer/edgeinfer/live"
	"github.com/edgeinfer/edgeinfer/serve/servetest"
)

// httpService runs a service with HTTP (no broker) on a synthetic camera
// until the test ends.
func httpService(t *testing.T, uri, token string) (*Service, string) {
	t.Helper()
	var logs servetest.LogBuffer
	svc, err := New(Config{
		Device: "cam1", Version: "test", Model: ModelInfo{Name: "vit-micro", SHA256: strings.Repeat("cd", 32)},
		HTTPAddr: "127.0.0.1:0", HTTPToken: token, Log: log.New(&logs, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	runService(t, svc, testLoop(t, uri), &logs)
	return svc, "http://" + svc.HTTPAddr()
}

// runService runs svc on l until the test ends (build l before: its
// cleanups must run after this one) and waits for its first frames.
func runService(t *testing.T, svc *Service, l *live.Loop, logs *servetest.LogBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, l, 0) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})
	for i := 0; svc.Status().Frames < 3; i++ {
		if i > 3000 {
			t.Fatal("no frames")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func get(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestHTTPEndpoints(t *testing.T) {
	_, base := httpService(t, "synthetic:box?w=64&h=48&fmt=YUYV&fps=100", "")

	resp, b := get(t, base+"/healthz", "")
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, b)
	}

	resp, b = get(t, base+"/api/status", "")
	var st StatusJSON
	if err := json.Unmarshal(b, &st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/api/status: %d %v %s", resp.StatusCode, err, b)
	}
	var latest resultJSON
	if err := json.Unmarshal(st.Latest, &latest); err != nil || latest.Result == nil || len(latest.Top) != 3 || latest.Device != "cam1" || latest.ID == 0 {
		t.Errorf("/api/status latest result: %v %s", err, st.Latest)
	}
	if st.Frames < 3 || st.Model.Name != "vit-micro" || st.Broker != nil {
		t.Errorf("/api/status: %+v", st)
	}

	resp, b = get(t, base+"/frame.jpg?seq=7", "")
	img, err := jpeg.Decode(strings.NewReader(string(b)))
	if err != nil || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("/frame.jpg: %v (%s)", err, resp.Header.Get("Content-Type"))
	}
	if sz := img.Bounds().Size(); sz.X != 64 || sz.Y != 48 {
		t.Errorf("/frame.jpg is %v, the camera's frames 64×48", sz)
	}

	// Three events in a row, frames in order.
	resp2, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp2.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("/events content type %q", ct)
	}
	sc := bufio.NewScanner(resp2.Body)
	var ids []uint64
	for len(ids) < 3 && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var r resultJSON
			if err := json.Unmarshal([]byte(d), &r); err != nil {
				t.Fatalf("event %q: %v", d, err)
			}
			ids = append(ids, r.ID)
		}
	}
	resp2.Body.Close()
	if len(ids) != 3 || ids[0] >= ids[1] || ids[1] >= ids[2] {
		t.Errorf("event ids %v", ids)
	}

	// /metrics parsed by Prometheus's own text parser.
	resp, b = get(t, base+"/metrics", "")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for _, name := range []string{"edgeinfer_frames_total", "edgeinfer_inference_seconds", "edgeinfer_camera_drops_total",
		"edgeinfer_spool_depth", "edgeinfer_spool_bytes", "edgeinfer_spool_dropped_total", "edgeinfer_broker_connected",
		"edgeinfer_fps", "edgeinfer_published_total", "go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	frames := fams["edgeinfer_frames_total"].GetMetric()[0].GetCounter().GetValue()
	h := fams["edgeinfer_inference_seconds"].GetMetric()[0].GetHistogram()
	if frames < 3 || h.GetSampleCount() < 3 || h.GetSampleSum() <= 0 {
		t.Errorf("frames %v, inference histogram count %d sum %v", frames, h.GetSampleCount(), h.GetSampleSum())
	}

	// Nothing but GET, no bodies, no stray parameters.
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/status", "", 405},
		{"GET", "/api/status?x=1", "", 400},
		{"GET", "/frame.jpg?camera=pipe:sh", "", 400},
		{"GET", "/api/status", "{}", 413},
		{"GET", "/nope", "", 404},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		if tc.body == "" {
			req.Body, req.ContentLength = nil, 0
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}

func TestHTTPToken(t *testing.T) {
	if _, err := New(Config{Device: "d", HTTPAddr: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "--http-token-file") {
		t.Errorf("a non-loopback address without a token: %v", err)
	}
	const token = "0123456789abcdef-secret"
	_, base := httpService(t, "synthetic:box?w=64&h=48&fmt=YUYV&fps=100", token)
	for _, path := range []string{"/", "/events", "/frame.jpg", "/metrics", "/api/status"} {
		for _, bad := range []string{"", "wrong", token + "x", token[:len(token)-1]} {
			resp, _ := get(t, base+path, bad)
			if resp.StatusCode != 401 {
				t.Errorf("%s with token %q: %d, want 401", path, bad, resp.StatusCode)
			}
		}
	}
	if resp, _ := get(t, base+"/api/status", token); resp.StatusCode != 200 {
		t.Errorf("/api/status with the token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, base+"/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("/healthz without a token: %d, want 200", resp.StatusCode)
	}
}

// /healthz fails before the first frame and when frames stop.
func TestHealthz(t *testing.T) {
	s := &Service{frameAlive: 5 * time.Second}
	h := &httpServer{s: s}
	for _, tc := range []struct {
		at   time.Time
		want int
	}{
		{time.Time{}, 503},
		{time.Now().Add(-time.Minute), 503},
		{time.Now(), 200},
	} {
		s.latestAt = tc.at
		w := httptest.NewRecorder()
		h.healthz(w, httptest.NewRequest("GET", "/healthz", nil))
		if w.Code != tc.want {
			t.Errorf("last frame at %v: %d %q, want %d", tc.at, w.Code, w.Body, tc.want)
		}
	}
}
