package serve

import (
	"context"
	"encoding/json"
	"log"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/live"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/serve/servetest"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// testLoop is vit-micro on a synthetic camera.
func testLoop(t testing.TB, uri string) *live.Loop {
	t.Helper()
	return testLoopModel(t, "vit-micro", uri)
}

// testLoopModel is testLoop with another zoo model.
func testLoopModel(t testing.TB, model, uri string) *live.Loop {
	t.Helper()
	q, _, err := zoo.Build(model, zoo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	it, err := runtime.New(q, runtime.Options{Threads: 1})
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
	return &live.Loop{Source: src, Interp: it, Target: target, Labels: q.Labels, TopK: 3}
}

func testConfig(t testing.TB, url string, logs *servetest.LogBuffer) Config {
	return Config{
		Device:   "cam1",
		Version:  "test",
		Board:    "test-board",
		Model:    ModelInfo{Name: "vit-micro", SHA256: strings.Repeat("ab", 32)},
		MQTT:     MQTTConfig{URL: url, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		SpoolDir: t.TempDir(),
		Spool:    SpoolOptions{Sync: 100 * time.Millisecond},
		Log:      log.New(logs, "", 0),
		// Long enough for a reconnect after an outage at the very end.
		StopTimeout: 20 * time.Second,
	}
}

func needBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Mosquitto and runs for seconds; runs without -short")
	}
}

// The broker goes away mid-run and comes back: every result reaches the
// subscriber, in order, at least once, and the retained status says
// online, then offline after a clean stop.
func TestBrokerOutage(t *testing.T) {
	needBroker(t)
	b := servetest.StartBroker(t, servetest.BrokerOptions{})
	sub := servetest.Subscribe(t, b.URL(), "edgeinfer/cam1/#")
	var logs servetest.LogBuffer
	svc, err := New(testConfig(t, b.URL(), &logs))
	if err != nil {
		t.Fatal(err)
	}
	const frames = 400
	l := testLoop(t, "synthetic:box?w=64&h=48&fmt=YUYV&fps=200")
	done := make(chan error, 1)
	go func() { done <- svc.Run(context.Background(), l, frames) }()

	sub.WaitFor(t, 30*time.Second, "the first 50 results", func(s *servetest.Subscriber) bool {
		return len(s.Messages("/results")) >= 50
	})
	b.Stop()
	// Frames keep coming while the broker is away; they wait in the spool.
	for svc.spool.Stats().Depth < 100 {
		time.Sleep(20 * time.Millisecond)
	}
	depth := svc.spool.Stats().Depth
	b.Start()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sub.WaitFor(t, 30*time.Second, "every result", func(s *servetest.Subscriber) bool {
		_, d := s.Results(t)
		return d.Distinct >= frames
	})
	rs, d := sub.Results(t)
	servetest.CheckInOrder(t, d, 1, frames)
	if d.MaxID != frames {
		t.Errorf("highest id %d, want %d", d.MaxID, frames)
	}
	for _, r := range rs {
		if r.Device != "cam1" || r.Model.Name != "vit-micro" || len(r.Model.SHA256) != 64 || r.Top[0].Label == "" {
			t.Fatalf("result %+v lacks device, model or labels", r)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.Time); err != nil {
			t.Fatalf("result %d: time %q: %v", r.ID, r.Time, err)
		}
	}
	st := svc.spool.Stats()
	if st.Depth != 0 || st.Dropped != 0 || st.Acked != frames {
		t.Errorf("spool after the run: %+v", st)
	}
	if !strings.Contains(logs.String(), "connection to tcp://127.0.0.1") || !strings.Contains(logs.String(), "lost") {
		t.Errorf("no log line about the lost connection:\n%s", logs.String())
	}
	statuses := sub.Messages("/status")
	var states []string
	for _, m := range statuses {
		var s statusJSON
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			t.Fatal(err)
		}
		states = append(states, s.State)
	}
	if len(states) < 3 || states[0] != "online" || states[len(states)-1] != "offline" {
		t.Errorf("status messages %v, want online … online, offline", states)
	}
	t.Logf("%d results, %d spooled during the outage, %d duplicates after reconnecting, %d connects", frames, depth, d.Duplicates, svc.Status().Broker.Connects)
}

