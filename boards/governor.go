package boards

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Budget is how much work the runtime may do: frames per second, worker
// threads, and the kept ratio of vision tokens (1 keeps all). Pause asks
// the caller to stop work altogether (stream off, save state).
type Budget struct {
	FPS     float64 `json:"fps"`
	Threads int     `json:"threads"`
	Tokens  float64 `json:"tokens"`
	Pause   bool    `json:"pause"`
}

// work is the budget's relative heat: frames × threads × tokens.
func (b Budget) work() float64 {
	if b.Pause {
		return 0
	}
	return b.FPS * float64(b.Threads) * b.Tokens
}

func (b Budget) String() string {
	if b.Pause {
		return "paused"
	}
	return fmt.Sprintf("%.3g fps × %d threads × %.3g tokens", b.FPS, b.Threads, b.Tokens)
}

// GovernorConfig sets what the Governor protects and how fast it moves.
// Zero durations and margins take the defaults documented per field.
type GovernorConfig struct {
	Full      Budget  // the budget with no pressure
	MinFPS    float64 // floor of the frame rate; default Full.FPS/8
	MinTokens float64 // floor of the kept-token ratio; default 0.25

	Zones   []string // thermal zones to watch, as in ThermalSpec
	TargetC float64  // hold the hottest zone below this
	CritC   float64  // pause at or above this
	// GuardC: while rising, start shedding this far below TargetC;
	// default 3.
	GuardC float64
	// HysteresisC: give work back only below TargetC - HysteresisC;
	// default 8.
	HysteresisC float64
	// Horizon is how far ahead the temperature trend is projected;
	// default 20 s.
	Horizon time.Duration

	TotalRail string  // the rail that is the board's input power
	BudgetMW  float64 // hold input power below this; 0 disables

	// DownDwell is the least time between two budget changes, so a
	// minute holds at most a minute/DownDwell changes; default 10 s.
	DownDwell time.Duration
	// UpDwell is how long it must stay calm before a level is given
	// back; default 30 s. It doubles, up to MaxUpDwell (default 4 min),
	// each time a level given back has to be taken again within
	// 3×MaxUpDwell, which damps limit cycles.
	UpDwell    time.Duration
	MaxUpDwell time.Duration
}

// ConfigFor returns the governor configuration of a profile; cores is the
// number of CPUs found at run time, used when the profile says 0 threads.
func ConfigFor(p Profile, cores int) GovernorConfig {
	threads := p.Defaults.Threads
	if threads == 0 {
		threads = max(cores, 1)
	}
	return GovernorConfig{
		Full:      Budget{FPS: p.Defaults.FPS, Threads: threads, Tokens: 1},
		Zones:     p.Thermal.Zones,
		TargetC:   p.Thermal.TargetC,
		CritC:     p.Thermal.CritC,
		TotalRail: p.Power.TotalRail,
		BudgetMW:  p.Power.BudgetMW,
	}
}

// Levels of pressure, for reporting.
const (
	Nominal  = "nominal"  // full budget
	Warm     = "warm"     // some budget shed
	Critical = "critical" // paused
)

// Decision is the Governor's answer to one snapshot.
type Decision struct {
	Budget  Budget `json:"budget"`
	Step    int    `json:"step"` // 0 is the full budget
	Level   string `json:"level"`
	Changed bool   `json:"changed"`
	Reason  string `json:"reason"` // one line: what was seen and what was done
}

// Governor turns a sequence of telemetry snapshots into budgets that hold
// the board under its thermal and power targets. It sheds work one step of
// a fixed ladder at a time (frame rate first, then tokens, then threads,
// the order that costs accuracy last), projects the temperature trend so it
// acts before the target rather than after, and gives work back only after
// a calm period below a hysteresis band. It is not safe for concurrent use.
//
// Limits, with the defaults, checked by governor_test.go against a two-node
// thermal model of a bare Raspberry Pi 4 (idle 40 °C, full load 85 °C in
// 25 °C air) sampled once a second with ±0.5 °C sensor noise:
//   - at most 6 budget changes in any minute (1 min / DownDwell);
//   - once settled, at most 1 change a minute on average (measured: 0 in
//     25 °C air, 0.48/min in 15 °C air where the full budget sits right
//     at the target);
//   - the die stays below the 75 °C target (measured max 70.0 °C in 25 °C
//     air, 71.2 °C in 40 °C air) and the firmware never throttles;
//   - the full budget is back within 6 minutes of the board being able to
//     carry it (measured: 45 s from one step down, 2 m 45 s from six).
type Governor struct {
	cfg    GovernorConfig
	ladder []Budget

	step       int
	paused     bool
	pauseWhy   string
	resumeC    float64 // resume only below this temperature
	lastChange time.Time
	started    bool

	// Temperature history for the trend: a fixed ring, no allocation per
	// step.
	hist  [32]sample
	nhist int
	head  int

	// Per-step dwell before giving the step back, and when it was last
	// given back (to detect a give-back that had to be undone).
	upDwell  []time.Duration
	gaveBack []time.Time
}

