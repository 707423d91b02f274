// Package serve turns the frame loop of package live into a field
// service: every result is spooled on disk and published to an MQTT broker
// (leaving the spool only when the broker acknowledged it), a retained
// status and periodic telemetry go beside the results, and an optional
// HTTP server shows a live page, server-sent events, the latest frame,
// Prometheus metrics, a health check and the status.
//
// The service runs no loop of its own: Run drives a live.Loop and consumes
// its results. Nothing outside the process can change what it runs: the
// camera URI and file paths come from the command line only.
package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/edgeinfer/edgeinfer/boards"
	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/live"
)

// ModelInfo names the model that produced a result.
type ModelInfo struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Telemetry reads the board's sensors for the telemetry topic, the page
// and the metrics.
type Telemetry struct {
	Reader *boards.Reader
	Zones  []string // thermal zones that count (empty: all)
	Rail   string   // the input power rail (empty: the sum of all rails)
}

// Config configures a Service.
type Config struct {
	// Device names this box in topics and results (default: the host name).
	Device string
	// Prefix is the topic prefix (default "edgeinfer"): results go to
	// PREFIX/DEVICE/results.
	Prefix  string
	Version string
	Board   string
	Model   ModelInfo
	// Tokens is the token budget in force for models that prune, when no
	// governor sets it per frame (0: the model does not prune).
	Tokens int

	// Trust, when set, allows model updates (POST /model, the MQTT
	// command topic, ModelDir) signed by one of its keys; LoadModel parses
	// and plans a verified candidate.
	Trust     *Trust
	LoadModel func(data []byte) (*Model, error)
	// StateDir keeps the last accepted model (see SaveAccepted);
	// BaseSHA256 is the SHA-256 of the configured model it replaces.
	StateDir   string
	BaseSHA256 string
	// MaxModelBytes bounds an update (default DefaultMaxModelBytes).
	MaxModelBytes int64
	// UpdateClient downloads models named on the MQTT command topic
	// (default: HTTPS with the system's roots, 5-minute timeout).
	UpdateClient *http.Client
	// ModelDir, when set, is watched for NAME.eim + NAME.eim.minisig.
	ModelDir string

	// Every, when set, duty-cycles: one sample (OpenCamera, the loop's
	// Settle frames, one inference) every Every, the camera closed in
	// between; telemetry goes with each sample.
	Every      time.Duration
	OpenCamera func() (camera.Source, error)

	// MQTT, when its URL is set, publishes results through a Spool in
	// SpoolDir.
	MQTT     MQTTConfig
	SpoolDir string
	Spool    SpoolOptions

	// HTTPAddr, when set, serves the page, events, frame, metrics,
	// health and status there. A non-loopback address needs HTTPToken.
	HTTPAddr  string
	HTTPToken string

	// Telemetry, when set, is read every TelemetryEvery (default 10 s).
	Telemetry      *Telemetry
	TelemetryEvery time.Duration

	// StopTimeout bounds the wait for the broker after the loop ends
	// (default 3 s; the whole stop takes at most about a second more).
	StopTimeout time.Duration
	// Notifier, when set, gets READY, watchdog keep-alives from the frame
	// loop, and STOPPING.
	Notifier *Notifier
	// Log receives one line per event worth a human's attention.
	Log *log.Logger
}

// Service is a running edgeinfer serve.
type Service struct {
	cfg   Config
	log   *log.Logger
	spool *Spool
	mqtt  *publisher
	http  *httpServer
	ln    net.Listener
	met   *metrics

	updMu   sync.Mutex // one update at a time
	pending atomic.Pointer[pendingModel]

	// Written by the frame loop only.
	loop        *live.Loop
	tokens      int
	sampleStart syscall.Rusage
	res         resultJSON
	enc         *json.Encoder
	encBuf      bytes.Buffer
	nextID      uint64 // without a spool
	lastPic     time.Time

	mu         sync.Mutex
	latest     []byte    // the newest result, JSON
	latestAt   time.Time // when it was emitted
	frames     uint64
	fps        float64 // exponential average
	temp       float64 // hottest zone, from telemetry or the governor
	tempOK     bool
	powerMW    float64
	tele       telemetryJSON
	budget     boards.Budget
	pic        camera.Frame // the newest frame kept for /frame.jpg
	picSeq     uint64
	picMap     []int32 // its class map (segmentation models; /mask.png)
	picMapH    int
	picMapW    int
	subs       map[chan []byte]struct{}
	model      ModelInfo // the model running now
	lastUpdate *UpdateJSON
	stopping   bool
	frameAlive time.Duration // /healthz fails after this long without a frame

	picked     chan struct{} // closed when the first frame is kept (an update's trial needs one)
	pickedOnce sync.Once
}

