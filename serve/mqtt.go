package serve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// MQTTConfig says how to reach the broker.
type MQTTConfig struct {
	// URL is tcp://HOST:PORT, ssl://HOST:PORT (or tls://, mqtts://) or
	// ws://HOST:PORT/PATH (wss:// with TLS).
	URL string
	// QoS of the results: 1 (default) removes a result from the spool
	// only when the broker acknowledged it; 0 removes it once written to
	// the connection.
	QoS      byte
	QoSSet   bool   // QoS was given (0 is a valid choice)
	CAFile   string // PEM roots for ssl:// and wss:// (default: the system's)
	User     string
	Password string
	// ClientID defaults to "edgeinfer-DEVICE".
	ClientID string
	// Backoff bounds the reconnection delay, doubling from MinBackoff
	// (defaults 1 s and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// AckTimeout is how long a publish may wait for its acknowledgement
	// before the connection is considered dead (default 10 s).
	AckTimeout time.Duration
}

// publishWindow is how many results are in flight at once.
const publishWindow = 64

// publisher owns the broker connection: it connects with backoff, says
// online, drains the spool in order, and says offline when stopping.
type publisher struct {
	s      *Service
	cfg    MQTTConfig
	opts   *mqtt.ClientOptions
	topics struct{ results, status, telemetry, cmdModel, fleetModel string }

	lost chan error // connection-lost notifications

	mu        sync.Mutex
	client    mqtt.Client
	connected bool
	lastErr   string
	connects  uint64
}

func newPublisher(s *Service, cfg MQTTConfig) (*publisher, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("--mqtt %q: %w", cfg.URL, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return nil, fmt.Errorf("--mqtt %q: scheme %q is not tcp, ssl, tls, mqtts, ws or wss", cfg.URL, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("--mqtt %q: no host", cfg.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("--mqtt %q: give the user with --mqtt-user and the password in a file, not in the URL", redactURL(u))
	}
	if !cfg.QoSSet {
		cfg.QoS = 1
	}
	if cfg.QoS > 1 {
		return nil, fmt.Errorf("--qos %d: use 0 or 1", cfg.QoS)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "edgeinfer-" + s.cfg.Device
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 10 * time.Second
	}
	p := &publisher{s: s, cfg: cfg, lost: make(chan error, 1)}
	base := s.cfg.Prefix + "/" + s.cfg.Device + "/"
	p.topics.results, p.topics.status, p.topics.telemetry = base+"results", base+"status", base+"telemetry"
	p.topics.cmdModel, p.topics.fleetModel = base+"cmd/model", s.cfg.Prefix+"/all/cmd/model"

	o := mqtt.NewClientOptions().AddBroker(cfg.URL).SetClientID(cfg.ClientID)
	// The spool, not the client, keeps what is unacknowledged: a clean
	// session, no automatic reconnection (ours backs off and logs), and
	// tokens that fail when the connection drops.
	o.SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false)
	o.SetKeepAlive(30 * time.Second).SetPingTimeout(10 * time.Second)
	o.SetConnectTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second)
	o.SetOrderMatters(true)
	offline, _ := json.Marshal(statusJSON{State: "offline", Device: s.cfg.Device})
	o.SetBinaryWill(p.topics.status, offline, 1, true)
	if cfg.User != "" {
		o.SetUsername(cfg.User)
		o.SetPassword(cfg.Password)
	}
	if u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts" || u.Scheme == "wss" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--mqtt-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--mqtt-ca %s: no PEM certificate in it", cfg.CAFile)
			}
		}
		o.SetTLSConfig(tc)
	} else if cfg.CAFile != "" {
		return nil, fmt.Errorf("--mqtt-ca needs an ssl:// or wss:// broker, not %s", u.Scheme)
	}
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		select {
		case p.lost <- err:
		default:
		}
	})
	p.opts = o
	return p, nil
}

// statusJSON is the retained message on PREFIX/DEVICE/status.
type statusJSON struct {
	State   string      `json:"state"` // online, offline
	Device  string      `json:"device"`
	Version string      `json:"version,omitempty"`
	Board   string      `json:"board,omitempty"`
	Model   *ModelInfo  `json:"model,omitempty"`
	Time    string      `json:"time,omitempty"`
	Spool   *SpoolStats `json:"spool,omitempty"`
	Update  *UpdateJSON `json:"update,omitempty"` // the last model update's outcome
}

// Connected reports whether the broker connection is up.
func (p *publisher) Connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connected
}

func (p *publisher) setState(c mqtt.Client, connected bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.client, p.connected = c, connected
	if err != nil {
		p.lastErr = err.Error()
	}
	if connected {
		p.connects++
	}
}