type sample struct {
	t time.Time
	c float64
}

// NewGovernor checks cfg, fills its defaults and builds the budget ladder.
func NewGovernor(cfg GovernorConfig) (*Governor, error) {
	f := cfg.Full
	switch {
	case !(f.FPS > 0) || math.IsInf(f.FPS, 0):
		return nil, fmt.Errorf("governor: full budget fps %g must be positive", f.FPS)
	case f.Threads < 1:
		return nil, fmt.Errorf("governor: full budget threads %d must be at least 1", f.Threads)
	case !(f.Tokens > 0 && f.Tokens <= 1):
		return nil, fmt.Errorf("governor: full budget tokens %g must be in (0,1]", f.Tokens)
	case f.Pause:
		return nil, errors.New("governor: the full budget cannot be paused")
	case !(cfg.TargetC > 0 && cfg.TargetC < cfg.CritC):
		return nil, fmt.Errorf("governor: need 0 < target %g °C < critical %g °C", cfg.TargetC, cfg.CritC)
	case cfg.BudgetMW < 0:
		return nil, fmt.Errorf("governor: power budget %g mW is negative", cfg.BudgetMW)
	}
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.MinFPS, f.FPS/8)
	def(&cfg.MinTokens, 0.25)
	def(&cfg.GuardC, 3)
	def(&cfg.HysteresisC, 8)
	defDur(&cfg.Horizon, 20*time.Second)
	defDur(&cfg.DownDwell, 10*time.Second)
	defDur(&cfg.UpDwell, 30*time.Second)
	defDur(&cfg.MaxUpDwell, 4*time.Minute)
	switch {
	case cfg.MinFPS > f.FPS || cfg.MinFPS < 0:
		return nil, fmt.Errorf("governor: min fps %g must be in (0, %g]", cfg.MinFPS, f.FPS)
	case !(cfg.MinTokens > 0 && cfg.MinTokens <= f.Tokens):
		return nil, fmt.Errorf("governor: min tokens %g must be in (0, %g]", cfg.MinTokens, f.Tokens)
	case cfg.GuardC < 0 || cfg.HysteresisC < 0:
		return nil, errors.New("governor: guard and hysteresis must not be negative")
	case cfg.UpDwell > cfg.MaxUpDwell:
		return nil, fmt.Errorf("governor: up dwell %v exceeds its maximum %v", cfg.UpDwell, cfg.MaxUpDwell)
	}
	g := &Governor{cfg: cfg, ladder: buildLadder(cfg)}
	g.upDwell = make([]time.Duration, len(g.ladder))
	g.gaveBack = make([]time.Time, len(g.ladder))
	for i := range g.upDwell {
		g.upDwell[i] = cfg.UpDwell
	}
	return g, nil
}

// Ladder returns the budgets the governor moves between, full first.
func (g *Governor) Ladder() []Budget { return append([]Budget(nil), g.ladder...) }

// buildLadder lists the budgets from full to the floor. Each step cuts one
// knob by about a fifth, so every step sheds a similar share of heat; the
// knobs go in the order that costs least: frame rate to half, tokens to
// half, threads to half, then frame rate, tokens and threads to their floors.
func buildLadder(cfg GovernorConfig) []Budget {
	b := cfg.Full
	out := []Budget{b}
	push := func(nb Budget) {
		if nb != out[len(out)-1] {
			out = append(out, nb)
		}
	}
	fpsDown := func(floor float64) {
		floor = max(floor, cfg.MinFPS)
		for b.FPS > floor {
			b.FPS = max(floor, roundTo(b.FPS*0.8, 0.01))
			push(b)
		}
	}
	tokDown := func(floor float64) {
		floor = max(floor, cfg.MinTokens)
		for b.Tokens > floor {
			b.Tokens = max(floor, roundTo(b.Tokens*0.8, 0.001))
			push(b)
		}
	}
	thrDown := func(floor int) {
		floor = max(floor, 1)
		for b.Threads > floor {
			b.Threads--
			push(b)
		}
	}
	fpsDown(cfg.Full.FPS / 2)
	tokDown(cfg.Full.Tokens / 2)
	thrDown((cfg.Full.Threads + 1) / 2)
	fpsDown(cfg.MinFPS)
	tokDown(cfg.MinTokens)
	thrDown(1)
	return out
}

