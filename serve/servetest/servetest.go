// Package servetest runs real parts for the tests of package serve and of
// the edgeinfer command: a Mosquitto broker on a free loopback port, which
// can be stopped and started again, and a durable subscriber that records
// every result it receives.
package servetest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// NeedTool fails the test when a program the test needs is missing (CI
// installs them; .ci/run lists the Debian packages).
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (Debian: apt-get install %s; .ci/run installs it): %v", name, pkg, err)
	}
	return p
}

// Broker is a Mosquitto process on 127.0.0.1.
type Broker struct {
	t    testing.TB
	bin  string
	Port int
	dir  string
	conf string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// BrokerOptions configures StartBroker.
type BrokerOptions struct {
	// Users, when set, turns anonymous access off: user name → password.
	Users map[string]string
}

// StartBroker starts Mosquitto with persistence (so queued messages for
// durable subscribers survive a restart) on a free port; it is stopped
// when the test ends.
func StartBroker(t testing.TB, o BrokerOptions) *Broker {
	t.Helper()
	bin := NeedTool(t, "mosquitto", "mosquitto")
	b := &Broker{t: t, bin: bin, Port: FreePort(t), dir: t.TempDir()}
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", b.Port),
		"persistence true",
		"persistence_location " + b.dir + "/",
		"autosave_interval 1",
		"max_queued_messages 0",
		"max_inflight_messages 0",
		"log_type error",
		"log_type warning",
		"log_type notice",
	}
	if u, err := user.Current(); err == nil && os.Getuid() == 0 {
		// Mosquitto started as root switches to the user "mosquitto",
		// who cannot read the test's private folders.
		conf = append(conf, "user "+u.Username)
	}
	if len(o.Users) > 0 {
		NeedTool(t, "mosquitto_passwd", "mosquitto")
		pw := filepath.Join(b.dir, "passwd")
		os.WriteFile(pw, nil, 0o600)
		for u, p := range o.Users {
			if out, err := exec.Command("mosquitto_passwd", "-b", pw, u, p).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd: %v: %s", err, out)
			}
		}
		conf = append(conf, "allow_anonymous false", "password_file "+pw)
	} else {
		conf = append(conf, "allow_anonymous true")
	}
	b.conf = filepath.Join(b.dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	if b.log, err = os.Create(filepath.Join(b.dir, "mosquitto.log")); err != nil {
		t.Fatal(err)
	}
	b.Start()
	t.Cleanup(func() {
		b.Stop()
		b.log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(b.log.Name())
			t.Logf("mosquitto log:\n%s", out)
		}
	})
	return b
}

// URL is tcp://127.0.0.1:PORT.
func (b *Broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.Port) }

// Start starts the broker (again) and waits until it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("starting mosquitto: %v", err)
	}
	b.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) {
		c.Wait()
		close(done)
	}(b.cmd, b.done)
	for i := 0; i < 200; i++ {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port), 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case <-b.done:
			out, _ := os.ReadFile(b.log.Name())
			b.t.Fatalf("mosquitto exited at start:\n%s", out)
		case <-time.After(25 * time.Millisecond):
		}
	}
	b.t.Fatalf("mosquitto does not accept connections on port %d", b.Port)
}

// Stop stops the broker with SIGTERM (it saves its persistence file) and
// waits for it to exit.
func (b *Broker) Stop() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
	b.cmd = nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Message is one received message.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// Subscriber is a durable (clean session off) QoS 1 subscriber that
// reconnects by itself, so it receives what was queued for it while it or
// the broker was away.
type Subscriber struct {
	c      mqtt.Client
	mu     sync.Mutex
	msgs   []Message
	notify chan struct{}
}

