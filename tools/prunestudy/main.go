// Command prunestudy measures token pruning on the trained MNIST ViT
// (researchase, 49 patch tokens + CLS, 6 blocks) without retraining:
// top-1 on MNIST test images 1,000–9,999 for ZOO-Prune (jvp sensitivity +
// diverse selection) and the CLS-attention top-k baseline, pruning after
// layer L (the first L blocks see every token) and keeping a fraction R of
// the patch tokens, in float and in int8 (min–max PTQ on test images
// 0–499, disjoint from the evaluated ones). Every model is converted once
// with pruning at its maximum; the budget changes per Invoke
// (Interpreter.SetTokens), as it does on a device.
//
//	go run ./tools/prunestudy -csv docs/prune-study.csv            # hours of CPU
//	go run ./tools/prunestudy -from docs/prune-study.csv -plot docs/prune-study.png
//
// Rows are appended to the CSV as each model finishes, so a long run can
// be stopped and its finished rows kept (-skip-done resumes).
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeinfer/edgeinfer/dataset"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// row is one measured point of the study.
type row struct {
	DType, Method string
	Layer         int     // prune after this many blocks (0: unpruned)
	Ratio         float64 // requested keep ratio
	Kept          int     // patch tokens kept
	Correct, N    int
	MACs          int64
}

func (r row) top1() float64 { return 100 * float64(r.Correct) / float64(r.N) }

var header = []string{"dtype", "method", "layer", "keep_ratio", "kept", "correct", "n", "top1", "macs"}

func (r row) record() []string {
	return []string{r.DType, r.Method, strconv.Itoa(r.Layer), strconv.FormatFloat(r.Ratio, 'g', -1, 64),
		strconv.Itoa(r.Kept), strconv.Itoa(r.Correct), strconv.Itoa(r.N),
		strconv.FormatFloat(r.top1(), 'f', 2, 64), strconv.FormatInt(r.MACs, 10)}
}

func parseRow(rec []string) (row, error) {
	if len(rec) != len(header) {
		return row{}, fmt.Errorf("%d fields, want %d", len(rec), len(header))
	}
	var r row
	var err error
	r.DType, r.Method = rec[0], rec[1]
	ints := []*int{&r.Layer, nil, &r.Kept, &r.Correct, &r.N}
	for k, p := range ints {
		if p != nil {
			if *p, err = strconv.Atoi(rec[2+k]); err != nil {
				return r, err
			}
		}
	}
	if r.Ratio, err = strconv.ParseFloat(rec[3], 64); err != nil {
		return r, err
	}
	if r.MACs, err = strconv.ParseInt(rec[8], 10, 64); err != nil {
		return r, err
	}
	if r.N <= 0 {
		return r, fmt.Errorf("n is %d", r.N)
	}
	return r, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "prunestudy:", err)
		os.Exit(1)
	}
}

func run() error {
	root := filepath.Join("..", "shared")
	if _, err := os.Stat(root); err != nil {
		root = filepath.Join("..", "..", "shared")
	}
	model := flag.String("model", filepath.Join(root, "models", "vit-mnist", "vit_mnist_researchase.onnx"), "the ONNX ViT")
	mnist := flag.String("mnist", filepath.Join(root, "data", "mnist"), "MNIST directory")
	offset := flag.Int("offset", 1000, "first evaluated test image")
	limit := flag.Int("limit", 9000, "evaluated images")
	calib := flag.Int("calib", 500, "calibration images, from test image 0 (must end before -offset)")
	workers := flag.Int("workers", 2, "interpreters running images in parallel (one thread each)")
	dtypes := flag.String("dtypes", "int8,float", "comma-separated: int8, float")
	layers := flag.String("layers", "1,2,3", "prune after these many blocks")
	ratios := flag.String("keep", "0.75,0.5,0.33", "keep ratios below 1 (1 is the unpruned model)")
	methods := flag.String("methods", "zoo,cls", "zoo (jvp sensitivity + diverse selection), cls (top-k CLS attention), or other zoo.PruneOptions modes")
	out := flag.String("csv", "", "append result rows to this CSV file")
	from := flag.String("from", "", "read rows from this CSV instead of measuring")
	plot := flag.String("plot", "", "write the accuracy plot to this PNG")
	skip := flag.Bool("skip-done", false, "with -csv: skip models whose rows the file already holds")
	recount := flag.Bool("recount", false, "with -from: recount every row's MACs with this build (and rewrite -csv)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	if *calib > *offset {
		return fmt.Errorf("-calib %d overlaps the evaluated images from -offset %d", *calib, *offset)
	}
	var rows []row
	var err error
	switch {
	case *from != "":
		if rows, err = readCSV(*from); err != nil {
			return err
		}
		if *recount {
			s := &study{workers: 1, calib: 2}
			if err := s.load(*model, *mnist); err != nil {
				return err
			}
			if err := s.recount(rows); err != nil {
				return err
			}
			if *out != "" {
				if err := writeCSV(*out, rows); err != nil {
					return err
				}
			}
		}
	default:
		var done []row
		if *skip && *out != "" {
			if done, err = readCSV(*out); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		keeps, err := floats(*ratios)
		if err != nil {
			return fmt.Errorf("-keep: %w", err)
		}
		ls, err := ints(*layers)
		if err != nil {
			return fmt.Errorf("-layers: %w", err)
		}
		s := &study{workers: *workers, offset: *offset, limit: *limit, calib: *calib, done: done}
		if err := s.load(*model, *mnist); err != nil {
			return err
		}
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			s.csv = csv.NewWriter(f)
			if st, _ := f.Stat(); st.Size() == 0 {
				s.csv.Write(header)
				s.csv.Flush()
			}
		}
		// Unpruned first, then layer by layer, so the first rows to land
		// are the headline ones.
		dts := strings.Split(*dtypes, ",")
		for _, dt := range dts {
			if err := s.measure(dt, "none", 0, 1); err != nil {
				return err
			}
		}
		for _, l := range ls {
			for _, dt := range dts {
				for _, m := range strings.Split(*methods, ",") {
					if err := s.measure(dt, m, l, keeps...); err != nil {
						return err
					}
				}
			}
		}
		rows = append(done, s.rows...)
	}
	printTable(os.Stdout, rows)
	if *plot != "" {
		if err := plotRows(*plot, rows); err != nil {
			return err
		}
		fmt.Println("wrote", *plot)
	}
	return nil
}