// With the spool on its size limit during an outage, the oldest results
// are dropped and counted, the service keeps running, and what is left is
// delivered in order.
func TestSpoolLimitDuringOutage(t *testing.T) {
	needBroker(t)
	b := servetest.StartBroker(t, servetest.BrokerOptions{})
	sub := servetest.Subscribe(t, b.URL(), "edgeinfer/cam1/results")
	var logs servetest.LogBuffer
	cfg := testConfig(t, b.URL(), &logs)
	cfg.Spool = SpoolOptions{MaxBytes: MinSpoolBytes, SegmentBytes: 8 << 10}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.Stop()
	const frames = 600 // ~600 bytes each: 360 kB through a 64 kB spool
	l := testLoop(t, "synthetic:box?w=64&h=48&fmt=YUYV")
	// No frames once the broker is back: the spool would go on dropping
	// its oldest segment while it drains (what it should do), and which
	// records that takes would depend on timing.
	l.Source = &stopAfter{Source: l.Source, left: frames}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, l, 0) }()
	for svc.Status().Frames < frames {
		time.Sleep(10 * time.Millisecond)
	}
	st := svc.spool.Stats()
	if st.Dropped == 0 || st.Bytes > MinSpoolBytes {
		t.Fatalf("spool %+v after %d frames with no broker: want drops and at most %d bytes", st, frames, MinSpoolBytes)
	}
	b.Start()
	sub.WaitFor(t, 30*time.Second, "the spool to drain", func(*servetest.Subscriber) bool {
		return svc.spool.Stats().Depth < 5
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st = svc.spool.Stats()
	_, d := sub.Results(t)
	first := d.Arrived[0]
	servetest.CheckInOrder(t, d, first, d.MaxID)
	if st.Dropped+st.Acked != st.Appended || st.Depth != 0 {
		t.Errorf("dropped %d + acked %d != appended %d (depth %d)", st.Dropped, st.Acked, st.Appended, st.Depth)
	}
	if first != st.Dropped+1 {
		t.Errorf("first delivered result %d, want %d (after the %d dropped)", first, st.Dropped+1, st.Dropped)
	}
	if uint64(d.Distinct) != st.Acked {
		t.Errorf("%d distinct results arrived, spool acked %d", d.Distinct, st.Acked)
	}
	t.Logf("spool limit %d bytes: %d results appended, %d dropped, %d delivered", MinSpoolBytes, st.Appended, st.Dropped, d.Distinct)
}

// stopAfter passes n frames through, then blocks until the context ends.
type stopAfter struct {
	camera.Source
	left int
}

func (s *stopAfter) Next(ctx context.Context, f *camera.Frame) error {
	if s.left == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	s.left--
	return s.Source.Next(ctx, f)
}

// A wrong password and an unreachable broker are log lines that say so,
// and the service goes on taking frames.
func TestBrokerRefusesOrIsAway(t *testing.T) {
	needBroker(t)
	b := servetest.StartBroker(t, servetest.BrokerOptions{Users: map[string]string{"cam": "right"}})
	for _, tc := range []struct {
		name, url, user, pass, want string
	}{
		{"wrong password", b.URL(), "cam", "wrong", "check --mqtt-user and --mqtt-password-file"},
		{"unreachable", "tcp://127.0.0.1:" + strconv.Itoa(servetest.FreePort(t)), "", "", "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs servetest.LogBuffer
			cfg := testConfig(t, tc.url, &logs)
			cfg.MQTT.User, cfg.MQTT.Password = tc.user, tc.pass
			cfg.StopTimeout = 200 * time.Millisecond
			svc, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			l := testLoop(t, "synthetic:box?w=64&h=48&fmt=YUYV&fps=100")
			if err := svc.Run(context.Background(), l, 60); err != nil {
				t.Fatal(err)
			}
			out := logs.String()
			if !strings.Contains(out, "cannot connect to "+tc.url) || !strings.Contains(out, tc.want) {
				t.Errorf("log does not say why:\n%s", out)
			}
			if st := svc.spool.Stats(); st.Depth != 60 {
				t.Errorf("spool depth %d after 60 undeliverable results", st.Depth)
			}
			t.Logf("%s", strings.SplitN(out, "\n", 2)[0])
		})
	}
	// The right password works.
	var logs servetest.LogBuffer
	cfg := testConfig(t, b.URL(), &logs)
	cfg.MQTT.User, cfg.MQTT.Password = "cam", "right"
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Run(context.Background(), testLoop(t, "synthetic:box?w=64&h=48&fmt=YUYV"), 5); err != nil {
		t.Fatal(err)
	}
	if st := svc.spool.Stats(); st.Acked != 5 {
		t.Errorf("with the right password %d of 5 results acknowledged; log:\n%s", st.Acked, logs.String())
	}
}
