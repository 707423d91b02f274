package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/edgeinfer/edgeinfer/boards"
)

func init() {
	commands["boards"] = command{summary: "detect the board, show its profile, evidence and live telemetry; list profiles", run: cmdBoards}
}

const boardsUsage = `usage: edgeinfer boards detect [--root DIR] [--cpu auto|host|cpuinfo] [--json]
       edgeinfer boards list [--json]`

func cmdBoards(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("missing subcommand\n%s", boardsUsage)
	}
	switch args[0] {
	case "detect":
		return cmdBoardsDetect(args[1:], stdout, stderr)
	case "list":
		return cmdBoardsList(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, boardsUsage)
		return errHelp
	}
	return usagef("unknown subcommand %q\n%s", args[0], boardsUsage)
}

// detectReport is the --json form of "boards detect".
type detectReport struct {
	Root            string           `json:"root"`
	Board           string           `json:"board"`
	Trusted         bool             `json:"trusted"`
	Detection       boards.Detection `json:"detection"`
	Telemetry       boards.Snapshot  `json:"telemetry"`
	TelemetryErrors []string         `json:"telemetry_errors,omitempty"`
	Budget          boards.Decision  `json:"budget"`
}

func cmdBoardsDetect(args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("boards detect", stderr)
	root := fl.String("root", "/", "root `DIR` of the board's file system (a fixture tree such as boards/testdata/rpi-4b)")
	cpuFrom := fl.String("cpu", "auto", "CPU-feature source: host (this process's CPU), cpuinfo (DIR/proc/cpuinfo), or auto: host when --root is /, else cpuinfo")
	asJSON := fl.Bool("json", false, "print JSON")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments %q\n%s", fl.Args(), boardsUsage)
	}
	st, err := os.Stat(*root)
	if err != nil {
		return fmt.Errorf("--root: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--root %s: not a directory", *root)
	}
	fsys := os.DirFS(*root)
	var src boards.CPUSource
	switch *cpuFrom {
	case "host":
		src = boards.HostCPU()
	case "cpuinfo":
		src = boards.CPUInfoCPU(fsys)
	case "auto":
		// A fixture tree describes another machine: its cpuinfo, not this
		// process's CPU, is the board's CPU.
		if abs, err := filepath.Abs(*root); err == nil && abs == "/" {
			src = boards.HostCPU()
		} else {
			src = boards.CPUInfoCPU(fsys)
		}
	default:
		return usagef("--cpu %q: want auto, host or cpuinfo", *cpuFrom)
	}

	d, err := boards.Detect(fsys, src)
	if err != nil {
		return err
	}
	rep := detectReport{Root: *root, Board: d.Profile.ID, Trusted: d.Trusted(), Detection: d}
	r, err := boards.NewReader(fsys, d.Profile)
	if err != nil {
		rep.TelemetryErrors = append(rep.TelemetryErrors, splitJoined(err)...)
	}
	if err := r.Read(&rep.Telemetry); err != nil {
		rep.TelemetryErrors = append(rep.TelemetryErrors, splitJoined(err)...)
	}
	cores := d.CPU.Cores
	if cores == 0 {
		cores = runtime.NumCPU()
	}
	gov, err := boards.NewGovernor(boards.ConfigFor(d.Profile, cores))
	if err != nil {
		return fmt.Errorf("governor for %s: %w", d.Profile.ID, err)
	}
	rep.Budget = gov.Step(&rep.Telemetry)

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printDetect(stdout, &rep)
	// Broken sensors do not make detection fail, but they must be seen.
	for _, e := range rep.TelemetryErrors {
		fmt.Fprintf(stderr, "edgeinfer boards detect: telemetry: %s\n", e)
	}
	return nil
}

// splitJoined turns an errors.Join result into its lines.
func splitJoined(err error) []string {
	return strings.Split(err.Error(), "\n")
}

