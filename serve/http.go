package serve

import (
	"bytes"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgeinfer/edgeinfer/camera"
	"github.com/edgeinfer/edgeinfer/live"
)

//go:embed page.html
var pageSource string

// pageHTML is the page with what it draws a pose by: the keypoint pairs
// joined in the skeleton and the least score drawn, the CLI overlay's.
var pageHTML = func() []byte {
	pose, err := json.Marshal(struct {
		Limbs    [][2]int `json:"limbs"`
		MinScore float64  `json:"min_score"`
	}{live.COCOLimbs[:], live.PoseMinScore})
	if err != nil {
		panic(err)
	}
	const slot = `<script type="application/json" id="pose">{}</script>`
	if !strings.Contains(pageSource, slot) {
		panic("serve: page.html lost its pose slot")
	}
	return []byte(strings.Replace(pageSource, slot, strings.Replace(slot, "{}", string(pose), 1), 1))
}()

// maxEventClients bounds the open /events streams.
const maxEventClients = 16

// maxPictureSide bounds /frame.jpg; larger frames are scaled down.
const maxPictureSide = 640

type httpServer struct {
	s     *Service
	srv   *http.Server
	token []byte

	mu     sync.Mutex // guards the picture cache and its scratch
	jpg    []byte
	jpgSeq uint64
	jpgOK  bool
	png    []byte // the class map of frame pngSeq as /mask.png
	pngSeq uint64
	pngOK  bool
	rgb    []byte
	scr    camera.Scratch
	done   chan struct{} // closed at shutdown: ends the event streams
}

