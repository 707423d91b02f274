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

// Resuming a download cut short: at most downloadAttempts requests in all,
// the first retry after resumeDelay, doubling.
const downloadAttempts = 5

var resumeDelay = 250 * time.Millisecond

// download GETs url, refusing more than limit bytes. A body cut short (a
// flaky link in the field) is resumed where it stopped with a Range
// request, If-Range on the first response's ETag or Last-Modified so that
// a file replaced in between is fetched whole again; a server that
// ignores Range answers 200 and the download starts over.
func (s *Service) download(u string, limit int64) ([]byte, error) {
	cl := s.cfg.UpdateClient
	if cl == nil {
		cl = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment,
		}}
	}
	var b []byte
	total := int64(-1)
	validator := ""
	delay := resumeDelay
	for attempt := 1; ; attempt++ {
		done, err := downloadPart(cl, u, limit, &b, &total, &validator)
		if done || err != nil {
			return b, err
		}
		if attempt == downloadAttempts {
			return nil, fmt.Errorf("downloading %s: %d of %d bytes after %d attempts", u, len(b), total, attempt)
		}
		s.log.Printf("downloading %s: cut off after %d of %d bytes; resuming in %v", u, len(b), total, delay)
		time.Sleep(delay)
		delay *= 2
	}
}

// downloadPart makes one request for what *b lacks and appends the body
// to it. It returns done when *b holds the whole file; false and no error
// when the body was cut short (resume).
func downloadPart(cl *http.Client, u string, limit int64, b *[]byte, total *int64, validator *string) (done bool, err error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("downloading: %w", err)
	}
	if len(*b) > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", len(*b)))
		if *validator != "" {
			req.Header.Set("If-Range", *validator)
		}
	}
	resp, err := cl.Do(req)
	if err != nil {
		if len(*b) > 0 {
			return false, nil // the link is still down: try again
		}
		return false, fmt.Errorf("downloading: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK: // the whole file, from the start
		*b = (*b)[:0]
		*total = resp.ContentLength
		*validator = resp.Header.Get("ETag")
		if *validator == "" {
			*validator = resp.Header.Get("Last-Modified")
		}
	case http.StatusPartialContent:
		var start, end, size int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &size); err != nil ||
			start != int64(len(*b)) || (*total >= 0 && size != *total) {
			return false, fmt.Errorf("downloading %s: resumed at byte %d, the server answered Content-Range %q", u, len(*b), resp.Header.Get("Content-Range"))
		}
		*total = size
	default:
		return false, fmt.Errorf("downloading %s: %s", u, resp.Status)
	}
	if *total > limit {
		return false, fmt.Errorf("downloading %s: %d bytes, over the %d-byte limit", u, *total, limit)
	}
	buf := bytes.NewBuffer(*b)
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, limit+1-int64(len(*b))))
	*b = buf.Bytes()
	if int64(len(*b)) > limit {
		return false, fmt.Errorf("downloading %s: over the %d-byte limit", u, limit)
	}
	switch {
	case *total < 0 && err == nil:
		return true, nil // no length given: the body's end is the file's
	case *total < 0:
		return false, fmt.Errorf("downloading %s: %w", u, err)
	case int64(len(*b)) == *total:
		return true, nil
	case int64(len(*b)) > *total:
		return false, fmt.Errorf("downloading %s: %d bytes, more than the %d announced", u, len(*b), *total)
	}
	return false, nil
}
