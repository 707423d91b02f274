package boards

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Temp is one thermal zone reading.
type Temp struct {
	Zone string  `json:"zone"` // thermal_zone*/type, e.g. "cpu-thermal"
	Path string  `json:"path"`
	C    float64 `json:"c"`
}

// CPUFreq is one CPU's cpufreq state. Zero values mean "not reported".
type CPUFreq struct {
	CPU      int    `json:"cpu"`
	CurKHz   int64  `json:"cur_khz"`
	MaxKHz   int64  `json:"max_khz"`
	Governor string `json:"governor,omitempty"`
}

// Throttle bits as the Raspberry Pi firmware reports them (vcgencmd
// get_throttled): the low nibble is "now", bits 16–19 "since boot".
const (
	UnderVoltage     uint32 = 1 << 0
	FreqCapped       uint32 = 1 << 1
	Throttled        uint32 = 1 << 2
	SoftTempLimit    uint32 = 1 << 3
	UnderVoltageSeen uint32 = 1 << 16
	FreqCappedSeen   uint32 = 1 << 17
	ThrottledSeen    uint32 = 1 << 18
	SoftTempSeen     uint32 = 1 << 19
)

// Throttle is the Raspberry Pi firmware throttling state.
type Throttle struct {
	Valid  bool   `json:"valid"`  // false when the board has no such sensor
	Bits   uint32 `json:"bits"`   // the get_throttled word
	Source string `json:"source"` // the file it came from
}

// Now reports whether any of the "now" conditions in mask is set.
func (t Throttle) Now(mask uint32) bool { return t.Valid && t.Bits&mask&0xf != 0 }

var throttleNames = [...]struct {
	bit  uint32
	name string
}{
	{UnderVoltage, "under-voltage"}, {FreqCapped, "frequency capped"},
	{Throttled, "throttled"}, {SoftTempLimit, "soft temperature limit"},
	{UnderVoltageSeen, "under-voltage since boot"}, {FreqCappedSeen, "capped since boot"},
	{ThrottledSeen, "throttled since boot"}, {SoftTempSeen, "soft limit since boot"},
}

