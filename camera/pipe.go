package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Pipe is a Source reading raw frames of a fixed format back to back from
// the standard output of a child process, such as
// "rpicam-vid -t 0 --codec yuv420 --width 640 --height 480 -o -" (I420) on a
// Raspberry Pi with libcamera, or a GStreamer pipeline ending in fdsink on a
// Jetson. Frames are numbered from 0 and stamped with the monotonic time at
// which their last byte arrived.
type Pipe struct {
	fm     Format
	cmd    *exec.Cmd
	out    *os.File
	stderr *tailBuffer
	buf    []byte // one frame being assembled
	have   int    // bytes of buf filled
	seq    uint64
	start  time.Time
	closed bool
	done   chan struct{}
	werr   error
}

// StartPipe starts argv and reads frames of format fm from its stdout.
func StartPipe(argv []string, fm Format) (*Pipe, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("pipe: empty command: %w", ErrBadURI)
	}
	fm = fm.WithDefaults()
	if err := fm.Validate(); err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	if fm.Pixel.Compressed() {
		return nil, fmt.Errorf("pipe: %v frames have no fixed size; use a raw format: %w", fm.Pixel, ErrUnsupportedFormat)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = pw
	tb := &tailBuffer{}
	cmd.Stderr = tb
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("pipe: starting %s: %w", argv[0], err)
	}
	pw.Close()
	p := &Pipe{fm: fm, cmd: cmd, out: pr, stderr: tb, buf: make([]byte, fm.FrameSize()), start: time.Now(), done: make(chan struct{})}
	go func() {
		p.werr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func openPipeURI(rest string) (Source, error) {
	cmdline, p, err := splitQuery(rest)
	if err != nil {
		return nil, err
	}
	if !p.has("w") || !p.has("h") || !p.has("fmt") {
		return nil, fmt.Errorf("pipe: the frame format must be given as ?w=W&h=H&fmt=FMT after the command: %w", ErrBadURI)
	}
	fm := p.rawFormat(0, 0, 0)
	switch fm.Pixel {
	case I420:
		fm.Stride[1] = p.int("cstride", 0, 0, 8*maxDim)
		fm.Stride[2] = fm.Stride[1]
	case NV12, NV21:
		fm.Stride[1] = p.int("cstride", 0, 0, 8*maxDim)
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	return StartPipe(strings.Fields(cmdline), fm.WithDefaults())
}

// Format implements Source.
func (p *Pipe) Format() Format { return p.fm }

// Next implements Source. A frame cut short by the context is kept and
// completed by the next call.
func (p *Pipe) Next(ctx context.Context, f *Frame) error {
	if p.closed {
		return fmt.Errorf("pipe: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pipe: waiting for frame: %w", err)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	if err := p.out.SetReadDeadline(dl); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { p.out.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	for p.have < len(p.buf) {
		n, err := p.out.Read(p.buf[p.have:])
		p.have += n
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			cerr := ctx.Err()
			if cerr == nil {
				cerr = context.DeadlineExceeded
			}
			return fmt.Errorf("pipe: waiting for frame %d (%d of %d bytes): %w", p.seq, p.have, len(p.buf), cerr)
		}
		if err == io.EOF {
			<-p.done
			msg := p.exitMessage()
			if p.have > 0 {
				return fmt.Errorf("pipe: %s: frame %d has %d of %d bytes%s: %w", p.cmd.Path, p.seq, p.have, len(p.buf), msg, ErrShortFrame)
			}
			return fmt.Errorf("pipe: %s exited after %d frames%s: %w", p.cmd.Path, p.seq, msg, ErrEndOfStream)
		}
		return fmt.Errorf("pipe: reading %s: %w", p.cmd.Path, err)
	}
	f.setupFormat(p.fm)
	copy(f.buf, p.buf)
	f.Seq = p.seq
	f.Timestamp = time.Since(p.start)
	p.seq++
	p.have = 0
	return nil
}

func (p *Pipe) exitMessage() string {
	var sb strings.Builder
	if p.werr != nil {
		fmt.Fprintf(&sb, " (%v)", p.werr)
	}
	if t := strings.TrimSpace(p.stderr.String()); t != "" {
		fmt.Fprintf(&sb, ", stderr: %q", t)
	}
	return sb.String()
}

// Close implements Source: it kills the child process and waits for it.
func (p *Pipe) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
	return p.out.Close()
}

// tailBuffer keeps the last 2 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = append(t.b[:0], t.b[len(t.b)-2048:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
