package serve

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// maxCommandBytes bounds an MQTT command payload.
const maxCommandBytes = 4 << 10

// modelCommand is the payload of PREFIX/DEVICE/cmd/model and
// PREFIX/all/cmd/model.
type modelCommand struct {
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
}

// parseModelCommand parses a command strictly: exactly the two fields, an
// https URL, a hex SHA-256.
func parseModelCommand(b []byte) (modelCommand, error) {
	var c modelCommand
	if len(b) > maxCommandBytes {
		return c, fmt.Errorf("command of %d bytes (limit %d)", len(b), maxCommandBytes)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return c, fmt.Errorf("command is not {\"url\", \"sha256\"}: %w", err)
	}
	if d.More() {
		return c, errors.New("command has data after its JSON object")
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return c, fmt.Errorf("command url %q: want https://HOST/PATH", c.URL)
	}
	if len(c.SHA256) != 64 || strings.Trim(strings.ToLower(c.SHA256), "0123456789abcdef") != "" {
		return c, fmt.Errorf("command sha256 %q: want 64 hex digits", c.SHA256)
	}
	c.SHA256 = strings.ToLower(c.SHA256)
	return c, nil
}

// command handles a message on a command topic (in paho's goroutine: the
// download runs on its own).
func (p *publisher) command(_ mqtt.Client, m mqtt.Message) {
	c, err := parseModelCommand(m.Payload())
	if err != nil {
		p.s.log.Printf("mqtt: %s: %v (ignored)", m.Topic(), err)
		return
	}
	if c.SHA256 == p.s.currentInfo().SHA256 {
		return // a retained command for the model already running
	}
	go p.s.fetchAndUpdate(c)
}

// fetchAndUpdate downloads a model and its signature (url + ".minisig")
// and hands them to Update.
func (s *Service) fetchAndUpdate(c modelCommand) {
	source := "mqtt " + c.URL
	data, err := s.download(c.URL, s.cfg.MaxModelBytes)
	if err == nil && SHA256Hex(data) != c.SHA256 {
		err = fmt.Errorf("downloaded %d bytes with SHA-256 %s, the command says %s (truncated or replaced?)", len(data), SHA256Hex(data)[:12], c.SHA256[:12])
	}
	var sig []byte
	if err == nil {
		sig, err = s.download(c.URL+SignatureSuffix, maxSignatureBytes)
	}
	if err != nil {
		s.rejected(source, ModelInfo{Name: "?", SHA256: c.SHA256}, err)
		return
	}
	s.Update(data, sig, source)
}

// rejected records an update that failed before Update could check it.
func (s *Service) rejected(source string, info ModelInfo, err error) {
	s.log.Printf("model update from %s rejected: %v", source, err)
	s.mu.Lock()
	s.lastUpdate = &UpdateJSON{Time: time.Now().UTC().Format(time.RFC3339), Source: source, Model: info, Result: "rejected", Error: err.Error()}
	s.mu.Unlock()
	if s.mqtt != nil {
		s.mqtt.republishStatus()
	}
}

// download GETs url, refusing more than limit bytes and short bodies.
func (s *Service) download(u string, limit int64) ([]byte, error) {
	cl := s.cfg.UpdateClient
	if cl == nil {
		cl = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment,
		}}
	}
	resp, err := cl.Get(u)
	if err != nil {
		return nil, fmt.Errorf("downloading: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading %s: %s", u, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("downloading %s: %d bytes, over the %d-byte limit", u, resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", u, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("downloading %s: over the %d-byte limit", u, limit)
	}
	if resp.ContentLength >= 0 && int64(len(b)) != resp.ContentLength {
		return nil, fmt.Errorf("downloading %s: %d of %d bytes", u, len(b), resp.ContentLength)
	}
	return b, nil
}