// String lists the set conditions, e.g. "0x50005: under-voltage, throttled,
// under-voltage since boot, throttled since boot".
func (t Throttle) String() string {
	if !t.Valid {
		return "not reported"
	}
	if t.Bits == 0 {
		return "0x0: ok"
	}
	var names []string
	for _, n := range throttleNames {
		if t.Bits&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	if rest := t.Bits &^ 0xf000f; rest != 0 {
		names = append(names, fmt.Sprintf("unknown bits %#x", rest))
	}
	return fmt.Sprintf("%#x: %s", t.Bits, strings.Join(names, ", "))
}

// Rail is one power-monitor channel. Fields the driver does not report are
// NaN-free zeros; MilliWatts is computed from volts and amps when the driver
// gives no power reading.
type Rail struct {
	Name       string  `json:"name"`
	MilliVolts float64 `json:"mv"`
	MilliAmps  float64 `json:"ma"`
	MilliWatts float64 `json:"mw"`
}

// Snapshot is one telemetry reading. Reader.Read fills a caller-owned
// Snapshot, reusing its slices.
type Snapshot struct {
	Time     time.Time `json:"time"`
	Temps    []Temp    `json:"temps"`
	CPUs     []CPUFreq `json:"cpus"`
	Throttle Throttle  `json:"throttle"`
	Rails    []Rail    `json:"rails"`
}

// MaxTempC returns the hottest of the named zones (case-insensitive), or of
// all zones when none of the names is present. ok is false with no zones.
func (s *Snapshot) MaxTempC(zones []string) (c float64, zone string, ok bool) {
	pick := func(named bool) {
		for _, t := range s.Temps {
			if math.IsNaN(t.C) {
				continue
			}
			if named && !slices.ContainsFunc(zones, func(z string) bool { return strings.EqualFold(z, t.Zone) }) {
				continue
			}
			if !ok || t.C > c {
				c, zone, ok = t.C, t.Zone, true
			}
		}
	}
	pick(len(zones) > 0)
	if !ok {
		pick(false)
	}
	return c, zone, ok
}

// PowerMW returns the board's input power: the rail named total when
// present, else the sum of all rails. ok is false with no rails.
func (s *Snapshot) PowerMW(total string) (mw float64, ok bool) {
	for _, r := range s.Rails {
		if total != "" && r.Name == total {
			return r.MilliWatts, true
		}
	}
	for _, r := range s.Rails {
		mw += r.MilliWatts
	}
	return mw, len(s.Rails) > 0
}

// Reader reads telemetry from a root file system. NewReader finds the
// sensor files once (hwmon numbers change between boots, so they are
// globbed, but not on every read); Read then only opens known files.
type Reader struct {
	fsys fs.FS
	// Now stamps snapshots; tests replace it.
	Now func() time.Time

	zones    []zoneFiles
	cpus     []cpuFiles
	throttle string // get_throttled file; "" when absent
	uvAlarm  string // rpi_volt in0_lcrit_alarm when get_throttled is absent
	rails    []railFiles
	buf      [64]byte // sysfs attributes are one short line
}

type zoneFiles struct{ name, temp string }

type cpuFiles struct {
	cpu           int
	cur, max, gov string
}

type railFiles struct {
	name          string
	mv, ma, mw    string // "" when the driver lacks the attribute
	mwFromVoltAmp bool
}

// NewReader finds the sensors that profile p says the board has, plus the
// generic thermal and cpufreq files. A board without a sensor simply gives
// snapshots without that reading. An error names each sensor whose fixed
// attributes (zone type, rail label) are unreadable or garbage; the Reader
// is usable even then and reads the sensors that were found.
func NewReader(fsys fs.FS, p Profile) (*Reader, error) {
	r := &Reader{fsys: fsys, Now: time.Now}
	var errs []error
	zoneDirs, _ := fs.Glob(fsys, "sys/class/thermal/thermal_zone*")
	sortNumeric(zoneDirs, "thermal_zone")
	for _, dir := range zoneDirs {
		name, err := r.readLine(path.Join(dir, "type"))
		if err != nil {
			errs = append(errs, fmt.Errorf("thermal zone: %w", err))
			continue
		}
		r.zones = append(r.zones, zoneFiles{name: name, temp: path.Join(dir, "temp")})
	}
	cpuDirs, _ := fs.Glob(fsys, "sys/devices/system/cpu/cpu[0-9]*/cpufreq")
	for _, dir := range cpuDirs {
		n, err := strconv.Atoi(strings.TrimPrefix(path.Base(path.Dir(dir)), "cpu"))
		if err != nil {
			continue // cpuidle-like names, not a CPU
		}
		r.cpus = append(r.cpus, cpuFiles{cpu: n,
			cur: path.Join(dir, "scaling_cur_freq"), max: path.Join(dir, "scaling_max_freq"), gov: path.Join(dir, "scaling_governor")})
	}
	slices.SortFunc(r.cpus, func(a, b cpuFiles) int { return a.cpu - b.cpu })

	switch p.Power.Kind {
	case PowerRPiThrottled:
		// Newer Raspberry Pi kernels log a one-time "deprecated" warning on
		// the first read of get_throttled; it is still the only file with
		// all eight bits, so it is worth that line in dmesg.
		r.throttle = firstGlob(fsys, p.Power.Paths)
		if r.throttle == "" {
			// Mainline kernels expose only the under-voltage bit, through
			// the rpi_volt hwmon device.
			for _, dir := range globAll(fsys, []string{"sys/class/hwmon/hwmon*"}) {
				if name, err := r.readLine(path.Join(dir, "name")); err == nil && name == "rpi_volt" {
					r.uvAlarm = path.Join(dir, "in0_lcrit_alarm")
					break
				}
			}
		}
	case PowerINA3221Hwmon:
		for _, dir := range globAll(fsys, p.Power.Paths) {
			for ch := 1; ch <= 3; ch++ {
				label := path.Join(dir, fmt.Sprintf("in%d_label", ch))
				name, err := r.readLine(label)
				if errors.Is(err, fs.ErrNotExist) {
					continue // channel without a shunt: the driver hides it
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("ina3221 rail: %w", err))
					continue
				}
				r.rails = append(r.rails, railFiles{name: name,
					mv: path.Join(dir, fmt.Sprintf("in%d_input", ch)), ma: path.Join(dir, fmt.Sprintf("curr%d_input", ch)), mwFromVoltAmp: true})
			}
		}
	case PowerINA3221xIIO:
		for _, dir := range globAll(fsys, p.Power.Paths) {
			for ch := 0; ch <= 2; ch++ {
				label := path.Join(dir, fmt.Sprintf("rail_name_%d", ch))
				name, err := r.readLine(label)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("ina3221x rail: %w", err))
					continue
				}
				r.rails = append(r.rails, railFiles{name: name,
					mv: path.Join(dir, fmt.Sprintf("in_voltage%d_input", ch)), ma: path.Join(dir, fmt.Sprintf("in_current%d_input", ch)),
					mw: path.Join(dir, fmt.Sprintf("in_power%d_input", ch))})
			}
		}
	}
	return r, errors.Join(errs...)
}

