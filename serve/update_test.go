package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/serve/servetest"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// signer is a key pair for tests.
type signer struct {
	pub, sec []byte
	trust    *Trust
}

func newSigner(t *testing.T) *signer {
	t.Helper()
	pub, sec, err := GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "k.pub")
	os.WriteFile(p, pub, 0o644)
	tr, err := LoadTrust([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	return &signer{pub: pub, sec: sec, trust: tr}
}

func (s *signer) sign(t *testing.T, data []byte) []byte {
	t.Helper()
	sig, err := Sign(s.sec, "", data, "m.eim")
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func zooBytes(t *testing.T, name string) []byte {
	t.Helper()
	q, _, err := zoo.Build(name, zoo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := format.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testLoadModel is what the command passes as LoadModel.
func testLoadModel(data []byte) (*Model, error) {
	m, err := format.Read(data)
	if err != nil {
		return nil, err
	}
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	tg, err := camera.TargetFor(m)
	if err != nil {
		it.Close()
		return nil, err
	}
	return &Model{Interp: it, Target: tg, Labels: m.Labels, Info: ModelInfo{Name: m.Name}}, nil
}

const testToken = "0123456789abcdef-token"

// updService runs vit-micro at full speed with updates allowed.
func updService(t *testing.T, s *signer, mqttURL string) (*Service, string, *servetest.LogBuffer) {
	t.Helper()
	logs := &servetest.LogBuffer{}
	vit := zooBytes(t, "vit-micro")
	cfg := Config{
		Device: "cam1", Version: "test", Model: ModelInfo{Name: "vit-micro", SHA256: SHA256Hex(vit)},
		HTTPAddr: "127.0.0.1:0", HTTPToken: testToken, Log: log.New(logs, "", 0),
		Trust: s.trust, LoadModel: testLoadModel, StateDir: t.TempDir(), BaseSHA256: SHA256Hex(vit),
		MQTT: MQTTConfig{URL: mqttURL, MinBackoff: 50 * time.Millisecond}, SpoolDir: t.TempDir(),
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runService(t, svc, testLoop(t, "synthetic:noise?w=64&h=48&fmt=YUYV"), logs)
	return svc, "http://" + svc.HTTPAddr(), logs
}

// postModel sends a multipart update; fields maps form names to bytes.
func postModel(t *testing.T, base, token string, fields ...[2][]byte) (int, UpdateJSON) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		w, _ := mw.CreateFormFile(string(f[0]), "x")
		w.Write(f[1])
	}
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/model", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u UpdateJSON
	json.NewDecoder(resp.Body).Decode(&u)
	return resp.StatusCode, u
}

func field(name string, b []byte) [2][]byte { return [2][]byte{[]byte(name), b} }

// Every bad update is refused with the running model still answering; a
// good one is swapped in between two frames and survives a restart.
func TestModelUpdateOverHTTP(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	svc, base, _ := updService(t, s, "")
	vitSum := svc.currentInfo().SHA256
	cnn := zooBytes(t, "cnn-micro")
	good := s.sign(t, cnn)
	tampered := append([]byte(nil), cnn...)
	tampered[len(tampered)/3] ^= 0x10
	junk := bytes.Repeat([]byte("not a model "), 100)

	stillAnswering := func(what string) {
		t.Helper()
		before := svc.Status().Frames
		for i := 0; svc.Status().Frames < before+3; i++ {
			if i > 1000 {
				t.Fatalf("after %s: frames stopped", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := svc.currentInfo().SHA256; got != vitSum {
			t.Fatalf("after %s the model is %s, want the old %s", what, got[:12], vitSum[:12])
		}
	}
	for _, tc := range []struct {
		name   string
		token  string
		fields [][2][]byte
		status int
		want   string
	}{
		{"no token", "", [][2][]byte{field("model", cnn), field("signature", good)}, 401, ""},
		{"tampered bytes", testToken, [][2][]byte{field("model", tampered), field("signature", good)}, 422, "do not match"},
		{"wrong key", testToken, [][2][]byte{field("model", cnn), field("signature", other.sign(t, cnn))}, 422, "not among the trusted keys"},
		{"missing signature", testToken, [][2][]byte{field("model", cnn)}, 400, ""},
		{"garbage signature", testToken, [][2][]byte{field("model", cnn), field("signature", []byte("hello"))}, 422, "unreadable signature"},
		{"verifies but does not load", testToken, [][2][]byte{field("model", junk), field("signature", s.sign(t, junk))}, 422, "loading"},
		{"stray field", testToken, [][2][]byte{field("model", cnn), field("signature", good), field("camera", []byte("pipe:sh"))}, 400, ""},
		{"the running model", testToken, [][2][]byte{field("model", zooBytes(t, "vit-micro")), field("signature", s.sign(t, zooBytes(t, "vit-micro")))}, 422, "already running"},
	} {
		st, u := postModel(t, base, tc.token, tc.fields...)
		if st != tc.status || (tc.want != "" && !strings.Contains(u.Error, tc.want)) || (tc.want != "" && u.Result != "rejected") {
			t.Errorf("%s: %d %+v, want %d and %q", tc.name, st, u, tc.status, tc.want)
		}
		stillAnswering(tc.name)
	}
	if st := svc.Status(); st.Update == nil || st.Update.Result != "rejected" {
		t.Errorf("/api/status does not show the last rejection: %+v", st.Update)
	}

	// The good one, while the loop runs flat out; follow the results.
	ev, err := http.NewRequest("GET", base+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	ev.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(ev)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	st, u := postModel(t, base, testToken, field("model", cnn), field("signature", good))
	if st != 200 || u.Result != "accepted" || u.Model.Name != "cnn-micro" || u.Model.SHA256 != SHA256Hex(cnn) {
		t.Fatalf("good update: %d %+v", st, u)
	}
	sc := bufio.NewScanner(resp.Body)
	var shas []string
	var ids []uint64
	for sc.Scan() && (len(shas) == 0 || shas[len(shas)-1] != SHA256Hex(cnn) || len(shas) < 20) {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var r resultJSON
			json.Unmarshal([]byte(d), &r)
			shas, ids = append(shas, r.Model.SHA256), append(ids, r.ID)
		}
	}
	switches := 0
	for i := 1; i < len(shas); i++ {
		if shas[i] != shas[i-1] {
			switches++
		}
	}
	if switches > 1 || shas[len(shas)-1] != SHA256Hex(cnn) {
		t.Errorf("results switch models %d times (want once, to cnn-micro)", switches)
	}
	if svc.currentInfo().Name != "cnn-micro" {
		t.Errorf("running %+v after the update", svc.currentInfo())
	}
	// Stored for the next start.
	data, sum, ok, err := LoadAccepted(svc.cfg.StateDir, s.trust, vitSum)
	if err != nil || !ok || sum != SHA256Hex(cnn) || !bytes.Equal(data, cnn) {
		t.Errorf("LoadAccepted: %v %v %s", ok, err, sum)
	}
	// An operator who configures another model gets that one.
	if _, _, ok, _ := LoadAccepted(svc.cfg.StateDir, s.trust, "other"); ok {
		t.Error("the accepted update overrides a different --model")
	}
}

// The model arrives by MQTT (downloaded over TLS) for the device and for
// the fleet; a download that stays truncated and a SHA-256 mismatch are
// refused.
func TestModelUpdateOverMQTT(t *testing.T) {
	needBroker(t)
	defer func(d time.Duration) { resumeDelay = d }(resumeDelay)
	resumeDelay = 10 * time.Millisecond // /short.eim is retried, then refused
	s := newSigner(t)
	b := servetest.StartBroker(t, servetest.BrokerOptions{})
	cnn := zooBytes(t, "cnn-micro")
	vit := zooBytes(t, "vit-micro")
	sigs := map[string][]byte{"/cnn.eim.minisig": s.sign(t, cnn), "/vit.eim.minisig": s.sign(t, vit)}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cnn.eim":
			w.Write(cnn)
		case "/vit.eim":
			w.Write(vit)
		case "/short.eim": // says more than it sends, then hangs up
			w.Header().Set("Content-Length", fmt.Sprint(len(cnn)))
			w.Write(cnn[:len(cnn)/2])
			w.(http.Flusher).Flush()
			c, _, _ := http.NewResponseController(w).Hijack()
			c.Close()
		default:
			if sig, ok := sigs[r.URL.Path]; ok {
				w.Write(sig)
				return
			}
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	svc, _, logs := updService(t, s, b.URL())
	svc.cfg.UpdateClient = srv.Client()
	sub := servetest.Subscribe(t, b.URL(), "edgeinfer/cam1/status")
	pub := servetest.Subscribe(t, b.URL(), "nothing/here")
	send := func(topic, url, sum string) UpdateJSON {
		t.Helper()
		n := len(sub.Messages("/status"))
		msg, _ := json.Marshal(map[string]string{"url": url, "sha256": sum})
		pub.Publish(t, topic, msg)
		var u UpdateJSON
		sub.WaitFor(t, 30*time.Second, "a status with the update's outcome", func(s *servetest.Subscriber) bool {
			m := s.Messages("/status")
			if len(m) <= n {
				return false
			}
			var st statusJSON
			json.Unmarshal(m[len(m)-1].Payload, &st)
			if st.Update == nil {
				return false
			}
			u = *st.Update
			return true
		})
		return u
	}
	vitSum := SHA256Hex(vit)
	for _, tc := range []struct{ name, url, sum, want string }{
		{"truncated download", srv.URL + "/short.eim", SHA256Hex(cnn), "downloading"},
		{"sha256 mismatch", srv.URL + "/vit.eim", SHA256Hex(cnn), "SHA-256"},
		{"no signature", srv.URL + "/nosig.eim", SHA256Hex(cnn), "404"},
	} {
		u := send("edgeinfer/cam1/cmd/model", tc.url, tc.sum)
		if u.Result != "rejected" || !strings.Contains(u.Error, tc.want) {
			t.Errorf("%s: %+v, want rejected with %q", tc.name, u, tc.want)
		}
		if svc.currentInfo().SHA256 != vitSum {
			t.Fatalf("%s: the model changed", tc.name)
		}
	}
	// Malformed commands are ignored with a log line.
	pub.Publish(t, "edgeinfer/cam1/cmd/model", []byte(`{"url":"http://x/m.eim","sha256":"00"}`))
	pub.Publish(t, "edgeinfer/cam1/cmd/model", []byte(`{"url":"https://x/m.eim","sha256":"`+vitSum+`","camera":"pipe:sh"}`))
	u := send("edgeinfer/all/cmd/model", srv.URL+"/cnn.eim", SHA256Hex(cnn))
	if u.Result != "accepted" || svc.currentInfo().SHA256 != SHA256Hex(cnn) {
		t.Fatalf("fleet update: %+v", u)
	}
	if l := logs.String(); !strings.Contains(l, "want https://HOST/PATH") || !strings.Contains(l, "unknown field") {
		t.Errorf("malformed commands not logged:\n%s", l)
	}
}

// A kill -9 at every step of storing an accepted model leaves either the
// previous model or the new one in force, whole.
func TestSaveAcceptedKilledAtEveryStep(t *testing.T) {
	if dir := os.Getenv("EDGEINFER_SAVE_KILL_DIR"); dir != "" {
		// The child: store model B, SIGKILLed after write number N.
		n := 0
		at := os.Getenv("EDGEINFER_SAVE_KILL_AT")
		saveStepHook = func() {
			n++
			if fmt.Sprint(n) == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, "b.eim"))
		sig, _ := os.ReadFile(filepath.Join(dir, "b.eim.minisig"))
		SaveAccepted(filepath.Join(dir, "state"), b, sig, "base")
		os.Exit(0)
	}
	s := newSigner(t)
	a, b := zooBytes(t, "vit-micro"), zooBytes(t, "cnn-micro")
	for step := 1; step <= 8; step++ {
		dir := t.TempDir()
		state := filepath.Join(dir, "state")
		if err := SaveAccepted(state, a, s.sign(t, a), "base"); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "b.eim"), b, 0o644)
		os.WriteFile(filepath.Join(dir, "b.eim.minisig"), s.sign(t, b), 0o644)
		cmd := exec.Command(os.Args[0], "-test.run=^TestSaveAcceptedKilledAtEveryStep$")
		cmd.Env = append(os.Environ(), "EDGEINFER_SAVE_KILL_DIR="+dir, fmt.Sprintf("EDGEINFER_SAVE_KILL_AT=%d", step))
		err := cmd.Run()
		killed := err != nil
		data, sum, ok, err := LoadAccepted(state, s.trust, "base")
		if err != nil || !ok {
			t.Fatalf("killed after step %d: no usable model: %v", step, err)
		}
		switch {
		case bytes.Equal(data, a) && sum == SHA256Hex(a):
		case bytes.Equal(data, b) && sum == SHA256Hex(b):
		default:
			t.Fatalf("killed after step %d: model %s is neither", step, sum)
		}
		t.Logf("killed after write %d: %v; in force: %s", step, killed, map[bool]string{true: "the new model", false: "the previous model"}[bytes.Equal(data, b)])
		if !killed {
			break
		}
	}
}

// A signed pair renamed into --model-dir is applied; a badly signed one is
// refused.
func TestModelDir(t *testing.T) {
	s := newSigner(t)
	logs := &servetest.LogBuffer{}
	vit := zooBytes(t, "vit-micro")
	dir := t.TempDir()
	svc, err := New(Config{Device: "cam1", Model: ModelInfo{Name: "vit-micro", SHA256: SHA256Hex(vit)}, Log: log.New(logs, "", 0),
		Trust: s.trust, LoadModel: testLoadModel, StateDir: t.TempDir(), ModelDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, testLoop(t, "synthetic:noise?w=64&h=48&fmt=YUYV&fps=100"), 0) }()
	for svc.Status().Frames < 3 {
		time.Sleep(10 * time.Millisecond)
	}
	put := func(name string, data []byte) { // write beside, rename in
		tmp := filepath.Join(t.TempDir(), name)
		os.WriteFile(tmp, data, 0o644)
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	waitUpdate := func(what string) UpdateJSON {
		t.Helper()
		for i := 0; i < 3000; i++ {
			if u := svc.Status().Update; u != nil && u.Time != "" {
				svc.mu.Lock()
				svc.lastUpdate = nil
				svc.mu.Unlock()
				return *u
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no outcome for %s", what)
		return UpdateJSON{}
	}
	cnn := zooBytes(t, "cnn-micro")
	bad := append([]byte(nil), cnn...)
	bad[100] ^= 1
	put("bad.eim.minisig", s.sign(t, cnn))
	put("bad.eim", bad)
	if u := waitUpdate("a tampered model"); u.Result != "rejected" || !strings.Contains(u.Error, "do not match") {
		t.Errorf("tampered pair: %+v", u)
	}
	put("new.eim", cnn) // the signature follows
	put("new.eim.minisig", s.sign(t, cnn))
	if u := waitUpdate("a good pair"); u.Result != "accepted" || u.Source != "model-dir new.eim" {
		t.Errorf("good pair: %+v", u)
	}
	if svc.currentInfo().Name != "cnn-micro" {
		t.Errorf("running %+v", svc.currentInfo())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Pairs already in --model-dir when serve starts: the newest applies
// when it came after the model in force was accepted; one older than the
// state folder's record (replaced since by another update) stays put.
func TestModelDirAtStart(t *testing.T) {
	s := newSigner(t)
	vit, cnn := zooBytes(t, "vit-micro"), zooBytes(t, "cnn-micro")
	put := func(dir, name string, data []byte, at time.Time) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	start := func(dir, state string) (*Service, *servetest.LogBuffer, func()) {
		logs := &servetest.LogBuffer{}
		svc, err := New(Config{Device: "cam1", Model: ModelInfo{Name: "vit-micro", SHA256: SHA256Hex(vit)}, Log: log.New(logs, "", 0),
			Trust: s.trust, LoadModel: testLoadModel, StateDir: state, ModelDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx, testLoop(t, "synthetic:noise?w=64&h=48&fmt=YUYV&fps=100"), 0) }()
		return svc, logs, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}

	// Two pairs put there while the service was down: the newer applies.
	dir := t.TempDir()
	bad := append([]byte(nil), cnn...)
	bad[100] ^= 1
	put(dir, "old.eim", bad, hourAgo.Add(-time.Hour)) // would be refused: it must not be the one tried
	put(dir, "old.eim.minisig", s.sign(t, cnn), hourAgo.Add(-time.Hour))
	put(dir, "new.eim", cnn, hourAgo)
	put(dir, "new.eim.minisig", s.sign(t, cnn), hourAgo)
	put(dir, "lone.eim", cnn, time.Now()) // no signature: not a pair
	svc, _, stop := start(dir, t.TempDir())
	u := waitStatusUpdate(t, svc)
	if u.Result != "accepted" || u.Source != "model-dir new.eim" || svc.currentInfo().Name != "cnn-micro" {
		t.Errorf("at start: %+v, running %+v", u, svc.currentInfo())
	}
	stop()

	// A pair older than the last accepted update stays put.
	dir, state := t.TempDir(), t.TempDir()
	put(dir, "new.eim", cnn, hourAgo)
	put(dir, "new.eim.minisig", s.sign(t, cnn), hourAgo)
	if err := SaveAccepted(state, vit, s.sign(t, vit), "base"); err != nil {
		t.Fatal(err)
	}
	svc, logs, stop := start(dir, state)
	defer stop()
	for i := 0; !strings.Contains(logs.String(), "1 pair(s) there from before the model in force"); i++ {
		if i == 3000 {
			t.Fatalf("no word on the older pair; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if u := svc.Status().Update; u != nil || svc.currentInfo().Name != "vit-micro" {
		t.Errorf("an older pair was applied: %+v, running %+v", u, svc.currentInfo())
	}
}

// waitStatusUpdate waits for the outcome of an update in svc's status.
func waitStatusUpdate(t *testing.T, svc *Service) UpdateJSON {
	t.Helper()
	for i := 0; i < 3000; i++ {
		if u := svc.Status().Update; u != nil && u.Time != "" {
			return *u
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no update outcome")
	return UpdateJSON{}
}
