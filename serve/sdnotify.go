package serve

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// Notifier speaks systemd's notification protocol (sd_notify): datagrams
// such as "READY=1" or "WATCHDOG=1" sent to the unix socket named by
// $NOTIFY_SOCKET. A nil *Notifier (no socket: not started by systemd)
// ignores every call.
type Notifier struct {
	conn     *net.UnixConn
	watchdog time.Duration // keep-alive interval systemd expects (WatchdogSec)

	mu   sync.Mutex
	last time.Time
}

// NotifierFromEnv returns a Notifier for $NOTIFY_SOCKET, or nil when the
// variable is unset. The watchdog interval comes from $WATCHDOG_USEC when
// $WATCHDOG_PID is unset or names this process.
func NotifierFromEnv() (*Notifier, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil, nil
	}
	if path[0] == '@' { // abstract socket
		path = "\x00" + path[1:]
	} else if path[0] != '/' {
		return nil, fmt.Errorf("NOTIFY_SOCKET %q is neither a path nor an abstract socket", path)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_SOCKET: %w", err)
	}
	n := &Notifier{conn: conn}
	if pid := os.Getenv("WATCHDOG_PID"); pid == "" || pid == strconv.Itoa(os.Getpid()) {
		if us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
			n.watchdog = time.Duration(us) * time.Microsecond
		}
	}
	return n, nil
}

// Notify sends one state string, e.g. "READY=1" or "STATUS=…".
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	if _, err := n.conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %q: %w", state, err)
	}
	return nil
}

// Watchdog returns the keep-alive interval systemd expects (0: none).
func (n *Notifier) Watchdog() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}

// KeepAlive sends "WATCHDOG=1" when a third of the watchdog interval has
// passed since the last one; call it from the loop that must not hang.
func (n *Notifier) KeepAlive() {
	if n == nil || n.watchdog == 0 {
		return
	}
	n.mu.Lock()
	now := time.Now()
	due := now.Sub(n.last) >= n.watchdog/3
	if due {
		n.last = now
	}
	n.mu.Unlock()
	if due {
		n.Notify("WATCHDOG=1")
	}
}

// Close closes the socket.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	return n.conn.Close()
}
