package serve

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watchModelDir applies NAME.eim + NAME.eim.minisig pairs renamed (or
// written) into dir until ctx is done. It wakes only on those events
// (inotify), never on a timer.
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
