package runtime

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// A run-time token budget.
//
// A pruning op (DiverseSelect) has a maximum Keep fixed in the model, and
// every tensor after it is planned in the arena at that maximum.
// Interpreter.SetTokens lowers the number of kept tokens for the next
// Invokes without re-planning or allocating: the tokens then live in the
// first Prefix+keep rows of each such tensor and the rest are dead.
//
// New traces which axes of which tensors follow a budget (through
// GatherTokens, row-wise ops, reshapes, transposes, slices, matrix
// products and softmax). Then, for every Invoke:
//   - FullyConnected and LayerNorm on [T, D] (or [1, T, D]) tokens, and the query rows of
//     BatchMatMul, run only the live rows: that is where the MACs go;
//   - Softmax over a key axis that follows a budget normalizes over the
//     live keys and writes exact zeros for the dead ones, so the following
//     attention product (which still spans every key) ignores them;
//   - the token operators (pooling, probing, selection) read the live row
//     count;
//   - everything else (residual adds, GELU, data movement) runs over the
//     whole planned tensor: dead rows hold finite garbage that no live
//     value depends on.
// A model where a budgeted axis reaches an op with no such rule (a
// convolution, a concatenation, ...) keeps its static shapes and SetTokens
// reports why. Results for a budget k are those of the same model built
// with Keep = k; they do not depend on the thread count.

// budget is the live token count of one pruning op.
type budget struct {
	op     int
	prefix int
	max    int // Keep in the model
	keep   int // kept tokens for the next Invoke
}

// dynTensor says which axes of a tensor have the budget's live length
// prefix+keep, and on which of them the dead entries are exact zeros.
type dynTensor struct {
	b     *budget
	axes  uint8
	zeros uint8
}

type tokenStepKind uint8

const (
	stepRows     tokenStepKind = iota // rows() = live tokens (FC, LayerNorm)
	stepMatMulM                       // BatchMatMul with live query rows
	stepSoftmaxK                      // Softmax over live keys
)

type tokenStep struct {
	op   int
	kind tokenStepKind
	b    *budget
	full int64 // MACs at the maximum
	max  int   // rows at the maximum
}

type tokenState struct {
	dyn     []dynTensor
	source  map[int]*budget // DiverseSelect op → its budget
	budgets []*budget
	steps   []tokenStep
	blocked error
}

// ErrNoTokenBudget is returned by SetTokens for models whose token count
// cannot change at run time.
var ErrNoTokenBudget = errors.New("runtime: model has no run-time token budget")

func (it *Interpreter) tokenInfo() *tokenState {
	if it.tok == nil {
		it.tok = analyzeTokens(it.model)
	}
	return it.tok
}

func (c *prep) opIndex(op *format.Op) int {
	for i := range c.it.model.Ops {
		if &c.it.model.Ops[i] == op {
			return i
		}
	}
	return -1
}

func bit(a int) uint8 { return 1 << uint(a) }

