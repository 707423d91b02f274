package boards

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// pi4 is a small thermal model of a bare Raspberry Pi 4 (no heatsink): a
// slow board node and a fast die node above it, both driven by power. Power
// is an idle part plus a part proportional to the work done (fps × threads
// × tokens, relative to the full budget). The constants put an idle board
// at 40 °C and a fully loaded one at 85 °C in 25 °C air, which is where a
// bare Pi 4 ends up under a sustained all-core load.
type pi4 struct {
	ambient float64 // °C
	rBoard  float64 // °C of board rise at full power
	rDie    float64 // °C of die rise above the board at full power
	tauB    float64 // s
	tauD    float64 // s
	idle    float64 // share of full power drawn at zero work

	board, die float64 // state: board temperature, die rise
	sticky     uint32  // firmware "since boot" bits
	extra      uint32  // injected firmware bits (under-voltage tests)
	noise      *rand.Rand
}

func newPi4(ambient float64, seed uint64) *pi4 {
	s := &pi4{ambient: ambient, rBoard: 48, rDie: 12, tauB: 120, tauD: 4, idle: 0.25,
		noise: rand.New(rand.NewPCG(seed, 1))}
	// Start at the idle steady state.
	s.board = ambient + s.rBoard*s.idle
	s.die = s.rDie * s.idle
	return s
}

func (s *pi4) temp() float64 { return s.board + s.die }

// firmware returns the get_throttled word the Pi firmware would report:
// soft limit and frequency cap from 80 °C, throttling from 85 °C.
func (s *pi4) firmware() uint32 {
	var now uint32
	if t := s.temp(); t >= 80 {
		now |= SoftTempLimit | FreqCapped
		if t >= 85 {
			now |= Throttled
		}
	}
	now |= s.extra
	s.sticky |= now << 16
	return now | s.sticky
}

// advance runs the model for dt seconds at relative work w in [0,1].
func (s *pi4) advance(dt, w float64) {
	// The firmware slows the CPU when hot, which cuts the heat too.
	switch fw := s.firmware(); {
	case fw&Throttled != 0:
		w *= 0.5
	case fw&FreqCapped != 0:
		w *= 0.8
	}
	p := s.idle + (1-s.idle)*w
	const sub = 10 // explicit Euler in sub-steps for stability
	h := dt / sub
	for range sub {
		s.board += h * (s.ambient + s.rBoard*p - s.board) / s.tauB
		s.die += h * (s.rDie*p - s.die) / s.tauD
	}
}

// snapshot is what the telemetry reader would see: the die temperature
// with ±0.5 °C of sensor noise, rounded like the Pi's sensor, and the
// firmware word.
func (s *pi4) snapshot(t time.Time, snap *Snapshot) {
	noisy := s.temp() + (s.noise.Float64() - 0.5)
	snap.Time = t
	snap.Temps = append(snap.Temps[:0], Temp{Zone: "cpu-thermal", C: math.Round(noisy*2) / 2})
	snap.Throttle = Throttle{Valid: true, Bits: s.firmware()}
}

// run records one simulated session.
type run struct {
	changes []time.Duration // when the budget changed
	maxC    float64         // hottest true die temperature seen
	maxAt   time.Duration
	last    Decision
	paused  time.Duration // total time spent paused
}

// simulate drives g and the model for d at one snapshot a second, from
// offset start; onTick may change the model before each step.
func simulate(t *testing.T, g *Governor, m *pi4, start, d time.Duration, full Budget, r *run, onTick func(at time.Duration)) {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var snap Snapshot
	fullWork := full.work()
	for at := start; at < start+d; at += time.Second {
		if onTick != nil {
			onTick(at)
		}
		m.snapshot(base.Add(at), &snap)
		dec := g.Step(&snap)
		if dec.Reason == "" || strings.Contains(dec.Reason, "\n") {
			t.Fatalf("at %v: reason %q is not one line", at, dec.Reason)
		}
		if dec.Changed {
			r.changes = append(r.changes, at)
		}
		b := dec.Budget
		if !b.Pause && (b.FPS <= 0 || b.Threads < 1 || b.Tokens <= 0 || b.Tokens > 1) {
			t.Fatalf("at %v: invalid budget %+v", at, b)
		}
		if b.Pause {
			r.paused += time.Second
		}
		r.last = dec
		m.advance(1, b.work()/fullWork)
		if c := m.temp(); c > r.maxC {
			r.maxC, r.maxAt = c, at
		}
	}
}