// resultJSON is what goes to the broker for each frame: the fields of
// `edgeinfer run --camera --json` plus who and what produced it.
type resultJSON struct {
	ID     uint64    `json:"id"` // increases by one per result, across restarts (with a spool)
	Device string    `json:"device"`
	Model  ModelInfo `json:"model"`
	Time   string    `json:"time"` // RFC 3339, UTC
	*live.Result
	Tokens int `json:"tokens,omitempty"`
	// CPUMS is the process's CPU time for the sample (duty cycling).
	CPUMS float64 `json:"cpu_ms,omitempty"`
}

// New checks cfg, opens the spool and binds the HTTP address, so that a
// bad option fails before any frame is taken.
func New(cfg Config) (*Service, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "edgeinfer"
	}
	if cfg.Device == "" {
		return nil, errors.New("serve: no device name")
	}
	for _, name := range []string{cfg.Prefix, cfg.Device} {
		if err := checkTopicLevel(name); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	if cfg.TelemetryEvery <= 0 {
		cfg.TelemetryEvery = 10 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = log.Default()
	}
	s := &Service{cfg: cfg, log: cfg.Log, subs: map[chan []byte]struct{}{}, frameAlive: 5 * time.Second, picked: make(chan struct{})}
	s.enc = json.NewEncoder(&s.encBuf)
	s.res.Device, s.res.Model, s.model, s.tokens = cfg.Device, cfg.Model, cfg.Model, cfg.Tokens
	if cfg.Every > 0 && cfg.OpenCamera == nil {
		return nil, errors.New("serve: duty cycling needs OpenCamera")
	}
	if cfg.MaxModelBytes <= 0 {
		s.cfg.MaxModelBytes = DefaultMaxModelBytes
	}
	s.met = newMetrics(s)
	if cfg.ModelDir != "" {
		if fi, err := os.Stat(cfg.ModelDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--model-dir %s is not a folder", cfg.ModelDir)
		}
	}
	if cfg.MQTT.URL != "" {
		if cfg.SpoolDir == "" {
			return nil, errors.New("serve: MQTT needs a spool folder")
		}
		p, err := newPublisher(s, cfg.MQTT)
		if err != nil {
			return nil, err
		}
		sp, err := OpenSpool(cfg.SpoolDir, cfg.Spool)
		if err != nil {
			return nil, err
		}
		s.spool, s.mqtt = sp, p
		if st := sp.Stats(); st.Depth > 0 || st.Corrupt > 0 {
			s.log.Printf("spool %s: %d results waiting for the broker (ids from %d), %d torn records cut off", cfg.SpoolDir, st.Depth, st.NextID-st.Depth, st.Corrupt)
		}
	}
	if cfg.HTTPAddr != "" {
		h, ln, err := newHTTPServer(s, cfg.HTTPAddr, cfg.HTTPToken)
		if err != nil {
			if s.spool != nil {
				s.spool.Close()
			}
			return nil, err
		}
		s.http, s.ln = h, ln
	}
	return s, nil
}

