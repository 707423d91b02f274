// Package runtime executes verified edgeinfer models. New does everything
// that can be done once — verification, memory planning, kernel parameter
// precomputation, lookup tables, worker start-up — so that Invoke touches
// only the arena and the model's read-only weights and allocates nothing.
package runtime

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"time"

	"github.com/edgeinfer/edgeinfer/format"
)

// Options configure an Interpreter.
type Options struct {
	// Threads is the number of workers that split convolutions, matrix
	// products and row-wise ops; 0 means one per CPU. Results are identical
	// for every thread count.
	Threads int
	// Profile records per-op time and MACs on every Invoke (see Profile).
	Profile bool
	// AfterOp, when set, is called after each op with its index; the op's
	// outputs can be read with Interpreter.Tensor. Calibration uses it.
	AfterOp func(op int)
	// Kernels forces a kernel set by name ("ref", or an accelerated set
	// listed by KernelSets); empty picks from $EDGEINFER_KERNELS, then the
	// best the CPU supports.
	Kernels string
}

// OpProfile is the accumulated cost of one op over all profiled Invokes.
type OpProfile struct {
	Index   int
	Code    format.OpCode
	Name    string
	MACs    int64 // per Invoke
	Elapsed time.Duration
	Calls   int
}

// Interpreter runs one model. Its arena holds every activation; its
// tensors are views into the arena (activations) or the model (constants).
//
// An Interpreter is not safe for concurrent Invoke: create one per
// goroutine with New on the same *format.Model, which they then share
// read-only (weights are never copied).
type Interpreter struct {
	model    *format.Model
	opts     Options
	plan     *Plan
	arena    []byte
	tensors  []Tensor
	steps    []step
	timed    int  // Invokes that timed the steps (timedInvokes)
	splitAll bool // tests: split every step from the first Invoke on
	pool     *pool
	profile  []OpProfile
	kernels  KernelSet
	tok      *TokenFlow // token-flow analysis and run-time budgets (tokenflow.go, tokens.go)
}

type step struct {
	k    kernel
	rows int
	macs int64
	// serial and split are the step's fastest time per row on one thread
	// and split over the workers, measured in the first Invokes (see
	// timedInvokes); after them Invoke splits only the steps that ran
	// clearly faster split.
	serial, split time.Duration
}

// timedInvokes is how many Invokes of a multi-threaded interpreter time
// each step on one thread, and then how many time it split over the
// workers. Handing out an op costs a few microseconds to tens (waking a
// sleeping CPU; 4–40 µs on the 2-vCPU x86 host of this project), as much
// as a whole LayerNorm or Add of a small ViT: splitting those made
// DeiT-tiny slower on 2 threads than on 1. Measuring both ways on the
// machine itself decides per step, whatever the CPU and the op. A pool
// whose workers spin (amd64) hands out an op in about a microsecond:
// there every step with more than one row is split, which measured faster
// than the per-step choice (DeiT-tiny on 2 threads: int8 4.30 against
// 4.45 ms, float32 11.9 against 12.7 ms).
const timedInvokes = 2

// splitGain is how much faster a step must run split to be split, so a
// step near the break-even stays on one thread.
const splitGain = 1.15

// kernel is a prepared op bound to its tensors' memory.
type kernel interface {
	rowRunner
	// rows is the size of the op's parallel dimension (1: not split).
	rows() int
}

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("runtime: interpreter is closed")

