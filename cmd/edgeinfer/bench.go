package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	goruntime "runtime"
	"sort"
	"time"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func init() {
	commands["bench"] = command{summary: "measure latency, throughput, memory and allocations (per-op with --profile)", run: cmdBench}
}

type opProfileJSON struct {
	Index   int     `json:"index"`
	Op      string  `json:"op"`
	Name    string  `json:"name"`
	MACs    int64   `json:"macs"`
	MeanMS  float64 `json:"mean_ms"`
	Percent float64 `json:"percent"`
}

type benchJSON struct {
	Model         string          `json:"model"`
	Threads       int             `json:"threads"`
	Runs          int             `json:"runs"`
	Warmup        int             `json:"warmup"`
	MinMS         float64         `json:"min_ms"`
	MedianMS      float64         `json:"median_ms"`
	P90MS         float64         `json:"p90_ms"`
	MaxMS         float64         `json:"max_ms"`
	MACs          int64           `json:"macs"`
	GMACPerSecond float64         `json:"gmac_per_s"`
	ArenaBytes    int64           `json:"arena_bytes"`
	WeightBytes   int64           `json:"weight_bytes"`
	AllocsPerRun  float64         `json:"allocs_per_run"`
	Kernels       string          `json:"kernels"`
	Profile       []opProfileJSON `json:"profile,omitempty"`
}

func cmdBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	model := fs.String("model", defaultModel, "model file (.eim) or zoo:NAME")
	runs := fs.Int("runs", 20, "timed runs")
	// 6: a multi-threaded interpreter times its steps in its first 4 Invokes,
	// and its workers start their OS threads in the first split ones.
	warmup := fs.Int("warmup", 6, "untimed runs first")
	threads := fs.Int("threads", 0, "worker threads (0: one per CPU)")
	profile := fs.Bool("profile", false, "print a per-op table")
	asJSON := fs.Bool("json", false, "print one JSON object")
	tokens := tokensFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *runs < 1 || *warmup < 0 || *threads < 0 {
		return usagef("--runs must be ≥ 1, --warmup and --threads ≥ 0")
	}
	m, err := loadModel(*model)
	if err != nil {
		return err
	}
	it, err := runtime.New(m, runtime.Options{Threads: *threads, Profile: *profile})
	if err != nil {
		return err
	}
	defer it.Close()
	if err := applyTokens(it, *tokens); err != nil {
		return err
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < it.NumInputs(); i++ {
		randomFill(it.Input(i), r)
	}
	for i := 0; i < *warmup; i++ {
		if err := it.Invoke(); err != nil {
			return err
		}
	}
	it.ResetProfile()
	lat := make([]time.Duration, *runs)
	var ms0, ms1 goruntime.MemStats
	goruntime.ReadMemStats(&ms0)
	for i := range lat {
		start := time.Now()
		if err := it.Invoke(); err != nil {
			return err
		}
		lat[i] = time.Since(start)
	}
	goruntime.ReadMemStats(&ms1)
	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	msOf := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	res := benchJSON{
		Model: m.Name, Threads: it.Threads(), Runs: *runs, Warmup: *warmup,
		MinMS: msOf(sorted[0]), MedianMS: msOf(sorted[len(sorted)/2]),
		P90MS: msOf(sorted[(len(sorted)*9)/10]), MaxMS: msOf(sorted[len(sorted)-1]),
		MACs: it.MACs(), ArenaBytes: it.Plan().ArenaBytes, WeightBytes: runtime.WeightBytes(m),
		AllocsPerRun: float64(ms1.Mallocs-ms0.Mallocs) / float64(*runs),
		Kernels:      it.Kernels().Name,
	}
	if res.MedianMS > 0 {
		res.GMACPerSecond = float64(res.MACs) / (res.MedianMS / 1e3) / 1e9
	}
	if *profile {
		var total time.Duration
		for _, p := range it.Profile() {
			total += p.Elapsed
		}
		for _, p := range it.Profile() {
			e := opProfileJSON{Index: p.Index, Op: p.Code.String(), Name: p.Name, MACs: p.MACs}
			if p.Calls > 0 {
				e.MeanMS = msOf(p.Elapsed) / float64(p.Calls)
			}
			if total > 0 {
				e.Percent = 100 * float64(p.Elapsed) / float64(total)
			}
			res.Profile = append(res.Profile, e)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "model      %s (%d threads, %d runs after %d warm-up)\n", res.Model, res.Threads, res.Runs, res.Warmup)
	fmt.Fprintf(stdout, "latency    min %.3f ms, median %.3f ms, p90 %.3f ms, max %.3f ms\n", res.MinMS, res.MedianMS, res.P90MS, res.MaxMS)
	fmt.Fprintf(stdout, "compute    %d MACs%s, %.2f GMAC/s at the median\n", res.MACs, macsNote(m.Name, res.MACs), res.GMACPerSecond)
	fmt.Fprintf(stdout, "memory     arena %d bytes, weights %d bytes\n", res.ArenaBytes, res.WeightBytes)
	fmt.Fprintf(stdout, "allocs     %.2f heap allocations per run\n", res.AllocsPerRun)
	if *profile {
		printProfile(stdout, res.Profile)
	}
	return nil
}

func printProfile(w io.Writer, prof []opProfileJSON) {
	fmt.Fprintf(w, "\n%4s  %-16s %-28s %12s %10s %6s\n", "#", "op", "name", "MACs", "mean ms", "%")
	for _, p := range prof {
		fmt.Fprintf(w, "%4d  %-16s %-28s %12d %10.4f %6.2f\n", p.Index, p.Op, p.Name, p.MACs, p.MeanMS, p.Percent)
	}
	type agg struct {
		ms   float64
		macs int64
		n    int
	}
	by := map[string]*agg{}
	var names []string
	for _, p := range prof {
		a, ok := by[p.Op]
		if !ok {
			a = &agg{}
			by[p.Op] = a
			names = append(names, p.Op)
		}
		a.ms += p.MeanMS
		a.macs += p.MACs
		a.n++
	}
	sort.Slice(names, func(i, j int) bool { return by[names[i]].ms > by[names[j]].ms })
	fmt.Fprintf(w, "\n%-16s %5s %12s %10s\n", "by op", "count", "MACs", "ms")
	for _, n := range names {
		fmt.Fprintf(w, "%-16s %5d %12d %10.4f\n", n, by[n].n, by[n].macs, by[n].ms)
	}
}

// randomFill writes seeded values spanning the input's range.
func randomFill(t *runtime.Tensor, r *rand.Rand) {
	switch t.DType {
	case format.Float32:
		for i := range t.Float32() {
			t.Float32()[i] = float32(r.NormFloat64())
		}
	default:
		r.Read(t.Bytes())
	}
}
