package boards

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// How a Detection found its profile, strongest first.
const (
	ByCompatible    = "compatible"     // a board-level device-tree compatible string
	ByModel         = "model"          // the device-tree (or cpuinfo) model string
	ByRevision      = "revision"       // the Raspberry Pi revision code
	BySoCCompatible = "soc-compatible" // only the SoC compatible string
	ByTegraRelease  = "tegra-release"  // only /etc/nv_tegra_release
	ByFallback      = "fallback"       // nothing known: a generic profile for the architecture
)

// Clue is one piece of evidence: a file (or the CPU source), what it said,
// and what detection made of it.
type Clue struct {
	Source  string `json:"source"`
	Value   string `json:"value"`
	Meaning string `json:"meaning"`
}

// Detection is the result of Detect: the profile, how it was chosen, the
// evidence, and the reasons, if any, not to trust it.
type Detection struct {
	Profile   Profile `json:"profile"`
	MatchedBy string  `json:"matched_by"`
	Evidence  []Clue  `json:"evidence"`
	CPU       CPU     `json:"cpu"`
	// Expected are the features the profile expects for CPU.Arch; Missing
	// are those the CPU does not report.
	Expected Feature `json:"expected"`
	Missing  Feature `json:"missing"`
	// Warnings are weak or odd evidence that does not change the answer.
	Warnings []string `json:"warnings,omitempty"`
	// Problems make the detection untrusted: the CPU lacks an expected
	// feature, runs an architecture the board does not, or two sources name
	// different boards. Kernels must then dispatch on CPU.Features alone.
	Problems []string `json:"problems,omitempty"`
}

// Trusted reports whether the profile can be relied on as is.
func (d *Detection) Trusted() bool { return len(d.Problems) == 0 }

// Device-tree locations. /proc/device-tree is a link to the second one, but
// either may be missing in a container or a recorded tree.
var dtRoots = []string{"proc/device-tree", "sys/firmware/devicetree/base"}

const pathTegraRelease = "etc/nv_tegra_release"

// Detect identifies the board whose root file system is fsys (os.DirFS("/")
// on a live system) and checks its profile against the CPU that cpu
// reports. Missing or unreadable files are evidence, not errors: an unknown
// board gets the generic profile of its architecture. Detect fails only if
// the CPU source fails or the built-in profiles are broken.
func Detect(fsys fs.FS, cpu CPUSource) (Detection, error) {
	profiles, err := Builtin()
	if err != nil {
		return Detection{}, err
	}
	return detect(fsys, cpu, profiles)
}

// facts is what detection read from the tree.
type facts struct {
	compatible []string
	compatPath string
	model      string
	modelPath  string
	revision   uint32 // Raspberry Pi revision code; 0 when unknown
	revPath    string
	cpuinfo    *cpuInfo
	tegra      *tegraRelease
}

func detect(fsys fs.FS, src CPUSource, profiles []Profile) (Detection, error) {
	var d Detection
	if src == nil {
		return d, errors.New("detect board: no CPU source")
	}
	c, err := src.CPU()
	if err != nil {
		return d, fmt.Errorf("detect board: %w", err)
	}
	d.CPU = c
	f := d.readFacts(fsys)

	idx, by := match(profiles, f)
	if idx < 0 {
		arch := c.Arch
		if f.cpuinfo != nil && f.cpuinfo.arch != "" {
			// The tree's own cpuinfo speaks for the board; the CPU source
			// may be the machine inspecting a recorded tree.
			arch = f.cpuinfo.arch
		}
		for i := range profiles {
			if profiles[i].Generic && slices.Contains(profiles[i].Arch, arch) {
				idx, by = i, ByFallback
				break
			}
		}
		if idx < 0 {
			return d, fmt.Errorf("detect board: unknown board and no generic profile for architecture %q", arch)
		}
		d.Warnings = append(d.Warnings, fmt.Sprintf("no profile matches this board; using %s for %s", profiles[idx].ID, arch))
	}
	d.Profile, d.MatchedBy = profiles[idx], by
	d.crossCheck(profiles, f)
	d.checkCPU()
	return d, nil
}