// maxPerMinute is the most budget changes in any 60 s window.
func maxPerMinute(changes []time.Duration) int {
	most := 0
	for i := range changes {
		n := 0
		for j := i; j < len(changes) && changes[j]-changes[i] < time.Minute; j++ {
			n++
		}
		most = max(most, n)
	}
	return most
}

func pi4Governor(t *testing.T) (*Governor, Budget) {
	t.Helper()
	p, err := Lookup("rpi-4b")
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConfigFor(p, 4)
	g, err := NewGovernor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g, cfg.Full
}

// The limits documented on Governor, checked on the simulated Pi 4: at
// most maxChangesPerMinute changes in any minute, at most settledPerMinute
// on average once settled, and the full budget back within recoverWithin
// of the board being able to carry it.
const (
	maxChangesPerMinute = 6 // = 1 min / DownDwell (10 s); the dwell enforces it
	settledPerMinute    = 1.0
	recoverWithin       = 6 * time.Minute
)

func TestGovernorHoldsPi4UnderTargetAndRecovers(t *testing.T) {
	g, full := pi4Governor(t)
	m := newPi4(25, 1)
	var hot run
	// 20 minutes of full demand in 25 °C air: unmanaged, the die would
	// settle near 85 °C and the firmware would throttle.
	simulate(t, g, m, 0, 20*time.Minute, full, &hot, nil)
	if hot.maxC >= 75 {
		t.Errorf("die reached %.2f °C at %v; target is 75 °C", hot.maxC, hot.maxAt)
	}
	if n := maxPerMinute(hot.changes); n > maxChangesPerMinute {
		t.Errorf("%d budget changes within one simulated minute, limit %d", n, maxChangesPerMinute)
	}
	// Once settled (after the first 5 minutes) it must not hunt.
	late := 0
	for _, c := range hot.changes {
		if c >= 5*time.Minute {
			late++
		}
	}
	if rate := float64(late) / 15; rate > settledPerMinute {
		t.Errorf("%d changes in the settled 15 minutes (%.2f/min), want <= %.1f/min", late, rate, settledPerMinute)
	}
	if hot.last.Step == 0 {
		t.Errorf("still at the full budget after 20 hot minutes; the model says it cannot hold")
	}
	if m.sticky&(SoftTempSeen|ThrottledSeen) != 0 {
		t.Errorf("firmware limits were hit (sticky bits %#x)", m.sticky)
	}
	t.Logf("hot phase: max %.2f °C at %v (target 75), %d changes, max %d in a minute, %d after settling, settled at step %d: %s",
		hot.maxC, hot.maxAt, len(hot.changes), maxPerMinute(hot.changes), late, hot.last.Step, hot.last.Budget)

	// A fan comes on and the room cools to 20 °C: the full budget now
	// settles near 20 + 30 + 12 = 62 °C, below the 67 °C give-back line, so
	// all of it must come back and stay.
	m.ambient, m.rBoard = 20, 30
	var cool run
	fullAt := time.Duration(-1)
	simulate(t, g, m, 20*time.Minute, 15*time.Minute, full, &cool, func(at time.Duration) {
		if fullAt < 0 && g.step == 0 {
			fullAt = at - 20*time.Minute
		}
	})
	if cool.last.Step != 0 || cool.last.Budget != full {
		t.Fatalf("after 15 cool minutes budget is %s (step %d), want the full %s", cool.last.Budget, cool.last.Step, full)
	}
	if fullAt < 0 || fullAt > recoverWithin {
		t.Errorf("full budget came back after %v, want within %v", fullAt, recoverWithin)
	}
	if n := maxPerMinute(cool.changes); n > maxChangesPerMinute {
		t.Errorf("%d changes within one minute while cooling", n)
	}
	for _, c := range cool.changes {
		if c > 20*time.Minute+fullAt {
			t.Errorf("budget changed at %v after the full budget was back", c)
		}
	}
	t.Logf("cooling: full budget back after %v with %d changes (max %d in a minute); max %.2f °C",
		fullAt, len(cool.changes), maxPerMinute(cool.changes), cool.maxC)
}