func roundTo(v, q float64) float64 { return math.Round(v/q) * q }

// Budget returns the current budget.
func (g *Governor) Budget() Budget {
	if g.paused {
		return Budget{Pause: true, FPS: 0, Threads: g.ladder[g.step].Threads, Tokens: g.ladder[g.step].Tokens}
	}
	return g.ladder[g.step]
}

// Step takes one snapshot, which must be newer than the previous one, and
// returns the budget to use until the next. Snapshots should come at a
// steady rate of about one a second: the trend is fitted over the last
// samples.
func (g *Governor) Step(s *Snapshot) Decision {
	now := s.Time
	if !g.started {
		g.started = true
		g.lastChange = now.Add(-g.cfg.DownDwell) // the first step may act at once
	}
	temp, zone, haveTemp := s.MaxTempC(g.cfg.Zones)
	if haveTemp {
		g.record(now, temp)
	}
	slope := g.slope() // °C per second
	power, havePower := s.PowerMW(g.cfg.TotalRail)
	havePower = havePower && g.cfg.BudgetMW > 0

	var seen strings.Builder
	if haveTemp {
		fmt.Fprintf(&seen, "%s %.1f°C %+.2f°C/s", zone, temp, slope)
	} else {
		seen.WriteString("no temperature")
	}
	if havePower {
		fmt.Fprintf(&seen, ", %.0f mW", power)
	}
	if s.Throttle.Now(0xf) {
		fmt.Fprintf(&seen, ", firmware %s", s.Throttle)
	}
	sinceChange := now.Sub(g.lastChange)

	// Pausing: critical temperature or under-voltage, checked every step.
	underVolt, critical := s.Throttle.Now(UnderVoltage), haveTemp && temp >= g.cfg.CritC
	switch {
	case critical:
		why := fmt.Sprintf("at or above critical %.1f°C", g.cfg.CritC)
		if underVolt {
			why = "under-voltage and " + why
		}
		return g.pause(now, why, g.cfg.TargetC-g.cfg.HysteresisC, seen.String())
	case underVolt:
		// The supply, not the heat, is the problem: resume once it is
		// back, unless the board is also over its thermal target.
		return g.pause(now, "under-voltage", g.cfg.TargetC, seen.String())
	}
	if g.paused {
		// Resume only once cool enough, one step lower than before.
		if haveTemp && temp >= g.resumeC {
			return g.hold(fmt.Sprintf("%s; still paused (%s), resume below %.1f°C", seen.String(), g.pauseWhy, g.resumeC))
		}
		g.paused = false
		g.step = min(g.step+1, len(g.ladder)-1)
		g.lastChange = now
		return g.decide(true, fmt.Sprintf("%s; resume after %s at %s", seen.String(), g.pauseWhy, g.ladder[g.step]))
	}

	// Shedding.
	var why string
	steps := 1
	projected := temp + max(slope, 0)*g.cfg.Horizon.Seconds()
	switch {
	case haveTemp && temp >= g.cfg.TargetC:
		why = fmt.Sprintf("over target %.1f°C", g.cfg.TargetC)
		steps = 2 // already late: shed faster
	case s.Throttle.Now(FreqCapped | Throttled | SoftTempLimit):
		why = "firmware is limiting the CPU"
	case haveTemp && slope > 0.01 && projected >= g.cfg.TargetC-g.cfg.GuardC:
		why = fmt.Sprintf("rising toward %.1f°C in %v (guard %.1f°C)", projected, g.cfg.Horizon, g.cfg.TargetC-g.cfg.GuardC)
	case havePower && power > g.cfg.BudgetMW:
		why = fmt.Sprintf("over power budget %.0f mW", g.cfg.BudgetMW)
	}
	if why != "" {
		if g.step == len(g.ladder)-1 {
			return g.hold(fmt.Sprintf("%s; %s but already at the floor %s", seen.String(), why, g.ladder[g.step]))
		}
		if sinceChange < g.cfg.DownDwell {
			return g.hold(fmt.Sprintf("%s; %s, waiting %v after the last change", seen.String(), why, (g.cfg.DownDwell - sinceChange).Round(time.Second)))
		}
		from := g.step
		g.step = min(g.step+steps, len(g.ladder)-1)
		// A step given back recently that is taken again: that give-back
		// was premature, so wait longer before the next one.
		for i := from; i < g.step; i++ {
			if !g.gaveBack[i].IsZero() && now.Sub(g.gaveBack[i]) < 3*g.cfg.MaxUpDwell {
				g.upDwell[i] = min(2*g.upDwell[i], g.cfg.MaxUpDwell)
			}
		}
		g.lastChange = now
		return g.decide(true, fmt.Sprintf("%s; %s: shed to step %d, %s", seen.String(), why, g.step, g.ladder[g.step]))
	}

	// Giving back.
	if g.step == 0 {
		return g.hold(seen.String() + "; full budget")
	}
	calm := haveTemp && temp < g.cfg.TargetC-g.cfg.HysteresisC && slope <= 0.02 &&
		!s.Throttle.Now(0xf) && (!havePower || power < 0.85*g.cfg.BudgetMW)
	if !haveTemp && havePower && power < 0.85*g.cfg.BudgetMW && !s.Throttle.Now(0xf) {
		calm = true // a board with a power monitor but no thermal zone
	}
	if !calm {
		return g.hold(fmt.Sprintf("%s; holding step %d until below %.1f°C and steady", seen.String(), g.step, g.cfg.TargetC-g.cfg.HysteresisC))
	}
	wait := g.upDwell[g.step-1]
	if sinceChange < wait {
		return g.hold(fmt.Sprintf("%s; calm, giving back in %v", seen.String(), (wait - sinceChange).Round(time.Second)))
	}
	// The last give-back to this step is older than the backoff window:
	// conditions (air, load) have had time to change, so start again
	// from the base dwell rather than carry the old penalty forever.
	if !g.gaveBack[g.step-1].IsZero() && now.Sub(g.gaveBack[g.step-1]) >= 3*g.cfg.MaxUpDwell {
		g.upDwell[g.step-1] = g.cfg.UpDwell
	}
	g.step--
	g.gaveBack[g.step] = now
	g.lastChange = now
	return g.decide(true, fmt.Sprintf("%s; calm for %v: give back step %d, %s", seen.String(), sinceChange.Round(time.Second), g.step, g.ladder[g.step]))
}

