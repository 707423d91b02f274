package serve

import (
	"context"
	"log"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeinfer/edgeinfer/serve/servetest"
)

// The service tells systemd READY, keeps its watchdog fed from the frame
// loop, and says STOPPING — over a real unix datagram socket.
func TestNotifier(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "300000") // 0.3 s: a keep-alive every 0.1 s
	t.Setenv("WATCHDOG_PID", "")
	n, err := NotifierFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Watchdog() != 300*time.Millisecond {
		t.Errorf("watchdog %v", n.Watchdog())
	}
	got := make(chan string, 1000)
	go func() {
		buf := make([]byte, 512)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:k])
		}
	}()
	var logs servetest.LogBuffer
	svc, err := New(Config{Device: "d", Notifier: n, Log: log.New(&logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	l := testLoop(t, "synthetic:box?w=64&h=48&fmt=YUYV&fps=50")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, l, 0) }()
	var msgs []string
	for len(msgs) < 4 {
		select {
		case m := <-got:
			msgs = append(msgs, m)
		case <-time.After(30 * time.Second):
			t.Fatalf("messages so far %v", msgs)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, <-got)
	if msgs[0] != "READY=1" || msgs[len(msgs)-1] != "STOPPING=1" {
		t.Errorf("messages %v, want READY=1 first and STOPPING=1 last", msgs)
	}
	if strings.Count(strings.Join(msgs, " "), "WATCHDOG=1") < 3 {
		t.Errorf("messages %v, want keep-alives", msgs)
	}

	// Not started by systemd: no notifier, every call a no-op.
	t.Setenv("NOTIFY_SOCKET", "")
	if n, err := NotifierFromEnv(); n != nil || err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v, %v", n, err)
	}
	var none *Notifier
	none.KeepAlive()
	none.Notify("READY=1")
	// A watchdog for another process is not ours.
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_PID", strconv.Itoa(1))
	if n2, err := NotifierFromEnv(); err != nil || n2.Watchdog() != 0 {
		t.Errorf("WATCHDOG_PID of another process: watchdog %v, %v", n2.Watchdog(), err)
	} else {
		n2.Close()
	}
	t.Setenv("NOTIFY_SOCKET", "relative/path")
	if _, err := NotifierFromEnv(); err == nil {
		t.Error("a relative NOTIFY_SOCKET accepted")
	}
}
