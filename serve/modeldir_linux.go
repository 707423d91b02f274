package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchModelDir applies NAME.eim + NAME.eim.minisig pairs renamed (or
// written) into dir until ctx is done, and once the first frame is there
// the newest pair already in dir, if it came after the model in force
// (see modelDirAtStart). It wakes only on those events (inotify), never
// on a timer.
func (s *Service) watchModelDir(ctx context.Context, dir string) error {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return fmt.Errorf("--model-dir: inotify: %w", err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO); err != nil {
		f.Close()
		return fmt.Errorf("--model-dir %s: %w", dir, err)
	}
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	buf := make([]byte, 16<<10)
	tried := map[string]string{} // NAME.eim → SHA-256 of the last pair tried
	// Events that come meanwhile wait in the inotify queue. (Without a
	// trusted key no update can pass: the scan only reports that.)
	if s.cfg.Trust != nil {
		select {
		case <-s.picked:
		case <-ctx.Done():
			return nil
		}
	}
	s.modelDirAtStart(dir, tried)
	for {
		n, err := f.Read(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("--model-dir: %w", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if i := strings.IndexByte(string(name), 0); i >= 0 {
				name = name[:i]
			}
			s.modelDirEvent(dir, string(name), tried)
		}
	}
}

// modelDirAtStart applies the newest complete pair already in dir (by
// the later of its two files' modification times) when it was written
// after the model in force was accepted (the state folder's record): a
// model put there while the service was down is not lost, and a pair
// that an MQTT or HTTP update has since replaced does not come back.
// Without a state folder, or before any update was accepted, the newest
// pair applies.
func (s *Service) modelDirAtStart(dir string, tried map[string]string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		s.log.Printf("--model-dir: %v", err)
		return
	}
	var since time.Time
	if s.cfg.StateDir != "" {
		if fi, err := os.Stat(filepath.Join(s.cfg.StateDir, acceptedDir, "current")); err == nil {
			since = fi.ModTime()
		}
	}
	newest, newestAt, older := "", since, 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".eim") {
			continue
		}
		m, err1 := os.Stat(filepath.Join(dir, name))
		g, err2 := os.Stat(filepath.Join(dir, name+SignatureSuffix))
		if err1 != nil || err2 != nil || !m.Mode().IsRegular() || !g.Mode().IsRegular() {
			continue
		}
		switch at := later(m.ModTime(), g.ModTime()); {
		case at.After(newestAt):
			newest, newestAt = name, at
		case !at.After(since):
			older++
		}
	}
	if older > 0 {
		s.log.Printf("--model-dir: %d pair(s) there from before the model in force was accepted; left alone", older)
	}
	if newest != "" {
		s.modelDirEvent(dir, newest, tried)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// modelDirEvent checks whether a complete pair is there and applies it
// (once per content: the events of both files may find the pair whole).
func (s *Service) modelDirEvent(dir, name string, tried map[string]string) {
	base := strings.TrimSuffix(name, SignatureSuffix)
	if !strings.HasSuffix(base, ".eim") || strings.ContainsRune(base, os.PathSeparator) {
		return
	}
	path := filepath.Join(dir, base)
	sig, err := readLimited(path+SignatureSuffix, maxSignatureBytes)
	if errors.Is(err, os.ErrNotExist) {
		s.log.Printf("--model-dir: %s has no signature %s yet; waiting for it", base, base+SignatureSuffix)
		return
	}
	data, err2 := readLimited(path, s.cfg.MaxModelBytes)
	if errors.Is(err2, os.ErrNotExist) {
		return // the signature came first
	}
	if err := errors.Join(err, err2); err != nil {
		s.rejected("model-dir "+base, ModelInfo{Name: "?"}, err)
		return
	}
	key := SHA256Hex(data) + SHA256Hex(sig)
	if tried[base] == key || SHA256Hex(data) == s.currentInfo().SHA256 {
		return
	}
	tried[base] = key
	s.Update(data, sig, "model-dir "+base)
}
