package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/edgeinfer/edgeinfer/serve"
	"github.com/edgeinfer/edgeinfer/serve/servetest"
)

// buildEdgeinfer builds this command into a temporary folder: the fault
// tests run the real binary as a child process.
func buildEdgeinfer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary with a broker for seconds; runs without -short")
	}
	bin := filepath.Join(t.TempDir(), "edgeinfer")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is a running edgeinfer serve.
type child struct {
	cmd    *exec.Cmd
	stderr *servetest.LogBuffer
	done   chan error
}

func startServe(t *testing.T, bin string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), stderr: &servetest.LogBuffer{}, done: make(chan error, 1)}
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("edgeinfer serve stderr:\n%s", c.stderr.String())
		}
		c.done <- nil
	})
	return c
}

// wait waits for the child to exit (a hang guard of limit) and returns its
// exit error.
func (c *child) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(limit):
		t.Fatalf("edgeinfer serve still running after %v", limit)
		return nil
	}
}

// status polls /api/status.
func status(t *testing.T, addr string) (serve.StatusJSON, bool) {
	resp, err := http.Get("http://" + addr + "/api/status")
	if err != nil {
		return serve.StatusJSON{}, false
	}
	defer resp.Body.Close()
	var st serve.StatusJSON
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/api/status: %v", err)
	}
	return st, true
}