func TestGovernorHotEnclosureStaysUnderTarget(t *testing.T) {
	// 40 °C air: even the floor of the ladder is needed at times; the die
	// must still stay below target and the governor must not pause.
	g, full := pi4Governor(t)
	m := newPi4(40, 2)
	var r run
	simulate(t, g, m, 0, 30*time.Minute, full, &r, nil)
	if r.maxC >= 75 {
		t.Errorf("die reached %.2f °C at %v in 40 °C air; target 75 °C", r.maxC, r.maxAt)
	}
	if r.paused > 0 {
		t.Errorf("paused for %v; the floor budget should suffice", r.paused)
	}
	if n := maxPerMinute(r.changes); n > maxChangesPerMinute {
		t.Errorf("%d changes within a minute", n)
	}
	t.Logf("40 °C air: max %.2f °C, %d changes, settled at step %d: %s", r.maxC, len(r.changes), r.last.Step, r.last.Budget)
	if r.last.Step < 4 {
		t.Fatalf("settled at step %d; the scenario needs a deep cut to test recovery", r.last.Step)
	}

	// The enclosure opens and a fan starts (25 °C air, board rise 30 °C at
	// full power): every step must come back, one calm dwell at a time.
	m.ambient, m.rBoard = 25, 30
	var cool run
	fullAt := time.Duration(-1)
	simulate(t, g, m, 30*time.Minute, 15*time.Minute, full, &cool, func(at time.Duration) {
		if fullAt < 0 && g.step == 0 {
			fullAt = at - 30*time.Minute
		}
	})
	if fullAt < 0 || fullAt > recoverWithin || cool.last.Budget != full {
		t.Errorf("full budget back after %v (final %s), want within %v and kept", fullAt, cool.last.Budget, recoverWithin)
	}
	if n := maxPerMinute(cool.changes); n > maxChangesPerMinute {
		t.Errorf("%d changes within a minute while recovering", n)
	}
	if cool.maxC >= 75 {
		t.Errorf("overshot to %.2f °C while giving work back", cool.maxC)
	}
	t.Logf("recovery from step %d: full budget after %v, %d changes (max %d in a minute), max %.2f °C",
		r.last.Step, fullAt, len(cool.changes), maxPerMinute(cool.changes), cool.maxC)
}

func TestGovernorUnderVoltagePausesAndResumes(t *testing.T) {
	g, full := pi4Governor(t)
	m := newPi4(25, 3)
	var r run
	var pausedAt, resumedAt time.Duration = -1, -1
	simulate(t, g, m, 0, 3*time.Minute, full, &r, func(at time.Duration) {
		// The supply sags for 20 s at one minute.
		if at == time.Minute {
			m.extra = UnderVoltage
		}
		if at == time.Minute+20*time.Second {
			m.extra = 0
		}
		b := g.Budget()
		if pausedAt < 0 && b.Pause {
			pausedAt = at
		}
		if pausedAt >= 0 && resumedAt < 0 && !b.Pause {
			resumedAt = at
		}
	})
	if pausedAt != time.Minute+time.Second {
		t.Errorf("paused at %v, want right after the under-voltage at 1m0s", pausedAt)
	}
	if resumedAt < 0 || resumedAt > time.Minute+22*time.Second {
		t.Errorf("resumed at %v, want right after the supply recovered at 1m20s", resumedAt)
	}
	if r.last.Budget.Pause {
		t.Errorf("still paused at the end: %s", r.last.Reason)
	}
	if m.sticky&UnderVoltageSeen == 0 {
		t.Fatal("simulator did not record the sticky bit")
	}
}

