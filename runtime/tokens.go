package runtime

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// A run-time token budget.
//
// A pruning op (DiverseSelect) has a maximum Keep fixed in the model, and
// every tensor after it is planned in the arena at that maximum.
// Interpreter.SetTokens lowers the number of kept tokens for the next
// Invokes without re-planning or allocating: the tokens then live in the
// first Prefix+keep rows of each such tensor (fewer where a slice dropped
// leading special rows) and the rest are dead.
//
// The token-flow analysis (tokenflow.go) says which axes of which tensors
// follow a budget, whatever the layout, and on which of them the dead
// entries are exact zeros. Then, for every Invoke:
//   - FullyConnected and LayerNorm on tokens ([T, D], [1, T, D],
//     [T, 1, D]: every axis before the tokens of length 1) run only the
//     live rows: that is where the MACs go;
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
//   - a Mean over the tokens (a global-average-pool head) averages the
//     live rows: it divides by their count;
//   - the token operators (pooling, probing, selection) read the live row
//     count, and DiverseSelect selects keep tokens (and remembers them for
//     KeptPatches);
//   - everything else (residual adds, GELU, data movement) runs over the
//     whole planned tensor: dead entries hold garbage that no live value
//     depends on (with Q·Kᵀ's dead columns unwritten, not even computed).
// The MACs of the trimmed ops (MACs, Profile) scale with each live
// dimension: at budget k they equal FixTokens(m, k)'s for these ops.
// A model where a budgeted axis reaches an op with no such rule (a
// convolution, a concatenation, a reduction over dead keys, a reshape of
// the tokens into the grid without ScatterTokens, ...) keeps its static
// shapes and SetTokens reports which op, why and what to do. Results for a budget k
// are bit for bit those of FixTokens(m, k), the same model with static
// shapes; they do not depend on the thread count.

// budget is the live token count of one pruning op.
type budget struct {
	op     int
	prefix int
	max    int     // Keep in the model
	keep   int     // kept tokens for the next Invoke
	from   *rowSet // the rows the op selects from (its features' token axis), or nil
	kept   []int16 // the rows the op selected in the last Invoke (New allocates it)
}

// specialIDs returns the ids of the budget's prefix rows.
func (b *budget) specialIDs() []int32 {
	if b.from != nil && b.from.b == nil && len(b.from.ids) >= b.prefix {
		return b.from.ids[:b.prefix]
	}
	if b.from != nil && b.from.b != nil {
		if ids := b.from.b.specialIDs(); len(ids) >= b.from.lo+b.prefix {
			return ids[b.from.lo : b.from.lo+b.prefix]
		}
	}
	ids := make([]int32, b.prefix)
	for k := range ids {
		ids[k] = -1 - int32(k)
	}
	return ids
}

type tokenStepKind uint8

const (
	stepRows     tokenStepKind = iota // rows() = live tokens (FC, LayerNorm)
	stepMatMul                        // BatchMatMul with live M, N and/or K
	stepSoftmaxK                      // Softmax over live keys
	stepSelect                        // the pruning op: MACs follow keep
	stepMean                          // Mean over the live tokens
	stepTokenOp                       // a token operator reading the live rows: MACs follow them
)

type tokenStep struct {
	op   int
	kind tokenStepKind
	b    *budget
	live liveDims // stepMatMul: which dimensions are live
	lo   [3]int   // first budget row of the live axis (M, N, K for stepMatMul)
	per  int      // stepRows: kernel rows per token (axes between tokens and features)
	full int64    // MACs at the maximum
}

// scaled returns the step's MACs at the budget: DiverseSelect's follow
// keep; a trimmed op's scale by live/max for each live dimension (exact:
// each such planned dimension is its maximum).
func (ts *tokenStep) scaled() int64 {
	b := ts.b
	if ts.kind == stepSelect {
		return ts.full * int64(b.keep) / int64(b.max)
	}
	m := ts.full
	dims := []int{0}
	if ts.kind == stepMatMul {
		dims = dims[:0]
		for k, d := range []liveDims{liveM, liveN, liveK} {
			if ts.live&d != 0 {
				dims = append(dims, k)
			}
		}
	}
	for _, k := range dims {
		m = m * int64(b.live(ts.lo[k])) / int64(b.prefix+b.max-ts.lo[k])
	}
	return m
}

// ErrNoTokenBudget is returned by SetTokens for models whose token count
// cannot change at run time.
var ErrNoTokenBudget = errors.New("runtime: model has no run-time token budget")

