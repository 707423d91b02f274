package boards

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuiltinProfiles(t *testing.T) {
	ps, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"generic-amd64", "generic-arm64", "generic-armv7", "jetson-nano", "jetson-orin-nano", "jetson-orin-nx",
		"rpi-3b", "rpi-3b-plus", "rpi-4b", "rpi-5", "rpi-zero-2-w"}
	var got []string
	for _, p := range ps {
		got = append(got, p.ID)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("profiles %v, want %v", got, want)
	}
	for _, p := range ps {
		if !p.Generic && p.CPU.Part == "" {
			t.Errorf("%s: a board profile needs cpu.part for the cpuinfo cross-check", p.ID)
		}
		if !p.Generic && p.model == nil {
			t.Errorf("%s: model regex not compiled", p.ID)
		}
		if _, err := NewGovernor(ConfigFor(p, 4)); err != nil {
			t.Errorf("%s: its defaults do not make a governor: %v", p.ID, err)
		}
	}
	// The research note: no target board has i8mm; Pi 5 and Orin have SDOT.
	for id, want := range map[string]Feature{"rpi-4b": ASIMD, "rpi-5": ASIMD | DotProd, "jetson-orin-nano": ASIMD | DotProd, "jetson-nano": ASIMD} {
		p, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := p.Expected("arm64"); got != want {
			t.Errorf("%s expects %v on arm64, want %v", id, got, want)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("rpi-9")
	if !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), "rpi-9") {
		t.Fatalf("err = %v, want ErrUnknownProfile naming rpi-9", err)
	}
}

const goodProfile = `{"id": "x", "name": "X", "match": {"compatible": ["x,board"]}, "soc": "s",
 "cpu": {"core": "c", "part": "0xd08", "cores": 4}, "arch": ["arm64"], "simd_expect": {"arm64": ["asimd"]},
 "camera": {"sources": ["v4l2:///dev/video0"]}, "thermal": {"zones": [], "target_c": 70, "soft_c": 80, "crit_c": 85},
 "power": {"kind": "none"}, "defaults": {"threads": 2, "fps": 5}}`

func TestLoadProfilesRejectsBadData(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(goodProfile, old) {
			t.Fatalf("test bug: %q not in the profile", old)
		}
		return strings.Replace(goodProfile, old, new, 1)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"not json", map[string]string{"p/a.json": "{"}, "p/a.json"},
		{"unknown field", map[string]string{"p/a.json": edit(`"soc": "s"`, `"soc": "s", "sok": 1`)}, "sok"},
		{"bad feature", map[string]string{"p/a.json": edit(`["asimd"]`, `["asmid"]`)}, `"asmid"`},
		{"simd for other arch", map[string]string{"p/a.json": edit(`{"arm64": ["asimd"]}`, `{"arm": ["neon"]}`)}, "not in arch"},
		{"bad arch", map[string]string{"p/a.json": edit(`["arm64"]`, `["aarch64"]`)}, "aarch64"},
		{"bad regex", map[string]string{"p/a.json": edit(`"compatible": ["x,board"]`, `"model_regex": "("`)}, "model_regex"},
		{"no match", map[string]string{"p/a.json": edit(`"compatible": ["x,board"]`, `"compatible": []`)}, "needs match"},
		{"thermal order", map[string]string{"p/a.json": edit(`"target_c": 70`, `"target_c": 90`)}, "target_c"},
		{"power kind", map[string]string{"p/a.json": edit(`"kind": "none"`, `"kind": "pmbus"`)}, "pmbus"},
		{"power paths", map[string]string{"p/a.json": edit(`"kind": "none"`, `"kind": "rpi_throttled"`)}, "needs paths"},
		{"bad glob", map[string]string{"p/a.json": edit(`"kind": "none"`, `"kind": "rpi_throttled", "paths": ["/sys/["]`)}, "glob"},
		{"threads over cores", map[string]string{"p/a.json": edit(`"threads": 2`, `"threads": 5`)}, "exceeds"},
		{"zero fps", map[string]string{"p/a.json": edit(`"fps": 5`, `"fps": 0`)}, "fps"},
		{"no camera", map[string]string{"p/a.json": edit(`["v4l2:///dev/video0"]`, `[]`)}, "camera"},
		{"duplicate compatible", map[string]string{"p/a.json": goodProfile, "p/b.json": edit(`"id": "x"`, `"id": "y"`)}, "compatible x,board claimed by both x and y"},
		{"empty dir", map[string]string{"q/a.json": goodProfile}, "no *.json"},
	} {
		fsys := fstest.MapFS{}
		for name, data := range tc.files {
			fsys[name] = &fstest.MapFile{Data: []byte(data)}
		}
		_, err := LoadProfiles(fsys, "p")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	fsys := fstest.MapFS{"p/a.json": {Data: []byte(goodProfile)}}
	if ps, err := LoadProfiles(fsys, "p"); err != nil || len(ps) != 1 || ps[0].ID != "x" {
		t.Fatalf("good profile: %v, %v", ps, err)
	}
}

func TestFeatureNames(t *testing.T) {
	f := ASIMD | DotProd | I8MM
	if got := f.String(); got != "asimd+dotprod+i8mm" {
		t.Errorf("String = %q", got)
	}
	if Feature(0).String() != "none" {
		t.Errorf("zero String = %q", Feature(0).String())
	}
	for _, n := range (ASIMD | DotProd | I8MM | SVE | FP16 | NEON | VFPv4 | IDIVA | AVX2 | AVX512).Names() {
		g, err := ParseFeature(n)
		if err != nil || g.String() != n {
			t.Errorf("ParseFeature(%q) = %v, %v", n, g, err)
		}
	}
	if _, err := ParseFeature("sdot"); err == nil {
		t.Error("ParseFeature accepted an unknown name")
	}
	for _, in := range []Feature{0, f, NEON | VFPv4} {
		text, _ := in.MarshalText()
		var back Feature
		if err := back.UnmarshalText(text); err != nil || back != in {
			t.Errorf("text round trip of %v: %v, %v", in, back, err)
		}
	}
	var bad Feature
	if err := bad.UnmarshalText([]byte("asimd+sdot")); err == nil || !strings.Contains(err.Error(), "sdot") {
		t.Errorf("UnmarshalText of an unknown name: %v", err)
	}
	if !f.Has(ASIMD|I8MM) || f.Has(SVE) {
		t.Error("Has is wrong")
	}
}