// readFacts reads every identity source it can, recording a clue or a
// warning for each.
func (d *Detection) readFacts(fsys fs.FS) facts {
	var f facts
	for _, root := range dtRoots {
		p := root + "/compatible"
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			d.noteReadErr(p, err)
			continue
		}
		list, ok := splitNUL(data)
		if !ok {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: not a list of printable strings (%d bytes); ignored", p, len(data)))
			continue
		}
		f.compatible, f.compatPath = list, p
		break
	}
	for _, root := range dtRoots {
		p := root + "/model"
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			d.noteReadErr(p, err)
			continue
		}
		list, ok := splitNUL(data)
		if !ok || len(list) != 1 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: not one printable string (%d bytes); ignored", p, len(data)))
			continue
		}
		f.model, f.modelPath = list[0], p
		break
	}
	for _, root := range dtRoots {
		p := root + "/system/linux,revision"
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			d.noteReadErr(p, err)
			continue
		}
		if len(data) != 4 {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %d bytes, want a 4-byte big-endian cell; ignored", p, len(data)))
			continue
		}
		f.revision, f.revPath = binary.BigEndian.Uint32(data), p
		break
	}
	if data, err := fs.ReadFile(fsys, pathCPUInfo); err != nil {
		d.noteReadErr(pathCPUInfo, err)
	} else if ci, err := parseCPUInfo(data); err != nil {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %v; ignored", pathCPUInfo, err))
	} else {
		f.cpuinfo = &ci
		if f.model == "" && ci.model != "" {
			f.model, f.modelPath = ci.model, pathCPUInfo+" (Model)"
		}
		if f.revision == 0 && ci.revision != "" {
			v, err := strconv.ParseUint(ci.revision, 16, 32)
			if err != nil {
				d.Warnings = append(d.Warnings, fmt.Sprintf("%s: Revision %q is not hex; ignored", pathCPUInfo, ci.revision))
			} else {
				f.revision, f.revPath = uint32(v), pathCPUInfo+" (Revision)"
			}
		}
	}
	if data, err := fs.ReadFile(fsys, pathTegraRelease); err != nil {
		d.noteReadErr(pathTegraRelease, err)
	} else if tr, err := parseTegraRelease(data); err != nil {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %v; ignored", pathTegraRelease, err))
	} else {
		f.tegra = &tr
	}
	return f
}

// noteReadErr keeps read failures other than absence, which is normal: a
// Pi has no nv_tegra_release.
func (d *Detection) noteReadErr(p string, err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %v", p, err))
	}
}

// match returns the index of the profile the facts point at and how, or -1.
func match(ps []Profile, f facts) (int, string) {
	for _, c := range f.compatible {
		for i := range ps {
			if slices.Contains(ps[i].Match.Compatible, c) {
				return i, ByCompatible
			}
		}
	}
	if f.model != "" {
		for i := range ps {
			if ps[i].MatchesModel(f.model) {
				return i, ByModel
			}
		}
	}
	if bt, ok := revisionBoardType(f.revision); ok {
		for i := range ps {
			if slices.Contains(ps[i].Match.RevisionBoardType, bt) {
				return i, ByRevision
			}
		}
	}
	for _, c := range f.compatible {
		for i := range ps {
			if slices.Contains(ps[i].Match.SoCCompatible, c) {
				return i, BySoCCompatible
			}
		}
	}
	if f.tegra != nil {
		for i := range ps {
			if slices.Contains(ps[i].Match.TegraRelease, f.tegra.release) {
				return i, ByTegraRelease
			}
		}
	}
	return -1, ""
}

