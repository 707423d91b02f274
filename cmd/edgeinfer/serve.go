package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/edgeinfer/edgeinfer/boards"
	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/serve"
)

func init() {
	commands["serve"] = command{summary: "run a camera as a service: results to MQTT (spooled on disk), live page, metrics", run: cmdServe}
}

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	model := fs.String("model", defaultModel, "model file (.eim, .tflite, .onnx) or zoo:NAME")
	top := fs.Int("top", 5, "report the K highest classes")
	labelsPath := fs.String("labels", "", "text file with one class label per line (default: the model's labels)")
	threads := fs.Int("threads", 0, "worker threads (0: one per CPU)")
	tokens := tokensFlag(fs)
	var keep keepFlag
	fs.Var(&keep, "keep", "keep a ratio R in (0, 1] of the model's maximum token budget, or a count > 1 (excludes --tokens)")
	var lf liveFlags
	fs.StringVar(&lf.camera, "camera", "", "camera URI (v4l2:, pipe:, spi:, replay:, synthetic:, file:, dir:)")
	fs.IntVar(&lf.frames, "frames", 0, "stop after N inferences (0: until SIGTERM or SIGINT)")
	fs.Float64Var(&lf.fps, "fps", 0, "cap the frame rate (0: as fast as frames come)")
	fs.BoolVar(&lf.governor, "governor", false, "pace fps, threads and tokens from the board's temperature and power")
	fs.Float64Var(&lf.maxTemp, "max-temp", 0, "with --governor: temperature target in °C (default: the board profile's)")
	fs.Float64Var(&lf.maxPower, "max-power", 0, "with --governor: input power budget in W (default: the board profile's)")
	fs.StringVar(&lf.root, "root", "/", "root of the file system to read the board and its telemetry from")
	device := fs.String("device", "", "device name in topics and results (default: the host name)")
	mqttURL := fs.String("mqtt", "", "broker URL: tcp://HOST:1883, ssl://HOST:8883, ws://HOST:PORT/PATH (default: no MQTT)")
	prefix := fs.String("topic", "edgeinfer", "topic prefix: results go to PREFIX/DEVICE/results")
	qos := fs.Int("qos", 1, "QoS of results: 1 (a result leaves the spool when the broker acknowledged it) or 0")
	caFile := fs.String("mqtt-ca", "", "PEM file of the CA that signed the broker's certificate (ssl://, wss://)")
	user := fs.String("mqtt-user", "", "broker user name")
	passFile := fs.String("mqtt-password-file", "", "file holding the broker password (first line)")
	stateDir := fs.String("state", "", "state folder: the spool and the last accepted model (default: $STATE_DIRECTORY, else /var/lib/edgeinfer)")
	spoolDir := fs.String("spool", "", "spool folder (default: STATE/spool)")
	trust := fs.String("trust", "", "trusted minisign public keys, comma-separated: every model (at start, on SIGHUP, by update) must be signed by one (MODEL.minisig beside it)")
	modelDir := fs.String("model-dir", "", "with --trust: apply NAME.eim + NAME.eim.minisig pairs that appear in this folder")
	spoolMax := fs.Int64("spool-max", 256<<20, "spool size limit in bytes; past it the oldest results are dropped and counted")
	syncEvery := fs.Duration("sync", time.Second, "fsync the spool this often (0: every result); a power cut loses at most this much")
	httpAddr := fs.String("http", "", "serve the live page, /events, /frame.jpg, /metrics, /healthz, /api/status here, e.g. 127.0.0.1:8080 (default: off)")
	tokenFile := fs.String("http-token-file", "", "file holding the bearer token HTTP requests must carry (required for a non-loopback --http)")
	teleEvery := fs.Duration("telemetry", 10*time.Second, "publish telemetry this often")
	every := fs.Duration("every", 0, "duty cycle: one sample this often (open the camera, settle, infer once, publish, close it); --frames counts samples")
	settle := fs.Int("settle", 0, "with --every: frames to discard after opening the camera (exposure)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if lf.camera == "" {
		return usagef("--camera is required")
	}
	if keep.set && *tokens != 0 {
		return usagef("give only one of --keep and --tokens")
	}
	if lf.frames < 0 || lf.fps < 0 || lf.maxTemp < 0 || lf.maxPower < 0 || *top < 0 || *spoolMax < 0 || *syncEvery < 0 || *teleEvery <= 0 {
		return usagef("--frames, --fps, --max-temp, --max-power, --top, --spool-max and --sync must be ≥ 0, --telemetry > 0")
	}
	if *qos != 0 && *qos != 1 {
		return usagef("--qos must be 0 or 1, got %d", *qos)
	}
	if *mqttURL == "" && (*user != "" || *passFile != "" || *caFile != "") {
		return usagef("--mqtt-user, --mqtt-password-file and --mqtt-ca need --mqtt")
	}
	if (*user == "") != (*passFile == "") {
		return usagef("give --mqtt-user and --mqtt-password-file together")
	}
	if *tokenFile != "" && *httpAddr == "" {
		return usagef("--http-token-file needs --http")
	}
	if *every < 0 || *settle < 0 || (*settle > 0 && *every == 0) {
		return usagef("--every must be ≥ 0, and --settle ≥ 0 needs --every")
	}
	if *modelDir != "" && *trust == "" {
		return usagef("--model-dir needs --trust")
	}
	logger := log.New(stderr, "edgeinfer serve: ", 0)

	cfg := serve.Config{
		Device: *device, Prefix: *prefix, Version: version(),
		MQTT:           serve.MQTTConfig{URL: *mqttURL, QoS: byte(*qos), QoSSet: true, CAFile: *caFile, User: *user},
		Spool:          serve.SpoolOptions{MaxBytes: *spoolMax, Sync: *syncEvery},
		SpoolDir:       *spoolDir,
		HTTPAddr:       *httpAddr,
		TelemetryEvery: *teleEvery,
		Log:            logger,
	}
	if cfg.Device == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--device not given and no host name: %w", err)
		}
		cfg.Device = h
	}
	cfg.StateDir = *stateDir
	if cfg.StateDir == "" {
		cfg.StateDir = "/var/lib/edgeinfer"
		if d := os.Getenv("STATE_DIRECTORY"); d != "" {
			// systemd may list several, colon-separated: the first is ours.
			cfg.StateDir = strings.Split(d, ":")[0]
		}
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = filepath.Join(cfg.StateDir, "spool")
	}
	var err error
	if *passFile != "" {
		if cfg.MQTT.Password, err = readSecret(*passFile); err != nil {
			return fmt.Errorf("--mqtt-password-file: %w", err)
		}
	}
	if *tokenFile != "" {
		if cfg.HTTPToken, err = readSecret(*tokenFile); err != nil {
			return fmt.Errorf("--http-token-file: %w", err)
		}
		if len(cfg.HTTPToken) < 16 {
			return fmt.Errorf("--http-token-file %s: the token has %d characters, use at least 16", *tokenFile, len(cfg.HTTPToken))
		}
	}

	var m *format.Model
	var sum string
	if *trust != "" {
		if cfg.Trust, err = serve.LoadTrust(strings.Split(*trust, ",")); err != nil {
			return fmt.Errorf("--trust: %w", err)
		}
		if m, sum, err = loadTrusted(*model, cfg.Trust, cfg.StateDir, logger); err != nil {
			return err
		}
		cfg.BaseSHA256 = fileSHA256(*model)
		cfg.ModelDir = *modelDir
	} else if m, sum, err = loadModelSum(*model); err != nil {
		return err
	}
	cfg.Model = serve.ModelInfo{Name: m.Name, SHA256: sum}
	labels := m.Labels
	if *labelsPath != "" {
		if labels, err = readLabels(*labelsPath); err != nil {
			return err
		}
	}
	it, err := runtime.New(m, runtime.Options{Threads: *threads})
	if err != nil {
		return err
	}
	defer it.Close()
	if err := applyTokens(it, *tokens); err != nil {
		return err
	}
	if keep.set {
		if cfg.Tokens, err = applyKeep(it, &keep); err != nil {
			return err
		}
	} else if *tokens > 0 {
		cfg.Tokens = *tokens
	} else {
		cfg.Tokens = it.MaxTokens()
	}
	cfg.LoadModel = func(data []byte) (*serve.Model, error) {
		return loadUpdate(data, *threads, &keep, *tokens)
	}
	tele, board, err := boardTelemetry(lf.root)
	if err != nil {
		logger.Printf("telemetry off: %v", err)
	}
	cfg.Telemetry, cfg.Board = tele, board
	if cfg.Notifier, err = serve.NotifierFromEnv(); err != nil {
		logger.Printf("systemd notifications off: %v", err)
	}
	defer cfg.Notifier.Close()

	l, err := openLoop(it, labels, *top, &lf, stderr)
	if err != nil {
		return err
	}
	defer l.Source.Close()
	if *every > 0 {
		cfg.Every, l.Settle = *every, *settle
		cfg.OpenCamera = func() (camera.Source, error) { return camera.Open(lf.camera) }
	}
	svc, err := serve.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if cfg.Trust != nil {
		// SIGHUP: load --model again (verified), as an update.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for range hup {
				data, err := cfg.Trust.ReadVerified(*model)
				if err != nil {
					logger.Printf("SIGHUP: %v (the running model stays)", err)
					continue
				}
				sig, _ := os.ReadFile(*model + serve.SignatureSuffix)
				svc.Update(data, sig, "SIGHUP "+*model)
			}
		}()
	}
	logger.Printf("%s (%s) on %s as %s", m.Name, sum[:12], lf.camera, cfg.Device)
	if a := svc.HTTPAddr(); a != "" {
		logger.Printf("http://%s/", a)
	}
	return svc.Run(ctx, l, lf.frames)
}

