package boards

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// fixture opens testdata/<board> as a root file system.
func fixture(t *testing.T, board string) (fsysRoot string) {
	t.Helper()
	root := "testdata/" + board
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("fixture %s: %v (run go generate ./boards)", board, err)
	}
	return root
}

func clueFrom(d Detection, source string) (Clue, bool) {
	for _, c := range d.Evidence {
		if c.Source == source {
			return c, true
		}
	}
	return Clue{}, false
}

func TestDetectFixtures(t *testing.T) {
	type fixtureCase struct {
		board, want, by string
		arch            string
		evidence        string // a source that must be in the evidence
		warning         string // a warning that must be present, "" for none
	}
	cases := []fixtureCase{
		{"rpi-zero-2-w", "rpi-zero-2-w", ByCompatible, "arm64", "proc/device-tree/system/linux,revision", ""},
		{"rpi-3b", "rpi-3b", ByCompatible, "arm64", "sys/firmware/devicetree/base/compatible", ""},
		{"rpi-3b-plus", "rpi-3b-plus", ByCompatible, "arm", "proc/device-tree/model", ""},
		{"rpi-4b", "rpi-4b", ByCompatible, "arm64", "proc/device-tree/compatible", ""},
		{"rpi-5", "rpi-5", ByCompatible, "arm64", "proc/device-tree/system/linux,revision", ""},
		{"jetson-nano", "jetson-nano", ByCompatible, "arm64", "etc/nv_tegra_release", ""},
		{"jetson-orin-nano", "jetson-orin-nano", ByCompatible, "arm64", "etc/nv_tegra_release", ""},
		{"jetson-orin-nx", "jetson-orin-nx", ByCompatible, "arm64", "sys/firmware/devicetree/base/model", ""},
		{"generic-arm64", "generic-arm64", ByFallback, "arm64", "proc/device-tree/compatible", "no profile matches"},
		{"generic-armv7", "generic-armv7", ByFallback, "arm", "proc/cpuinfo", "no profile matches"},
		{"generic-amd64", "generic-amd64", ByFallback, "amd64", "proc/cpuinfo", "no profile matches"},
	}
	// Every fixture tree must be covered here.
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range dirs {
		if e.IsDir() && !slices.ContainsFunc(cases, func(c fixtureCase) bool { return c.board == e.Name() }) {
			t.Errorf("fixture testdata/%s has no detection case", e.Name())
		}
	}
	for _, tc := range cases {
		t.Run(tc.board, func(t *testing.T) {
			fsys := os.DirFS(fixture(t, tc.board))
			d, err := Detect(fsys, CPUInfoCPU(fsys))
			if err != nil {
				t.Fatal(err)
			}
			if d.Profile.ID != tc.want || d.MatchedBy != tc.by {
				t.Fatalf("got %s by %s, want %s by %s; evidence %+v", d.Profile.ID, d.MatchedBy, tc.want, tc.by, d.Evidence)
			}
			if !d.Trusted() {
				t.Errorf("untrusted: %v", d.Problems)
			}
			if d.CPU.Arch != tc.arch {
				t.Errorf("cpu arch %s, want %s", d.CPU.Arch, tc.arch)
			}
			if _, ok := clueFrom(d, tc.evidence); !ok {
				t.Errorf("no evidence from %s in %+v", tc.evidence, d.Evidence)
			}
			hasWarn := slices.ContainsFunc(d.Warnings, func(w string) bool { return tc.warning != "" && strings.Contains(w, tc.warning) })
			if tc.warning == "" && len(d.Warnings) > 0 || tc.warning != "" && !hasWarn {
				t.Errorf("warnings %q, want %q", d.Warnings, tc.warning)
			}
			if d.Missing != 0 || d.Expected&^d.CPU.Features != 0 {
				t.Errorf("missing %v with expected %v and CPU %v", d.Missing, d.Expected, d.CPU.Features)
			}
		})
	}
}

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return m
}

