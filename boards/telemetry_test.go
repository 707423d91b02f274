package boards

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"
)

func readFixture(t *testing.T, board, profile string) (Snapshot, error) {
	t.Helper()
	p, err := Lookup(profile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(os.DirFS(fixture(t, board)), p)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return at }
	var s Snapshot
	err = r.Read(&s)
	if !s.Time.Equal(at) {
		t.Errorf("snapshot time %v, want the reader's clock %v", s.Time, at)
	}
	return s, err
}

func TestTelemetryRaspberryPi(t *testing.T) {
	s, err := readFixture(t, "rpi-4b", "rpi-4b")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Temps) != 1 || s.Temps[0].Zone != "cpu-thermal" || s.Temps[0].C != 52.095 {
		t.Errorf("temps %+v, want cpu-thermal 52.095", s.Temps)
	}
	if len(s.CPUs) != 4 || s.CPUs[3] != (CPUFreq{CPU: 3, CurKHz: 1800000, MaxKHz: 1800000, Governor: "ondemand"}) {
		t.Errorf("cpus %+v", s.CPUs)
	}
	if !s.Throttle.Valid || s.Throttle.Bits != 0 || s.Throttle.Source != "sys/devices/platform/soc/soc:firmware/get_throttled" {
		t.Errorf("throttle %+v", s.Throttle)
	}
	if s.Throttle.String() != "0x0: ok" {
		t.Errorf("throttle string %q", s.Throttle)
	}

	s, err = readFixture(t, "rpi-3b-plus", "rpi-3b-plus")
	if err != nil {
		t.Fatal(err)
	}
	th := s.Throttle
	if !th.Now(UnderVoltage) || !th.Now(Throttled) || th.Now(FreqCapped) || th.Bits&UnderVoltageSeen == 0 {
		t.Errorf("throttle %+v, want under-voltage and throttled now and since boot", th)
	}
	if got, want := th.String(), "0x50005: under-voltage, throttled, under-voltage since boot, throttled since boot"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}

	// Pi 5: found through the second, globbed path; soft limit seen only.
	s, err = readFixture(t, "rpi-5", "rpi-5")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Throttle.Valid || s.Throttle.Bits != SoftTempSeen || s.Throttle.Now(0xf) || !strings.Contains(s.Throttle.Source, "soc@107c000000") {
		t.Errorf("pi 5 throttle %+v", s.Throttle)
	}

	// Mainline Pi 3 under QEMU: no sensors at all, and that is no error.
	s, err = readFixture(t, "rpi-3b", "rpi-3b")
	if err != nil || len(s.Temps)+len(s.CPUs)+len(s.Rails) != 0 || s.Throttle.Valid {
		t.Errorf("bare tree: %+v, %v", s, err)
	}
	if _, _, ok := s.MaxTempC(nil); ok {
		t.Error("MaxTempC ok with no zones")
	}
}

func TestTelemetryJetson(t *testing.T) {
	s, err := readFixture(t, "jetson-nano", "jetson-nano")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Temps) != 6 || len(s.Rails) != 3 {
		t.Fatalf("nano: %d temps, %d rails", len(s.Temps), len(s.Rails))
	}
	if r := s.Rails[0]; r != (Rail{Name: "POM_5V_IN", MilliVolts: 5080, MilliAmps: 780, MilliWatts: 3962}) {
		t.Errorf("nano rail 0 %+v", r)
	}
	if mw, ok := s.PowerMW("POM_5V_IN"); !ok || mw != 3962 {
		t.Errorf("nano input power %g %v", mw, ok)
	}
	// The profile's zones pick CPU-therm over the hotter PMIC-Die (which
	// reads a constant 100 °C on L4T 32).
	p, _ := Lookup("jetson-nano")
	if c, zone, ok := s.MaxTempC(p.Thermal.Zones); !ok || zone != "GPU-therm" && zone != "CPU-therm" || c != 43 {
		t.Errorf("nano hottest watched zone %s %g", zone, c)
	}
	if c, zone, _ := s.MaxTempC(nil); zone != "PMIC-Die" || c != 100 {
		t.Errorf("nano hottest zone %s %g", zone, c)
	}

	for _, board := range []string{"jetson-orin-nano", "jetson-orin-nx"} {
		s, err = readFixture(t, board, board)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Rails) != 3 || s.Rails[0].Name != "VDD_IN" {
			t.Fatalf("%s rails %+v", board, s.Rails)
		}
		r := s.Rails[0]
		if r.MilliWatts != float64(int(r.MilliVolts*r.MilliAmps/1000+0.5)) || r.MilliWatts == 0 {
			t.Errorf("%s: VDD_IN %+v: power is not volts × amps", board, r)
		}
		if mw, _ := s.PowerMW("VDD_IN"); mw != r.MilliWatts {
			t.Errorf("%s: input power %g, want the VDD_IN rail %g", board, mw, r.MilliWatts)
		}
	}
	if s.Rails[0].MilliWatts != 11876 { // 5032 mV × 2360 mA
		t.Errorf("orin nx VDD_IN %g mW", s.Rails[0].MilliWatts)
	}
	if sum, _ := s.PowerMW(""); sum <= s.Rails[0].MilliWatts {
		t.Errorf("sum of rails %g", sum)
	}
}

