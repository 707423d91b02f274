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
// products and softmax), and on which of them the dead entries are exact
// zeros. Then, for every Invoke:
//   - FullyConnected and LayerNorm on [T, D] (or [1, T, D]) tokens run
//     only the live rows: that is where the MACs go;
//   - BatchMatMul runs on the leading live sub-blocks of its operands
//     (row strides stay the planned ones): only the live query rows (M);
//     only the live key columns (N) of Q·Kᵀ, whose dead columns are left
//     unwritten; and only the live keys of the contraction (K) of P·V,
//     which needs the dead terms of one operand to be zeros (the int8 zero
//     point or 0.0): its sums, in increasing k from +0, then have the
//     same bits as over every key;
//   - Softmax over a key axis that follows a budget reads and normalizes
//     the live keys only and writes exact zeros for the dead ones, so
//     AttentionSinkRedistribute (which reads whole rows and keeps zeros
//     zeros) and P·V can rely on them;
//   - the token operators (pooling, probing, selection) read the live row
//     count, and DiverseSelect selects keep tokens;
//   - everything else (residual adds, GELU, data movement) runs over the
//     whole planned tensor: dead entries hold garbage that no live value
//     depends on (with Q·Kᵀ's dead columns unwritten, not even computed).
// The MACs of the trimmed ops (MACs, Profile) scale with each live
// dimension: at budget k they equal FixTokens(m, k)'s for these ops.
// A model where a budgeted axis reaches an op with no such rule (a
// convolution, a concatenation, a reduction over dead keys, ...) keeps
// its static shapes and SetTokens reports why. Results for a budget k
// are bit for bit those of FixTokens(m, k), the same model with static
// shapes; they do not depend on the thread count.

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
	stepMatMul                        // BatchMatMul with live M, N and/or K
	stepSoftmaxK                      // Softmax over live keys
	stepSelect                        // the pruning op: MACs follow keep
)

type tokenStep struct {
	op   int
	kind tokenStepKind
	b    *budget
	live liveDims // stepMatMul: which dimensions are live
	full int64    // MACs at the maximum
	max  int      // live count at the maximum
}

// scaled returns the step's MACs at the budget: DiverseSelect's follow
// keep; a trimmed op's scale by live/max for each live dimension (exact:
// each such planned dimension is max).
func (ts *tokenStep) scaled() int64 {
	if ts.kind == stepSelect {
		return ts.full * int64(ts.b.keep) / int64(ts.b.max)
	}
	dims := 0
	switch ts.kind {
	case stepRows:
		dims = 1
	case stepMatMul:
		for d := liveM; d <= liveK; d <<= 1 {
			if ts.live&d != 0 {
				dims++
			}
		}
	}
	m := ts.full
	for ; dims > 0; dims-- {
		m = m * int64(ts.b.live()) / int64(ts.max)
	}
	return m
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
			s.steps = append(s.steps, tokenStep{op: i, kind: stepSelect, b: nb})
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
			var live liveDims
			if a.axes&bit(am) != 0 {
				if adjX {
					block(i, op, "budgeted rows of a transposed operand")
					break
				}
				d.axes |= bit(ra - 2)
				live |= liveM
			}
			if bb.axes&bit(bn) != 0 {
				// The dead columns are not computed: what reads them
				// (masked softmax) reads the live keys only.
				d.axes |= bit(ra - 1)
				live |= liveN
			}
			if aK {
				// The dead terms are zeros: the sum over the live
				// keys alone has the same bits.
				live |= liveK
			}
			if live != 0 {
				s.steps = append(s.steps, tokenStep{op: i, kind: stepMatMul, b: b, live: live})
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
			// It reads whole rows of probabilities: dead keys must hold
			// zeros (masked softmax), which it leaves zeros.
			last := len(shape(op.Inputs[0])) - 1
			if x.axes&bit(last) != 0 && x.zeros&bit(last) == 0 {
				block(i, op, "redistributes probabilities whose dead keys are not zeros")
				break
			}
			s.dyn[out] = dynTensor{b: b, axes: x.axes, zeros: x.zeros}
		case format.OpZOSensitivity, format.OpGGeMPool, format.OpEfficientProbe, format.OpAdaptiveTokenPool2D:
			// They read the live rows of whole features.
			if xs := shape(op.Inputs[0]); x.axes&bit(len(xs)-1) != 0 {
				block(i, op, "budgeted feature axis")
				break
			}
			switch op.Code {
			case format.OpZOSensitivity:
				s.dyn[out] = dynTensor{b: b, axes: 1}
			case format.OpAdaptiveTokenPool2D:
				if !op.Options.(*format.AdaptiveTokenPool2DOptions).Masked {
					block(i, op, "unmasked pooling needs the whole grid")
				}
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
		case stepMatMul:
			if mm, ok := st.k.(*matMul); ok {
				mm.tok, mm.live = ts.b, ts.live
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
		st.macs = ts.scaled()
		it.profile[ts.op].MACs = st.macs
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