var arm64CPU = StaticCPU{Arch: "arm64", Features: ASIMD, Source: "test"}

const pi4CPUInfo = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU architecture: 8\nCPU part\t: 0xd08\n\n" +
	"processor\t: 1\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU architecture: 8\nCPU part\t: 0xd08\n\n" +
	"processor\t: 2\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU architecture: 8\nCPU part\t: 0xd08\n\n" +
	"processor\t: 3\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU architecture: 8\nCPU part\t: 0xd08\n\n"

func TestDetectWeakerEvidence(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    map[string]string
		want, by string
		warning  string
	}{
		{"model only", map[string]string{"proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.1\x00"}, "rpi-4b", ByModel, ""},
		{"cpuinfo model and revision", map[string]string{"proc/cpuinfo": pi4CPUInfo + "Revision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n"}, "rpi-4b", ByModel, ""},
		{"revision only", map[string]string{"proc/cpuinfo": pi4CPUInfo + "Hardware\t: BCM2835\nRevision\t: b03115\n"}, "rpi-4b", ByRevision, ""},
		{"revision cell only", map[string]string{"proc/device-tree/system/linux,revision": "\x00\x90\x21\x20",
			"proc/cpuinfo": strings.ReplaceAll(pi4CPUInfo, "0xd08", "0xd03")}, "rpi-zero-2-w", ByRevision, ""},
		{"SoC only", map[string]string{"proc/device-tree/compatible": "raspberrypi,4-compute-module\x00brcm,bcm2711\x00"}, "rpi-4b", BySoCCompatible, "matched by SoC only"},
		{"tegra release only", map[string]string{"etc/nv_tegra_release": "# R32 (release), REVISION: 6.1, GCID: 1, BOARD: t210ref, EABI: aarch64\n"}, "jetson-nano", ByTegraRelease, ""},
		{"nothing", map[string]string{}, "generic-arm64", ByFallback, "no profile matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Detect(mapFS(tc.files), arm64CPU)
			if err != nil {
				t.Fatal(err)
			}
			if d.Profile.ID != tc.want || d.MatchedBy != tc.by {
				t.Fatalf("got %s by %s, want %s by %s (warnings %q)", d.Profile.ID, d.MatchedBy, tc.want, tc.by, d.Warnings)
			}
			if !d.Trusted() {
				t.Errorf("untrusted: %q", d.Problems)
			}
			if tc.warning != "" && !slices.ContainsFunc(d.Warnings, func(w string) bool { return strings.Contains(w, tc.warning) }) {
				t.Errorf("warnings %q, want one containing %q", d.Warnings, tc.warning)
			}
		})
	}
}

func TestDetectReportsConflicts(t *testing.T) {
	pi4 := map[string]string{
		"proc/device-tree/compatible": "raspberrypi,4-model-b\x00brcm,bcm2711\x00",
		"proc/cpuinfo":                pi4CPUInfo,
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range pi4 {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		files   map[string]string
		cpu     CPUSource
		problem string
		missing Feature
	}{
		{"model names another board", with(map[string]string{"proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\x00"}), arm64CPU, "says rpi-5 but compatible says rpi-4b", 0},
		{"revision names another board", with(map[string]string{"proc/device-tree/system/linux,revision": "\x00\xc0\x41\x70"}), arm64CPU, "board type 0x17 (rpi-5)", 0},
		{"cpu part differs", with(map[string]string{"proc/cpuinfo": strings.ReplaceAll(pi4CPUInfo, "0xd08", "0xd03")}), arm64CPU, "CPU part 0xd03, but rpi-4b has 0xd08", 0},
		{"tegra release on a Pi", with(map[string]string{"etc/nv_tegra_release": "# R36 (release), REVISION: 4.3\n"}), arm64CPU, "nv_tegra_release exists", 0},
		{"cpu lacks asimd", pi4, StaticCPU{Arch: "arm64", Source: "test"}, "CPU lacks asimd", ASIMD},
		{"architecture", pi4, StaticCPU{Arch: "amd64", Features: AVX2, Source: "test"}, "architecture amd64 is not one rpi-4b runs", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Detect(mapFS(tc.files), tc.cpu)
			if err != nil {
				t.Fatal(err)
			}
			if d.Profile.ID != "rpi-4b" {
				t.Errorf("profile %s, want rpi-4b (compatible is strongest)", d.Profile.ID)
			}
			if d.Trusted() || !slices.ContainsFunc(d.Problems, func(p string) bool { return strings.Contains(p, tc.problem) }) {
				t.Errorf("problems %q, want one containing %q", d.Problems, tc.problem)
			}
			if d.Missing != tc.missing {
				t.Errorf("missing %v, want %v", d.Missing, tc.missing)
			}
		})
	}
}