type study struct {
	workers, offset, limit, calib int
	patches                       int // patch tokens: the pruning ops' maximum
	float                         *format.Model
	set                           *dataset.Set
	samples                       [][][]float32
	csv                           *csv.Writer
	rows, done                    []row
}

func (s *study) load(model, mnist string) error {
	r, err := onnx.ImportFile(model, onnx.Options{})
	if err != nil {
		return err
	}
	m := r.Model
	// x' = (x/255 − 0.1307)/0.3081, the model's training normalization.
	if m.Preprocess == nil {
		return fmt.Errorf("%s: the import has no preprocessing to complete", model)
	}
	m.Preprocess.Scale, m.Preprocess.Mean, m.Preprocess.Std = 1.0/255, []float32{0.1307}, []float32{0.3081}
	s.float = m
	// Any pruning inserted at its maximum tells the patch count.
	pm, err := zoo.InsertPruning(m, zoo.PruneOptions{Mode: "uniform"})
	if err != nil {
		return err
	}
	it, err := runtime.New(pm, runtime.Options{Threads: 1})
	if err != nil {
		return err
	}
	s.patches = it.MaxTokens()
	it.Close()
	if s.set, err = dataset.Open(mnist); err != nil {
		return err
	}
	if s.offset+s.limit > s.set.Len() {
		return fmt.Errorf("images [%d, %d): the set has %d", s.offset, s.offset+s.limit, s.set.Len())
	}
	conv, err := dataset.NewConverter(m)
	if err != nil {
		return err
	}
	cal, err := conv.Floats(s.set, 0, s.calib)
	if err != nil {
		return err
	}
	for _, c := range cal {
		s.samples = append(s.samples, [][]float32{c})
	}
	return nil
}

// build returns the model of one study line: the float ViT with method
// ("none": no pruning) inserted after layer blocks, calibrated to int8 on
// s.samples for dt "int8".
func (s *study) build(dt, method string, layer int) (*format.Model, error) {
	m := s.float
	var err error
	if method != "none" {
		mode := method
		if mode == "zoo" {
			mode = "jvp"
		}
		if m, err = zoo.InsertPruning(m, zoo.PruneOptions{AfterBlock: layer - 1, Mode: mode}); err != nil {
			return nil, err
		}
	}
	switch dt {
	case "float":
	case "int8":
		rg, err := ptq.Observe(m, s.samples, s.workers, nil)
		if err != nil {
			return nil, err
		}
		if m, err = ptq.Quantize(m, rg); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown dtype %q", dt)
	}
	return m, nil
}

// recount sets each row's MACs to what this build's interpreter counts
// for that model and budget (MACs do not depend on the calibration).
func (s *study) recount(rows []row) error {
	for i := range rows {
		r := &rows[i]
		m, err := s.build(r.DType, r.Method, r.Layer)
		if err != nil {
			return err
		}
		it, err := runtime.New(m, runtime.Options{Threads: 1})
		if err != nil {
			return err
		}
		if r.Method != "none" {
			if err := it.SetTokens(r.Kept); err != nil {
				it.Close()
				return err
			}
		}
		r.MACs = it.MACs()
		it.Close()
	}
	return nil
}

