package boards

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sync"
)

// Profile describes one board family: how to recognise it, what its CPU must
// offer, where its sensors live and what work it sustains by default. The
// built-in profiles are JSON files under profiles/, embedded in the binary.
type Profile struct {
	ID       string       `json:"id"`   // stable key, e.g. "rpi-4b"
	Name     string       `json:"name"` // human name
	Generic  bool         `json:"generic,omitempty"`
	Match    Match        `json:"match"`
	SoC      string       `json:"soc"`
	CPU      CPUSpec      `json:"cpu"`
	RAM      string       `json:"ram_class,omitempty"`
	Arch     []string     `json:"arch"`        // GOARCH values the board runs
	SIMD     SIMDExpect   `json:"simd_expect"` // GOARCH → feature names
	Camera   CameraHints  `json:"camera"`
	Thermal  ThermalSpec  `json:"thermal"`
	Power    PowerSpec    `json:"power"`
	Defaults DefaultLimit `json:"defaults"`

	model *regexp.Regexp // compiled Match.ModelRegex
}

// Match lists the strings that identify a board, strongest first.
type Match struct {
	// Compatible are board-level device-tree compatible strings. Each may
	// appear in one profile only.
	Compatible []string `json:"compatible,omitempty"`
	// SoCCompatible are SoC-level compatible strings ("brcm,bcm2711"), used
	// only when no board-level string matched. Each may appear in one
	// profile only; it names the profile to assume for that SoC.
	SoCCompatible []string `json:"soc_compatible,omitempty"`
	// ModelRegex matches the device-tree model string.
	ModelRegex string `json:"model_regex,omitempty"`
	// RevisionBoardType are Raspberry Pi new-style revision board types
	// (bits 4–11 of the revision code).
	RevisionBoardType []int `json:"revision_board_type,omitempty"`
	// TegraRelease are L4T major releases ("R32") that, with no device
	// tree, point at this profile.
	TegraRelease []string `json:"tegra_release,omitempty"`
}

// CPUSpec is the processor the board ships with.
type CPUSpec struct {
	Core   string `json:"core"`           // "cortex-a72"
	Part   string `json:"part,omitempty"` // MIDR part as in /proc/cpuinfo, "0xd08"
	Cores  int    `json:"cores"`          // 0 on generic profiles
	MaxMHz int    `json:"max_mhz,omitempty"`
}

// SIMDExpect maps a GOARCH to the feature names a CPU of this board must
// report when running a binary of that architecture.
type SIMDExpect map[string][]string

// CameraHints tell the camera layer where to look first on this board.
type CameraHints struct {
	// Sources are camera.Open URIs in order of preference.
	Sources []string `json:"sources"`
	// BayerFormat is the raw format the CSI receiver writes ("pRAA", "RG10").
	BayerFormat string `json:"bayer_format,omitempty"`
	// BayerAlign is how 10-bit samples sit in 16-bit containers: "lsb",
	// "msb", or "packed" for CSI-2 packing.
	BayerAlign string `json:"bayer_align,omitempty"`
	// BayerShift is the right shift that turns a container into a sample.
	BayerShift int `json:"bayer_shift,omitempty"`
}

// ThermalSpec names the thermal zones that matter and the limits in °C.
type ThermalSpec struct {
	Zones   []string `json:"zones"`    // thermal_zone*/type values, most relevant first
	TargetC float64  `json:"target_c"` // the governor holds below this
	SoftC   float64  `json:"soft_c"`   // firmware or kernel starts throttling
	CritC   float64  `json:"crit_c"`   // the governor pauses work
}

// Power sensor kinds a profile can name.
const (
	PowerNone         = "none"
	PowerRPiThrottled = "rpi_throttled" // firmware get_throttled bits
	PowerINA3221Hwmon = "ina3221_hwmon" // mainline ina3221 driver (Orin)
	PowerINA3221xIIO  = "ina3221x_iio"  // downstream L4T 32 IIO driver (Nano)
)

// PowerSpec says how the board reports power.
type PowerSpec struct {
	Kind string `json:"kind"`
	// Paths are fs.Glob patterns relative to the root: the get_throttled
	// file for rpi_throttled, the hwmon or iio:device directory otherwise.
	Paths []string `json:"paths,omitempty"`
	// TotalRail is the rail that carries the whole board's input power.
	TotalRail string `json:"total_rail,omitempty"`
	// BudgetMW is the input power the governor holds below; 0 means none.
	BudgetMW float64 `json:"budget_mw,omitempty"`
}

// DefaultLimit is the work a board sustains with ordinary cooling.
type DefaultLimit struct {
	Threads int     `json:"threads"` // 0: one per core found at run time
	FPS     float64 `json:"fps"`
}

// Expected returns the features the profile expects on arch, or an error
// naming a feature the profile spells wrongly.
func (p *Profile) Expected(arch string) (Feature, error) {
	var f Feature
	for _, name := range p.SIMD[arch] {
		x, err := ParseFeature(name)
		if err != nil {
			return 0, fmt.Errorf("profile %s: simd_expect[%s]: %w", p.ID, arch, err)
		}
		f |= x
	}
	return f, nil
}

// MatchesModel reports whether model matches the profile's model regex.
func (p *Profile) MatchesModel(model string) bool {
	return p.model != nil && p.model.MatchString(model)
}

//go:embed profiles/*.json
var builtinFS embed.FS

var builtin = sync.OnceValues(func() ([]Profile, error) {
	return LoadProfiles(builtinFS, "profiles")
})

