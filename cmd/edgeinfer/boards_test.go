package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// boardsCmd runs "edgeinfer boards ARGS..." in-process.
func boardsCmd(args ...string) (status int, stdout, stderr string) {
	var o, e bytes.Buffer
	status = run(append([]string{"boards"}, args...), &o, &e)
	return status, o.String(), e.String()
}

const fixtures = "../../boards/testdata"

func TestBoardsDetectFixtures(t *testing.T) {
	for board, want := range map[string][]string{
		"rpi-4b":           {"board     rpi-4b (Raspberry Pi 4 Model B), matched by compatible", "trusted   yes", "cpu-thermal", "52.1°C", "cpu0-3", "1800 of 1800 MHz, ondemand", "0x0: ok", "budget: 15 fps × 4 threads × 1 tokens (nominal)"},
		"rpi-3b-plus":      {"rpi-3b-plus", "arm neon+vfpv4+idiva", "0x50005: under-voltage, throttled", "budget: paused (critical)", "under-voltage: pause"},
		"rpi-3b":           {"sys/firmware/devicetree/base/compatible", "no thermal zones", "cpufreq  not reported"},
		"jetson-nano":      {"jetson-nano", "POM_5V_IN", "3962 mW", "R32.7.4 board t210ref"},
		"jetson-orin-nano": {"jetson-orin-nano", "VDD_IN", "6269 mW", "bayer RG10, msb-aligned, shift 6"},
		"generic-arm64":    {"generic-arm64", "matched by fallback", "Radxa ROCK 5B", "warning: no profile matches"},
	} {
		st, out, errOut := boardsCmd("detect", "--root", filepath.Join(fixtures, board))
		if st != 0 || errOut != "" {
			t.Errorf("%s: status %d, stderr %q", board, st, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", board, w, out)
			}
		}
	}
}

func TestBoardsDetectJSON(t *testing.T) {
	st, out, errOut := boardsCmd("detect", "--root", filepath.Join(fixtures, "rpi-5"), "--json")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	var rep struct {
		Board     string
		Trusted   bool
		Detection struct {
			MatchedBy string `json:"matched_by"`
			Expected  string
			Evidence  []struct{ Source, Value, Meaning string }
		}
		Telemetry struct {
			Temps []struct {
				Zone string
				C    float64
			}
			Throttle struct {
				Valid bool
				Bits  uint32
			}
		}
		Budget struct {
			Budget struct {
				FPS     float64
				Threads int
				Tokens  float64
			}
			Reason string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Board != "rpi-5" || !rep.Trusted || rep.Detection.MatchedBy != "compatible" || rep.Detection.Expected != "asimd+dotprod" {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Detection.Evidence) < 4 || len(rep.Telemetry.Temps) != 1 || rep.Telemetry.Temps[0].C != 58.65 {
		t.Errorf("evidence %d, temps %+v", len(rep.Detection.Evidence), rep.Telemetry.Temps)
	}
	if !rep.Telemetry.Throttle.Valid || rep.Telemetry.Throttle.Bits != 0x80000 {
		t.Errorf("throttle %+v", rep.Telemetry.Throttle)
	}
	if rep.Budget.Budget.FPS != 30 || rep.Budget.Budget.Threads != 4 || rep.Budget.Reason == "" {
		t.Errorf("budget %+v", rep.Budget)
	}
}

func TestBoardsDetectCPUFlag(t *testing.T) {
	// --cpu host checks the fixture's profile against this machine's CPU;
	// on an amd64 host a Pi profile cannot be trusted.
	st, out, _ := boardsCmd("detect", "--root", filepath.Join(fixtures, "rpi-4b"), "--cpu", "host")
	if st != 0 || !strings.Contains(out, "from host") {
		t.Fatalf("status %d:\n%s", st, out)
	}
	if !strings.Contains(out, "cpu       "+runtime.GOARCH+" ") {
		t.Errorf("cpu line does not name the host architecture %s:\n%s", runtime.GOARCH, out)
	}
	if runtime.GOARCH == "amd64" && !strings.Contains(out, "trusted   NO") {
		t.Errorf("amd64 host trusted for a Pi:\n%s", out)
	}
	st, out, _ = boardsCmd("detect", "--root", filepath.Join(fixtures, "rpi-4b"), "--cpu", "cpuinfo")
	if st != 0 || !strings.Contains(out, "from proc/cpuinfo") {
		t.Errorf("--cpu cpuinfo: status %d:\n%s", st, out)
	}
}

func TestBoardsDetectTelemetryErrorsAreReported(t *testing.T) {
	root := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("proc/device-tree/compatible", "raspberrypi,4-model-b\x00brcm,bcm2711\x00")
	write("proc/cpuinfo", "processor\t: 0\nFeatures\t: fp asimd\nCPU architecture: 8\nCPU part\t: 0xd08\n")
	write("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n")
	write("sys/class/thermal/thermal_zone0/temp", "warm\n")
	st, out, errOut := boardsCmd("detect", "--root", root)
	if st != 0 || !strings.Contains(out, "rpi-4b") {
		t.Fatalf("status %d:\n%s", st, out)
	}
	if !strings.Contains(errOut, `thermal_zone0/temp: "warm" is not an integer`) {
		t.Errorf("stderr %q does not name the bad file", errOut)
	}
}

func TestBoardsList(t *testing.T) {
	st, out, errOut := boardsCmd("list")
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	for _, id := range []string{"rpi-zero-2-w", "rpi-3b", "rpi-3b-plus", "rpi-4b", "rpi-5", "jetson-nano", "jetson-orin-nano", "jetson-orin-nx", "generic-arm64", "generic-armv7", "generic-amd64"} {
		if !strings.Contains(out, id+" ") {
			t.Errorf("list lacks %s", id)
		}
	}
	if !strings.Contains(out, "asimd+dotprod / neon+vfpv4") {
		t.Errorf("list lacks the Pi 5 SIMD column:\n%s", out)
	}
	st, out, _ = boardsCmd("list", "--json")
	var ps []struct{ ID string }
	if st != 0 || json.Unmarshal([]byte(out), &ps) != nil || len(ps) != 11 {
		t.Errorf("list --json: status %d, %d profiles", st, len(ps))
	}
}

func TestBoardsUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{nil, 2, "missing subcommand"},
		{[]string{"probe"}, 2, `unknown subcommand "probe"`},
		{[]string{"detect", "--frobnicate"}, 2, "frobnicate"},
		{[]string{"detect", "extra"}, 2, "unexpected arguments"},
		{[]string{"detect", "--cpu", "magic"}, 2, `--cpu "magic"`},
		{[]string{"list", "x"}, 2, "unexpected arguments"},
		{[]string{"detect", "--root", "/no/such/dir"}, 1, "--root: stat /no/such/dir"},
		{[]string{"detect", "--root", "boards_test.go"}, 1, "not a directory"},
		{[]string{"detect", "--root", fixtures + "/rpi-4b", "--cpu", "cpuinfo", "--root", fixtures}, 1, "proc/cpuinfo"},
	} {
		st, _, errOut := boardsCmd(tc.args...)
		if st != tc.status || !strings.Contains(errOut, tc.want) {
			t.Errorf("boards %q: status %d, stderr %q; want %d and %q", tc.args, st, errOut, tc.status, tc.want)
		}
	}
	if st, out, _ := boardsCmd("detect", "-h"); st != 0 || out != "" {
		t.Errorf("detect -h: status %d", st)
	}
}