func TestGovernorReactsToFirmwareCapWhenCool(t *testing.T) {
	// A frequency cap with a cool die (a hot PMIC, a bad supply) must
	// still shed work: the CPU is slower than the budget assumes.
	g, full := pi4Governor(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := Snapshot{Time: base, Temps: []Temp{{Zone: "cpu-thermal", C: 45}}, Throttle: Throttle{Valid: true, Bits: FreqCapped | FreqCappedSeen}}
	d := g.Step(&snap)
	if !d.Changed || d.Step != 1 || !strings.Contains(d.Reason, "firmware") {
		t.Fatalf("got %+v, want a one-step shed citing the firmware", d)
	}
	if d.Budget.FPS >= full.FPS {
		t.Errorf("fps %g not reduced from %g", d.Budget.FPS, full.FPS)
	}
	// Sticky bits alone (a cap that happened earlier) are not pressure.
	snap.Throttle.Bits = FreqCappedSeen
	for i := 1; i <= 40; i++ {
		snap.Time = base.Add(time.Duration(i) * time.Second)
		d = g.Step(&snap)
	}
	if d.Step != 0 {
		t.Errorf("after 40 calm seconds with only sticky bits, step %d (%s), want 0", d.Step, d.Reason)
	}
}

func TestGovernorCriticalPauses(t *testing.T) {
	g, _ := pi4Governor(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := Snapshot{Time: base, Temps: []Temp{{Zone: "cpu-thermal", C: 86}}}
	d := g.Step(&snap)
	if !d.Budget.Pause || d.Level != Critical || !strings.Contains(d.Reason, "critical") {
		t.Fatalf("at 86 °C got %+v, want a critical pause", d)
	}
	// Still paused while warm, even below critical.
	snap.Time, snap.Temps[0].C = base.Add(time.Second), 70
	if d = g.Step(&snap); !d.Budget.Pause {
		t.Fatalf("at 70 °C resumed too early: %s", d.Reason)
	}
	snap.Time, snap.Temps[0].C = base.Add(2*time.Second), 60
	if d = g.Step(&snap); d.Budget.Pause || d.Step != 1 {
		t.Fatalf("at 60 °C got %+v, want resumed one step down", d)
	}
}

func TestGovernorPowerBudget(t *testing.T) {
	p, err := Lookup("jetson-orin-nano")
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGovernor(ConfigFor(p, 6))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Power follows work: 5 W idle plus 15 W at the full budget, against a
	// 15 W budget; the temperature stays low so only power can bind.
	full := g.Budget().work()
	var snap Snapshot
	var d Decision
	maxMW := 0.0
	for i := range 600 {
		mw := 5000 + 15000*g.Budget().work()/full
		if i > 120 {
			maxMW = max(maxMW, mw)
		}
		snap = Snapshot{Time: base.Add(time.Duration(i) * time.Second),
			Temps: []Temp{{Zone: "tj-thermal", C: 50}},
			Rails: []Rail{{Name: "VDD_IN", MilliWatts: mw}, {Name: "VDD_SOC", MilliWatts: 900}}}
		d = g.Step(&snap)
	}
	if maxMW > 15000 {
		t.Errorf("input power reached %.0f mW after settling, budget 15000", maxMW)
	}
	if d.Step == 0 {
		t.Errorf("still at full budget (20 W) against a 15 W budget")
	}
	t.Logf("settled at step %d (%s), max %.0f mW: %s", d.Step, d.Budget, maxMW, d.Reason)
}

func TestGovernorNoReadingsHolds(t *testing.T) {
	g, full := pi4Governor(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		d := g.Step(&Snapshot{Time: base.Add(time.Duration(i) * time.Second)})
		if d.Changed || d.Budget != full || !strings.Contains(d.Reason, "no temperature") {
			t.Fatalf("step %d: %+v, want the full budget held with a reason", i, d)
		}
	}
}

func TestGovernorLadder(t *testing.T) {
	g, full := pi4Governor(t)
	l := g.Ladder()
	if l[0] != full {
		t.Fatalf("ladder starts at %v, want %v", l[0], full)
	}
	floor := l[len(l)-1]
	if floor.Threads != 1 || floor.Tokens != 0.25 || floor.FPS != full.FPS/8 {
		t.Errorf("floor is %v, want 1 thread, 0.25 tokens, %g fps", floor, full.FPS/8)
	}
	for i := 1; i < len(l); i++ {
		a, b := l[i-1], l[i]
		if !(b.work() < a.work()) || b.FPS > a.FPS || b.Threads > a.Threads || b.Tokens > a.Tokens {
			t.Errorf("step %d %v does not shed from step %d %v", i, b, i-1, a)
		}
		if r := b.work() / a.work(); r < 0.5 {
			t.Errorf("step %d sheds %.0f%% at once", i, 100*(1-r))
		}
	}
	// The order that costs accuracy last: the frame rate halves before any
	// token is dropped, and tokens halve before any thread is dropped.
	for _, b := range l {
		if b.Tokens < 1 && b.FPS > full.FPS/2 {
			t.Errorf("%v drops tokens before halving the frame rate", b)
		}
		if b.Threads < full.Threads && b.Tokens > 0.5 {
			t.Errorf("%v drops threads before halving tokens", b)
		}
	}
}

func TestNewGovernorRejectsBadConfig(t *testing.T) {
	ok := GovernorConfig{Full: Budget{FPS: 10, Threads: 2, Tokens: 1}, TargetC: 70, CritC: 85}
	for _, tc := range []struct {
		name string
		edit func(*GovernorConfig)
		want string
	}{
		{"zero fps", func(c *GovernorConfig) { c.Full.FPS = 0 }, "fps"},
		{"NaN fps", func(c *GovernorConfig) { c.Full.FPS = math.NaN() }, "fps"},
		{"no threads", func(c *GovernorConfig) { c.Full.Threads = 0 }, "threads"},
		{"tokens over 1", func(c *GovernorConfig) { c.Full.Tokens = 1.5 }, "tokens"},
		{"target above critical", func(c *GovernorConfig) { c.TargetC = 90 }, "critical"},
		{"negative power", func(c *GovernorConfig) { c.BudgetMW = -1 }, "power"},
		{"min fps above full", func(c *GovernorConfig) { c.MinFPS = 20 }, "min fps"},
		{"up dwell above max", func(c *GovernorConfig) { c.UpDwell = time.Hour }, "up dwell"},
	} {
		cfg := ok
		tc.edit(&cfg)
		_, err := NewGovernor(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewGovernor(ok); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

func TestGovernorBorderlineDoesNotHunt(t *testing.T) {
	// 15 °C air: the full budget settles right at the 75 °C target and one
	// step less settles just under the give-back line, the case most prone
	// to a limit cycle. The growing give-back dwell must keep it slow.
	g, full := pi4Governor(t)
	m := newPi4(15, 4)
	var r run
	simulate(t, g, m, 0, 60*time.Minute, full, &r, nil)
	late := 0
	for _, c := range r.changes {
		if c >= 10*time.Minute {
			late++
		}
	}
	rate := float64(late) / 50
	if r.maxC >= 75 || maxPerMinute(r.changes) > maxChangesPerMinute || rate > settledPerMinute {
		t.Errorf("max %.2f °C, %d changes in a minute, %.2f changes/min after 10 min", r.maxC, maxPerMinute(r.changes), rate)
	}
	t.Logf("15 °C air: max %.2f °C, %d changes (max %d in a minute), %.2f/min over the last 50 min",
		r.maxC, len(r.changes), maxPerMinute(r.changes), rate)
}

func TestGovernorUnderVoltageResumesWhenWarm(t *testing.T) {
	// Paused for the supply, not the heat: a 70 °C board resumes as soon
	// as the voltage is back, since 70 °C is under the target; a critical
	// pause would wait for 67 °C.
	g, _ := pi4Governor(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := Snapshot{Time: base, Temps: []Temp{{Zone: "cpu-thermal", C: 70}}, Throttle: Throttle{Valid: true, Bits: UnderVoltage}}
	if d := g.Step(&snap); !d.Budget.Pause || !strings.Contains(d.Reason, "under-voltage: pause") {
		t.Fatalf("got %+v", d)
	}
	snap.Time, snap.Throttle.Bits = base.Add(time.Second), UnderVoltageSeen
	if d := g.Step(&snap); d.Budget.Pause || !strings.Contains(d.Reason, "resume after under-voltage") {
		t.Fatalf("got %+v, want resumed", d)
	}
	// Under-voltage, then critical heat while paused: now it must cool
	// to the hysteresis line.
	snap = Snapshot{Time: base.Add(2 * time.Second), Temps: []Temp{{Zone: "cpu-thermal", C: 86}}, Throttle: Throttle{Valid: true, Bits: UnderVoltage}}
	g.Step(&snap)
	snap.Time, snap.Temps[0].C, snap.Throttle.Bits = base.Add(3*time.Second), 70, 0
	if d := g.Step(&snap); !d.Budget.Pause || !strings.Contains(d.Reason, "resume below 67.0°C") {
		t.Fatalf("got %+v, want still paused until 67 °C", d)
	}
}
