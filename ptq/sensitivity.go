package ptq

import (
	"fmt"
	"math"
	"sort"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// movementOps only move values; they follow their neighbours' precision
// and are not measured on their own.
var movementOps = map[format.OpCode]bool{
	format.OpReshape: true, format.OpTranspose: true, format.OpSlice: true,
	format.OpGather: true, format.OpConcat: true, format.OpPad: true,
}

// KindError is how much quantizing one kind of op costs: the model is run
// with only the ops of Kind in int8 (everything else float32) and
// compared with the float model on output 0.
type KindError struct {
	// Kind is the op kind; OpInvalid stands for "every op int8".
	Kind format.OpCode
	// Ops is the number of ops of the kind.
	Ops int
	// RelRMS is rms(int8 − float)/rms(float) over all outputs.
	RelRMS float64
	// Agree is the share of samples whose arg-max matches the float model's.
	Agree float64
}

func (k KindError) String() string {
	name := "all ops"
	if k.Kind != format.OpInvalid {
		name = k.Kind.String()
	}
	return fmt.Sprintf("%-16s %3d ops  rel. RMS error %.4f  top-1 agreement %.2f%%", name, k.Ops, k.RelRMS, 100*k.Agree)
}

// Sensitivity measures, for each kind of compute op in fm, the output
// error when only that kind is quantized with ranges, and (first) the
// error with every op quantized. The samples should be held out from
// calibration.
func Sensitivity(fm *format.Model, r *Ranges, samples [][][]float32, threads int) ([]KindError, error) {
	ref, err := outputs(fm, samples, threads)
	if err != nil {
		return nil, err
	}
	count := map[format.OpCode]int{}
	for _, op := range fm.Ops {
		if !movementOps[op.Code] {
			count[op.Code]++
		}
	}
	kinds := []format.OpCode{format.OpInvalid}
	for k := range count {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	var res []KindError
	for _, kind := range kinds {
		float := map[int]bool{}
		n := len(fm.Ops)
		if kind != format.OpInvalid {
			n = count[kind]
			for i, op := range fm.Ops {
				if op.Code != kind {
					float[i] = true
				}
			}
		}
		qm, err := QuantizeWith(fm, r, QuantizeOptions{Float: float})
		if err != nil {
			return nil, err
		}
		got, err := outputs(qm, samples, threads)
		if err != nil {
			return nil, err
		}
		var num, den float64
		agree := 0
		for s := range ref {
			for i, v := range ref[s] {
				d := float64(got[s][i] - v)
				num += d * d
				den += float64(v) * float64(v)
			}
			if argmax(ref[s]) == argmax(got[s]) {
				agree++
			}
		}
		res = append(res, KindError{Kind: kind, Ops: n, RelRMS: math.Sqrt(num / math.Max(den, 1e-30)), Agree: float64(agree) / float64(len(ref))})
	}
	return res, nil
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// outputs runs m (float or quantized input) on float samples and returns
// output 0 dequantized, per sample.
func outputs(m *format.Model, samples [][][]float32, threads int) ([][]float32, error) {
	it, err := runtime.New(m, runtime.Options{Threads: threads})
	if err != nil {
		return nil, fmt.Errorf("ptq: %w", err)
	}
	defer it.Close()
	out := make([][]float32, len(samples))
	for s, in := range samples {
		for i, v := range in {
			t := it.Input(i)
			switch t.DType {
			case format.Float32:
				copy(t.Float32(), v)
			case format.Int8:
				q := t.Int8()
				for j, x := range v {
					q[j] = int8(t.Params.Quantize(x, -128, 127))
				}
			default:
				return nil, fmt.Errorf("ptq: input %q is %v", t.Name, t.DType)
			}
		}
		if err := it.Invoke(); err != nil {
			return nil, fmt.Errorf("ptq: sample %d: %w", s, err)
		}
		o := it.Output(0)
		out[s] = o.Dequantized(make([]float32, o.NumElements()))
	}
	return out, nil
}