// Read fills s with the current values. It reads every sensor it can and
// returns the failures joined, each naming its file, so one broken sensor
// does not hide the others. s's slices are reused.
func (r *Reader) Read(s *Snapshot) error {
	s.Time = r.Now()
	s.Temps, s.CPUs, s.Rails = s.Temps[:0], s.CPUs[:0], s.Rails[:0]
	s.Throttle = Throttle{}
	var errs []error
	for _, z := range r.zones {
		v, err := r.readInt(z.temp)
		if err == nil {
			c := float64(v) / 1000 // the thermal ABI is millidegrees
			if c < -60 || c > 200 {
				err = fmt.Errorf("%s: %d m°C is outside -60..200 °C", z.temp, v)
			} else {
				s.Temps = append(s.Temps, Temp{Zone: z.name, Path: z.temp, C: c})
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("temperature of %s: %w", z.name, err))
		}
	}
	for _, c := range r.cpus {
		f := CPUFreq{CPU: c.cpu}
		var err error
		if f.CurKHz, err = r.readInt(c.cur); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cpufreq: %w", err))
		}
		if f.MaxKHz, err = r.readInt(c.max); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cpufreq: %w", err))
		}
		if f.Governor, err = r.readLine(c.gov); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cpufreq: %w", err))
		}
		s.CPUs = append(s.CPUs, f)
	}
	switch {
	case r.throttle != "":
		line, err := r.readLine(r.throttle)
		if err == nil {
			var v uint64
			v, err = parseThrottled(line)
			if err != nil {
				err = fmt.Errorf("%s: %w", r.throttle, err)
			}
			s.Throttle = Throttle{Valid: err == nil, Bits: uint32(v), Source: r.throttle}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("throttling: %w", err))
		}
	case r.uvAlarm != "":
		v, err := r.readInt(r.uvAlarm)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("under-voltage alarm: %w", err))
		case v != 0 && v != 1:
			errs = append(errs, fmt.Errorf("under-voltage alarm: %s: %d is not 0 or 1", r.uvAlarm, v))
		default:
			s.Throttle = Throttle{Valid: true, Bits: uint32(v) * UnderVoltage, Source: r.uvAlarm}
		}
	}
	for _, rf := range r.rails {
		rail, err := r.readRail(rf)
		if err != nil {
			errs = append(errs, fmt.Errorf("power rail %s: %w", rf.name, err))
			continue
		}
		s.Rails = append(s.Rails, rail)
	}
	return errors.Join(errs...)
}

func (r *Reader) readRail(rf railFiles) (Rail, error) {
	rail := Rail{Name: rf.name}
	read := func(p string, dst *float64) error {
		if p == "" {
			return nil
		}
		v, err := r.readInt(p)
		if err != nil {
			return err
		}
		if v < 0 {
			return fmt.Errorf("%s: negative reading %d", p, v)
		}
		*dst = float64(v)
		return nil
	}
	if err := read(rf.mv, &rail.MilliVolts); err != nil {
		return rail, err
	}
	if err := read(rf.ma, &rail.MilliAmps); err != nil {
		return rail, err
	}
	if err := read(rf.mw, &rail.MilliWatts); err != nil {
		return rail, err
	}
	if rf.mwFromVoltAmp {
		rail.MilliWatts = math.Round(rail.MilliVolts * rail.MilliAmps / 1000)
	}
	return rail, nil
}

// readLine reads a one-line sysfs attribute into the reader's buffer and
// returns it without surrounding white space. Longer files are an error:
// every attribute read here is a number or a short name.
func (r *Reader) readLine(p string) (string, error) {
	f, err := r.fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	n, err := io.ReadFull(f, r.buf[:])
	switch {
	case err == nil:
		return "", fmt.Errorf("%s: longer than %d bytes, not a sysfs attribute", p, len(r.buf))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
	default:
		return "", fmt.Errorf("%s: %w", p, err)
	}
	line := strings.TrimSpace(string(r.buf[:n]))
	if line == "" {
		return "", fmt.Errorf("%s: empty", p)
	}
	if strings.ContainsFunc(line, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return "", fmt.Errorf("%s: %q is not one printable line", p, line)
	}
	return line, nil
}

func (r *Reader) readInt(p string) (int64, error) {
	line, err := r.readLine(p)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(line, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not an integer", p, line)
	}
	return v, nil
}

// parseThrottled accepts the sysfs form ("50005", hex without 0x) and the
// vcgencmd forms ("0x50005", "throttled=0x50005").
func parseThrottled(s string) (uint64, error) {
	s = strings.TrimPrefix(s, "throttled=")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a hexadecimal throttle word", s)
	}
	return v, nil
}

func firstGlob(fsys fs.FS, patterns []string) string {
	if m := globAll(fsys, patterns); len(m) > 0 {
		return m[0]
	}
	return ""
}

// globAll returns the matches of the patterns in order, without repeats.
// Patterns are validated with the profile, so Glob cannot fail on syntax.
func globAll(fsys fs.FS, patterns []string) []string {
	var out []string
	for _, g := range patterns {
		m, _ := fs.Glob(fsys, g)
		for _, p := range m {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// sortNumeric orders names like thermal_zone10 after thermal_zone9.
func sortNumeric(names []string, prefix string) {
	num := func(s string) int {
		n, _ := strconv.Atoi(strings.TrimPrefix(path.Base(s), prefix))
		return n
	}
	slices.SortFunc(names, func(a, b string) int { return num(a) - num(b) })
}
