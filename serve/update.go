package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// A model update is verified (signature first, before any byte is parsed),
// loaded and run once on the current frame beside the running model, stored
// in the state folder, and swapped in between two frames. Any failure
// leaves the running model as it was; the outcome goes to the status topic
// and /api/status.

// Update errors.
var (
	// ErrUpdateBusy reports an update arriving while another is checked.
	ErrUpdateBusy = errors.New("another model update is in progress")
	// ErrNoTrust reports an update to a service started without --trust.
	ErrNoTrust = errors.New("model updates need trusted keys (--trust)")
)

// DefaultMaxModelBytes bounds an update's model file.
const DefaultMaxModelBytes = 64 << 20

// Model is a loaded model the frame loop can run.
type Model struct {
	Interp *runtime.Interpreter
	Target *camera.Target
	Labels []string
	Info   ModelInfo
	Tokens int // the token budget in force for models that prune (0: none)
}

// UpdateJSON is the outcome of the last update, in the status.
type UpdateJSON struct {
	Time   string    `json:"time"`
	Source string    `json:"source"` // http, mqtt URL, model-dir NAME, SIGHUP
	Model  ModelInfo `json:"model"`  // the candidate
	Result string    `json:"result"` // accepted, rejected
	Error  string    `json:"error,omitempty"`
}

// pendingModel is an accepted model waiting for the loop to swap it in.
type pendingModel struct {
	m       *Model
	swapped chan struct{}
}

// SHA256Hex is the hex SHA-256 of data.
func SHA256Hex(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Update checks a candidate model and, when every check passes, swaps it
// in between two frames. source says where it came from (for the status).
func (s *Service) Update(data, sig []byte, source string) error {
	if !s.updMu.TryLock() {
		return ErrUpdateBusy
	}
	defer s.updMu.Unlock()
	info := ModelInfo{Name: "?", SHA256: SHA256Hex(data)}
	err := s.update(data, sig, &info)
	u := UpdateJSON{Time: time.Now().UTC().Format(time.RFC3339), Source: source, Model: info, Result: "accepted"}
	if err != nil {
		u.Result, u.Error = "rejected", err.Error()
		s.log.Printf("model update from %s rejected (%s keeps running): %v", source, s.currentInfo().SHA256[:min(12, len(s.currentInfo().SHA256))], err)
	} else {
		s.log.Printf("model update from %s: %s %s accepted and running", source, info.Name, info.SHA256[:12])
	}
	s.mu.Lock()
	s.lastUpdate = &u
	s.mu.Unlock()
	if s.mqtt != nil {
		s.mqtt.republishStatus()
	}
	return err
}

func (s *Service) update(data, sig []byte, info *ModelInfo) error {
	if s.cfg.Trust == nil || s.cfg.LoadModel == nil {
		return ErrNoTrust
	}
	if int64(len(data)) > s.cfg.MaxModelBytes {
		return fmt.Errorf("model of %d bytes is over the %d-byte limit", len(data), s.cfg.MaxModelBytes)
	}
	// The signature, before a single byte is parsed.
	if err := s.cfg.Trust.Verify(data, sig); err != nil {
		return err
	}
	if info.SHA256 == s.currentInfo().SHA256 {
		return fmt.Errorf("model %s is already running", info.SHA256[:12])
	}
	m, err := s.cfg.LoadModel(data)
	if err != nil {
		return fmt.Errorf("loading: %w", err)
	}
	m.Info.SHA256 = info.SHA256
	info.Name = m.Info.Name
	if err := s.smoke(m); err != nil {
		m.Interp.Close()
		return fmt.Errorf("trial inference: %w", err)
	}
	if s.cfg.StateDir != "" {
		if err := SaveAccepted(s.cfg.StateDir, data, sig, s.cfg.BaseSHA256); err != nil {
			m.Interp.Close()
			return fmt.Errorf("storing the accepted model: %w", err)
		}
	}
	p := &pendingModel{m: m, swapped: make(chan struct{})}
	s.pending.Store(p)
	// The loop swaps it after its next frame; without frames (a stopped
	// camera, a long duty cycle) it is swapped in at the next one.
	select {
	case <-p.swapped:
	case <-time.After(10 * time.Second):
	}
	return nil
}

// smoke runs m once on the newest frame, beside the running model.
func (s *Service) smoke(m *Model) error {
	var f camera.Frame
	s.mu.Lock()
	have := s.pic.Planes != nil
	if have {
		f.CopyFrom(&s.pic)
	}
	s.mu.Unlock()
	if !have {
		return errors.New("no frame yet to try the model on")
	}
	var scr camera.Scratch
	if err := camera.Convert(m.Interp.Input(0).Bytes(), &f, m.Target, &scr); err != nil {
		return err
	}
	if err := m.Interp.Invoke(); err != nil {
		return err
	}
	out := m.Interp.Output(0)
	for i, v := range out.Dequantized(make([]float32, out.NumElements())) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("output %q element %d is %v", out.Name, i, v)
		}
	}
	return nil
}

