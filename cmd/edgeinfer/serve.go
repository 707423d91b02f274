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
	spoolDir := fs.String("spool", "", "spool folder (default: $STATE_DIRECTORY/spool, else /var/lib/edgeinfer/spool)")
	spoolMax := fs.Int64("spool-max", 256<<20, "spool size limit in bytes; past it the oldest results are dropped and counted")
	syncEvery := fs.Duration("sync", time.Second, "fsync the spool this often (0: every result); a power cut loses at most this much")
	httpAddr := fs.String("http", "", "serve the live page, /events, /frame.jpg, /metrics, /healthz, /api/status here, e.g. 127.0.0.1:8080 (default: off)")
	tokenFile := fs.String("http-token-file", "", "file holding the bearer token HTTP requests must carry (required for a non-loopback --http)")
	teleEvery := fs.Duration("telemetry", 10*time.Second, "publish telemetry this often")
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
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = "/var/lib/edgeinfer/spool"
		if d := os.Getenv("STATE_DIRECTORY"); d != "" {
			// systemd may list several, colon-separated: the first is ours.
			cfg.SpoolDir = filepath.Join(strings.Split(d, ":")[0], "spool")
		}
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

	m, sum, err := loadModelSum(*model)
	if err != nil {
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
	svc, err := serve.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger.Printf("%s (%s) on %s as %s", m.Name, sum[:12], lf.camera, cfg.Device)
	if a := svc.HTTPAddr(); a != "" {
		logger.Printf("http://%s/", a)
	}
	return svc.Run(ctx, l, lf.frames)
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