// New verifies m, plans its memory, prepares every op and starts the
// worker pool. m must not be modified while the Interpreter lives.
func New(m *format.Model, opts Options) (*Interpreter, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	if opts.Threads <= 0 {
		opts.Threads = goruntime.NumCPU()
	}
	ks, err := chooseKernels(opts.Kernels)
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	it := &Interpreter{model: m, opts: opts, kernels: ks}
	if m.MemoryPlan != nil {
		p, err := checkPlan(m, m.MemoryPlan)
		if err != nil {
			return nil, fmt.Errorf("runtime: model %q: %w", m.Name, err)
		}
		it.plan = p
	} else {
		it.plan = PlanMemory(m)
	}
	it.arena = make([]byte, it.plan.ArenaBytes)
	it.tensors = make([]Tensor, len(m.Tensors))
	for i := range m.Tensors {
		if err := it.bindTensor(i); err != nil {
			return nil, fmt.Errorf("runtime: %w", err)
		}
	}
	readers := make([]int32, len(m.Tensors))
	for _, op := range m.Ops {
		for _, t := range op.Inputs {
			if t >= 0 {
				readers[t]++
			}
		}
	}
	c := &prep{it: it}
	for i := range m.Ops {
		op := &m.Ops[i]
		impl, ok := registry[op.Code]
		if !ok {
			return nil, fmt.Errorf("runtime: op %d %v %q: not supported by this runtime", i, op.Code, op.Name)
		}
		k, macs, err := impl(c, op)
		if err != nil {
			return nil, fmt.Errorf("runtime: op %d %v %q: %w", i, op.Code, op.Name, err)
		}
		it.steps = append(it.steps, step{k: k, rows: k.rows(), macs: macs})
		it.dropIfRepacked(i, readers)
	}
	if err := it.adaptTokenSteps(); err != nil {
		return nil, err
	}
	it.pool = newPool(opts.Threads)
	it.profile = make([]OpProfile, len(m.Ops))
	for i, op := range m.Ops {
		it.profile[i] = OpProfile{Index: i, Code: op.Code, Name: op.Name, MACs: it.steps[i].macs}
	}
	goruntime.SetFinalizer(it, (*Interpreter).Close)
	return it, nil
}

// dropIfRepacked lets the OS drop the file pages of op i's weights when
// the op's kernel holds a packed copy and no other op reads them
// (format.Model.DropPages), right after packing, so a model mapped by
// format.ReadFile is never resident twice, not even while loading.
func (it *Interpreter) dropIfRepacked(i int, readers []int32) {
	op := &it.model.Ops[i]
	p, ok := it.steps[i].k.(interface{ packedBytes() int })
	if !ok || p.packedBytes() == 0 || len(op.Inputs) < 2 {
		return
	}
	if w := op.Inputs[1]; w >= 0 && readers[w] == 1 && it.model.Tensors[w].IsConst() {
		it.model.DropPages(int(w))
	}
}

func (it *Interpreter) bindTensor(i int) error {
	mt := &it.model.Tensors[i]
	t := &it.tensors[i]
	t.Name = mt.Name
	t.DType = mt.DType
	t.Shape = make([]int, len(mt.Shape))
	for d, v := range mt.Shape {
		t.Shape[d] = int(v)
	}
	if mt.Quant != nil && len(mt.Quant.Scale) == 1 {
		t.Params = mt.Quant.PerTensor()
	}
	if mt.IsConst() {
		t.data = mt.Data
		if !aligned(t.data, uintptr(mt.DType.Size())) {
			// A builder or a file at an odd address: copy once so the
			// typed views below stay aligned.
			t.data = append(make([]byte, 0, len(mt.Data)), mt.Data...)
		}
		return nil
	}
	off := it.plan.Offsets[i]
	if off < 0 {
		return fmt.Errorf("tensor %d %q is neither constant nor used by any op", i, mt.Name)
	}
	t.data = it.arena[off : off+int64(mt.ByteSize())]
	return nil
}