// swapIfPending runs in the frame loop, between frames.
func (s *Service) swapIfPending() {
	p := s.pending.Swap(nil)
	if p == nil {
		return
	}
	old := s.loop.Interp
	s.loop.SetModel(p.m.Interp, p.m.Target, p.m.Labels)
	s.res.Model = p.m.Info
	s.tokens = p.m.Tokens
	s.mu.Lock()
	s.model = p.m.Info
	s.mu.Unlock()
	if old != nil && old != p.m.Interp {
		old.Close()
	}
	close(p.swapped)
}

func (s *Service) currentInfo() ModelInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.model
}

// The accepted model lives in STATE/model: NAME.eim and its .minisig
// files named by their SHA-256, and "current", which names the one to
// run and the SHA-256 of the --model it replaced. Each file is written,
// fsynced and renamed into place, "current" last, so a power cut at any
// step leaves the previous model in force.

const acceptedDir = "model"

// SaveAccepted stores an accepted model and its signature and makes it
// the current one. base is the SHA-256 of the configured --model.
func SaveAccepted(stateDir string, data, sig []byte, base string) error {
	dir := filepath.Join(stateDir, acceptedDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	sum := SHA256Hex(data)
	if err := WriteAtomic(filepath.Join(dir, sum+".eim"), data); err != nil {
		return err
	}
	if err := WriteAtomic(filepath.Join(dir, sum+".eim"+SignatureSuffix), sig); err != nil {
		return err
	}
	if err := WriteAtomic(filepath.Join(dir, "current"), []byte(sum+" "+base+"\n")); err != nil {
		return err
	}
	// Older models can go now.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if n := e.Name(); n != "current" && !strings.HasPrefix(n, sum) {
			os.Remove(filepath.Join(dir, n))
		}
	}
	saveStepHook()
	return nil
}

// LoadAccepted returns the verified bytes of the last accepted model when
// there is one and it replaced the model whose SHA-256 is base (an
// operator who configures another --model gets that one). ok is false
// when there is none.
func LoadAccepted(stateDir string, t *Trust, base string) (data []byte, sum string, ok bool, err error) {
	dir := filepath.Join(stateDir, acceptedDir)
	cur, err := readLimited(filepath.Join(dir, "current"), 256)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	f := strings.Fields(string(cur))
	if len(f) != 2 || len(f[0]) != 64 {
		return nil, "", false, fmt.Errorf("%s/current is malformed", dir)
	}
	if f[1] != base {
		return nil, "", false, nil
	}
	data, err = t.ReadVerified(filepath.Join(dir, f[0]+".eim"))
	if err != nil {
		return nil, "", false, err
	}
	if SHA256Hex(data) != f[0] {
		return nil, "", false, fmt.Errorf("%s/%s.eim does not have that SHA-256", dir, f[0])
	}
	return data, f[0], true, nil
}

// WriteAtomic writes path through a temporary file: write, fsync, rename,
// fsync the folder.
func WriteAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	saveStepHook()
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	saveStepHook()
	return nil
}

// saveStepHook runs after each durable step of WriteAtomic; the power-cut
// test kills the process there.
var saveStepHook = func() {}
