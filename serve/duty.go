package serve

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/edgeinfer/edgeinfer/boards"
	"github.com/edgeinfer/edgeinfer/live"
)

// runDuty takes one sample every Config.Every: open the camera, let it
// settle (l.Settle frames), infer once, publish, close the camera, publish
// telemetry, sleep. Nothing of the service's wakes in between: the spool's
// fsync is one timer after a write, telemetry goes with the sample.
func (s *Service) runDuty(ctx context.Context, l *live.Loop, n int) error {
	next := time.Now()
	var snap boards.Snapshot
	for i := 0; n <= 0 || i < n; i++ {
		syscall.Getrusage(syscall.RUSAGE_SELF, &s.sampleStart)
		src := l.Source
		var err error
		if src == nil {
			src, err = s.cfg.OpenCamera()
		}
		if err != nil {
			s.log.Printf("sample %d: opening the camera: %v", i+1, err)
		} else {
			l.Source = src
			err = l.Run(ctx, 1, s.emit, s.warn)
			src.Close()
			l.Source = nil
			if err != nil && !errors.Is(err, live.ErrFatal) {
				return err
			}
			if err != nil {
				s.log.Printf("sample %d: %v", i+1, err)
			}
		}
		if s.cfg.Telemetry != nil || s.mqtt != nil {
			s.telemetry(&snap)
		}
		next = next.Add(s.cfg.Every)
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		} else {
			next = time.Now() // a late sample does not make the next ones early
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// sampleCPU is the process's CPU time since the sample began, in ms.
func (s *Service) sampleCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := func(r *syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return float64(cpu(&ru)-cpu(&s.sampleStart)) / 1e6
}
