// Command prunestudy measures token pruning without retraining on MNIST
// ViTs: the researchase ViT (49 patch tokens + CLS, 6 blocks) and the
// repository's trained ViTs (testdata/vits, trained on MNIST test images
// 0–4999). Top-1 on MNIST test images 5,000–9,999 (held out from every
// trained model) for ZOO-Prune (sensitivity + diverse selection), diverse
// selection alone (uniform) and the CLS-attention top-k baseline, pruning
// after block B (0-based: blocks 0…B see every token) and keeping a
// fraction R of the patch tokens, in float and in int8 (min–max PTQ on
// test images 0–499). Every model is converted once with pruning at its
// maximum; the budget changes per Invoke (Interpreter.SetTokens), as it
// does on a device.
//
//	go run ./tools/prunestudy -csv docs/prune-study.csv      # about an hour on two cores
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
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// row is one measured point of the study.
type row struct {
	Model, DType, Method string
	Block                int     // pruned after this 0-based block; −1: unpruned
	Ratio                float64 // requested keep ratio
	Kept                 int     // patch tokens kept
	Correct, N           int
	MACs                 int64
}

func (r row) top1() float64 { return 100 * float64(r.Correct) / float64(r.N) }

var header = []string{"model", "dtype", "method", "block", "keep_ratio", "kept", "correct", "n", "top1", "macs"}

func (r row) record() []string {
	return []string{r.Model, r.DType, r.Method, strconv.Itoa(r.Block), strconv.FormatFloat(r.Ratio, 'g', -1, 64),
		strconv.Itoa(r.Kept), strconv.Itoa(r.Correct), strconv.Itoa(r.N),
		strconv.FormatFloat(r.top1(), 'f', 2, 64), strconv.FormatInt(r.MACs, 10)}
}