func (it *Interpreter) tokenInfo() *TokenFlow {
	if it.tok == nil {
		it.tok = AnalyzeTokens(it.model)
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

func singleAxis(m uint8) (int, bool) {
	for a := 0; a < 8; a++ {
		if m == bit(a) {
			return a, true
		}
	}
	return 0, false
}

// live returns the live length of a budgeted axis starting at row lo.
func (b *budget) live(lo int) int { return b.prefix + b.keep - lo }

// liveKernel runs a row kernel over the live token rows only.
type liveKernel struct {
	kernel
	b       *budget
	lo, per int
}

func (k *liveKernel) rows() int { return k.b.live(k.lo) * k.per }

// maskedSoftmax normalizes each row over its live keys and zeroes the rest.
type maskedSoftmax struct {
	n, d int
	b    *budget
	lo   int
	f    func(lo, hi, live int)
}

func (k *maskedSoftmax) rows() int          { return k.n }
func (k *maskedSoftmax) runRows(lo, hi int) { k.f(lo, hi, k.b.live(k.lo)) }

func (it *Interpreter) newMaskedSoftmax(op *format.Op, b *budget, first int) kernel {
	x, out := &it.tensors[op.Inputs[0]], &it.tensors[op.Outputs[0]]
	d := x.Shape[len(x.Shape)-1]
	k := &maskedSoftmax{n: x.NumElements() / d, d: d, b: b, lo: first}
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

// newLiveMean averages the live rows of a budgeted token axis (the mean
// of [1…, T, …] over T, with every axis before T of length 1): the int8
// multiplier s_in/(s_out·n) for every live count n is computed at load.
func (it *Interpreter) newLiveMean(op *format.Op, b *budget, first int) (kernel, error) {
	x, out := &it.tensors[op.Inputs[0]], &it.tensors[op.Outputs[0]]
	a, _, _ := it.tok.leadingTokens(op.Inputs[0])
	inner := product(x.Shape[a+1:])
	for _, r := range op.Options.(*format.MeanOptions).Axes {
		if r < 0 {
			r += int32(len(x.Shape))
		}
		if int(r) > a {
			inner /= x.Shape[r] // reduced axes of length 1
		}
	}
	p := kernels.MeanParams{Outer: 1, Inner: inner}
	n := b.prefix + b.max - first
	switch x.DType {
	case format.Int8:
		mults := make([]quant.Multiplier, n+1)
		for r := 1; r <= n; r++ {
			m, err := quant.NewMultiplier(float64(x.Params.Scale) / (float64(out.Params.Scale) * float64(r)))
			if err != nil {
				return nil, err
			}
			mults[r] = m
		}
		p.InZP, p.OutZP, p.Rounding = x.Params.ZeroPoint, out.Params.ZeroPoint, it.model.Rounding.Multiplier()
		px, po := x.Int8(), out.Int8()
		return serial(func() {
			q := p
			q.Reduce = b.live(first)
			q.Mult = mults[q.Reduce]
			ref.MeanInt8(&q, px, po)
		}), nil
	case format.Float32:
		px, po := x.Float32(), out.Float32()
		return serial(func() { q := p; q.Reduce = b.live(first); ref.MeanFloat(&q, px, po) }), nil
	}
	return nil, errDType(x, "input")
}

// adaptTokenSteps swaps in the budget-aware kernels (called once by New).
func (it *Interpreter) adaptTokenSteps() error {
	s := it.tokenInfo()
	if s.blocked != nil || len(s.budgets) == 0 {
		return nil
	}
	for _, b := range s.budgets {
		b.kept = make([]int16, b.prefix+b.max)
	}
	for j := range s.steps {
		ts := &s.steps[j]
		st := &it.steps[ts.op]
		op := &it.model.Ops[ts.op]
		ts.full = st.macs
		switch ts.kind {
		case stepRows:
			st.k = &liveKernel{kernel: st.k, b: ts.b, lo: ts.lo[0], per: ts.per}
		case stepMatMul:
			if mm, ok := st.k.(*matMul); ok {
				mm.tok, mm.live, mm.lo = ts.b, ts.live, ts.lo
			}
		case stepSoftmaxK:
			st.k = it.newMaskedSoftmax(op, ts.b, ts.lo[0])
		case stepMean:
			k, err := it.newLiveMean(op, ts.b, ts.lo[0])
			if err != nil {
				return fmt.Errorf("runtime: op %d %v %q: %w", ts.op, op.Code, op.Name, err)
			}
			st.k = k
		}
		st.rows = st.k.rows()
	}
	return nil
}

// MaxTokens returns the largest number of tokens the model's pruning ops
// keep (the Keep they were built with), or 0 when the model has no
// run-time token budget.
func (it *Interpreter) MaxTokens() int {
	n, _ := it.TokenBudget()
	return n
}

// TokenBudget returns the most patch tokens the model's pruning ops keep
// (the Keep they were built with), or 0 and an error wrapping
// ErrNoTokenBudget that says why the model has no run-time token budget:
// no pruning op, or the op whose pruned tokens it cannot follow.
func (it *Interpreter) TokenBudget() (int, error) { return it.tokenInfo().Budget() }

// Budget returns the most patch tokens the model's pruning ops keep, or 0
// and an error wrapping ErrNoTokenBudget that says why the model has no
// run-time token budget (Interpreter.TokenBudget).
func (f *TokenFlow) Budget() (int, error) {
	if f.blocked != nil {
		return 0, f.blocked
	}
	if len(f.budgets) == 0 {
		return 0, ErrNoTokenBudget
	}
	n := 0
	for _, b := range f.budgets {
		n = max(n, b.max)
	}
	return n, nil
}

// PatchGrid returns the model's patch grid (rows, columns) as the token
// analysis finds it, or 0, 0.
func (it *Interpreter) PatchGrid() (h, w int) { return it.tokenInfo().Grid() }

// KeptPatches appends to dst the grid indices (row-major) of the patches
// that survived every pruning op of the last Invoke, in increasing order,
// and returns it. It allocates nothing when dst has room for them. It
// returns dst unchanged for a model without a run-time budget or patch
// grid, or before the first Invoke.
func (it *Interpreter) KeptPatches(dst []int) []int {
	s := it.tokenInfo()
	if s.blocked != nil || len(s.budgets) == 0 {
		return dst
	}
	// The last pruning op's choice, traced back through the ones before.
	b := s.budgets[len(s.budgets)-1]
	start := len(dst)
	for r := 0; r < b.prefix+b.keep; r++ {
		if g, ok := b.gridOf(r); ok {
			dst = append(dst, g)
		}
	}
	slices.Sort(dst[start:])
	return dst
}

// gridOf returns the grid index of the patch in row r of b's selection.
func (b *budget) gridOf(r int) (int, bool) {
	if b.kept == nil || r >= len(b.kept) || b.from == nil {
		return 0, false
	}
	src := int(b.kept[r])
	if src < 0 {
		return 0, false
	}
	if b.from.b == nil {
		if src >= len(b.from.ids) || b.from.ids[src] < 0 {
			return 0, false
		}
		return int(b.from.ids[src]), true
	}
	return b.from.b.gridOf(b.from.lo + src)
}

// SetTokens makes every pruning op keep min(n, its maximum) tokens (plus
// the prefix) from the next Invoke on, without re-planning or allocating.
// n must be at least 1. Not safe to call during Invoke. It returns
// ErrNoTokenBudget (wrapped with the reason) for models without pruning
// or whose pruned tokens reach an op with no run-time rule.
func (it *Interpreter) SetTokens(n int) error {
	if _, err := it.TokenBudget(); err != nil {
		return err
	}
	s := it.tokenInfo()
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
// are resized to their live length at that budget, so the model runs, and
// counts its MACs, with the static shapes of that budget. m itself is not
// modified.
func FixTokens(m *format.Model, keep int) (*format.Model, error) {
	s := AnalyzeTokens(m)
	if s.blocked != nil {
		return nil, s.blocked
	}
	if len(s.budgets) == 0 {
		return nil, ErrNoTokenBudget
	}
	if keep < 1 {
		return nil, fmt.Errorf("runtime: FixTokens(%d): keep at least 1 token", keep)
	}
	for _, b := range s.budgets {
		b.keep = min(keep, b.max)
	}
	nm := *m
	nm.MemoryPlan = nil
	nm.Tensors = append([]format.Tensor(nil), m.Tensors...)
	nm.Ops = append([]format.Op(nil), m.Ops...)
	for i := range s.t {
		ft := &s.t[i]
		if b, _ := ft.budget(); b == nil {
			continue
		}
		t := &nm.Tensors[i]
		t.Shape = append([]int32(nil), t.Shape...)
		for a := range t.Shape {
			if l := ft.ax[a]; l.kind == axTokens && l.rows.b != nil {
				t.Shape[a] = int32(l.rows.b.live(l.rows.lo))
			}
		}
	}
	for i := range nm.Ops {
		op := &nm.Ops[i]
		if op.Code != format.OpSlice {
			continue
		}
		x := op.Inputs[0]
		if b, _ := s.t[x].budget(); b == nil {
			continue
		}
		o := *op.Options.(*format.SliceOptions)
		o.Size = append([]int32(nil), o.Size...)
		for a := range o.Size {
			l := s.t[x].ax[a]
			if l.kind != axTokens || l.rows.b == nil || o.Size[a] < 0 {
				continue
			}
			if o.Begin[a]+o.Size[a] == m.Tensors[x].Shape[a] {
				o.Size[a] = nm.Tensors[x].Shape[a] - o.Begin[a]
			}
		}
		op.Options = &o
	}
	for _, b := range s.budgets {
		o := *nm.Ops[b.op].Options.(*format.DiverseSelectOptions)
		o.Keep = int32(b.keep)
		nm.Ops[b.op].Options = &o
	}
	if err := nm.Validate(); err != nil {
		return nil, fmt.Errorf("runtime: FixTokens(%d): %w", keep, err)
	}
	return &nm, nil
}
