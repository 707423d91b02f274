package boards

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/cpu"
)

// Feature is one CPU capability that decides which kernel path can run.
// Features combine as a bit set.
type Feature uint32

// The features a board profile can expect. Names follow the Linux HWCAP
// spelling in /proc/cpuinfo, except DotProd ("asimddp" there) which the
// profiles call "dotprod" after the instruction family.
const (
	ASIMD   Feature = 1 << iota // arm64 Advanced SIMD (NEON)
	DotProd                     // arm64 SDOT/UDOT
	I8MM                        // arm64 SMMLA/UMMLA
	SVE                         // arm64 scalable vectors
	FP16                        // arm64 half-precision SIMD arithmetic
	NEON                        // 32-bit arm NEON
	VFPv4                       // 32-bit arm VFPv4 (fused multiply-add)
	IDIVA                       // 32-bit arm integer divide in ARM state
	AVX2                        // amd64 AVX2
	AVX512                      // amd64 AVX-512 foundation
)

// featureNames lists the profile spelling of each Feature, in bit order.
var featureNames = [...]struct {
	f    Feature
	name string
}{
	{ASIMD, "asimd"}, {DotProd, "dotprod"}, {I8MM, "i8mm"}, {SVE, "sve"},
	{FP16, "fp16"}, {NEON, "neon"}, {VFPv4, "vfpv4"}, {IDIVA, "idiva"},
	{AVX2, "avx2"}, {AVX512, "avx512"},
}

// ParseFeature returns the Feature named name ("asimd", "dotprod", "i8mm",
// ...). It is the spelling used in profile files.
func ParseFeature(name string) (Feature, error) {
	for _, fn := range featureNames {
		if fn.name == name {
			return fn.f, nil
		}
	}
	return 0, fmt.Errorf("unknown CPU feature %q", name)
}

// Has reports whether every feature in want is in f.
func (f Feature) Has(want Feature) bool { return f&want == want }

