package ptq

import (
	"fmt"
	"math"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/quant"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// Method chooses activation ranges from calibration statistics.
type Method int

// Calibration methods.
const (
	// MinMax takes the observed minimum and maximum.
	MinMax Method = iota
	// Percentile clips each tail at Options.Percentile of the observed
	// values (the range always keeps 0).
	Percentile
	// MSE picks the clipping range that minimizes the expected squared
	// error of quantize→dequantize over the observed histogram.
	MSE
)

func (m Method) String() string {
	switch m {
	case Percentile:
		return "percentile"
	case MSE:
		return "mse"
	}
	return "minmax"
}

// ParseMethod is the inverse of Method.String.
func ParseMethod(s string) (Method, error) {
	for m := MinMax; m <= MSE; m++ {
		if strings.EqualFold(s, m.String()) {
			return m, nil
		}
	}
	return MinMax, fmt.Errorf("ptq: unknown calibration method %q (want minmax, percentile or mse)", s)
}

// Options configure Calibrate.
type Options struct {
	Method Method
	// Percentile is the share of values kept in each tail for Percentile,
	// in percent; 0 means 99.99.
	Percentile float64
	// Bins is the histogram resolution for Percentile and MSE; 0 means 2048.
	Bins int
	// Threads for the float interpreter (0: one per CPU).
	Threads int
	// Progress, if not nil, is called after each sample of each pass
	// (histogram methods make two passes over the samples).
	Progress func(pass, passes, done, total int)
}

// Calibrate runs fm over the samples and chooses every float activation's
// range with opts.Method. MinMax needs one pass; Percentile and MSE make a
// second pass that fills a histogram over the first pass's [min, max].
func Calibrate(fm *format.Model, samples [][][]float32, opts Options) (*Ranges, error) {
	passes := 1
	if opts.Method != MinMax {
		passes = 2
	}
	prog := func(pass int) func(int) {
		if opts.Progress == nil {
			return nil
		}
		return func(done int) { opts.Progress(pass, passes, done, len(samples)) }
	}
	r, err := Observe(fm, samples, opts.Threads, prog(1))
	if err != nil || opts.Method == MinMax {
		return r, err
	}
	h, err := ObserveHistograms(fm, samples, r, opts.Bins, opts.Threads, prog(2))
	if err != nil {
		return nil, err
	}
	return h.Ranges(opts.Method, opts.Percentile), nil
}

// Histograms holds, per tensor, counts of observed values in equal bins
// over the tensor's observed [min, max].
type Histograms struct {
	r      *Ranges
	bins   int
	counts [][]int64 // nil for tensors never seen
}

// ObserveHistograms runs fm over the samples again and bins every float
// activation's values over the ranges r from Observe.
func ObserveHistograms(fm *format.Model, samples [][][]float32, r *Ranges, bins, threads int, progress func(done int)) (*Histograms, error) {
	if bins <= 0 {
		bins = 2048
	}
	h := &Histograms{r: r, bins: bins, counts: make([][]int64, len(fm.Tensors))}
	for t := range fm.Tensors {
		if r.seen[t] {
			h.counts[t] = make([]int64, bins)
		}
	}
	var it *runtime.Interpreter
	record := func(t int32) {
		c := h.counts[t]
		rt := it.Tensor(int(t))
		if c == nil || rt.DType != format.Float32 {
			return
		}
		lo, hi := r.Min[t], r.Max[t]
		if !(hi > lo) {
			c[0] += int64(rt.NumElements())
			return
		}
		w := float64(bins) / (float64(hi) - float64(lo))
		for _, v := range rt.Float32() {
			b := int((float64(v) - float64(lo)) * w)
			b = min(max(b, 0), bins-1)
			c[b]++
		}
	}
	opts := runtime.Options{Threads: threads, AfterOp: func(op int) {
		for _, t := range fm.Ops[op].Outputs {
			record(t)
		}
	}}
	var err error
	it, err = runtime.New(fm, opts)
	if err != nil {
		return nil, fmt.Errorf("ptq: %w", err)
	}
	defer it.Close()
	for s, in := range samples {
		for i, v := range in {
			copy(it.Input(i).Float32(), v)
			record(fm.Inputs[i])
		}
		if err := it.Invoke(); err != nil {
			return nil, fmt.Errorf("ptq: sample %d: %w", s, err)
		}
		if progress != nil {
			progress(s + 1)
		}
	}
	return h, nil
}

// Ranges returns the ranges chosen by method (Percentile or MSE; MinMax
// gives back the observed ranges).
func (h *Histograms) Ranges(method Method, percentile float64) *Ranges {
	if percentile <= 0 || percentile > 100 {
		percentile = 99.99
	}
	out := &Ranges{
		Min:  append([]float32(nil), h.r.Min...),
		Max:  append([]float32(nil), h.r.Max...),
		seen: append([]bool(nil), h.r.seen...),
	}
	for t, c := range h.counts {
		if c == nil || !(h.r.Max[t] > h.r.Min[t]) {
			continue
		}
		switch method {
		case Percentile:
			out.Min[t], out.Max[t] = h.percentile(t, percentile)
		case MSE:
			out.Min[t], out.Max[t] = h.mse(t)
		}
	}
	return out
}

// edge returns the value at the lower edge of bin b of tensor t.
func (h *Histograms) edge(t, b int) float64 {
	lo, hi := float64(h.r.Min[t]), float64(h.r.Max[t])
	return lo + (hi-lo)*float64(b)/float64(h.bins)
}

func (h *Histograms) percentile(t int, p float64) (float32, float32) {
	c := h.counts[t]
	var total int64
	for _, n := range c {
		total += n
	}
	tail := int64(float64(total) * (100 - p) / 100)
	lo, hi := 0, h.bins
	var acc int64
	for lo < h.bins-1 && acc+c[lo] <= tail {
		acc += c[lo]
		lo++
	}
	acc = 0
	for hi > lo+1 && acc+c[hi-1] <= tail {
		acc += c[hi-1]
		hi--
	}
	return float32(min(h.edge(t, lo), 0)), float32(max(h.edge(t, hi), 0))
}

// mse scans clipping ranges [min·a, max·b] over a grid of a and b and
// returns the one with the least expected squared quantization error.
func (h *Histograms) mse(t int) (float32, float32) {
	c := h.counts[t]
	lo, hi := float64(h.r.Min[t]), float64(h.r.Max[t])
	width := (hi - lo) / float64(h.bins)
	type bin struct {
		x float64
		n float64
	}
	var bs []bin
	for b, n := range c {
		if n > 0 {
			bs = append(bs, bin{x: lo + (float64(b)+0.5)*width, n: float64(n)})
		}
	}
	cost := func(a, b float32) float64 {
		p := quant.ChooseAsymmetric(a, b)
		e := 0.0
		for _, v := range bs {
			q := p.Quantize(float32(v.x), quant.Int8Min, quant.Int8Max)
			d := v.x - float64(p.Dequantize(q))
			// A bin's values spread over its width: add their variance.
			e += v.n * (d*d + width*width/12)
		}
		return e
	}
	bestA, bestB := float32(min(lo, 0)), float32(max(hi, 0))
	best := cost(bestA, bestB)
	const steps = 40
	for i := 0; i <= steps; i++ {
		fa := 1 - 0.9*float64(i)/steps
		a := float32(min(lo*fa, 0))
		for j := 0; j <= steps; j++ {
			fb := 1 - 0.9*float64(j)/steps
			b := float32(max(hi*fb, 0))
			if !(b > a) {
				continue
			}
			if e := cost(a, b); e < best-1e-12*math.Abs(best) {
				best, bestA, bestB = e, a, b
			}
		}
	}
	return bestA, bestB
}