func parseRow(rec []string) (row, error) {
	if len(rec) != len(header) {
		return row{}, fmt.Errorf("%d fields, want %d", len(rec), len(header))
	}
	var r row
	var err error
	r.Model, r.DType, r.Method = rec[0], rec[1], rec[2]
	ints := []*int{&r.Block, nil, &r.Kept, &r.Correct, &r.N}
	for k, p := range ints {
		if p != nil {
			if *p, err = strconv.Atoi(rec[3+k]); err != nil {
				return r, err
			}
		}
	}
	if r.Ratio, err = strconv.ParseFloat(rec[4], 64); err != nil {
		return r, err
	}
	if r.MACs, err = strconv.ParseInt(rec[9], 10, 64); err != nil {
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
	models := flag.String("models", "researchase,trained", "comma-separated: researchase, trained (every trained model of -manifest), a model name of -manifest, or an .onnx path")
	researchase := flag.String("researchase", filepath.Join(root, "models", "vit-mnist", "vit_mnist_researchase.onnx"), "the researchase ViT")
	manifestPath := flag.String("manifest", filepath.Join("testdata", "vits", "manifest.json"), "the ViT corpus manifest")
	mnist := flag.String("mnist", filepath.Join(root, "data", "mnist"), "MNIST directory")
	offset := flag.Int("offset", 5000, "first evaluated test image (the trained models learned images 0–4999)")
	limit := flag.Int("limit", 5000, "evaluated images")
	calib := flag.Int("calib", 500, "calibration images, from test image 0 (must end before -offset)")
	workers := flag.Int("workers", 2, "interpreters running images in parallel (one thread each)")
	dtypes := flag.String("dtypes", "int8,float", "comma-separated: int8, float")
	blocks := flag.String("blocks", "0,1", "prune after these 0-based blocks")
	ratios := flag.String("keep", "0.5", "keep ratios below 1 (1 is the unpruned model)")
	methods := flag.String("methods", "zoo,uniform,cls", "zoo (ZOO-Prune's default), uniform (diverse selection alone), cls (top-k CLS attention), or jvp, lowrank_jvp, fro_diag; each with :key=value settings (m, rank, seed, feat, add)")
	out := flag.String("csv", "", "append result rows to this CSV file")
	from := flag.String("from", "", "read rows from this CSV instead of measuring")
	plot := flag.String("plot", "", "write the accuracy plot to this PNG")
	skip := flag.Bool("skip-done", false, "with -csv: skip models whose rows the file already holds")
	recount := flag.Bool("recount", false, "with -from: recount every row's MACs with this build (and rewrite -csv)")
	perImage := flag.String("per-image", "", "append, per measured row, model,dtype,method,block,keep_ratio and one 0/1 per evaluated image (1: top-1 right) to this file")
	keptPath := flag.String("kept", "", "append, per measured row, model,dtype,method,block,keep_ratio and per evaluated image the kept patches' grid indices (joined by '.', images separated by spaces) to this file")
	keptPair := flag.String("keptdiff", "", "A,B: with -kept and no measuring, print per model/dtype/block/keep how often A and B keep the same patches, the mean number of swaps, and the patches one keeps in at least 90% of the images and the other in at most 10%")
	pair := flag.String("mcnemar", "", "A,B: with -per-image and no measuring (-methods none), print per model/dtype/block/keep the images only A gets right, only B, and the exact two-sided McNemar p")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	if *calib > *offset {
		return fmt.Errorf("-calib %d overlaps the evaluated images from -offset %d", *calib, *offset)
	}
	specs, err := resolveModels(*models, *researchase, *manifestPath)
	if err != nil {
		return err
	}
	var rows []row
	switch {
	case *keptPair != "":
		a, b, ok := strings.Cut(*keptPair, ",")
		if !ok || *keptPath == "" {
			return fmt.Errorf("-keptdiff wants A,B and -kept")
		}
		return printKeptDiff(os.Stdout, *keptPath, a, b)
	case *pair != "":
		a, b, ok := strings.Cut(*pair, ",")
		if !ok || *perImage == "" {
			return fmt.Errorf("-mcnemar wants A,B and -per-image")
		}
		return printMcNemar(os.Stdout, *perImage, a, b)
	case *from != "":
		if rows, err = readCSV(*from); err != nil {
			return err
		}
		if *recount {
			if err := recountRows(rows, specs, *mnist); err != nil {
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
		bs, err := ints(*blocks)
		if err != nil {
			return fmt.Errorf("-blocks: %w", err)
		}
		ms := strings.Split(*methods, ",")
		for _, m := range ms {
			if _, err := parseMethod(m); err != nil {
				return fmt.Errorf("-methods: %w", err)
			}
		}
		var w *csv.Writer
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			w = csv.NewWriter(f)
			if st, _ := f.Stat(); st.Size() == 0 {
				w.Write(header)
				w.Flush()
			}
		}
		var pw io.Writer
		if *perImage != "" {
			f, err := os.OpenFile(*perImage, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			pw = f
		}
		var kw io.Writer
		if *keptPath != "" {
			f, err := os.OpenFile(*keptPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			kw = f
		}
		rows = done
		for _, sp := range specs {
			s := &study{spec: sp, workers: *workers, offset: *offset, limit: *limit, calib: *calib, done: done, csv: w, perImage: pw, kept: kw}
			if err := s.load(*mnist); err != nil {
				return fmt.Errorf("%s: %w", sp.Name, err)
			}
			// Unpruned first, then block by block, so the first rows to
			// land are the headline ones.
			dts := strings.Split(*dtypes, ",")
			for _, dt := range dts {
				if err := s.measure(dt, "none", -1, 1); err != nil {
					return fmt.Errorf("%s: %w", sp.Name, err)
				}
			}
			for _, b := range bs {
				for _, dt := range dts {
					for _, m := range ms {
						err := s.measure(dt, m, b, keeps...)
						if errors.Is(err, zoo.ErrNoClassToken) {
							// A GAP model has no CLS baseline: its table cell stays empty.
							fmt.Fprintf(os.Stderr, "%s %s %s block %d: no class token, not measured\n", sp.Name, dt, m, b)
							continue
						}
						if err != nil {
							return fmt.Errorf("%s: %w", sp.Name, err)
						}
					}
				}
			}
			rows = append(rows, s.rows...)
		}
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

// study measures one model.
type study struct {
	spec                          spec
	workers, offset, limit, calib int
	patches                       int // patch tokens: the pruning ops' maximum
	float                         *format.Model
	set                           *dataset.Set
	samples                       [][][]float32
	csv                           *csv.Writer
	rows, done                    []row
	perImage                      io.Writer // -per-image: one line of 0/1 per measured row
	kept                          io.Writer // -kept: one line of kept patch sets per measured row
}

func (s *study) load(mnist string) error {
	m, err := loadSpec(s.spec)
	if err != nil {
		return err
	}
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
	if s.calib == 0 {
		return nil
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
// ("none": no pruning) inserted after block, calibrated to int8 on
// s.samples for dt "int8".
func (s *study) build(dt, method string, block int) (*format.Model, error) {
	m := s.float
	o, err := parseMethod(method)
	if err != nil {
		return nil, err
	}
	if o.Mode != "none" {
		o.AfterBlock = block
		if m, err = zoo.InsertPruning(m, o); err != nil {
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

// recountRows sets each row's MACs to what this build's interpreter
// counts for that model and budget (MACs do not depend on the
// calibration).
func recountRows(rows []row, specs []spec, mnist string) error {
	studies := map[string]*study{}
	for _, sp := range specs {
		studies[sp.Name] = &study{spec: sp, workers: 1, calib: 2}
	}
	for i := range rows {
		r := &rows[i]
		s := studies[r.Model]
		if s == nil {
			return fmt.Errorf("row of model %q: not among -models", r.Model)
		}
		if s.float == nil {
			if err := s.load(mnist); err != nil {
				return err
			}
		}
		m, err := s.build(r.DType, r.Method, r.Block)
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
func (s *study) measure(dt, method string, block int, ratios ...float64) error {
	for _, d := range s.done {
		if d.Model == s.spec.Name && d.DType == dt && d.Method == method && d.Block == block {
			fmt.Fprintf(os.Stderr, "%s %s %s block %d: in the CSV already\n", s.spec.Name, dt, method, block)
			return nil
		}
	}
	start := time.Now()
	m, err := s.build(dt, method, block)
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
	var right [][]byte  // per ratio, per image: '1' right, '0' wrong
	var sets [][]string // per ratio, per image: the kept grid indices joined by '.'
	if s.perImage != nil || s.kept != nil {
		right = make([][]byte, len(ratios))
		sets = make([][]string, len(ratios))
		for k := range right {
			right[k] = make([]byte, s.limit)
			sets[k] = make([]string, s.limit)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, s.workers)
	for w := 0; w < s.workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c, ms, err := s.evalShard(m, keeps, w, right, sets)
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
		rw := row{Model: s.spec.Name, DType: dt, Method: method, Block: block, Ratio: r, Kept: kept, Correct: correct[k], N: s.limit, MACs: macs[k]}
		s.rows = append(s.rows, rw)
		fmt.Fprintf(os.Stderr, "%s %-5s %-4s block %d keep %.2f (%2d): top-1 %.2f%%  %.1fM MACs  [%s]\n",
			s.spec.Name, dt, method, block, r, kept, rw.top1(), float64(rw.MACs)/1e6, time.Since(start).Round(time.Second))
		if s.csv != nil {
			s.csv.Write(rw.record())
		}
		if s.perImage != nil {
			if _, err := fmt.Fprintf(s.perImage, "%s,%s,%s,%d,%g,%s\n", s.spec.Name, dt, method, block, r, right[k]); err != nil {
				return err
			}
		}
		if s.kept != nil {
			if _, err := fmt.Fprintf(s.kept, "%s,%s,%s,%d,%g,%s\n", s.spec.Name, dt, method, block, r, strings.Join(sets[k], " ")); err != nil {
				return err
			}
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
// With right non-nil it runs the images one by one and marks each in
// right[k][image − offset], and the patches it kept in sets[k][image −
// offset].
func (s *study) evalShard(m *format.Model, keeps []int, w int, right [][]byte, sets [][]string) ([]int, []int64, error) {
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
	var kept []int
	for k, keep := range keeps {
		if keep > 0 {
			if err := it.SetTokens(keep); err != nil {
				return nil, nil, err
			}
		}
		if right != nil {
			for i := lo; i < hi; i++ {
				acc, err := dataset.Evaluate(it, s.set, i, 1, nil)
				if err != nil {
					return nil, nil, err
				}
				right[k][i-s.offset] = byte('0' + acc.Correct1)
				kept = it.KeptPatches(kept[:0])
				b := make([]byte, 0, 3*len(kept))
				for j, g := range kept {
					if j > 0 {
						b = append(b, '.')
					}
					b = strconv.AppendInt(b, int64(g), 10)
				}
				sets[k][i-s.offset] = string(b)
				correct[k] += acc.Correct1
			}
			macs[k] = it.MACs()
			continue
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

// methodRank orders the table's columns: ZOO-Prune, then the baselines,
// then variants in the order they first appear.
var methodRank = map[string]int{"zoo": 0, "uniform": 1, "cls": 2}

// printTable writes the rows as Markdown tables, one per keep ratio: one
// line per model, dtype and prune block, one column per method, with the
// unpruned model's top-1 first.
func printTable(w io.Writer, rows []row) {
	var ratios []float64
	var methods []string
	base := map[[2]string]row{}
	for _, r := range rows {
		if r.Method == "none" {
			base[[2]string{r.Model, r.DType}] = r
			continue
		}
		if !containsF(ratios, r.Ratio) {
			ratios = append(ratios, r.Ratio)
		}
		if !contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	sort.SliceStable(methods, func(i, j int) bool { return rankOf(methods[i]) < rankOf(methods[j]) })
	sort.Sort(sort.Reverse(sort.Float64Slice(ratios)))
	type key struct {
		model, dt string
		block     int
	}
	var order []key
	cells := map[key]map[string]map[float64]row{}
	var models []string
	for _, r := range rows {
		if !contains(models, r.Model) {
			models = append(models, r.Model)
		}
		if r.Method == "none" {
			continue
		}
		k := key{r.Model, r.DType, r.Block}
		if cells[k] == nil {
			cells[k] = map[string]map[float64]row{}
			order = append(order, k)
		}
		if cells[k][r.Method] == nil {
			cells[k][r.Method] = map[float64]row{}
		}
		cells[k][r.Method][r.Ratio] = r
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.model != b.model {
			return indexOf(models, a.model) < indexOf(models, b.model)
		}
		if a.dt != b.dt {
			return a.dt < b.dt
		}
		return a.block < b.block
	})
	for n, x := range ratios {
		if n > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "keep %g of the patch tokens\n\n| model | dtype | after block | unpruned |", x)
		for _, m := range methods {
			fmt.Fprintf(w, " %s |", m)
		}
		fmt.Fprintf(w, "\n|---|---|---|---|")
		for range methods {
			fmt.Fprintf(w, "---|")
		}
		fmt.Fprintln(w)
		for _, k := range order {
			b, ok := base[[2]string{k.model, k.dt}]
			bs := "–"
			if ok {
				bs = fmt.Sprintf("%.2f%%", b.top1())
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s |", k.model, k.dt, k.block, bs)
			for _, m := range methods {
				if r, ok := cells[k][m][x]; ok {
					fmt.Fprintf(w, " %.2f%% (%d) |", r.top1(), r.Kept)
				} else {
					fmt.Fprintf(w, " – |") // not measured: cls on a model without a class token
				}
			}
			fmt.Fprintln(w)
		}
	}
}

func rankOf(m string) int {
	if r, ok := methodRank[m]; ok {
		return r
	}
	return len(methodRank)
}

func contains(s []string, v string) bool { return indexOf(s, v) >= 0 }

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func containsF(s []float64, v float64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
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
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a block ≥ 0", f)
		}
		out = append(out, v)
	}
	return out, nil
}