// measure evaluates one model (method "none": unpruned) at every keep
// ratio.
func (s *study) measure(dt, method string, layer int, ratios ...float64) error {
	for _, d := range s.done {
		if d.DType == dt && d.Method == method && d.Layer == layer {
			fmt.Fprintf(os.Stderr, "%s %s layer %d: in the CSV already\n", dt, method, layer)
			return nil
		}
	}
	start := time.Now()
	m, err := s.build(dt, method, layer)
	if err != nil {
		return err
	}
	keeps := make([]int, len(ratios)) // 0: the model as built
	for k, r := range ratios {
		if method != "none" {
			keeps[k] = max(1, int(math.Round(r*float64(s.patches))))
		}
	}
	correct := make([]int, len(ratios))
	macs := make([]int64, len(ratios))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, s.workers)
	for w := 0; w < s.workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, ms, err := s.evalShard(m, keeps, w)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			for k := range c {
				correct[k] += c[k]
				macs[k] = ms[k]
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for k, r := range ratios {
		kept := keeps[k]
		if kept == 0 {
			kept = s.patches
		}
		rw := row{DType: dt, Method: method, Layer: layer, Ratio: r, Kept: kept, Correct: correct[k], N: s.limit, MACs: macs[k]}
		s.rows = append(s.rows, rw)
		fmt.Fprintf(os.Stderr, "%-5s %-4s layer %d keep %.2f (%2d): top-1 %.2f%%  %.1fM MACs  [%s]\n",
			dt, method, layer, r, kept, rw.top1(), float64(rw.MACs)/1e6, time.Since(start).Round(time.Second))
		if s.csv != nil {
			s.csv.Write(rw.record())
		}
	}
	if s.csv != nil {
		s.csv.Flush()
		return s.csv.Error()
	}
	return nil
}

// evalShard runs worker w's contiguous share of the images at every
// budget (keeps[k] = 0: the model as built) through dataset.Evaluate and
// returns the correct top-1 counts and MACs per budget.
func (s *study) evalShard(m *format.Model, keeps []int, w int) ([]int, []int64, error) {
	lo, hi := s.offset+w*s.limit/s.workers, s.offset+(w+1)*s.limit/s.workers
	correct := make([]int, len(keeps))
	macs := make([]int64, len(keeps))
	if hi == lo {
		return correct, macs, nil // more workers than images
	}
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	for k, keep := range keeps {
		if keep > 0 {
			if err := it.SetTokens(keep); err != nil {
				return nil, nil, err
			}
		}
		acc, err := dataset.Evaluate(it, s.set, lo, hi-lo, nil)
		if err != nil {
			return nil, nil, err
		}
		correct[k], macs[k] = acc.Correct1, it.MACs()
	}
	return correct, macs, nil
}

func writeCSV(path string, rows []row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write(header)
	for _, r := range rows {
		w.Write(r.record())
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readCSV(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var rows []row
	for i, rec := range recs {
		if i == 0 && rec[0] == header[0] {
			continue
		}
		r, err := parseRow(rec)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// printTable writes the rows as a Markdown table: one line per dtype,
// method and layer, one column per keep ratio.
func printTable(w io.Writer, rows []row) {
	var ratios []float64
	base := map[string]row{}
	for _, r := range rows {
		if r.Method == "none" {
			base[r.DType] = r
			continue
		}
		found := false
		for _, x := range ratios {
			found = found || x == r.Ratio
		}
		if !found {
			ratios = append(ratios, r.Ratio)
		}
	}
	all := 0 // the unpruned model's patch tokens
	for _, b := range base {
		all = b.Kept
	}
	fmt.Fprintf(w, "| dtype | method | after layer | keep 1 (%d) |", all)
	for _, x := range ratios {
		fmt.Fprintf(w, " keep %g |", x)
	}
	fmt.Fprintf(w, "\n|---|---|---|---|")
	for range ratios {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintln(w)
	type key struct {
		dt, m string
		l     int
	}
	var order []key
	cells := map[key]map[float64]row{}
	for _, r := range rows {
		if r.Method == "none" {
			continue
		}
		k := key{r.DType, r.Method, r.Layer}
		if cells[k] == nil {
			cells[k] = map[float64]row{}
			order = append(order, k)
		}
		cells[k][r.Ratio] = r
	}
	rank := map[string]int{"zoo": 0, "uniform": 1, "cls": 2}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.dt != b.dt {
			return a.dt < b.dt
		}
		if a.l != b.l {
			return a.l < b.l
		}
		return rank[a.m] < rank[b.m]
	})
	for _, k := range order {
		b, ok := base[k.dt]
		bs := "–"
		if ok {
			bs = fmt.Sprintf("%.2f%%", b.top1())
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s |", k.dt, k.m, k.l, bs)
		for _, x := range ratios {
			if r, ok := cells[k][x]; ok {
				fmt.Fprintf(w, " %.2f%% (%d) |", r.top1(), r.Kept)
			} else {
				fmt.Fprintf(w, " |")
			}
		}
		fmt.Fprintln(w)
	}
}

func floats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v >= 1 {
			return nil, fmt.Errorf("%q is not a ratio in (0, 1)", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a layer ≥ 1", f)
		}
		out = append(out, v)
	}
	return out, nil
}