func (g *Governor) pause(now time.Time, why string, resumeC float64, seen string) Decision {
	g.resumeC = min(g.resumeC, resumeC)
	if g.paused {
		return g.hold(fmt.Sprintf("%s; paused: %s", seen, why))
	}
	g.paused, g.pauseWhy, g.resumeC = true, why, resumeC
	g.lastChange = now
	return g.decide(true, fmt.Sprintf("%s; %s: pause", seen, why))
}

func (g *Governor) hold(reason string) Decision { return g.decide(false, reason) }

func (g *Governor) decide(changed bool, reason string) Decision {
	level := Warm
	switch {
	case g.paused:
		level = Critical
	case g.step == 0:
		level = Nominal
	}
	return Decision{Budget: g.Budget(), Step: g.step, Level: level, Changed: changed, Reason: reason}
}

// record adds a temperature sample to the ring.
func (g *Governor) record(t time.Time, c float64) {
	if g.nhist > 0 {
		last := g.hist[(g.head+len(g.hist)-1)%len(g.hist)]
		if !t.After(last.t) {
			return // out of order or repeated: keep the trend honest
		}
	}
	g.hist[g.head] = sample{t, c}
	g.head = (g.head + 1) % len(g.hist)
	g.nhist = min(g.nhist+1, len(g.hist))
}

// slope fits a least-squares line through the samples of the last 15 s, so
// sensor noise of a degree does not read as a trend.
func (g *Governor) slope() float64 {
	if g.nhist < 3 {
		return 0
	}
	newest := g.hist[(g.head+len(g.hist)-1)%len(g.hist)].t
	var n, sx, sy, sxx, sxy float64
	for i := 0; i < g.nhist; i++ {
		s := g.hist[(g.head+len(g.hist)-1-i)%len(g.hist)]
		age := newest.Sub(s.t).Seconds()
		if age > 15 {
			break
		}
		x := -age
		n++
		sx += x
		sy += s.c
		sxx += x * x
		sxy += x * s.c
	}
	den := n*sxx - sx*sx
	if n < 3 || den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