func waitStatus(t *testing.T, addr, what string, cond func(serve.StatusJSON) bool) serve.StatusJSON {
	t.Helper()
	end := time.Now().Add(60 * time.Second)
	for time.Now().Before(end) {
		if st, ok := status(t, addr); ok && cond(st) {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
	return serve.StatusJSON{}
}

// edgeinfer serve is killed with SIGKILL while the broker is away and
// results wait in its spool; restarted on the same spool, it delivers all
// of them, in order, then the new ones: nothing lost, nothing corrupt.
func TestServeKill9AndRestart(t *testing.T) {
	bin := buildEdgeinfer(t)
	b := servetest.StartBroker(t, servetest.BrokerOptions{})
	sub := servetest.Subscribe(t, b.URL(), "edgeinfer/pi1/results")
	spool := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", servetest.FreePort(t))
	args := []string{"--model", "zoo:vit-micro", "--camera", "synthetic:box?w=64&h=48&fmt=YUYV&fps=100",
		"--mqtt", b.URL(), "--device", "pi1", "--spool", spool, "--sync", "200ms", "--http", addr, "--threads", "1"}
	c := startServe(t, bin, args...)
	sub.WaitFor(t, 60*time.Second, "30 results", func(s *servetest.Subscriber) bool { return len(s.Messages("/results")) >= 30 })
	b.Stop()
	before := waitStatus(t, addr, "a backlog of 50 in the spool", func(st serve.StatusJSON) bool { return st.Spool != nil && st.Spool.Depth >= 50 })
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.wait(t, 10*time.Second)
	b.Start()

	c2 := startServe(t, bin, append(args, "--frames", "40")...)
	if err := c2.wait(t, 60*time.Second); err != nil {
		t.Fatalf("restarted serve: %v\n%s", err, c2.stderr.String())
	}
	log2 := c2.stderr.String()
	if !strings.Contains(log2, "results waiting for the broker") || !strings.Contains(log2, ", 0 torn records") {
		t.Errorf("the restart does not report its backlog, or cut a torn record:\n%s", log2)
	}
	_, d := sub.Results(t)
	// The second run's 40 results follow everything the first one spooled.
	sub.WaitFor(t, 30*time.Second, "every result", func(s *servetest.Subscriber) bool {
		_, d = s.Results(t)
		return uint64(d.Distinct) == d.MaxID && d.MaxID >= before.Spool.NextID-1+40
	})
	servetest.CheckInOrder(t, d, 1, d.MaxID)
	t.Logf("killed with %d results spooled (ids up to at least %d); after the restart %d results arrived, ids 1..%d, %d duplicates",
		before.Spool.Depth, before.Spool.NextID-1, len(d.Arrived), d.MaxID, d.Duplicates)
}

// SIGTERM: the camera stops, the spool is flushed, offline is published,
// and the process exits 0. On a recorded Jetson Orin Nano (telemetry read
// from boards/testdata) the status names the board, results carry the
// governor's budget and temperature, and telemetry the sensors.
func TestServeSIGTERM(t *testing.T) {
	bin := buildEdgeinfer(t)
	b := servetest.StartBroker(t, servetest.BrokerOptions{})
	sub := servetest.Subscribe(t, b.URL(), "edgeinfer/pi2/#")
	c := startServe(t, bin, "--camera", "synthetic:box?w=64&h=48&fmt=YUYV&fps=50", "--mqtt", b.URL(), "--device", "pi2", "--spool", t.TempDir(), "--threads", "1",
		"--governor", "--root", "../../boards/testdata/jetson-orin-nano", "--telemetry", "200ms")
	sub.WaitFor(t, 60*time.Second, "10 results and telemetry", func(s *servetest.Subscriber) bool {
		return len(s.Messages("/results")) >= 10 && len(s.Messages("/telemetry")) >= 2
	})
	var online, tele struct {
		State, Board string
		MaxTempC     float64 `json:"max_temp_c"`
		PowerMW      float64 `json:"power_mw"`
		Frames       int
		Budget       *struct{ FPS float64 }
		Spool        *struct{ Appended int }
	}
	json.Unmarshal(sub.Messages("/status")[0].Payload, &online)
	tm := sub.Messages("/telemetry")
	json.Unmarshal(tm[len(tm)-1].Payload, &tele)
	if online.State != "online" || online.Board != "jetson-orin-nano" {
		t.Errorf("status %+v, want online on jetson-orin-nano", online)
	}
	if tele.MaxTempC < 40 || tele.PowerMW < 1000 || tele.Frames == 0 || tele.Budget == nil || tele.Spool == nil {
		t.Errorf("telemetry %s lacks the fixture's temperature, power, frames, budget or spool", tm[len(tm)-1].Payload)
	}
	var res struct {
		TempC  float64 `json:"temp_c"`
		Budget *struct{ FPS float64 }
	}
	json.Unmarshal(sub.Messages("/results")[5].Payload, &res)
	if res.TempC < 40 || res.Budget == nil || res.Budget.FPS <= 0 {
		t.Errorf("result %s lacks the governor's budget and temperature", sub.Messages("/results")[5].Payload)
	}
	start := time.Now()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.wait(t, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	took := time.Since(start)
	sub.WaitFor(t, 10*time.Second, "offline", func(s *servetest.Subscriber) bool {
		m := s.Messages("/status")
		return len(m) > 0 && strings.Contains(string(m[len(m)-1].Payload), `"offline"`)
	})
	_, d := sub.Results(t)
	servetest.CheckInOrder(t, d, 1, d.MaxID)
	t.Logf("SIGTERM to exit 0: %v; %d results, all delivered", took.Round(time.Millisecond), d.MaxID)
}

func TestServeUsage(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("short\n"), 0o600)
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{}, 2, "--camera is required"},
		{[]string{"--camera", "synthetic:box", "--qos", "2"}, 2, "--qos must be 0 or 1"},
		{[]string{"--camera", "synthetic:box", "--mqtt-user", "u"}, 2, "need --mqtt"},
		{[]string{"--camera", "synthetic:box", "--http-token-file", tok}, 2, "needs --http"},
		{[]string{"--camera", "synthetic:box", "--http", "0.0.0.0:0", "--spool", t.TempDir()}, 1, "give --http-token-file"},
		{[]string{"--camera", "synthetic:box", "--http", "0.0.0.0:0", "--http-token-file", tok}, 1, "at least 16"},
		{[]string{"--camera", "synthetic:box", "--mqtt", "http://x:1", "--spool", t.TempDir()}, 1, "scheme"},
		{[]string{"--camera", "synthetic:box", "--mqtt", "tcp://u:p@x:1", "--spool", t.TempDir()}, 1, "not in the URL"},
		{[]string{"--camera", "synthetic:box", "--device", "a/b", "--http", "127.0.0.1:0"}, 1, "may not contain"},
		{[]string{"--camera", "nope:x", "--http", "127.0.0.1:0"}, 2, "--camera"},
	} {
		st, _, errOut := edgeinfer(append([]string{"serve"}, tc.args...)...)
		if st != tc.status || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v: status %d, %q; want %d and %q", tc.args, st, errOut, tc.status, tc.want)
		}
	}
}