func analyzeTokens(m *format.Model) *tokenState {
	s := &tokenState{dyn: make([]dynTensor, len(m.Tensors)), source: map[int]*budget{}}
	block := func(i int, op *format.Op, why string) {
		if s.blocked == nil {
			s.blocked = fmt.Errorf("%w: op %d %v %q: %s", ErrNoTokenBudget, i, op.Code, op.Name, why)
		}
	}
	for i := range m.Ops {
		op := &m.Ops[i]
		var b *budget
		var in []dynTensor
		for _, t := range op.Inputs {
			var d dynTensor
			if t >= 0 {
				d = s.dyn[t]
			}
			in = append(in, d)
			if d.b != nil {
				b = d.b
			}
		}
		out := op.Outputs[0]
		shape := func(t int32) []int32 { return m.Tensors[t].Shape }
		if op.Code == format.OpDiverseSelect {
			o := op.Options.(*format.DiverseSelectOptions)
			nb := &budget{op: i, prefix: int(o.Prefix), max: int(o.Keep), keep: int(o.Keep)}
			s.source[i] = nb
			s.budgets = append(s.budgets, nb)
			s.dyn[out] = dynTensor{b: nb, axes: 1}
			continue
		}
		if op.Code == format.OpGatherTokens {
			// The indices decide the rows: x's own budget (an earlier
			// pruning) no longer matters.
			if in[1].b != nil {
				s.dyn[out] = dynTensor{b: in[1].b, axes: 1}
			}
			continue
		}
		if b == nil {
			continue
		}
		for _, d := range in {
			if d.b != nil && d.b != b {
				block(i, op, "mixes two token budgets")
			}
		}
		x := in[0]
		switch op.Code {
		case format.OpFullyConnected, format.OpLayerNorm:
			if x.b == nil {
				block(i, op, "weights follow a token budget")
				break
			}
			xs := shape(op.Inputs[0])
			tokAxis, ok := len(xs)-2, len(xs) >= 2 && x.axes == bit(len(xs)-2)
			for _, d := range xs[:max(0, len(xs)-2)] {
				ok = ok && d == 1
			}
			if !ok {
				block(i, op, "budgeted tokens must be [T, D] or [1, T, D]")
				break
			}
			s.dyn[out] = dynTensor{b: b, axes: bit(tokAxis)}
			s.steps = append(s.steps, tokenStep{op: i, kind: stepRows, b: b})
		case format.OpGELU, format.OpReLU, format.OpReLU6, format.OpLogistic, format.OpTanh, format.OpHardSwish,
			format.OpRsqrt, format.OpQuantize, format.OpDequantize, format.OpSwiGLU:
			s.dyn[out] = dynTensor{b: b, axes: x.axes | in[len(in)-1].axes}
		case format.OpAdd, format.OpSub, format.OpMul, format.OpSquaredDifference:
			var axes uint8
			for k, d := range in {
				if d.b == nil {
					continue
				}
				if !sameShape(shape(op.Inputs[k]), shape(out)) {
					block(i, op, "broadcasts a budgeted token axis")
				}
				axes |= d.axes
			}
			s.dyn[out] = dynTensor{b: b, axes: axes}
		case format.OpReshape:
			a, ok := singleAxis(x.axes)
			if !ok {
				block(i, op, "reshapes more than one budgeted axis")
				break
			}
			na, ok := reshapeAxis(shape(op.Inputs[0]), shape(out), a)
			if !ok {
				block(i, op, "reshape merges or splits the budgeted axis")
				break
			}
			s.dyn[out] = dynTensor{b: b, axes: bit(na), zeros: boolBit(x.zeros&bit(a) != 0, na)}
		case format.OpTranspose:
			perm := op.Options.(*format.TransposeOptions).Perm
			var d dynTensor
			d.b = b
			for k, p := range perm {
				if x.axes&bit(int(p)) != 0 {
					d.axes |= bit(k)
				}
				if x.zeros&bit(int(p)) != 0 {
					d.zeros |= bit(k)
				}
			}
			s.dyn[out] = d
		case format.OpSlice:
			o := op.Options.(*format.SliceOptions)
			d := dynTensor{b: b}
			xs := shape(op.Inputs[0])
			for a := range xs {
				if x.axes&bit(a) == 0 {
					continue
				}
				full := o.Begin[a] == 0 && (o.Size[a] < 0 || o.Size[a] == xs[a])
				switch {
				case full:
					d.axes |= bit(a)
					d.zeros |= x.zeros & bit(a)
				case o.Size[a] >= 0 && int(o.Begin[a]+o.Size[a]) <= b.prefix:
					// Only prefix rows: always live, static.
				default:
					block(i, op, "slices inside the budgeted token rows")
				}
			}
			if d.axes != 0 {
				s.dyn[out] = d
			}
		case format.OpBatchMatMul:
			o, _ := op.Options.(*format.BatchMatMulOptions)
			var adjX, adjY bool
			if o != nil {
				adjX, adjY = o.AdjX, o.AdjY
			}
			ra, rb := len(shape(op.Inputs[0])), len(shape(op.Inputs[1]))
			am, ak := ra-2, ra-1
			if adjX {
				am, ak = ak, am
			}
			bk, bn := rb-2, rb-1
			if adjY {
				bk, bn = bn, bk
			}
			a, bb := in[0], in[1]
			if a.axes&^(bit(am)|bit(ak)) != 0 || bb.axes&^(bit(bk)|bit(bn)) != 0 {
				block(i, op, "budgeted batch axis")
				break
			}
			aK, bK := a.axes&bit(ak) != 0, bb.axes&bit(bk) != 0
			if aK != bK || (aK && a.zeros&bit(ak) == 0 && bb.zeros&bit(bk) == 0) {
				block(i, op, "contracts over a budgeted axis without zeros in its dead entries")
				break
			}
			d := dynTensor{b: b}
			if a.axes&bit(am) != 0 {
				if adjX {
					block(i, op, "budgeted rows of a transposed operand")
					break
				}
				d.axes |= bit(ra - 2)
				s.steps = append(s.steps, tokenStep{op: i, kind: stepMatMulM, b: b})
			}
			if bb.axes&bit(bn) != 0 {
				d.axes |= bit(ra - 1)
			}
			if d.axes != 0 {
				s.dyn[out] = d
			}
		case format.OpSoftmax:
			last := len(shape(out)) - 1
			d := dynTensor{b: b, axes: x.axes, zeros: x.zeros}
			if x.axes&bit(last) != 0 {
				d.zeros |= bit(last)
				s.steps = append(s.steps, tokenStep{op: i, kind: stepSoftmaxK, b: b})
			}
			s.dyn[out] = d
		case format.OpAttentionSinkRedistribute:
			s.dyn[out] = dynTensor{b: b, axes: x.axes, zeros: x.zeros}
		case format.OpZOSensitivity:
			s.dyn[out] = dynTensor{b: b, axes: 1}
		case format.OpGGeMPool, format.OpEfficientProbe:
			// Read the live rows; the output is static.
		case format.OpAdaptiveTokenPool2D:
			if !op.Options.(*format.AdaptiveTokenPool2DOptions).Masked {
				block(i, op, "unmasked pooling needs the whole grid")
			}
		default:
			block(i, op, "has no rule for a run-time token count")
		}
	}
	return s
}