// Builtin returns the embedded profiles, sorted by ID. The slice is shared:
// callers must not modify it. An error means the embedded data is broken,
// which the package tests rule out.
func Builtin() ([]Profile, error) { return builtin() }

// Lookup returns the built-in profile with the given ID.
func Lookup(id string) (Profile, error) {
	ps, err := Builtin()
	if err != nil {
		return Profile{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("board profile %q: %w", id, ErrUnknownProfile)
}

// ErrUnknownProfile is returned by Lookup for an ID no profile has.
var ErrUnknownProfile = errors.New("no such profile")

// LoadProfiles parses and validates every *.json file in dir of fsys. Each
// file holds one Profile. Unknown fields are errors, so a misspelt key in a
// profile is caught rather than silently defaulted.
func LoadProfiles(fsys fs.FS, dir string) ([]Profile, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("board profiles: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("board profiles: no *.json files in %s", dir)
	}
	out := make([]Profile, 0, len(names))
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("board profile: %w", err)
		}
		var p Profile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("board profile %s: %w", name, err)
		}
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("board profile %s: %w", name, err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Profile) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	if err := checkUnique(out); err != nil {
		return nil, fmt.Errorf("board profiles: %w", err)
	}
	return out, nil
}

var knownArch = []string{"arm64", "arm", "amd64"}

// validate checks one profile on its own and compiles its model regex.
func (p *Profile) validate() error {
	if p.ID == "" || p.Name == "" {
		return errors.New("id and name are required")
	}
	if len(p.Arch) == 0 {
		return fmt.Errorf("%s: arch is empty", p.ID)
	}
	for _, a := range p.Arch {
		if !slices.Contains(knownArch, a) {
			return fmt.Errorf("%s: arch %q is not one of %v", p.ID, a, knownArch)
		}
	}
	for arch := range p.SIMD {
		if !slices.Contains(p.Arch, arch) {
			return fmt.Errorf("%s: simd_expect has %q, which is not in arch %v", p.ID, arch, p.Arch)
		}
		if _, err := p.Expected(arch); err != nil {
			return err
		}
	}
	if p.Match.ModelRegex != "" {
		re, err := regexp.Compile(p.Match.ModelRegex)
		if err != nil {
			return fmt.Errorf("%s: model_regex: %w", p.ID, err)
		}
		p.model = re
	}
	if !p.Generic && len(p.Match.Compatible) == 0 && p.model == nil {
		return fmt.Errorf("%s: a board profile needs match.compatible or match.model_regex", p.ID)
	}
	t := p.Thermal
	if !(t.TargetC > 0 && t.TargetC < t.SoftC && t.SoftC <= t.CritC) {
		return fmt.Errorf("%s: thermal limits must satisfy 0 < target_c (%g) < soft_c (%g) <= crit_c (%g)", p.ID, t.TargetC, t.SoftC, t.CritC)
	}
	switch p.Power.Kind {
	case PowerNone:
	case PowerRPiThrottled, PowerINA3221Hwmon, PowerINA3221xIIO:
		if len(p.Power.Paths) == 0 {
			return fmt.Errorf("%s: power kind %s needs paths", p.ID, p.Power.Kind)
		}
		for _, g := range p.Power.Paths {
			if _, err := path.Match(g, ""); err != nil || !fs.ValidPath(g) {
				return fmt.Errorf("%s: power path %q is not a valid relative glob", p.ID, g)
			}
		}
	default:
		return fmt.Errorf("%s: power kind %q is not one of none, %s, %s, %s", p.ID, p.Power.Kind, PowerRPiThrottled, PowerINA3221Hwmon, PowerINA3221xIIO)
	}
	if p.Power.BudgetMW < 0 {
		return fmt.Errorf("%s: power budget_mw %g is negative", p.ID, p.Power.BudgetMW)
	}
	d := p.Defaults
	if d.Threads < 0 || d.FPS <= 0 {
		return fmt.Errorf("%s: defaults need threads >= 0 and fps > 0, have %d and %g", p.ID, d.Threads, d.FPS)
	}
	if p.CPU.Cores > 0 && d.Threads > p.CPU.Cores {
		return fmt.Errorf("%s: defaults.threads %d exceeds cpu.cores %d", p.ID, d.Threads, p.CPU.Cores)
	}
	if len(p.Camera.Sources) == 0 {
		return fmt.Errorf("%s: camera.sources is empty", p.ID)
	}
	return nil
}

// checkUnique rejects IDs and match strings claimed by two profiles, which
// would make detection depend on file order.
func checkUnique(ps []Profile) error {
	owner := map[string]string{}
	claim := func(kind, key, id string) error {
		k := kind + " " + key
		if prev, ok := owner[k]; ok {
			return fmt.Errorf("%s claimed by both %s and %s", k, prev, id)
		}
		owner[k] = id
		return nil
	}
	for _, p := range ps {
		if err := claim("id", p.ID, p.ID); err != nil {
			return err
		}
		for _, c := range p.Match.Compatible {
			if err := claim("compatible", c, p.ID); err != nil {
				return err
			}
		}
		for _, c := range p.Match.SoCCompatible {
			if err := claim("compatible", c, p.ID); err != nil {
				return err
			}
		}
		for _, t := range p.Match.RevisionBoardType {
			if err := claim("revision board type", fmt.Sprintf("%#x", t), p.ID); err != nil {
				return err
			}
		}
		for _, r := range p.Match.TegraRelease {
			if err := claim("tegra release", r, p.ID); err != nil {
				return err
			}
		}
		if p.Generic {
			for _, a := range p.Arch {
				if err := claim("generic arch", a, p.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