func TestTelemetryReusesSnapshot(t *testing.T) {
	p, _ := Lookup("jetson-orin-nano")
	r, err := NewReader(os.DirFS(fixture(t, "jetson-orin-nano")), p)
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := r.Read(&s); err != nil {
		t.Fatal(err)
	}
	first := len(s.Temps) + len(s.CPUs) + len(s.Rails)
	temps := &s.Temps[0]
	if err := r.Read(&s); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Temps) + len(s.CPUs) + len(s.Rails); n != first || &s.Temps[0] != temps {
		t.Errorf("second read: %d entries (first %d), same backing array %v", n, first, &s.Temps[0] == temps)
	}
}

func TestTelemetryRejectsGarbage(t *testing.T) {
	pi, _ := Lookup("rpi-4b")
	orin, _ := Lookup("jetson-orin-nano")
	const hw = "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon0/"
	good := map[string]string{
		"sys/class/thermal/thermal_zone0/type": "cpu-thermal\n",
		"sys/class/thermal/thermal_zone0/temp": "50000\n",
		"sys/class/thermal/thermal_zone1/type": "gpu-thermal\n",
		"sys/class/thermal/thermal_zone1/temp": "45000\n",
	}
	with := func(extra map[string]string) fs.FS {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return mapFS(m)
	}
	for _, tc := range []struct {
		name    string
		fsys    fs.FS
		p       Profile
		newErr  string // error from NewReader
		readErr string // error from Read
		temps   int    // readings that must survive
	}{
		{"temp not a number", with(map[string]string{"sys/class/thermal/thermal_zone0/temp": "hot\n"}), pi, "", `thermal_zone0/temp: "hot" is not an integer`, 1},
		{"temp out of range", with(map[string]string{"sys/class/thermal/thermal_zone0/temp": "999999999\n"}), pi, "", "outside -60..200", 1},
		{"temp empty", with(map[string]string{"sys/class/thermal/thermal_zone0/temp": ""}), pi, "", "temp: empty", 1},
		{"temp too long", with(map[string]string{"sys/class/thermal/thermal_zone0/temp": strings.Repeat("1", 100)}), pi, "", "longer than 64 bytes", 1},
		{"temp two lines", with(map[string]string{"sys/class/thermal/thermal_zone0/temp": "1\n2\n"}), pi, "", "not one printable line", 1},
		{"zone without type", with(map[string]string{"sys/class/thermal/thermal_zone2/temp": "1000\n"}), pi, "thermal_zone2/type", "", 2},
		{"cpufreq garbage", with(map[string]string{"sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq": "fast\n"}), pi, "", `scaling_cur_freq: "fast"`, 2},
		{"throttled garbage", with(map[string]string{"sys/devices/platform/soc/soc:firmware/get_throttled": "0xZZ\n"}), pi, "", `get_throttled: "ZZ" is not a hexadecimal`, 2},
		{"alarm garbage", with(map[string]string{"sys/class/hwmon/hwmon1/name": "rpi_volt\n", "sys/class/hwmon/hwmon1/in0_lcrit_alarm": "7\n"}), pi, "", "is not 0 or 1", 2},
		{"rail negative", with(map[string]string{hw + "in1_label": "VDD_IN\n", hw + "in1_input": "5000\n", hw + "curr1_input": "-5\n"}), orin, "", "power rail VDD_IN: " + hw + "curr1_input: negative", 2},
		{"rail missing reading", with(map[string]string{hw + "in1_label": "VDD_IN\n", hw + "in1_input": "5000\n"}), orin, "", "curr1_input", 2},
		{"rail label binary", with(map[string]string{hw + "in1_label": "\x00\x01\n"}), orin, "in1_label", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(tc.fsys, tc.p)
			if tc.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.newErr) {
					t.Fatalf("NewReader err = %v, want %q", err, tc.newErr)
				}
			} else if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			var s Snapshot
			err = r.Read(&s)
			if tc.readErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.readErr) {
					t.Fatalf("Read err = %v, want %q", err, tc.readErr)
				}
			} else if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(s.Temps) != tc.temps {
				t.Errorf("%d temperatures survived, want %d: %+v", len(s.Temps), tc.temps, s.Temps)
			}
		})
	}
}

func TestTelemetryUnderVoltageAlarm(t *testing.T) {
	// A mainline kernel has no get_throttled, only rpi_volt's alarm.
	p, _ := Lookup("rpi-4b")
	fsys := mapFS(map[string]string{
		"sys/class/hwmon/hwmon0/name":            "cpu_thermal\n",
		"sys/class/hwmon/hwmon1/name":            "rpi_volt\n",
		"sys/class/hwmon/hwmon1/in0_lcrit_alarm": "1\n",
	})
	r, err := NewReader(fsys, p)
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := r.Read(&s); err != nil {
		t.Fatal(err)
	}
	if !s.Throttle.Now(UnderVoltage) || s.Throttle.Now(Throttled) || s.Throttle.Source != "sys/class/hwmon/hwmon1/in0_lcrit_alarm" {
		t.Errorf("throttle %+v", s.Throttle)
	}
}

func TestParseThrottled(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "50005": 0x50005, "0x80008": 0x80008, "throttled=0xe0000": 0xe0000} {
		if got, err := parseThrottled(in); err != nil || got != want {
			t.Errorf("parseThrottled(%q) = %#x, %v, want %#x", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0x", "-1", "123456789", "throttled"} {
		if _, err := parseThrottled(in); err == nil {
			t.Errorf("parseThrottled(%q) accepted", in)
		}
	}
	if s := (Throttle{Valid: true, Bits: 0x100000}).String(); !strings.Contains(s, "unknown bits 0x100000") {
		t.Errorf("unknown bits: %q", s)
	}
}