func boolBit(v bool, a int) uint8 {
	if v {
		return bit(a)
	}
	return 0
}

func sameShape(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func singleAxis(m uint8) (int, bool) {
	for a := 0; a < 8; a++ {
		if m == bit(a) {
			return a, true
		}
	}
	return 0, false
}

// reshapeAxis finds the axis of out that holds axis a of in unchanged:
// the same length after the same number of leading elements.
func reshapeAxis(in, out []int32, a int) (int, bool) {
	lead := int64(1)
	for _, d := range in[:a] {
		lead *= int64(d)
	}
	l := int64(1)
	for k, d := range out {
		if l == lead && d == in[a] {
			return k, true
		}
		l *= int64(d)
	}
	return 0, false
}

func (b *budget) live() int { return b.prefix + b.keep }

// liveKernel runs a row kernel over the live token rows only.
type liveKernel struct {
	kernel
	b *budget
}

func (k *liveKernel) rows() int { return k.b.live() }

// liveMatMul runs the query rows of a BatchMatMul that are live.
type liveMatMul struct {
	*matMul
	b *budget
}

func (k *liveMatMul) rows() int { return k.batches * k.b.live() }
func (k *liveMatMul) runRows(lo, hi int) {
	n := k.b.live()
	for r := lo; r < hi; {
		bi, m0 := r/n, r%n
		m1 := min(n, hi-bi*n)
		k.run(bi, m0, m1)
		r = bi*n + m1
	}
}

// maskedSoftmax normalizes each row over its live keys and zeroes the rest.
type maskedSoftmax struct {
	n, d int
	b    *budget
	f    func(lo, hi, live int)
}

func (k *maskedSoftmax) rows() int          { return k.n }
func (k *maskedSoftmax) runRows(lo, hi int) { k.f(lo, hi, k.b.live()) }

func (it *Interpreter) newMaskedSoftmax(op *format.Op, b *budget) kernel {
	x, out := &it.tensors[op.Inputs[0]], &it.tensors[op.Outputs[0]]
	d := x.Shape[len(x.Shape)-1]
	k := &maskedSoftmax{n: x.NumElements() / d, d: d, b: b}
	beta := float32(1)
	if o, ok := op.Options.(*format.SoftmaxOptions); ok {
		beta = o.Beta
	}
	switch x.DType {
	case format.Int8:
		p := kernels.SoftmaxParams{Rows: 1, D: d, Exp: ref.NewSoftmaxTable(beta, x.Params.Scale)}
		px, po := x.Int8(), out.Int8()
		zp := int8(out.Params.ZeroPoint)
		k.f = func(lo, hi, live int) {
			q := p
			q.D = live
			for r := lo; r < hi; r++ {
				ref.SoftmaxInt8(&q, px[r*d:r*d+live], po[r*d:r*d+live])
				for j := r*d + live; j < (r+1)*d; j++ {
					po[j] = zp
				}
			}
		}
	default:
		px, po := x.Float32(), out.Float32()
		k.f = func(lo, hi, live int) {
			for r := lo; r < hi; r++ {
				ref.SoftmaxFloat(1, live, beta, px[r*d:r*d+live], po[r*d:r*d+live])
				clear(po[r*d+live : (r+1)*d])
			}
		}
	}
	return k
}

// adaptTokenSteps swaps in the budget-aware kernels (called once by New).
func (it *Interpreter) adaptTokenSteps() {
	s := it.tokenInfo()
	if s.blocked != nil || len(s.budgets) == 0 {
		return
	}
	for j := range s.steps {
		ts := &s.steps[j]
		st := &it.steps[ts.op]
		ts.full, ts.max = st.macs, ts.b.live()
		switch ts.kind {
		case stepRows:
			st.k = &liveKernel{kernel: st.k, b: ts.b}
		case stepMatMulM:
			if mm, ok := st.k.(*matMul); ok && mm.splitM {
				st.k = &liveMatMul{matMul: mm, b: ts.b}
			}
		case stepSoftmaxK:
			st.k = it.newMaskedSoftmax(&it.model.Ops[ts.op], ts.b)
		}
		st.rows = st.k.rows()
	}
}

// MaxTokens returns the largest number of tokens the model's pruning ops
// keep (the Keep they were built with), or 0 when the model has no
// run-time token budget.
func (it *Interpreter) MaxTokens() int {
	s := it.tokenInfo()
	if s.blocked != nil {
		return 0
	}
	n := 0
	for _, b := range s.budgets {
		n = max(n, b.max)
	}
	return n
}

// SetTokens makes every pruning op keep min(n, its maximum) tokens (plus
// the prefix) from the next Invoke on, without re-planning or allocating.
// n must be at least 1. Not safe to call during Invoke. It returns
// ErrNoTokenBudget (wrapped with the reason) for models without pruning
// or whose pruned tokens reach an op with no run-time rule.
func (it *Interpreter) SetTokens(n int) error {
	s := it.tokenInfo()
	if s.blocked != nil {
		return s.blocked
	}
	if len(s.budgets) == 0 {
		return ErrNoTokenBudget
	}
	if n < 1 {
		return fmt.Errorf("runtime: SetTokens(%d): keep at least 1 token", n)
	}
	for _, b := range s.budgets {
		b.keep = min(n, b.max)
	}
	for _, ts := range s.steps {
		st := &it.steps[ts.op]
		st.rows = st.k.rows()
		if ts.kind != stepSoftmaxK {
			st.macs = ts.full * int64(ts.b.live()) / int64(ts.max)
			it.profile[ts.op].MACs = st.macs
		}
	}
	return nil
}

func unsafeInt16(b []byte) []int16 {
	return unsafe.Slice((*int16)(unsafe.Pointer(&b[0])), len(b)/2)
}

func asInt16(b []byte) []int16 {
	if len(b) < 2 {
		return nil
	}
	return unsafeInt16(b)
}

// FixTokens returns a copy of m in which every pruning op keeps exactly
// min(keep, its maximum) tokens: the budgeted axes of the tensors after it
// are resized to prefix+keep, so the model runs, and counts its MACs, with
// the static shapes of that budget. m itself is not modified.
func FixTokens(m *format.Model, keep int) (*format.Model, error) {
	s := analyzeTokens(m)
	if s.blocked != nil {
		return nil, s.blocked
	}
	if len(s.budgets) == 0 {
		return nil, ErrNoTokenBudget
	}
	if keep < 1 {
		return nil, fmt.Errorf("runtime: FixTokens(%d): keep at least 1 token", keep)
	}
	nm := *m
	nm.MemoryPlan = nil
	nm.Tensors = append([]format.Tensor(nil), m.Tensors...)
	nm.Ops = append([]format.Op(nil), m.Ops...)
	for i, d := range s.dyn {
		if d.b == nil {
			continue
		}
		t := &nm.Tensors[i]
		t.Shape = append([]int32(nil), t.Shape...)
		for a := range t.Shape {
			if d.axes&bit(a) != 0 {
				t.Shape[a] = int32(d.b.prefix + min(keep, d.b.max))
			}
		}
	}
	for i := range nm.Ops {
		op := &nm.Ops[i]
		d := s.dyn[op.Inputs[0]]
		if op.Code != format.OpSlice || d.b == nil {
			continue
		}
		o := *op.Options.(*format.SliceOptions)
		o.Size = append([]int32(nil), o.Size...)
		for a := range o.Size {
			if d.axes&bit(a) != 0 && o.Size[a] == m.Tensors[op.Inputs[0]].Shape[a] {
				o.Size[a] = nm.Tensors[op.Inputs[0]].Shape[a]
			}
		}
		op.Options = &o
	}
	for _, b := range s.budgets {
		o := *nm.Ops[b.op].Options.(*format.DiverseSelectOptions)
		o.Keep = int32(min(keep, b.max))
		nm.Ops[b.op].Options = &o
	}
	if err := nm.Validate(); err != nil {
		return nil, fmt.Errorf("runtime: FixTokens(%d): %w", keep, err)
	}
	return &nm, nil
}