// Names returns the names of the features in f, in a fixed order.
func (f Feature) Names() []string {
	out := make([]string, 0, bits.OnesCount32(uint32(f)))
	for _, fn := range featureNames {
		if f&fn.f != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// String joins the feature names with "+", or returns "none".
func (f Feature) String() string {
	if f == 0 {
		return "none"
	}
	return strings.Join(f.Names(), "+")
}

// MarshalText writes the String form so JSON output reads as names.
func (f Feature) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads the String form back ("asimd+dotprod", "none").
func (f *Feature) UnmarshalText(text []byte) error {
	*f = 0
	if s := string(text); s != "none" && s != "" {
		for _, name := range strings.Split(s, "+") {
			x, err := ParseFeature(name)
			if err != nil {
				return err
			}
			*f |= x
		}
	}
	return nil
}

// CPU is what a CPUSource found out about the processor.
type CPU struct {
	Arch     string   `json:"arch"`           // GOARCH spelling: "arm64", "arm", "amd64"
	Features Feature  `json:"features"`       // what the code may use
	Part     string   `json:"part,omitempty"` // MIDR part number such as "0xd08"; "" when unknown
	Cores    int      `json:"cores"`          // logical CPUs; 0 when unknown
	Source   string   `json:"source"`         // where the answer came from, for the evidence
	Notes    []string `json:"notes,omitempty"`
}

// CPUSource reports the CPU that the kernels will run on. Detection takes
// one so that tests, and the CLI pointed at a fixture tree, can say which
// CPU to check the profile against.
type CPUSource interface {
	CPU() (CPU, error)
}

// StaticCPU is a CPUSource that returns itself; tests use it to fake a CPU.
type StaticCPU CPU

// CPU returns c.
func (c StaticCPU) CPU() (CPU, error) { return CPU(c), nil }

// HostCPU returns the CPUSource of the running process: golang.org/x/sys/cpu
// for the feature bits (the same variables the kernels dispatch on), and
// klauspost/cpuid for the MIDR part number. A disagreement between the two
// libraries is kept as a note.
func HostCPU() CPUSource { return hostCPU{} }

type hostCPU struct{}

func (hostCPU) CPU() (CPU, error) {
	c := CPU{Arch: runtime.GOARCH, Cores: runtime.NumCPU(), Source: "host (x/sys/cpu, cpuid)"}
	switch runtime.GOARCH {
	case "arm64":
		set := func(f Feature, has bool) {
			if has {
				c.Features |= f
			}
		}
		set(ASIMD, cpu.ARM64.HasASIMD)
		set(DotProd, cpu.ARM64.HasASIMDDP)
		set(I8MM, cpu.ARM64.HasI8MM)
		set(SVE, cpu.ARM64.HasSVE)
		set(FP16, cpu.ARM64.HasASIMDHP)
		// cpuid reads the same HWCAP words through a different path; a
		// difference means one of them is misreading the kernel.
		var alt Feature
		for _, p := range []struct {
			f  Feature
			id cpuid.FeatureID
		}{{ASIMD, cpuid.ASIMD}, {DotProd, cpuid.ASIMDDP}, {I8MM, cpuid.I8MM}, {SVE, cpuid.SVE}, {FP16, cpuid.ASIMDHP}} {
			if cpuid.CPU.Supports(p.id) {
				alt |= p.f
			}
		}
		if alt != c.Features {
			c.Notes = append(c.Notes, fmt.Sprintf("x/sys/cpu reports %v but cpuid reports %v; using x/sys/cpu", c.Features, alt))
		}
		// On ARM cpuid's Model is part<<4 | revision when MIDR is readable.
		if m := cpuid.CPU.Model; m > 0xf {
			c.Part = fmt.Sprintf("%#x", m>>4)
		}
	case "arm":
		// cpuid reports nothing on 32-bit arm; x/sys/cpu reads AT_HWCAP.
		if cpu.ARM.HasNEON {
			c.Features |= NEON
		}
		if cpu.ARM.HasVFPv4 {
			c.Features |= VFPv4
		}
		if cpu.ARM.HasIDIVA {
			c.Features |= IDIVA
		}
	case "amd64":
		if cpu.X86.HasAVX2 {
			c.Features |= AVX2
		}
		if cpu.X86.HasAVX512F {
			c.Features |= AVX512
		}
	}
	return c, nil
}

// CPUInfoCPU returns a CPUSource that reads proc/cpuinfo from fsys. It is
// the right source when fsys is a recorded tree of another board, and a
// cross-check of HostCPU on a live system.
func CPUInfoCPU(fsys fs.FS) CPUSource { return cpuinfoCPU{fsys} }

type cpuinfoCPU struct{ fsys fs.FS }

func (s cpuinfoCPU) CPU() (CPU, error) {
	data, err := fs.ReadFile(s.fsys, pathCPUInfo)
	if err != nil {
		return CPU{}, fmt.Errorf("cpu features: %w", err)
	}
	info, err := parseCPUInfo(data)
	if err != nil {
		return CPU{}, fmt.Errorf("cpu features: %s: %w", pathCPUInfo, err)
	}
	return info.cpu(), nil
}

const pathCPUInfo = "proc/cpuinfo"

// cpuInfo is the part of /proc/cpuinfo that detection uses.
type cpuInfo struct {
	arch     string
	features []string // first processor's Features (arm) or flags (x86) line
	parts    []string // distinct CPU part values, in order of appearance
	cores    int      // number of "processor" stanzas
	hardware string   // Raspberry Pi kernels: "BCM2835"
	revision string   // Raspberry Pi kernels: "c03114"
	model    string   // Raspberry Pi kernels: "Raspberry Pi 4 Model B Rev 1.4"
}

// parseCPUInfo reads the key: value lines of /proc/cpuinfo. It fails when
// the text has no processor stanza, or when nothing in it tells the
// architecture, so that a truncated or unrelated file is reported.
func parseCPUInfo(data []byte) (cpuInfo, error) {
	var ci cpuInfo
	archLine := ""
	modelName := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			if _, err := strconv.Atoi(v); err == nil {
				ci.cores++
			}
		case "Features", "flags":
			if ci.features == nil {
				ci.features = strings.Fields(v)
			}
		case "CPU architecture":
			archLine = v
		case "CPU part":
			if !slices.Contains(ci.parts, v) {
				ci.parts = append(ci.parts, v)
			}
		case "model name":
			if modelName == "" {
				modelName = v
			}
		case "vendor_id":
			if ci.arch == "" {
				ci.arch = "amd64"
			}
		case "Hardware":
			ci.hardware = v
		case "Revision":
			ci.revision = v
		case "Model":
			ci.model = v
		}
	}
	if err := sc.Err(); err != nil {
		return ci, err
	}
	if ci.cores == 0 {
		return ci, fmt.Errorf("no \"processor\" lines: not a cpuinfo file")
	}
	if ci.arch == "" {
		switch {
		case slices.Contains(ci.features, "asimd") || slices.Contains(ci.features, "fp") && archLine == "8" && !slices.Contains(ci.features, "vfp"):
			ci.arch = "arm64"
		case slices.Contains(ci.features, "neon") || slices.Contains(ci.features, "vfp") || strings.HasPrefix(modelName, "ARMv"):
			// A 32-bit process on an arm64 kernel also sees this form.
			ci.arch = "arm"
		case archLine == "8" || archLine == "AArch64":
			ci.arch = "arm64"
		default:
			return ci, fmt.Errorf("cannot tell the architecture (CPU architecture %q, no Features or flags line)", archLine)
		}
	}
	return ci, nil
}

func (ci cpuInfo) cpu() CPU {
	c := CPU{Arch: ci.arch, Cores: ci.cores, Source: pathCPUInfo}
	if len(ci.parts) > 0 {
		c.Part = ci.parts[0]
		if len(ci.parts) > 1 {
			c.Notes = append(c.Notes, "mixed cores: parts "+strings.Join(ci.parts, ", "))
		}
	}
	for _, name := range ci.features {
		switch name {
		case "asimd":
			c.Features |= ASIMD
		case "asimddp":
			c.Features |= DotProd
		case "i8mm":
			c.Features |= I8MM
		case "sve":
			c.Features |= SVE
		case "asimdhp":
			c.Features |= FP16
		case "neon":
			c.Features |= NEON
		case "vfpv4":
			c.Features |= VFPv4
		case "idiva":
			c.Features |= IDIVA
		case "avx2":
			c.Features |= AVX2
		case "avx512f":
			c.Features |= AVX512
		}
	}
	return c
}