// metricsOf scrapes the child's /metrics.
func metricsOf(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		if m := f.GetMetric(); len(m) == 1 {
			switch {
			case m[0].Counter != nil:
				out[name] = m[0].GetCounter().GetValue()
			case m[0].Gauge != nil:
				out[name] = m[0].GetGauge().GetValue()
			}
		}
	}
	return out
}

// Many frames through the built binary with a broker and a page client:
// resident memory and goroutines stay flat, every result arrives.
// EDGEINFER_SOAK_FRAMES sets the count (the figure is 100000).
func TestServeSoak(t *testing.T) {
	bin := buildEdgeinfer(t)
	frames := 3000
	if s := os.Getenv("EDGEINFER_SOAK_FRAMES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 {
			t.Fatalf("EDGEINFER_SOAK_FRAMES=%q: want a count ≥ 100", s)
		}
		frames = n
	}
	b := servetest.StartBroker(t, servetest.BrokerOptions{})
	sub := servetest.Subscribe(t, b.URL(), "edgeinfer/soak/results")
	addr := fmt.Sprintf("127.0.0.1:%d", servetest.FreePort(t))
	c := startServe(t, bin, "--camera", "synthetic:noise?w=64&h=48&fmt=YUYV", "--mqtt", b.URL(), "--device", "soak",
		"--spool", t.TempDir(), "--http", addr, "--threads", "1", "--telemetry", "1s")
	// A page client on /events for the whole run.
	go func() {
		if resp, err := http.Get("http://" + addr + "/events"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	warm := frames / 10
	waitStatus(t, addr, "warm-up frames", func(st serve.StatusJSON) bool { return st.Frames >= uint64(warm) })
	start := metricsOf(t, addr)
	var peakRSS float64
	var series []string // frames: RSS, heap in use, goroutines at each tenth
	next := warm
	for {
		m := metricsOf(t, addr)
		peakRSS = max(peakRSS, m["process_resident_memory_bytes"])
		if f := int(m["edgeinfer_frames_total"]); f >= next {
			series = append(series, fmt.Sprintf("%d: %.1f/%.1f MiB %.0f", f, m["process_resident_memory_bytes"]/(1<<20), m["go_memstats_heap_inuse_bytes"]/(1<<20), m["go_goroutines"]))
			next += frames / 10
		}
		if m["edgeinfer_frames_total"] >= float64(frames) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	end := metricsOf(t, addr)
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.wait(t, 30*time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
	_, d := sub.Results(t)
	sub.WaitFor(t, 60*time.Second, "every result", func(s *servetest.Subscriber) bool {
		_, d = s.Results(t)
		return uint64(d.Distinct) == d.MaxID && d.MaxID >= uint64(frames)
	})
	rss0, rss1 := start["process_resident_memory_bytes"], end["process_resident_memory_bytes"]
	g0, g1 := start["go_goroutines"], end["go_goroutines"]
	t.Logf("soak: %.0f frames (%d published); after %d warm-up frames RSS %.1f MiB, at the end %.1f MiB (peak %.1f); goroutines %.0f → %.0f; spool depth at the end %.0f",
		end["edgeinfer_frames_total"], d.MaxID, warm, rss0/(1<<20), rss1/(1<<20), peakRSS/(1<<20), g0, g1, end["edgeinfer_spool_depth"])
	t.Logf("frames: RSS/heap in use, goroutines: %s", strings.Join(series, "; "))
	if g1 > g0+2 {
		t.Errorf("goroutines grew from %.0f to %.0f", g0, g1)
	}
	if rss1 > rss0*1.25+8<<20 {
		t.Errorf("resident memory grew from %.1f to %.1f MiB", rss0/(1<<20), rss1/(1<<20))
	}
}

// deploy/edgeinfer.service passes systemd's own checker and has what the
// service relies on.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("../../deploy/edgeinfer.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "DynamicUser=yes", "StateDirectory=edgeinfer",
		"ExecStart=/usr/local/bin/edgeinfer serve $EDGEINFER_ARGS", "EnvironmentFile=/etc/edgeinfer/edgeinfer.env"} {
		if !strings.Contains(string(unit), "\n"+want) {
			t.Errorf("deploy/edgeinfer.service lacks %q", want)
		}
	}
	analyze := servetest.NeedTool(t, "systemd-analyze", "systemd")
	// Verify a copy whose ExecStart names a binary that exists here.
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyUnit := strings.ReplaceAll(string(unit), "/usr/local/bin/edgeinfer", exe)
	copyUnit = strings.ReplaceAll(copyUnit, "/etc/edgeinfer/edgeinfer.env", "-/etc/edgeinfer/edgeinfer.env")
	path := filepath.Join(dir, "edgeinfer.service")
	if err := os.WriteFile(path, []byte(copyUnit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The environment file's arguments parse (as systemd splits them).
	env, err := os.ReadFile("../../deploy/edgeinfer.env")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(env), "\n") {
		if v, ok := strings.CutPrefix(line, "EDGEINFER_ARGS="); ok {
			args = strings.Fields(v)
		}
	}
	if len(args) == 0 {
		t.Fatal("deploy/edgeinfer.env sets no EDGEINFER_ARGS")
	}
	// Only the model file is missing here: flags and URIs are fine.
	st, _, errOut := edgeinfer(append([]string{"serve"}, args...)...)
	if st != 1 || !strings.Contains(errOut, "/etc/edgeinfer/model.eim") {
		t.Errorf("serve with deploy/edgeinfer.env's arguments: status %d: %s", st, errOut)
	}
}

// cpuTicks is a process's user+system CPU time in clock ticks (1/100 s).
func cpuTicks(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

// --every: samples 0.7 s apart (camera opened, 3 frames settled, one
// inference, camera closed), and the process uses no CPU in between.
func TestServeDutyCycle(t *testing.T) {
	bin := buildEdgeinfer(t)
	b := servetest.StartBroker(t, servetest.BrokerOptions{})
	sub := servetest.Subscribe(t, b.URL(), "edgeinfer/duty/#")
	const samples = 4
	c := startServe(t, bin, "--camera", "synthetic:box?w=64&h=48&fmt=YUYV", "--every", "700ms", "--settle", "3", "--frames", fmt.Sprint(samples),
		"--mqtt", b.URL(), "--device", "duty", "--spool", t.TempDir(), "--threads", "1")
	pid := c.cmd.Process.Pid
	var idle []int
	for k := 1; k < samples; k++ {
		sub.WaitFor(t, 30*time.Second, fmt.Sprintf("sample %d", k), func(s *servetest.Subscriber) bool { return len(s.Messages("/results")) >= k })
		time.Sleep(150 * time.Millisecond) // publish and telemetry done
		t0 := cpuTicks(t, pid)
		time.Sleep(400 * time.Millisecond) // before the next sample
		idle = append(idle, cpuTicks(t, pid)-t0)
	}
	if err := c.wait(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	var cpu []string
	for _, m := range sub.Messages("/results") {
		var r struct {
			Time  string
			Seq   uint64
			CPUMS float64 `json:"cpu_ms"`
		}
		json.Unmarshal(m.Payload, &r)
		tm, _ := time.Parse(time.RFC3339Nano, r.Time)
		times = append(times, tm)
		cpu = append(cpu, fmt.Sprintf("%.1f", r.CPUMS))
		if r.Seq != 3 || r.CPUMS <= 0 {
			t.Errorf("sample %s: frame %d (want 3: the 4th after opening, 3 settled), cpu %v ms", m.Payload, r.Seq, r.CPUMS)
		}
	}
	if len(times) != samples {
		t.Fatalf("%d samples, want %d", len(times), samples)
	}
	var gaps []string
	for i := 1; i < len(times); i++ {
		d := times[i].Sub(times[i-1])
		gaps = append(gaps, d.Round(time.Millisecond).String())
		if d < 350*time.Millisecond || d > 1400*time.Millisecond {
			t.Errorf("samples %d and %d are %v apart, want about 0.7 s", i, i+1, d)
		}
	}
	total := 0
	for _, v := range idle {
		total += v
	}
	if total > 2 {
		t.Errorf("CPU ticks (10 ms) in 0.4 s idle windows between samples: %v", idle)
	}
	// One per sample once connected (the first sample may beat the
	// broker connection; telemetry is not spooled).
	if n := len(sub.Messages("/telemetry")); n < samples-1 {
		t.Errorf("%d telemetry messages for %d samples", n, samples)
	}
	t.Logf("samples %v apart; CPU per sample %v ms; CPU ticks in 0.4 s idle windows %v", gaps, cpu, idle)
}