// crossCheck records a clue for every fact and a problem wherever a fact
// names a different board than the one chosen.
func (d *Detection) crossCheck(ps []Profile, f facts) {
	p := &d.Profile
	other := func(pred func(*Profile) bool) string {
		for i := range ps {
			if ps[i].ID != p.ID && pred(&ps[i]) {
				return ps[i].ID
			}
		}
		return ""
	}
	if f.compatPath != "" {
		meaning := "no profile lists these strings"
		for _, c := range f.compatible {
			if slices.Contains(p.Match.Compatible, c) {
				meaning = fmt.Sprintf("board %s (%s)", p.ID, c)
				break
			}
			if slices.Contains(p.Match.SoCCompatible, c) {
				meaning = fmt.Sprintf("SoC of %s (%s); the board-level string is not in any profile", p.ID, c)
				break
			}
		}
		d.Evidence = append(d.Evidence, Clue{f.compatPath, strings.Join(f.compatible, " "), meaning})
		if d.MatchedBy == BySoCCompatible {
			d.Warnings = append(d.Warnings, "matched by SoC only: a board of the same SoC but different cooling or cores would look the same")
		}
	}
	if f.compatPath == "" && !strings.HasPrefix(f.modelPath, dtRoots[0]) && !strings.HasPrefix(f.modelPath, dtRoots[1]) {
		d.Evidence = append(d.Evidence, Clue{dtRoots[0], "absent", "no device tree (ACPI machine, container, or a tree recorded without it)"})
	}
	if f.modelPath != "" {
		switch {
		case p.MatchesModel(f.model):
			d.Evidence = append(d.Evidence, Clue{f.modelPath, f.model, "board " + p.ID})
		case other(func(q *Profile) bool { return q.MatchesModel(f.model) }) != "":
			id := other(func(q *Profile) bool { return q.MatchesModel(f.model) })
			d.Evidence = append(d.Evidence, Clue{f.modelPath, f.model, "board " + id})
			d.Problems = append(d.Problems, fmt.Sprintf("%s says %s but %s says %s", f.modelPath, id, d.MatchedBy, p.ID))
		default:
			d.Evidence = append(d.Evidence, Clue{f.modelPath, f.model, "no profile matches this model"})
			if !p.Generic {
				d.Warnings = append(d.Warnings, fmt.Sprintf("model %q is not recognised by profile %s", f.model, p.ID))
			}
		}
	}
	if f.revPath != "" {
		value := fmt.Sprintf("%06x", f.revision)
		if bt, ok := revisionBoardType(f.revision); !ok {
			d.Evidence = append(d.Evidence, Clue{f.revPath, value, "old-style or non-Pi revision code; no board type"})
		} else if slices.Contains(p.Match.RevisionBoardType, bt) {
			d.Evidence = append(d.Evidence, Clue{f.revPath, value, fmt.Sprintf("board type %#02x: %s", bt, p.ID)})
		} else if id := other(func(q *Profile) bool { return slices.Contains(q.Match.RevisionBoardType, bt) }); id != "" {
			d.Evidence = append(d.Evidence, Clue{f.revPath, value, fmt.Sprintf("board type %#02x: %s", bt, id)})
			d.Problems = append(d.Problems, fmt.Sprintf("%s says board type %#02x (%s) but %s says %s", f.revPath, bt, id, d.MatchedBy, p.ID))
		} else {
			d.Evidence = append(d.Evidence, Clue{f.revPath, value, fmt.Sprintf("board type %#02x: no profile", bt)})
		}
	}
	if ci := f.cpuinfo; ci != nil {
		value := fmt.Sprintf("%s, %d cores", ci.arch, ci.cores)
		if len(ci.parts) > 0 {
			value += ", part " + strings.Join(ci.parts, "/")
		}
		if ci.hardware != "" {
			value += ", Hardware " + ci.hardware
		}
		meaning := "consistent with " + p.ID
		if p.CPU.Part != "" && len(ci.parts) > 0 && !slices.Contains(ci.parts, p.CPU.Part) {
			meaning = fmt.Sprintf("CPU part differs from %s's %s (%s)", p.ID, p.CPU.Part, p.CPU.Core)
			d.Problems = append(d.Problems, fmt.Sprintf("%s: CPU part %s, but %s has %s (%s)", pathCPUInfo, strings.Join(ci.parts, "/"), p.ID, p.CPU.Part, p.CPU.Core))
		} else if p.CPU.Cores > 0 && ci.cores != p.CPU.Cores {
			meaning = fmt.Sprintf("%d cores online, %s has %d", ci.cores, p.ID, p.CPU.Cores)
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %d cores online, profile %s has %d", pathCPUInfo, ci.cores, p.ID, p.CPU.Cores))
		}
		d.Evidence = append(d.Evidence, Clue{pathCPUInfo, value, meaning})
	}
	if tr := f.tegra; tr != nil {
		value := fmt.Sprintf("%s.%s board %s", tr.release, tr.revision, tr.board)
		isJetson := len(p.Match.TegraRelease) > 0 || slices.ContainsFunc(p.Match.Compatible, func(c string) bool { return strings.HasPrefix(c, "nvidia,") })
		switch {
		case !isJetson:
			d.Evidence = append(d.Evidence, Clue{pathTegraRelease, value, "an NVIDIA L4T system"})
			d.Problems = append(d.Problems, fmt.Sprintf("%s exists (L4T %s) but %s says %s", pathTegraRelease, tr.release, d.MatchedBy, p.ID))
		case len(p.Match.TegraRelease) > 0 && !slices.Contains(p.Match.TegraRelease, tr.release):
			d.Evidence = append(d.Evidence, Clue{pathTegraRelease, value, fmt.Sprintf("L4T %s, not a release %s ships with", tr.release, p.ID)})
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s: L4T %s is unusual for %s (expects %s)", pathTegraRelease, tr.release, p.ID, strings.Join(p.Match.TegraRelease, ", ")))
		default:
			d.Evidence = append(d.Evidence, Clue{pathTegraRelease, value, "L4T release of " + p.ID})
		}
	}
}