// HTTPAddr returns the address the HTTP server listens on ("" without
// one); useful with port 0.
func (s *Service) HTTPAddr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Run drives l for n frames (0: until ctx is done or the source ends),
// publishing and serving its results, then shuts down: the camera is left
// to the caller, the spool is flushed to the broker for at most
// StopTimeout, offline is published, and the spool closed.
func (s *Service) Run(ctx context.Context, l *live.Loop, n int) error {
	if fps := l.FPS; fps > 0 {
		s.frameAlive = max(s.frameAlive, time.Duration(5*float64(time.Second)/fps))
	}
	bg, cancelBG := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stopping := make(chan struct{})
	var mqttDone chan struct{}
	if s.mqtt != nil {
		mqttDone = make(chan struct{})
		go func() {
			defer close(mqttDone)
			s.mqtt.run(bg, stopping)
		}()
	}
	if (s.cfg.Telemetry != nil || s.mqtt != nil) && s.cfg.Every == 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.telemetryLoop(bg)
		}()
	}
	if s.http != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.http.serve(s.ln)
		}()
	}
	if s.cfg.ModelDir != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.watchModelDir(bg, s.cfg.ModelDir); err != nil {
				s.log.Printf("%v", err)
			}
		}()
	}
	s.cfg.Notifier.Notify("READY=1")
	s.loop = l
	if s.cfg.Notifier != nil {
		l.Beat = s.cfg.Notifier.KeepAlive
	}
	var err error
	if s.cfg.Every > 0 {
		err = s.runDuty(ctx, l, n)
	} else {
		err = l.Run(ctx, n, s.emit, s.warn)
	}
	if err != nil {
		s.log.Printf("frame loop: %v", err)
	}
	s.cfg.Notifier.Notify("STOPPING=1")

	// Shutdown: flush what the broker takes, then stop everything.
	deadline := time.NewTimer(s.cfg.StopTimeout)
	defer deadline.Stop()
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	close(stopping)
	if mqttDone != nil {
		select {
		case <-mqttDone:
		case <-deadline.C:
			s.log.Printf("stop: the broker did not take the spool within %v; %d results stay spooled for the next start", s.cfg.StopTimeout, s.spool.Stats().Depth)
		}
	}
	cancelBG()
	if mqttDone != nil {
		<-mqttDone
	}
	if s.http != nil {
		s.http.shutdown()
	}
	wg.Wait()
	if s.spool != nil {
		if cerr := s.spool.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

func (s *Service) warn(err error) {
	s.log.Printf("camera: %v (continuing)", err)
}

// emit is the frame loop's callback: spool (or number) the result, then
// hand it to the page, the events and the metrics.
func (s *Service) emit(r *live.Result) error {
	now := time.Now()
	s.res.Result = r
	s.res.Time = now.UTC().Format(time.RFC3339Nano)
	if s.cfg.Every > 0 {
		s.res.CPUMS = s.sampleCPU()
	}
	s.res.Tokens = r.Tokens
	if s.res.Tokens == 0 {
		s.res.Tokens = s.tokens
	}
	var payload []byte
	if s.spool != nil {
		_, err := s.spool.Append(func(id uint64, b []byte) []byte {
			s.res.ID = id
			payload = s.encode()
			return append(b, payload...)
		})
		if err != nil {
			return fmt.Errorf("spooling result of frame %d: %w", r.Seq, err)
		}
	} else {
		s.nextID++
		s.res.ID = s.nextID
		payload = s.encode()
	}
	s.met.observe(r)

	// The page shows it, an update's trial inference runs on it.
	keepPic := (s.http != nil || s.cfg.Trust != nil) && now.Sub(s.lastPic) >= 100*time.Millisecond
	if keepPic {
		s.lastPic = now
	}
	latest := bytes.Clone(payload)
	s.mu.Lock()
	if !s.latestAt.IsZero() {
		if dt := now.Sub(s.latestAt).Seconds(); dt > 0 {
			if s.fps == 0 {
				s.fps = 1 / dt
			} else {
				s.fps += 0.1 * (1/dt - s.fps)
			}
		}
	}
	s.latest, s.latestAt = latest, now
	s.frames++
	if r.Budget != nil {
		s.budget = *r.Budget
		if r.TempC != 0 {
			s.temp, s.tempOK = r.TempC, true
		}
	}
	if keepPic {
		s.pic.CopyFrom(s.loop.Frame())
		s.picSeq = r.Seq
		cm, h, w := s.loop.ClassMap()
		s.picMap, s.picMapH, s.picMapW = append(s.picMap[:0], cm...), h, w
		s.pickedOnce.Do(func() { close(s.picked) })
	}
	for c := range s.subs {
		select {
		case c <- latest:
		default: // a slow page misses frames, never stalls the loop
		}
	}
	s.mu.Unlock()
	s.swapIfPending()
	return nil
}

// encode marshals s.res (no trailing newline). The bytes are valid until
// the next call.
func (s *Service) encode() []byte {
	s.encBuf.Reset()
	if err := s.enc.Encode(&s.res); err != nil {
		// Only NaN or Inf could get here; keep the frame, say so.
		s.encBuf.Reset()
		fmt.Fprintf(&s.encBuf, `{"id":%d,"device":%q,"error":%q}`, s.res.ID, s.res.Device, err.Error())
		return s.encBuf.Bytes()
	}
	return bytes.TrimSuffix(s.encBuf.Bytes(), []byte("\n"))
}

// checkTopicLevel refuses names that would change the topic's structure.
func checkTopicLevel(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("topic level %q must have 1 to 128 characters", name)
	}
	for _, c := range name {
		if c == '/' || c == '+' || c == '#' || c < ' ' || c == 0x7f {
			return fmt.Errorf("topic level %q may not contain '/', '+', '#' or control characters", name)
		}
	}
	return nil
}