// Subscribe connects to the broker at url and subscribes to filter.
func Subscribe(t testing.TB, url, filter string) *Subscriber {
	t.Helper()
	s := &Subscriber{notify: make(chan struct{}, 1)}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("servetest-%d", time.Now().UnixNano()))
	o.SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true)
	o.SetMaxReconnectInterval(200 * time.Millisecond).SetConnectRetryInterval(100 * time.Millisecond)
	o.SetOrderMatters(true)
	o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { s.add(m) })
	o.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { s.add(m) })
	})
	s.c = mqtt.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber cannot connect to %s: %v", url, tok.Error())
	}
	// Wait for the subscription itself.
	if tok := s.c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) { s.add(m) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribing to %s: %v", filter, tok.Error())
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	return s
}

// Publish sends a QoS 1 message with the subscriber's connection.
func (s *Subscriber) Publish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	if tok := s.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publishing to %s: %v", topic, tok.Error())
	}
}

func (s *Subscriber) add(m mqtt.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), Retained: m.Retained()})
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Messages returns what was received so far on topics ending in suffix.
func (s *Subscriber) Messages(suffix string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs {
		if strings.HasSuffix(m.Topic, suffix) {
			out = append(out, m)
		}
	}
	return out
}

// WaitFor waits until cond holds for the messages so far, or fails the
// test after timeout (a hang guard, not a timing claim).
func (s *Subscriber) WaitFor(t testing.TB, timeout time.Duration, what string, cond func(*Subscriber) bool) {
	t.Helper()
	end := time.After(timeout)
	for !cond(s) {
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-end:
			t.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
	}
}

// Result is the part of a published result the tests check.
type Result struct {
	ID     uint64 `json:"id"`
	Seq    uint64 `json:"seq"`
	Device string `json:"device"`
	Time   string `json:"time"`
	Model  struct {
		Name   string `json:"name"`
		SHA256 string `json:"sha256"`
	} `json:"model"`
	Top []struct {
		Index int     `json:"index"`
		Label string  `json:"label"`
		Score float64 `json:"score"`
	} `json:"top"`
	InferenceMS float64 `json:"inference_ms"`
}

// Delivery summarises the results received: their ids in arrival order.
type Delivery struct {
	Arrived    []uint64 // every arrival, duplicates included
	Duplicates int
	MaxID      uint64
	Distinct   int
}

// Results parses every message on .../results, failing the test on one
// that is not a well-formed result.
func (s *Subscriber) Results(t testing.TB) ([]Result, Delivery) {
	t.Helper()
	var rs []Result
	var d Delivery
	seen := map[uint64]bool{}
	for _, m := range s.Messages("/results") {
		var r Result
		if err := json.Unmarshal(m.Payload, &r); err != nil || r.ID == 0 || r.Time == "" || len(r.Top) == 0 {
			t.Fatalf("malformed result (%v): %q", err, m.Payload)
		}
		rs = append(rs, r)
		d.Arrived = append(d.Arrived, r.ID)
		if seen[r.ID] {
			d.Duplicates++
			continue
		}
		seen[r.ID] = true
		d.MaxID = max(d.MaxID, r.ID)
	}
	d.Distinct = len(seen)
	return rs, d
}

// CheckInOrder fails the test unless ids first..last all arrived and each
// id's first arrival came after the first arrival of every smaller id
// (at-least-once, in order: duplicates may repeat a stretch).
func CheckInOrder(t testing.TB, d Delivery, first, last uint64) {
	t.Helper()
	seen := map[uint64]bool{}
	var order []uint64
	for _, id := range d.Arrived {
		if !seen[id] {
			seen[id] = true
			order = append(order, id)
		}
	}
	if !sort.SliceIsSorted(order, func(i, j int) bool { return order[i] < order[j] }) {
		for i := 1; i < len(order); i++ {
			if order[i] < order[i-1] {
				t.Fatalf("result %d first arrived after result %d", order[i], order[i-1])
			}
		}
	}
	var missing []uint64
	for id := first; id <= last; id++ {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of results %d..%d never arrived: %v", len(missing), first, last, head(missing, 20))
	}
}

func head(v []uint64, n int) []uint64 {
	if len(v) > n {
		return v[:n]
	}
	return v
}

// LogBuffer collects log output from several goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  []byte
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}