// checkCPU compares the CPU source with what the profile expects.
func (d *Detection) checkCPU() {
	p, c := &d.Profile, &d.CPU
	value := fmt.Sprintf("%s %v", c.Arch, c.Features)
	if c.Part != "" {
		value += " part " + c.Part
	}
	d.Warnings = append(d.Warnings, c.Notes...)
	if !slices.Contains(p.Arch, c.Arch) {
		d.Evidence = append(d.Evidence, Clue{"cpu: " + c.Source, value, "architecture not run by " + p.ID})
		d.Problems = append(d.Problems, fmt.Sprintf("CPU architecture %s is not one %s runs (%s)", c.Arch, p.ID, strings.Join(p.Arch, ", ")))
		return
	}
	// validate guarantees the names parse.
	d.Expected, _ = p.Expected(c.Arch)
	d.Missing = d.Expected &^ c.Features
	if d.Missing != 0 {
		d.Evidence = append(d.Evidence, Clue{"cpu: " + c.Source, value, fmt.Sprintf("lacks %v expected on %s", d.Missing, p.ID)})
		d.Problems = append(d.Problems, fmt.Sprintf("CPU lacks %v, which %s has on %s; kernels must not assume it", d.Missing, p.ID, c.Arch))
		return
	}
	meaning := fmt.Sprintf("has the expected %v", d.Expected)
	if d.Expected == 0 {
		meaning = fmt.Sprintf("%s expects no SIMD features on %s", p.ID, c.Arch)
	}
	d.Evidence = append(d.Evidence, Clue{"cpu: " + c.Source, value, meaning})
}

// revisionBoardType extracts the board type from a new-style Raspberry Pi
// revision code (bit 23 set); old-style codes carry no board type.
func revisionBoardType(rev uint32) (int, bool) {
	if rev&(1<<23) == 0 {
		return 0, false
	}
	return int(rev>>4) & 0xff, true
}

// splitNUL splits a device-tree string property (NUL-terminated strings)
// and reports whether every string is non-empty printable UTF-8.
func splitNUL(data []byte) ([]string, bool) {
	data = bytes.TrimRight(data, "\x00\n")
	if len(data) == 0 || !utf8.Valid(data) {
		return nil, false
	}
	var out []string
	for _, s := range strings.Split(string(data), "\x00") {
		if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// tegraRelease is the first line of /etc/nv_tegra_release, e.g.
// "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, ...".
type tegraRelease struct {
	release, revision, board string
}

func parseTegraRelease(data []byte) (tegraRelease, error) {
	var tr tegraRelease
	line, _, _ := strings.Cut(string(data), "\n")
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "# R")
	if !ok {
		return tr, fmt.Errorf("first line %q does not start with \"# R\"", truncate(line, 40))
	}
	num, rest, _ := strings.Cut(rest, " ")
	if _, err := strconv.Atoi(num); err != nil {
		return tr, fmt.Errorf("release %q is not a number", truncate(num, 20))
	}
	tr.release = "R" + num
	for _, field := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(field, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "REVISION":
			tr.revision = strings.TrimSpace(v)
		case "BOARD":
			tr.board = strings.TrimSpace(v)
		}
	}
	return tr, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