func printDetect(w io.Writer, rep *detectReport) {
	d := &rep.Detection
	p := &d.Profile
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	trusted := "yes"
	if !d.Trusted() {
		trusted = "NO (see problems)"
	}
	fmt.Fprintf(tw, "board\t%s (%s), matched by %s\n", p.ID, p.Name, d.MatchedBy)
	fmt.Fprintf(tw, "trusted\t%s\n", trusted)
	if p.Generic {
		fmt.Fprintf(tw, "soc\tunknown (generic profile)\n")
	} else {
		fmt.Fprintf(tw, "soc\t%s, %d × %s (%s) up to %d MHz\n", p.SoC, p.CPU.Cores, p.CPU.Core, p.CPU.Part, p.CPU.MaxMHz)
	}
	fmt.Fprintf(tw, "cpu\t%s %v from %s; profile expects %v", d.CPU.Arch, d.CPU.Features, d.CPU.Source, d.Expected)
	if d.Missing != 0 {
		fmt.Fprintf(tw, "; MISSING %v", d.Missing)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "camera\t%s", strings.Join(p.Camera.Sources, ", "))
	if p.Camera.BayerFormat != "" {
		if p.Camera.BayerAlign == "packed" {
			fmt.Fprintf(tw, " (bayer %s, CSI-2 packed)", p.Camera.BayerFormat)
		} else {
			fmt.Fprintf(tw, " (bayer %s, %s-aligned, shift %d)", p.Camera.BayerFormat, p.Camera.BayerAlign, p.Camera.BayerShift)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "thermal\tzones %s; target %g°C, soft %g°C, critical %g°C\n", orNone(p.Thermal.Zones), p.Thermal.TargetC, p.Thermal.SoftC, p.Thermal.CritC)
	fmt.Fprintf(tw, "power\t%s", p.Power.Kind)
	if p.Power.BudgetMW > 0 {
		fmt.Fprintf(tw, ", budget %g mW on %s", p.Power.BudgetMW, p.Power.TotalRail)
	}
	fmt.Fprintln(tw)
	threads := fmt.Sprintf("%d threads", p.Defaults.Threads)
	if p.Defaults.Threads == 0 {
		threads = "one thread per core"
	}
	fmt.Fprintf(tw, "defaults\t%s, %g fps\n", threads, p.Defaults.FPS)
	tw.Flush()

	fmt.Fprintln(w, "\nevidence:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range d.Evidence {
		fmt.Fprintf(tw, "  %s\t%q\t→ %s\n", c.Source, c.Value, c.Meaning)
	}
	tw.Flush()
	for _, s := range d.Problems {
		fmt.Fprintf(w, "problem: %s\n", s)
	}
	for _, s := range d.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}

	fmt.Fprintln(w, "\ntelemetry:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	s := &rep.Telemetry
	if len(s.Temps) == 0 {
		fmt.Fprintln(tw, "  temp\tno thermal zones")
	}
	for _, t := range s.Temps {
		fmt.Fprintf(tw, "  temp\t%s\t%.1f°C\n", t.Zone, t.C)
	}
	if len(s.CPUs) == 0 {
		fmt.Fprintln(tw, "  cpufreq\tnot reported")
	}
	// Consecutive CPUs in the same state share a line.
	for i := 0; i < len(s.CPUs); {
		j := i + 1
		for j < len(s.CPUs) && sameFreq(s.CPUs[i], s.CPUs[j]) {
			j++
		}
		name := fmt.Sprintf("cpu%d", s.CPUs[i].CPU)
		if j-i > 1 {
			name = fmt.Sprintf("cpu%d-%d", s.CPUs[i].CPU, s.CPUs[j-1].CPU)
		}
		c := s.CPUs[i]
		fmt.Fprintf(tw, "  cpufreq\t%s\t%d of %d MHz, %s\n", name, c.CurKHz/1000, c.MaxKHz/1000, orDash(c.Governor))
		i = j
	}
	if s.Throttle.Valid {
		fmt.Fprintf(tw, "  throttle\t%s\t%s\n", path.Base(s.Throttle.Source), s.Throttle)
	}
	for _, r := range s.Rails {
		fmt.Fprintf(tw, "  rail\t%s\t%.0f mV, %.0f mA, %.0f mW\n", r.Name, r.MilliVolts, r.MilliAmps, r.MilliWatts)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nbudget: %s (%s): %s\n", rep.Budget.Budget, rep.Budget.Level, rep.Budget.Reason)
}

func sameFreq(a, b boards.CPUFreq) bool {
	return a.CurKHz == b.CurKHz && a.MaxKHz == b.MaxKHz && a.Governor == b.Governor
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(any)"
	}
	return strings.Join(list, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdBoardsList(args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("boards list", stderr)
	asJSON := fl.Bool("json", false, "print the profiles as JSON")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments %q\n%s", fl.Args(), boardsUsage)
	}
	ps, err := boards.Builtin()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ps)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSOC\tCPU\tARCH\tSIMD (arm64/arm)\tTHREADS\tFPS\tTARGET\tPOWER")
	for _, p := range ps {
		cpu := p.CPU.Core
		if p.CPU.Cores > 0 {
			cpu = fmt.Sprintf("%d×%s", p.CPU.Cores, p.CPU.Core)
		}
		var simd []string
		for _, a := range p.Arch {
			f, err := p.Expected(a)
			if err != nil {
				return err
			}
			simd = append(simd, f.String())
		}
		threads := fmt.Sprint(p.Defaults.Threads)
		if p.Defaults.Threads == 0 {
			threads = "all"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%g\t%g°C\t%s\n", p.ID, p.Name, p.SoC, cpu, strings.Join(p.Arch, ","),
			strings.Join(simd, " / "), threads, p.Defaults.FPS, p.Thermal.TargetC, p.Power.Kind)
	}
	return tw.Flush()
}