// Invoke runs the model once on the current contents of the input tensors.
// It allocates nothing.
func (it *Interpreter) Invoke() error {
	if it.pool == nil {
		return ErrClosed
	}
	phase := stepsTuned
	splitAll := it.splitAll || it.pool.spin
	if !splitAll && it.timed < 2*timedInvokes && it.pool.active > 1 {
		phase = timingSerial
		if it.timed >= timedInvokes {
			phase = timingSplit
		}
		it.timed++
	}
	for i := range it.steps {
		s := &it.steps[i]
		var start time.Time
		if it.opts.Profile || phase != stepsTuned {
			start = time.Now()
		}
		switch {
		case phase == timingSerial:
			s.k.runRows(0, s.rows)
			s.serial = fastest(s.serial, time.Since(start)/time.Duration(max(1, s.rows)))
		case phase == timingSplit:
			it.pool.run(s.k, s.rows)
			s.split = fastest(s.split, time.Since(start)/time.Duration(max(1, s.rows)))
		case splitAll || float64(s.split)*splitGain < float64(s.serial):
			it.pool.run(s.k, s.rows)
		default:
			s.k.runRows(0, s.rows)
		}
		if it.opts.Profile {
			p := &it.profile[i]
			p.Elapsed += time.Since(start)
			p.Calls++
		}
		if it.opts.AfterOp != nil {
			it.opts.AfterOp(i)
		}
	}
	return nil
}

const (
	stepsTuned = iota
	timingSerial
	timingSplit
)

func fastest(best, d time.Duration) time.Duration {
	if best == 0 || d < best {
		return d
	}
	return best
}

// Close stops the worker pool. The Interpreter must not be used afterwards.
func (it *Interpreter) Close() {
	if it.pool != nil {
		it.pool.close()
		it.pool = nil
	}
}

// Model returns the model the Interpreter runs.
func (it *Interpreter) Model() *format.Model { return it.model }

// NumInputs returns the number of graph inputs.
func (it *Interpreter) NumInputs() int { return len(it.model.Inputs) }

// NumOutputs returns the number of graph outputs.
func (it *Interpreter) NumOutputs() int { return len(it.model.Outputs) }

// Input returns graph input i; write into its Bytes (or typed view) before
// Invoke.
func (it *Interpreter) Input(i int) *Tensor { return &it.tensors[it.model.Inputs[i]] }

// Output returns graph output i, valid after Invoke until the next Invoke.
func (it *Interpreter) Output(i int) *Tensor { return &it.tensors[it.model.Outputs[i]] }

// Tensor returns any tensor of the model by index. An activation's contents
// are meaningful only while it is alive (for example from an AfterOp
// callback right after the op that produced it).
func (it *Interpreter) Tensor(i int) *Tensor { return &it.tensors[i] }

// Plan returns the arena layout.
func (it *Interpreter) Plan() *Plan { return it.plan }

// Kernels returns the kernel set in use and why it was picked.
func (it *Interpreter) Kernels() KernelSet { return it.kernels }

// Threads returns the number of workers Invoke uses.
func (it *Interpreter) Threads() int {
	if it.pool == nil {
		return it.opts.Threads
	}
	return it.pool.active
}

// SetThreads limits Invoke to n of the workers started by New (clamped to
// 1…Options.Threads), for example when a governor sheds load. Results do
// not depend on it. Not safe to call during Invoke.
func (it *Interpreter) SetThreads(n int) {
	if it.pool == nil {
		return
	}
	it.pool.active = max(1, min(n, it.pool.workers))
}

// MACs returns the multiply-accumulates of one Invoke.
func (it *Interpreter) MACs() int64 {
	var n int64
	for _, s := range it.steps {
		n += s.macs
	}
	return n
}

// Profile returns per-op costs accumulated since New or ResetProfile.
// Elapsed times are recorded only with Options.Profile.
func (it *Interpreter) Profile() []OpProfile { return it.profile }

// ResetProfile clears the accumulated times.
func (it *Interpreter) ResetProfile() {
	for i := range it.profile {
		it.profile[i].Elapsed, it.profile[i].Calls = 0, 0
	}
}

// WeightBytes returns the bytes of constant tensors in m.
func WeightBytes(m *format.Model) int64 {
	var n int64
	for i := range m.Tensors {
		if m.Tensors[i].IsConst() {
			n += int64(len(m.Tensors[i].Data))
		}
	}
	return n
}