// loadTrusted loads a signed .eim file, verifying its signature before
// parsing it; when the state folder holds a later accepted update of it,
// that one runs instead.
func loadTrusted(path string, t *serve.Trust, stateDir string, logger *log.Logger) (*format.Model, string, error) {
	if strings.HasPrefix(path, "zoo:") || strings.ToLower(filepath.Ext(path)) != ".eim" {
		return nil, "", usagef("--trust: --model must be a signed .eim file, not %s", path)
	}
	data, err := t.ReadVerified(path)
	if err != nil {
		return nil, "", err
	}
	sum := serve.SHA256Hex(data)
	acc, accSum, ok, err := serve.LoadAccepted(stateDir, t, sum)
	if err != nil {
		logger.Printf("the last accepted model is unusable (%v); running %s", err, path)
	} else if ok {
		logger.Printf("running the last accepted update %s instead of %s (%s)", accSum[:12], path, sum[:12])
		data, sum = acc, accSum
	}
	m, err := format.Read(data)
	if err != nil {
		return nil, "", fmt.Errorf("loading model: %w", err)
	}
	return m, sum, nil
}

// fileSHA256 is the SHA-256 of a file ("" when unreadable).
func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return serve.SHA256Hex(b)
}

// loadUpdate parses and plans a verified update with the options the
// service started with.
func loadUpdate(data []byte, threads int, keep *keepFlag, tokens int) (*serve.Model, error) {
	m, err := format.Read(data)
	if err != nil {
		return nil, err
	}
	it, err := runtime.New(m, runtime.Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	target, err := camera.TargetFor(m)
	if err != nil {
		it.Close()
		return nil, err
	}
	sm := &serve.Model{Interp: it, Target: target, Labels: m.Labels, Info: serve.ModelInfo{Name: m.Name}, Tokens: it.MaxTokens()}
	if limit := it.MaxTokens(); limit > 0 && (keep.set || tokens > 0) {
		n := tokens
		if keep.set {
			if n, err = keep.tokens(limit); err != nil {
				it.Close()
				return nil, err
			}
		}
		if err := it.SetTokens(min(n, limit)); err != nil {
			it.Close()
			return nil, err
		}
		sm.Tokens = min(n, limit)
	}
	return sm, nil
}

// loadModelSum loads a model like loadModel and returns the SHA-256 of its
// file (of its encoding, for zoo models).
func loadModelSum(path string) (*format.Model, string, error) {
	m, err := loadModel(path)
	if err != nil {
		return nil, "", err
	}
	var data []byte
	if strings.HasPrefix(path, "zoo:") {
		if data, err = format.Marshal(m); err != nil {
			return nil, "", fmt.Errorf("encoding %s: %w", path, err)
		}
	} else if data, err = os.ReadFile(path); err != nil {
		return nil, "", err
	}
	h := sha256.Sum256(data)
	return m, hex.EncodeToString(h[:]), nil
}

// boardTelemetry detects the board under root and returns a telemetry
// reader for it and its name.
func boardTelemetry(root string) (*serve.Telemetry, string, error) {
	fsys := os.DirFS(root)
	cpu := boards.HostCPU()
	if root != "/" {
		cpu = boards.CPUInfoCPU(fsys)
	}
	det, err := boards.Detect(fsys, cpu)
	if err != nil {
		return nil, "", fmt.Errorf("detecting the board: %w", err)
	}
	r, err := boards.NewReader(fsys, det.Profile)
	if err != nil {
		return nil, det.Profile.ID, err
	}
	cfg := boards.ConfigFor(det.Profile, goruntime.NumCPU())
	return &serve.Telemetry{Reader: r, Zones: cfg.Zones, Rail: cfg.TotalRail}, det.Profile.ID, nil
}

// readSecret returns the first line of a file, trimmed.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return line, nil
}

// version is the module version and VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