// newHTTPServer checks the address and token rule and binds the listener.
func newHTTPServer(s *Service, addr, token string) (*httpServer, net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--http %q: %w", addr, err)
	}
	if !isLoopback(host) && token == "" {
		return nil, nil, fmt.Errorf("--http %q is reachable from other machines: give --http-token-file (or bind 127.0.0.1)", addr)
	}
	h := &httpServer{s: s, token: []byte(token), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.page)
	mux.HandleFunc("GET /events", h.events)
	mux.HandleFunc("GET /frame.jpg", h.frame)
	mux.HandleFunc("GET /mask.png", h.mask)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /api/status", h.status)
	mux.HandleFunc("POST /model", h.postModel)
	h.srv = &http.Server{
		Handler:           h.guard(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          s.log,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--http: %w", err)
	}
	return h, ln, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guard enforces the bearer token (on everything but /healthz), refuses
// bodies, and sets headers every answer carries.
func (h *httpServer) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		if len(h.token) > 0 && r.URL.Path != "/healthz" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), h.token) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="edgeinfer"`)
				http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
				return
			}
		}
		if r.Method == http.MethodPost && r.URL.Path == "/model" {
			// The one request with a body: bounded.
			r.Body = http.MaxBytesReader(w, r.Body, h.s.cfg.MaxModelBytes+maxSignatureBytes+64<<10)
		} else if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
			http.Error(w, "no request bodies here", http.StatusRequestEntityTooLarge)
			return
		}
		if r.URL.RawQuery != "" && r.URL.Path != "/frame.jpg" && r.URL.Path != "/mask.png" {
			http.Error(w, "no query parameters here", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *httpServer) serve(ln net.Listener) {
	if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		h.s.log.Printf("http: %v", err)
	}
}

// shutdown ends the event streams and closes the server within half a
// second.
func (h *httpServer) shutdown() {
	close(h.done)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.srv.Close()
	}
}

func (h *httpServer) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.Write(pageHTML)
}

// events streams one "result" event per frame (frames a slow reader cannot
// take are skipped, never queued).
func (h *httpServer) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := make(chan []byte, 4)
	s := h.s
	s.mu.Lock()
	if len(s.subs) >= maxEventClients {
		s.mu.Unlock()
		http.Error(w, "too many event streams", http.StatusServiceUnavailable)
		return
	}
	s.subs[c] = struct{}{}
	first := s.latest
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, c)
		s.mu.Unlock()
	}()
	// The stream outlives the server's write timeout.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	send := func(b []byte) bool {
		_, err := fmt.Fprintf(w, "event: result\ndata: %s\n\n", b)
		fl.Flush()
		return err == nil
	}
	if first != nil && !send(first) {
		return
	}
	fl.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case b := <-c:
			if !send(b) {
				return
			}
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		}
	}
}

// frame serves the newest kept frame as JPEG.
func (h *httpServer) frame(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); len(q) > 1 || (len(q) == 1 && !q.Has("seq")) {
		http.Error(w, "the only query parameter is seq (ignored; it defeats caches)", http.StatusBadRequest)
		return
	}
	b, seq, err := h.picture()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("X-Frame-Seq", strconv.FormatUint(seq, 10))
	w.Write(b)
}

// mask serves the class map of the newest kept frame (a segmentation
// model's) as a PNG of the map's own size, each class in live.MaskColor,
// background transparent: the page stretches it over the part of the
// frame the model saw.
func (h *httpServer) mask(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); len(q) > 1 || (len(q) == 1 && !q.Has("seq")) {
		http.Error(w, "the only query parameter is seq (ignored; it defeats caches)", http.StatusBadRequest)
		return
	}
	b, seq, err := h.maskPNG()
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Frame-Seq", strconv.FormatUint(seq, 10))
	w.Write(b)
}

func (h *httpServer) maskPNG() ([]byte, uint64, error) {
	s := h.s
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	seq, mh, mw := s.picSeq, s.picMapH, s.picMapW
	if len(s.picMap) == 0 {
		s.mu.Unlock()
		return nil, 0, errors.New("no class map: the model is not a segmentation model, or no frame yet")
	}
	if h.pngOK && seq == h.pngSeq {
		s.mu.Unlock()
		return h.png, seq, nil
	}
	img := image.NewNRGBA(image.Rect(0, 0, mw, mh))
	for i, c := range s.picMap {
		k := live.MaskColor(c)
		copy(img.Pix[4*i:4*i+4], []byte{k.R, k.G, k.B, k.A})
	}
	s.mu.Unlock()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, 0, err
	}
	h.png, h.pngSeq, h.pngOK = buf.Bytes(), seq, true
	return h.png, seq, nil
}

// picture encodes the newest kept frame (once per frame).
func (h *httpServer) picture() ([]byte, uint64, error) {
	s := h.s
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	seq, have := s.picSeq, s.pic.Planes != nil
	if !have {
		s.mu.Unlock()
		return nil, 0, errors.New("no frame yet")
	}
	if h.jpgOK && seq == h.jpgSeq {
		s.mu.Unlock()
		return h.jpg, seq, nil
	}
	fw, fh := s.pic.Format.Width, s.pic.Format.Height
	k := max(1, (max(fw, fh)+maxPictureSide-1)/maxPictureSide)
	t := camera.Target{Width: fw / k, Height: fh / k, Fit: camera.Stretch}
	h.rgb = grow(h.rgb, t.Size())
	err := camera.Convert(h.rgb, &s.pic, &t, &h.scr)
	s.mu.Unlock()
	if err != nil {
		return nil, 0, fmt.Errorf("frame %d: %w", seq, err)
	}
	img := image.NewRGBA(image.Rect(0, 0, t.Width, t.Height))
	for i := 0; i < t.Width*t.Height; i++ {
		copy(img.Pix[4*i:4*i+3], h.rgb[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, 0, err
	}
	h.jpg, h.jpgSeq, h.jpgOK = buf.Bytes(), seq, true
	return h.jpg, seq, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// healthz answers 200 while frames are flowing.
func (h *httpServer) healthz(w http.ResponseWriter, r *http.Request) {
	s := h.s
	s.mu.Lock()
	at, alive := s.latestAt, s.frameAlive
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case at.IsZero():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "no frame yet")
	case time.Since(at) > alive:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "no frame for %.1f s\n", time.Since(at).Seconds())
	default:
		fmt.Fprintln(w, "ok")
	}
}

// StatusJSON is the answer of /api/status.
type StatusJSON struct {
	Device    string          `json:"device"`
	Version   string          `json:"version"`
	Board     string          `json:"board"`
	Model     ModelInfo       `json:"model"`
	Frames    uint64          `json:"frames"`
	FPS       float64         `json:"fps"`
	TempC     *float64        `json:"temp_c,omitempty"`
	PowerMW   *float64        `json:"power_mw,omitempty"`
	Broker    *BrokerJSON     `json:"broker,omitempty"`
	Update    *UpdateJSON     `json:"update,omitempty"`
	Spool     *SpoolStats     `json:"spool,omitempty"`
	Telemetry json.RawMessage `json:"telemetry,omitempty"`
	Latest    json.RawMessage `json:"latest,omitempty"`
}

// BrokerJSON is the broker part of StatusJSON.
type BrokerJSON struct {
	URL       string `json:"url"`
	Connected bool   `json:"connected"`
	Connects  uint64 `json:"connects"`
	LastError string `json:"last_error,omitempty"`
}

// Status returns what /api/status shows.
func (s *Service) Status() StatusJSON {
	st := StatusJSON{Device: s.cfg.Device, Version: s.cfg.Version, Board: s.cfg.Board, Model: s.currentInfo()}
	if p := s.mqtt; p != nil {
		p.mu.Lock()
		st.Broker = &BrokerJSON{URL: redactURL(mustParse(p.cfg.URL)), Connected: p.connected, Connects: p.connects, LastError: p.lastErr}
		p.mu.Unlock()
		sp := s.spool.Stats()
		st.Spool = &sp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Frames, st.FPS = s.frames, s.fps
	if s.tempOK {
		t := s.temp
		st.TempC = &t
	}
	if s.tele.PowerMW != nil {
		p := s.powerMW
		st.PowerMW = &p
	}
	if s.tele.Time != "" {
		st.Telemetry, _ = json.Marshal(s.tele)
	}
	st.Latest = s.latest
	st.Update = s.lastUpdate
	return st
}

func (h *httpServer) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(h.s.Status())
}

// postModel takes a model update: multipart fields "model" and
// "signature", nothing else. It needs the bearer token even on loopback.
func (h *httpServer) postModel(w http.ResponseWriter, r *http.Request) {
	if len(h.token) == 0 {
		http.Error(w, "model updates over HTTP need --http-token-file", http.StatusForbidden)
		return
	}
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(5 * time.Minute))
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "want multipart/form-data with fields model and signature: "+err.Error(), http.StatusBadRequest)
		return
	}
	var model, sig []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			http.Error(w, "reading the form: "+err.Error(), http.StatusBadRequest)
			return
		}
		var dst *[]byte
		limit := int64(maxSignatureBytes)
		switch part.FormName() {
		case "model":
			dst, limit = &model, h.s.cfg.MaxModelBytes
		case "signature":
			dst = &sig
		default:
			http.Error(w, fmt.Sprintf("unexpected form field %q (want model and signature)", part.FormName()), http.StatusBadRequest)
			return
		}
		if *dst != nil {
			http.Error(w, fmt.Sprintf("form field %q given twice", part.FormName()), http.StatusBadRequest)
			return
		}
		b, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			http.Error(w, "reading the form: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		if int64(len(b)) > limit {
			http.Error(w, fmt.Sprintf("form field %q is over %d bytes", part.FormName(), limit), http.StatusRequestEntityTooLarge)
			return
		}
		*dst = b
	}
	if model == nil || sig == nil {
		http.Error(w, "want both form fields, model and signature", http.StatusBadRequest)
		return
	}
	err = h.s.Update(model, sig, "http "+r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, ErrUpdateBusy):
		w.WriteHeader(http.StatusConflict)
	case err != nil:
		w.WriteHeader(http.StatusUnprocessableEntity)
	}
	h.s.mu.Lock()
	u := h.s.lastUpdate
	h.s.mu.Unlock()
	if errors.Is(err, ErrUpdateBusy) {
		u = &UpdateJSON{Result: "rejected", Error: err.Error()}
	}
	json.NewEncoder(w).Encode(u)
}
