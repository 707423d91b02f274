package serve

import (
	"context"
	"encoding/json"
	"time"

	"github.com/edgeinfer/edgeinfer/boards"
)

// telemetryJSON is the message on PREFIX/DEVICE/telemetry, and the
// telemetry part of /api/status.
type telemetryJSON struct {
	Device   string           `json:"device"`
	Time     string           `json:"time"`
	Frames   uint64           `json:"frames"`
	FPS      float64          `json:"fps"`
	Temps    []boards.Temp    `json:"temps,omitempty"`
	MaxTempC *float64         `json:"max_temp_c,omitempty"`
	Throttle *boards.Throttle `json:"throttle,omitempty"`
	PowerMW  *float64         `json:"power_mw,omitempty"`
	Rails    []boards.Rail    `json:"rails,omitempty"`
	Budget   *boards.Budget   `json:"budget,omitempty"`
	Spool    *SpoolStats      `json:"spool,omitempty"`
	Broker   *bool            `json:"broker_connected,omitempty"`
}

// telemetryLoop reads the board every TelemetryEvery and publishes it.
func (s *Service) telemetryLoop(ctx context.Context) {
	var snap boards.Snapshot
	t := time.NewTicker(s.cfg.TelemetryEvery)
	defer t.Stop()
	for {
		s.telemetry(&snap)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// telemetry takes one reading and publishes it.
func (s *Service) telemetry(snap *boards.Snapshot) {
	tj := telemetryJSON{Device: s.cfg.Device, Time: time.Now().UTC().Format(time.RFC3339)}
	if tm := s.cfg.Telemetry; tm != nil {
		// A broken sensor leaves the rest of the reading usable.
		_ = tm.Reader.Read(snap)
		tj.Temps = append([]boards.Temp(nil), snap.Temps...)
		if c, _, ok := snap.MaxTempC(tm.Zones); ok {
			tj.MaxTempC = &c
		}
		if snap.Throttle.Valid {
			th := snap.Throttle
			tj.Throttle = &th
		}
		if mw, ok := snap.PowerMW(tm.Rail); ok {
			tj.PowerMW = &mw
			tj.Rails = append([]boards.Rail(nil), snap.Rails...)
		}
	}
	if s.spool != nil {
		st := s.spool.Stats()
		tj.Spool = &st
		c := s.mqtt.Connected()
		tj.Broker = &c
	}
	s.mu.Lock()
	tj.Frames, tj.FPS = s.frames, s.fps
	if b := s.latestBudget(); b != nil {
		tj.Budget = b
	}
	if tj.MaxTempC != nil {
		s.temp, s.tempOK = *tj.MaxTempC, true
	}
	if tj.PowerMW != nil {
		s.powerMW = *tj.PowerMW
	}
	s.tele = tj
	s.mu.Unlock()
	s.met.telemetry(&tj)
	if s.mqtt != nil {
		b, err := json.Marshal(tj)
		if err == nil {
			s.mqtt.publishTelemetry(b)
		}
	}
}

// latestBudget returns the governor's budget of the newest result (s.mu
// held).
func (s *Service) latestBudget() *boards.Budget {
	if s.budget.FPS == 0 && s.budget.Threads == 0 {
		return nil
	}
	b := s.budget
	return &b
}