// A Pi 5 whose CPU reports no SDOT (for example, a Pi 5 image running
// under an emulator for a Cortex-A72) is reported, not trusted.
func TestDetectPi5WithoutDotProd(t *testing.T) {
	fsys := os.DirFS(fixture(t, "rpi-5"))
	d, err := Detect(fsys, StaticCPU{Arch: "arm64", Features: ASIMD, Part: "0xd08", Source: "fake cortex-a72"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Profile.ID != "rpi-5" || d.Trusted() || d.Missing != DotProd {
		t.Fatalf("got %s trusted=%v missing=%v problems=%q", d.Profile.ID, d.Trusted(), d.Missing, d.Problems)
	}
	c, ok := clueFrom(d, "cpu: fake cortex-a72")
	if !ok || !strings.Contains(c.Meaning, "lacks dotprod") {
		t.Errorf("cpu clue %+v", c)
	}
}

func TestDetectGarbage(t *testing.T) {
	files := map[string]string{
		"proc/device-tree/compatible":            "\xff\xfe\x00\x01",
		"sys/firmware/devicetree/base/model":     "two\x00strings\x00",
		"proc/device-tree/system/linux,revision": "\x00\x01\x02",
		"proc/cpuinfo":                           "this is not cpuinfo",
		"etc/nv_tegra_release":                   "Ubuntu 22.04\n",
	}
	d, err := Detect(mapFS(files), arm64CPU)
	if err != nil {
		t.Fatal(err)
	}
	if d.Profile.ID != "generic-arm64" {
		t.Errorf("profile %s, want the generic fallback", d.Profile.ID)
	}
	for _, want := range []string{
		"proc/device-tree/compatible: not a list of printable strings",
		"sys/firmware/devicetree/base/model: not one printable string",
		"linux,revision: 3 bytes",
		"proc/cpuinfo: no \"processor\" lines",
		"etc/nv_tegra_release: first line",
	} {
		if !slices.ContainsFunc(d.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("no warning containing %q in %q", want, d.Warnings)
		}
	}
}

func TestDetectErrors(t *testing.T) {
	_, err := Detect(mapFS(nil), CPUInfoCPU(mapFS(nil)))
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "proc/cpuinfo") {
		t.Errorf("no cpuinfo: err = %v", err)
	}
	boom := errors.New("boom")
	if _, err := Detect(mapFS(nil), failingCPU{boom}); !errors.Is(err, boom) {
		t.Errorf("failing source: err = %v", err)
	}
	if _, err := Detect(mapFS(nil), nil); err == nil {
		t.Error("nil CPU source accepted")
	}
	// An architecture with no generic profile.
	if _, err := Detect(mapFS(nil), StaticCPU{Arch: "riscv64"}); err == nil || !strings.Contains(err.Error(), "riscv64") {
		t.Errorf("riscv64: err = %v", err)
	}
}

type failingCPU struct{ err error }

func (f failingCPU) CPU() (CPU, error) { return CPU{}, f.err }

func TestParseCPUInfo(t *testing.T) {
	for _, tc := range []struct {
		board string
		arch  string
		feat  Feature
		part  string
		cores int
	}{
		{"rpi-4b", "arm64", ASIMD, "0xd08", 4},
		{"rpi-5", "arm64", ASIMD | DotProd | FP16, "0xd0b", 4},
		{"rpi-3b-plus", "arm", NEON | VFPv4 | IDIVA, "0xd03", 4},
		{"jetson-orin-nx", "arm64", ASIMD | DotProd | FP16, "0xd42", 8},
		{"generic-arm64", "arm64", ASIMD | DotProd | FP16, "0xd05", 8},
		{"generic-armv7", "arm", NEON, "0xc09", 4},
		{"generic-amd64", "amd64", AVX2, "", 2},
	} {
		c, err := CPUInfoCPU(os.DirFS(fixture(t, tc.board))).CPU()
		if err != nil {
			t.Fatalf("%s: %v", tc.board, err)
		}
		if c.Arch != tc.arch || c.Features != tc.feat || c.Part != tc.part || c.Cores != tc.cores {
			t.Errorf("%s: got %s %v part %q %d cores, want %s %v part %q %d cores", tc.board, c.Arch, c.Features, c.Part, c.Cores, tc.arch, tc.feat, tc.part, tc.cores)
		}
	}
	if _, err := parseCPUInfo([]byte("processor : 0\nfoo : bar\n")); err == nil || !strings.Contains(err.Error(), "architecture") {
		t.Errorf("cpuinfo without arch: err = %v", err)
	}
}

// TestHostCPU checks the real CPU source. On the qemu lanes the CI sets
// EDGEINFER_EXPECT_FEATURES (features the emulated core has) and
// EDGEINFER_EXPECT_ABSENT (features it lacks): a mismatch is a failure,
// not a skip, so a broken HWCAP path cannot pass silently.
func TestHostCPU(t *testing.T) {
	c, err := HostCPU().CPU()
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != runtime.GOARCH || c.Cores < 1 {
		t.Errorf("host CPU %+v", c)
	}
	if runtime.GOARCH == "arm64" && !c.Features.Has(ASIMD) {
		t.Errorf("arm64 without asimd: %v", c.Features)
	}
	for _, env := range []struct {
		name string
		want bool
	}{{"EDGEINFER_EXPECT_FEATURES", true}, {"EDGEINFER_EXPECT_ABSENT", false}} {
		list := os.Getenv(env.name)
		if list == "" {
			continue
		}
		for _, n := range strings.Split(list, ",") {
			f, err := ParseFeature(strings.TrimSpace(n))
			if err != nil {
				t.Fatalf("%s: %v", env.name, err)
			}
			if c.Features.Has(f) != env.want {
				t.Errorf("%s=%s: host CPU reports %v", env.name, list, c.Features)
			}
		}
	}
	t.Logf("host CPU: %s %v part %q, %d cores, notes %q", c.Arch, c.Features, c.Part, c.Cores, c.Notes)
}

func TestDetectSoftWarnings(t *testing.T) {
	files := map[string]string{
		"proc/device-tree/compatible": "nvidia,p3768-0000+p3767-0005\x00nvidia,p3767-0005\x00nvidia,tegra234\x00",
		"etc/nv_tegra_release":        "# R32 (release), REVISION: 7.1, GCID: 1, BOARD: t186ref, EABI: aarch64\n",
		"proc/cpuinfo":                strings.ReplaceAll(pi4CPUInfo, "0xd08", "0xd42"),
	}
	d, err := Detect(mapFS(files), StaticCPU{Arch: "arm64", Features: ASIMD | DotProd, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Profile.ID != "jetson-orin-nano" || !d.Trusted() {
		t.Fatalf("got %s, problems %q", d.Profile.ID, d.Problems)
	}
	for _, want := range []string{"L4T R32 is unusual for jetson-orin-nano", "4 cores online, profile jetson-orin-nano has 6"} {
		if !slices.ContainsFunc(d.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("warnings %q lack %q", d.Warnings, want)
		}
	}
}