// run connects, publishes and reconnects until ctx is done or, after
// stopping is closed, the spool is empty.
func (p *publisher) run(ctx context.Context, stopping <-chan struct{}) {
	c := mqtt.NewClient(p.opts)
	backoff := p.cfg.MinBackoff
	where := redactURL(mustParse(p.cfg.URL))
	for ctx.Err() == nil {
		if isClosed(stopping) && p.s.spool.Stats().Depth == 0 {
			return
		}
		tok := c.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			return
		}
		if err := tok.Error(); err != nil {
			p.setState(c, false, err)
			hint := ""
			if errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) || errors.Is(err, packets.ErrorRefusedNotAuthorised) {
				hint = " (check --mqtt-user and --mqtt-password-file)"
			}
			p.s.log.Printf("mqtt: cannot connect to %s: %v%s; retrying in %v", where, err, hint, backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, p.cfg.MaxBackoff)
			continue
		}
		backoff = p.cfg.MinBackoff
		select { // a loss reported before this connection
		case <-p.lost:
		default:
		}
		p.setState(c, true, nil)
		st := p.s.spool.Stats()
		p.s.log.Printf("mqtt: connected to %s as %s; %d results spooled", where, p.cfg.ClientID, st.Depth)
		err := p.online(ctx, c)
		if err == nil {
			err = p.drain(ctx, c, stopping)
		}
		if err == nil || ctx.Err() != nil {
			p.offline(c)
			p.setState(c, false, nil)
			return
		}
		p.setState(c, false, err)
		c.Disconnect(0)
		p.s.log.Printf("mqtt: connection to %s lost: %v; %d results spooled, reconnecting", where, err, p.s.spool.Stats().Depth)
	}
}

// online publishes the retained online status and subscribes to the
// command topics when updates are possible.
func (p *publisher) online(ctx context.Context, c mqtt.Client) error {
	if err := p.wait(ctx, c.Publish(p.topics.status, 1, true, p.onlineStatus())); err != nil {
		return err
	}
	if p.s.cfg.Trust == nil {
		return nil
	}
	filters := map[string]byte{p.topics.cmdModel: 1, p.topics.fleetModel: 1}
	return p.wait(ctx, c.SubscribeMultiple(filters, p.command))
}

func (p *publisher) onlineStatus() []byte {
	st := p.s.spool.Stats()
	model := p.s.currentInfo()
	p.s.mu.Lock()
	upd := p.s.lastUpdate
	p.s.mu.Unlock()
	b, _ := json.Marshal(statusJSON{
		State: "online", Device: p.s.cfg.Device, Version: p.s.cfg.Version, Board: p.s.cfg.Board,
		Model: &model, Time: time.Now().UTC().Format(time.RFC3339), Spool: &st, Update: upd,
	})
	return b
}

// republishStatus sends the online status again (after an update) when
// connected; it does not wait for the broker.
func (p *publisher) republishStatus() {
	p.mu.Lock()
	c, ok := p.client, p.connected
	p.mu.Unlock()
	if ok {
		c.Publish(p.topics.status, 1, true, p.onlineStatus())
	}
}

// offline publishes the retained offline status and disconnects.
func (p *publisher) offline(c mqtt.Client) {
	b, _ := json.Marshal(statusJSON{State: "offline", Device: p.s.cfg.Device, Time: time.Now().UTC().Format(time.RFC3339)})
	tok := c.Publish(p.topics.status, 1, true, b)
	tok.WaitTimeout(time.Second)
	c.Disconnect(250)
}

// drain publishes the spool in order, publishWindow results at a time,
// acknowledging each in the spool when the broker acknowledged it. It
// returns nil when stopping and the spool is empty, or the error that
// ended the connection.
func (p *publisher) drain(ctx context.Context, c mqtt.Client, stopping <-chan struct{}) error {
	recs := make([]Record, 0, publishWindow)
	toks := make([]mqtt.Token, 0, publishWindow)
	for {
		more := p.s.spool.Wait()
		got, err := p.s.spool.Read(0, recs)
		if err != nil {
			return err
		}
		if len(got) == 0 {
			select {
			case <-more:
			case <-stopping:
				if p.s.spool.Stats().Depth == 0 {
					return nil
				}
			case err := <-p.lost:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		toks = toks[:0]
		for _, r := range got {
			toks = append(toks, c.Publish(p.topics.results, p.cfg.QoS, false, r.Payload))
		}
		for i, tok := range toks {
			if err := p.wait(ctx, tok); err != nil {
				return fmt.Errorf("result %d: %w", got[i].ID, err)
			}
			if err := p.s.spool.Ack(got[i].ID); err != nil {
				return err
			}
		}
		p.s.met.published.Add(float64(len(got)))
	}
}

// wait waits for one token.
func (p *publisher) wait(ctx context.Context, tok mqtt.Token) error {
	t := time.NewTimer(p.cfg.AckTimeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case err := <-p.lost:
		return err
	case <-t.C:
		return fmt.Errorf("no acknowledgement within %v", p.cfg.AckTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publishTelemetry sends one telemetry message (QoS 0, not spooled) when
// connected.
func (p *publisher) publishTelemetry(b []byte) {
	p.mu.Lock()
	c, ok := p.client, p.connected
	p.mu.Unlock()
	if ok {
		c.Publish(p.topics.telemetry, 0, false, b)
	}
}

func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}

func mustParse(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
