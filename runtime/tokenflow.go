package runtime

import (
	"fmt"
	"slices"

	"github.com/edgeinfer/edgeinfer/format"
)

// The token-flow analysis: one pass over a model's ops, from its image
// input forward, that says which axes of which tensors hold tokens and
// what each of their rows is.
//
// The image input's height and width axes are followed through reshapes
// and transposes into the patch embedding (a strided convolution, or a
// 6-D reshape that cuts the image into patches), whose output axes are
// the patch grid. Where the grid's two axes are merged into one (row-major,
// as every ViT flattens them), that axis holds tokens: one row per patch,
// in grid order. A Concat along a token axis adds special rows (a class
// token, a distillation token, registers: whatever does not come from a
// patch; they are always kept and never counted in a budget). The rows are
// then followed through row-wise ops (FullyConnected, LayerNorm,
// elementwise ops), reshapes and transposes that keep the token axis
// whatever its position ([1, T, D], [T, 1, D] as nn.MultiheadAttention
// exports, [T, D], heads split off into [1, H, T, dh]), slices and
// gathers (which may read special rows by index), matrix products (Q·Kᵀ
// has a query and a key token axis; P·V contracts over the keys) and
// softmax.
//
// A pruning op (DiverseSelect) starts a run-time budget: the rows it
// selects, gathered by GatherTokens, are its Prefix special rows and then
// up to Keep patches in an order that depends on the input. Every axis
// that follows such rows is budgeted (see tokens.go for what runs on it).
// After the pruning op, special rows can still be read by index (they are
// the first Prefix rows), a Mean over the tokens averages the live rows,
// and ScatterTokens puts rows back at their places, pruned places zero.
// Anything else that needs the rows' order or count — a reshape that
// splits the token axis into the grid, a convolution, a concatenation of
// tokens, a graph output of pruned rows — has no run-time rule, and
// SetTokens says which op and why.

// rowSet says what the rows along one token axis are.
type rowSet struct {
	// ids, for static rows: per row, the grid index of its patch (≥ 0)
	// or −1−s for special row s. nil for budgeted rows.
	ids []int32
	// b, for budgeted rows: the budget whose selection the axis follows,
	// from its row lo on (lo ≤ b.prefix: only special rows can be
	// sliced off by index).
	b  *budget
	lo int
}

// static reports the number of leading rows of r that are always live.
func (r *rowSet) static() int {
	if r.b == nil {
		return len(r.ids)
	}
	return max(0, r.b.prefix-r.lo)
}

// same reports whether r and o are the same rows in the same order.
func (r *rowSet) same(o *rowSet) bool {
	if r.b != nil || o.b != nil {
		return r.b == o.b && r.lo == o.lo
	}
	return slices.Equal(r.ids, o.ids)
}

type axisKind uint8

const (
	axNone   axisKind = iota
	axImageH          // an image's height (pixels)
	axImageW          // an image's width
	axGridH           // the patch grid's rows
	axGridW           // the patch grid's columns
	axTokens          // token rows (rows says which)
)

type axisLabel struct {
	kind axisKind
	rows *rowSet // axTokens
}

// flowTensor labels every axis of one tensor, and says on which budgeted
// axes the dead entries are exact zeros.
type flowTensor struct {
	ax    [format.MaxRank]axisLabel
	zeros uint8
}

// budget returns the budget of t's budgeted axes, and which they are.
func (t *flowTensor) budget() (*budget, uint8) {
	var b *budget
	var axes uint8
	for a, l := range t.ax {
		if l.kind == axTokens && l.rows.b != nil {
			b = l.rows.b
			axes |= bit(a)
		}
	}
	return b, axes
}

// ScatterPoint is a place where pruned tokens must be put back in their
// places (ScatterTokens) for what follows to see them as it did before
// the pruning: Reader reads Tensor, whose axis Axis holds the pruned rows
// from the first (the special rows, then the kept patches). Reader is −1
// when Tensor is a graph output.
type ScatterPoint struct {
	Reader int
	Tensor int32
	Axis   int
}

// TokenFlow is the result of the token-flow analysis of a model: which
// tensors hold tokens along which axis, which of their rows are patches
// (and where in the grid) and which are special, and, after a pruning op,
// which axes follow the run-time budget.
type TokenFlow struct {
	m            *format.Model
	t            []flowTensor
	gridH, gridW int
	specials     int            // number of special rows seen
	read         map[int32]bool // special ids read alone by index
	source       map[int]*budget
	budgets      []*budget
	steps        []tokenStep
	needs        []ScatterPoint
	producer     map[int32]int
	blocked      error
}

// AnalyzeTokens runs the token-flow analysis of m. It never fails: a
// model without tokens has no token axes, and one whose pruned tokens
// reach an op without a run-time rule reports it through Err.
func AnalyzeTokens(m *format.Model) *TokenFlow {
	f := &TokenFlow{m: m, t: make([]flowTensor, len(m.Tensors)), read: map[int32]bool{}, source: map[int]*budget{}, producer: map[int32]int{}}
	f.labelInput()
	for i := range m.Ops {
		f.producer[m.Ops[i].Outputs[0]] = i
		f.op(i)
	}
	for _, o := range m.Outputs {
		if b, axes := f.t[o].budget(); b != nil {
			a, _ := singleAxis(axes)
			f.needScatter(-1, o, a)
			f.block(-1, fmt.Sprintf("graph output %q holds pruned tokens, whose rows depend on the input", m.Tensors[o].Name),
				"insert the pruning with zoo.InsertPruning (edgeinfer convert --prune), which scatters them back in their places")
		}
	}
	return f
}

// ScatterPoints returns where pruned tokens reach what needs them in
// their places (a reshape into the patch grid, a graph output): there a
// ScatterTokens makes the model's budget work (zoo.InsertPruning inserts
// them).
func (f *TokenFlow) ScatterPoints() []ScatterPoint { return f.needs }

// needScatter records that reader needs axis a of tensor t in place. The
// point recorded is upstream, where the axis still starts at the pruned
// rows' first row (a slice that dropped special rows is then applied to
// the rows in place, as before the pruning).
func (f *TokenFlow) needScatter(reader int, t int32, a int) {
	for f.t[t].ax[a].rows.lo != 0 {
		p, ok := f.producer[t]
		if !ok {
			return
		}
		op := &f.m.Ops[p]
		x := op.Inputs[0]
		switch op.Code {
		case format.OpSlice:
		case format.OpTranspose:
			a = int(op.Options.(*format.TransposeOptions).Perm[a])
		case format.OpReshape:
			in, os := f.shape(x), f.shape(t)
			k, ok := sameAxis(os, in, a)
			if !ok {
				return
			}
			a = k
		default:
			if !slices.Equal(f.shape(x), f.shape(t)) {
				return
			}
		}
		if l := f.t[x].ax[a]; l.kind != axTokens || l.rows.b == nil {
			return
		}
		reader, t = p, x
	}
	pt := ScatterPoint{Reader: reader, Tensor: t, Axis: a}
	if !slices.Contains(f.needs, pt) {
		f.needs = append(f.needs, pt)
	}
}

// sameAxis finds the axis of to that holds axis a of from unchanged: the
// same length after the same number of leading elements.
func sameAxis(from, to []int32, a int) (int, bool) {
	return axisAt(to, product32(from[:a]), from[a])
}

// axisAt finds the axis of shape of length n after lead elements.
func axisAt(shape []int32, lead int64, n int32) (int, bool) {
	p := int64(1)
	for k, d := range shape {
		if p == lead && d == n {
			return k, true
		}
		p *= int64(d)
	}
	return 0, false
}

// Err returns nil when the model's token budget can change at run time
// (or it has no pruning op), else an error wrapping ErrNoTokenBudget that
// names the first op without a run-time rule, says why and what to do.
func (f *TokenFlow) Err() error { return f.blocked }

// Grid returns the patch grid (rows, columns), or 0, 0 when the model has
// no patch tokens the analysis can see.
func (f *TokenFlow) Grid() (h, w int) { return f.gridH, f.gridW }

// TokenAxis returns the first static token axis of tensor t and, per row
// along it, the grid index of its patch (≥ 0) or −1−s for special row s.
// ok is false when t has no static token axis.
func (f *TokenFlow) TokenAxis(t int32) (axis int, rows []int32, ok bool) {
	for a, l := range f.t[t].ax[:len(f.m.Tensors[t].Shape)] {
		if l.kind == axTokens && l.rows.b == nil {
			return a, l.rows.ids, true
		}
	}
	return 0, nil, false
}

// Rows returns, for a static token axis of tensor t, what each row is:
// the grid index of its patch (≥ 0) or −1−s for special row s.
func (f *TokenFlow) Rows(t int32, axis int) ([]int32, bool) {
	if l := f.t[t].ax[axis]; l.kind == axTokens && l.rows.b == nil {
		return l.rows.ids, true
	}
	return nil, false
}

// TokenAxes returns every static token axis of tensor t (a query and a
// key axis for attention scores).
func (f *TokenFlow) TokenAxes(t int32) []int {
	var out []int
	for a, l := range f.t[t].ax[:len(f.m.Tensors[t].Shape)] {
		if l.kind == axTokens && l.rows.b == nil {
			out = append(out, a)
		}
	}
	return out
}

// ClassToken returns the id s (row id −1−s) of the class token: the first
// special row the graph reads on its own by index (a Slice or Gather of
// that row, as a class-token head does). ok is false for a model without
// one (a global-average-pool head, say).
func (f *TokenFlow) ClassToken() (s int32, ok bool) {
	for s := int32(0); s < int32(f.specials); s++ {
		if f.read[-1-s] {
			return s, true
		}
	}
	return 0, false
}

// block records why the model's budget cannot change at run time (the
// first reason wins).
func (f *TokenFlow) block(i int, why, todo string) {
	if f.blocked != nil {
		return
	}
	where := "model"
	if i >= 0 {
		op := &f.m.Ops[i]
		where = fmt.Sprintf("op %d %v %q", i, op.Code, op.Name)
	}
	f.blocked = fmt.Errorf("%w: %s: %s; %s", ErrNoTokenBudget, where, why, todo)
}

// labelInput labels the height and width axes of a 4-D image input 0.
func (f *TokenFlow) labelInput() {
	m := f.m
	if len(m.Inputs) == 0 {
		return
	}
	s := m.Tensors[m.Inputs[0]].Shape
	if len(s) != 4 {
		return
	}
	nchw := s[1] == 1 || s[1] == 3
	if m.Preprocess != nil {
		nchw = m.Preprocess.Layout == format.NCHW
	}
	t := &f.t[m.Inputs[0]]
	if nchw {
		t.ax[2], t.ax[3] = axisLabel{kind: axImageH}, axisLabel{kind: axImageW}
	} else {
		t.ax[1], t.ax[2] = axisLabel{kind: axImageH}, axisLabel{kind: axImageW}
	}
}

func (f *TokenFlow) shape(t int32) []int32 { return f.m.Tensors[t].Shape }

func (f *TokenFlow) isConst(t int32) bool { return t >= 0 && f.m.Tensors[t].Data != nil }

// newSpecials returns n new special-row ids.
func (f *TokenFlow) newSpecials(n int) []int32 {
	ids := make([]int32, n)
	for k := range ids {
		ids[k] = -1 - int32(f.specials)
		f.specials++
	}
	return ids
}

// op labels the outputs of op i from its inputs.
func (f *TokenFlow) op(i int) {
	op := &f.m.Ops[i]
	out := op.Outputs[0]
	o := &f.t[out]
	var b *budget
	for _, t := range op.Inputs {
		if t < 0 {
			continue
		}
		if tb, _ := f.t[t].budget(); tb != nil {
			if b != nil && tb != b && op.Code != format.OpGatherTokens {
				f.block(i, "mixes rows of two pruning ops", "prune once, or prune again only after every use of the first pruning's tokens")
			}
			b = tb
		}
	}
	in := func(k int) *flowTensor { return &f.t[op.Inputs[k]] }
	fail := func(why, todo string) {
		if b != nil {
			f.block(i, why, todo)
		}
	}
	switch op.Code {
	case format.OpDiverseSelect:
		opt := op.Options.(*format.DiverseSelectOptions)
		nb := &budget{op: i, prefix: int(opt.Prefix), max: int(opt.Keep), keep: int(opt.Keep)}
		if l := in(0).ax[0]; l.kind == axTokens {
			nb.from = l.rows
		}
		f.source[i] = nb
		f.budgets = append(f.budgets, nb)
		o.ax[0] = axisLabel{kind: axTokens, rows: &rowSet{b: nb}}
		f.steps = append(f.steps, tokenStep{op: i, kind: stepSelect, b: nb})
	case format.OpGatherTokens:
		x, idx := in(0), in(1)
		*o = flowTensor{}
		copy(o.ax[1:], x.ax[1:])
		switch l := idx.ax[0]; {
		case l.kind == axTokens && l.rows.b != nil:
			if l.rows.lo != 0 {
				f.block(i, "gathers with indices that do not start at the pruning op's first row", "gather with the pruning op's own output")
			}
			o.ax[0] = axisLabel{kind: axTokens, rows: &rowSet{b: l.rows.b}}
		case f.isConst(op.Inputs[1]) && x.ax[0].kind == axTokens && x.ax[0].rows.b == nil:
			ids := x.ax[0].rows.ids
			var out []int32
			for _, r := range int16s(f.m.Tensors[op.Inputs[1]].Data) {
				if r < 0 || int(r) >= len(ids) {
					out = nil
					break
				}
				out = append(out, ids[r])
			}
			if out != nil {
				o.ax[0] = axisLabel{kind: axTokens, rows: &rowSet{ids: out}}
			}
		}
		if _, axes := o.budget(); axes&^1 != 0 {
			f.block(i, "gathers tokens whose trailing axes are pruned", "gather along the pruned axis only")
		}
	case format.OpScatterTokens:
		x := in(0)
		*o = flowTensor{}
		copy(o.ax[1:], x.ax[1:])
		if lx, lp := x.ax[0], in(1).ax[0]; (lx.kind == axTokens && lx.rows.b != nil || lp.kind == axTokens && lp.rows.b != nil) &&
			!(lx.kind == axTokens && lp.kind == axTokens && lx.rows.same(lp.rows)) {
			f.block(i, "scatters rows with positions that do not follow the same pruning", "scatter the pruned rows with positions gathered by the same pruning op")
			return
		}
		if l := x.ax[0]; l.kind == axTokens && l.rows.b != nil && l.rows.lo == 0 && l.rows.b.from != nil && l.rows.b.from.b == nil {
			// Back in place: positions that gather a constant table
			// of rows with the pruning's selection put row j of what
			// it chose from at row table[j].
			o.ax[0] = axisLabel{kind: axTokens, rows: f.scattered(l.rows.b, op.Inputs[1], int(f.shape(out)[0]))}
			if o.ax[0].rows == nil {
				o.ax[0] = axisLabel{}
			}
		}
		if _, axes := o.budget(); axes != 0 {
			f.block(i, "scatters tokens whose trailing axes are pruned", "scatter along the pruned axis only")
		}
	case format.OpFullyConnected, format.OpLayerNorm:
		x := in(0)
		rank := len(f.shape(op.Inputs[0]))
		*o = flowTensor{}
		copy(o.ax[:rank-1], x.ax[:rank-1])
		if l := x.ax[rank-1]; l.kind == axTokens && l.rows.b != nil {
			f.block(i, "mixes the pruned tokens along its last axis (weights over tokens)", "prune after the last block that mixes tokens this way")
			return
		}
		if b == nil {
			return
		}
		if _, axes := x.budget(); axes == 0 {
			f.block(i, "its weights or parameters follow the pruned tokens", "keep pruned tokens out of weight inputs")
			return
		}
		a, lo, ok := f.leadingTokens(op.Inputs[0])
		if !ok {
			f.block(i, fmt.Sprintf("its input %v holds the pruned tokens behind a non-unit axis", f.shape(op.Inputs[0])),
				"put the token axis first, after axes of size 1 only ([T, D], [1, T, D], [T, 1, D])")
			return
		}
		s := f.shape(op.Inputs[0])
		f.steps = append(f.steps, tokenStep{op: i, kind: stepRows, b: b, lo: [3]int{lo}, per: int(product32(s[a+1 : rank-1]))})
	case format.OpGELU, format.OpReLU, format.OpReLU6, format.OpLogistic, format.OpTanh, format.OpHardSwish,
		format.OpHardSigmoid, format.OpRsqrt, format.OpQuantize, format.OpDequantize, format.OpSwiGLU:
		*o = flowTensor{ax: in(0).ax}
		if len(op.Inputs) > 1 {
			f.merge(i, o, op.Inputs[1:], out)
		}
	case format.OpAdd, format.OpSub, format.OpMul, format.OpSquaredDifference:
		*o = flowTensor{}
		f.merge(i, o, op.Inputs, out)
	case format.OpReshape:
		f.reshape(i, op.Inputs[0], out)
	case format.OpTranspose:
		perm := op.Options.(*format.TransposeOptions).Perm
		x := in(0)
		*o = flowTensor{}
		for k, p := range perm {
			o.ax[k] = x.ax[p]
			if x.zeros&bit(int(p)) != 0 {
				o.zeros |= bit(k)
			}
		}
	case format.OpConcat:
		f.concat(i, out)
	case format.OpSlice:
		f.slice(i, out)
	case format.OpGather:
		f.gather(i, out)
	case format.OpMean:
		f.mean(i, out)
	case format.OpSoftmax:
		x := in(0)
		*o = flowTensor{ax: x.ax, zeros: x.zeros}
		last := len(f.shape(out)) - 1
		if l := x.ax[last]; l.kind == axTokens && l.rows.b != nil {
			o.zeros |= bit(last)
			f.steps = append(f.steps, tokenStep{op: i, kind: stepSoftmaxK, b: b, lo: [3]int{l.rows.lo}})
		}
	case format.OpBatchMatMul:
		f.batchMatMul(i, out)
	case format.OpAttentionSinkRedistribute:
		// It reads whole rows of probabilities: dead keys must hold
		// zeros (masked softmax), which it leaves zeros.
		x := in(0)
		*o = flowTensor{ax: x.ax, zeros: x.zeros}
		last := len(f.shape(op.Inputs[0])) - 1
		if l := x.ax[last]; l.kind == axTokens && l.rows.b != nil && x.zeros&bit(last) == 0 {
			f.block(i, "redistributes probabilities whose dead keys are not zeros", "feed it a softmax over the pruned keys")
		}
	case format.OpZOSensitivity, format.OpGGeMPool, format.OpEfficientProbe, format.OpAdaptiveTokenPool2D:
		x := in(0)
		*o = flowTensor{}
		if op.Code == format.OpZOSensitivity {
			o.ax[0] = x.ax[0]
		}
		if b == nil {
			return
		}
		_, axes := x.budget()
		switch {
		case axes != 1:
			f.block(i, "reads pruned tokens that are not along its first axis", "give it [T, D] tokens")
		case op.Code == format.OpAdaptiveTokenPool2D && !op.Options.(*format.AdaptiveTokenPool2DOptions).Masked:
			f.block(i, "unmasked pooling needs the whole grid", "use masked pooling with a positions input")
		default:
			if op.Code != format.OpAdaptiveTokenPool2D {
				f.steps = append(f.steps, tokenStep{op: i, kind: stepTokenOp, b: b, lo: [3]int{x.ax[0].rows.lo}})
			}
		}
	case format.OpConv2D, format.OpDepthwiseConv2D, format.OpAveragePool2D, format.OpMaxPool2D:
		x := in(0)
		*o = flowTensor{}
		if spatial(x.ax[1].kind) && spatial(x.ax[2].kind) {
			o.ax[1], o.ax[2] = axisLabel{kind: axGridH}, axisLabel{kind: axGridW}
		}
		fail(fmt.Sprintf("%v needs every token in place", op.Code), "prune after the last convolution over the token grid")
	default:
		*o = flowTensor{}
		fail("has no rule for a run-time token count", "prune after the last such op, or convert without --prune")
	}
}

// scattered returns the rows of ScatterTokens' n output rows when its
// positions pos are GatherTokens(table, b's selection) with a constant
// table, or nil.
func (f *TokenFlow) scattered(b *budget, pos int32, n int) *rowSet {
	p, ok := f.producer[pos]
	if !ok || f.m.Ops[p].Code != format.OpGatherTokens || !f.isConst(f.m.Ops[p].Inputs[0]) {
		return nil
	}
	if l := f.t[f.m.Ops[p].Inputs[1]].ax[0]; l.kind != axTokens || l.rows.b != b || l.rows.lo != 0 {
		return nil
	}
	table := int16s(f.m.Tensors[f.m.Ops[p].Inputs[0]].Data)
	from := b.from.ids
	if len(table) != len(from) {
		return nil
	}
	ids := make([]int32, n)
	seen := 0
	for j, r := range table {
		if r >= 0 && int(r) < n {
			ids[r] = from[j]
			seen++
		}
	}
	if seen != n {
		return nil
	}
	return &rowSet{ids: ids}
}

func spatial(k axisKind) bool { return k >= axImageH && k <= axGridW }

// leadingTokens reports the budgeted axis of tensor t when every axis
// before it has length 1 (so the live tokens are a leading block of rows),
// and its first row.
func (f *TokenFlow) leadingTokens(t int32) (axis, lo int, ok bool) {
	_, axes := f.t[t].budget()
	a, ok := singleAxis(axes)
	if !ok {
		return 0, 0, false
	}
	for _, d := range f.shape(t)[:a] {
		if d != 1 {
			return 0, 0, false
		}
	}
	return a, f.t[t].ax[a].rows.lo, true
}

// merge labels o, an elementwise (broadcasting) result, from inputs ins:
// an axis keeps the label its non-broadcast inputs agree on. Pruned rows
// may only meet the same pruned rows or a broadcast (a per-token constant,
// such as a position embedding, no longer matches them).
func (f *TokenFlow) merge(i int, o *flowTensor, ins []int32, out int32) {
	os := f.shape(out)
	for oa := range os {
		var got axisLabel
		conflict, other, pruned := false, false, false
		for _, t := range ins {
			if t < 0 {
				continue
			}
			s := f.shape(t)
			a := oa - (len(os) - len(s))
			if a < 0 || s[a] != os[oa] || os[oa] == 1 {
				continue
			}
			l := f.t[t].ax[a]
			pruned = pruned || l.kind == axTokens && l.rows.b != nil
			switch {
			case l.kind == axNone:
				other = true
			case got.kind == axNone:
				got = l
			case got.kind != l.kind || got.kind == axTokens && !got.rows.same(l.rows):
				conflict = true
			}
		}
		if pruned && (conflict || other) {
			f.block(i, fmt.Sprintf("combines the pruned tokens with %d rows that do not follow the pruning (a per-token constant, such as a position embedding, after the pruning point?)", os[oa]),
				"prune after the point where such tensors are added")
		}
		if !conflict {
			o.ax[oa] = got
		}
	}
}

// reshape labels out = Reshape(x).
func (f *TokenFlow) reshape(i int, x, out int32) {
	in, os := f.shape(x), f.shape(out)
	xf, o := &f.t[x], &f.t[out]
	*o = flowTensor{}
	lead := func(s []int32, a int) int64 { return product32(s[:a]) }
	find := func(l int64, n int32) (int, bool) { return axisAt(os, l, n) }
	for a := 0; a < len(in); a++ {
		l := xf.ax[a]
		if l.kind == axNone {
			continue
		}
		la := lead(in, a)
		if k, ok := find(la, in[a]); ok && (in[a] > 1 || l.kind == axTokens) {
			o.ax[k] = l
			if xf.zeros&bit(a) != 0 {
				o.zeros |= bit(k)
			}
			continue
		}
		switch {
		case (l.kind == axImageH || l.kind == axImageW) && f.gridH == 0:
			// Cut into patches: the outer factor is the grid.
			for k, d := range os {
				if lead(os, k) == la && d > 1 && d < in[a] && in[a]%d == 0 {
					if l.kind == axImageH {
						o.ax[k] = axisLabel{kind: axGridH}
					} else {
						o.ax[k] = axisLabel{kind: axGridW}
					}
					break
				}
			}
		case l.kind == axGridH && a+1 < len(in) && xf.ax[a+1].kind == axGridW:
			if k, ok := find(la, in[a]*in[a+1]); ok {
				f.gridH, f.gridW = int(in[a]), int(in[a+1])
				ids := make([]int32, in[a]*in[a+1])
				for g := range ids {
					ids[g] = int32(g)
				}
				o.ax[k] = axisLabel{kind: axTokens, rows: &rowSet{ids: ids}}
				a++
			}
		case l.kind == axTokens && l.rows.b == nil:
			// Patch rows in grid order split back into the grid.
			if f.gridH > 0 && isGridOrder(l.rows.ids, f.gridH*f.gridW) {
				if k, ok := find(la, int32(f.gridH)); ok && k+1 < len(os) && os[k+1] == int32(f.gridW) {
					o.ax[k], o.ax[k+1] = axisLabel{kind: axGridH}, axisLabel{kind: axGridW}
				}
			}
		case l.kind == axTokens:
			f.needScatter(i, x, a)
			f.block(i, fmt.Sprintf("reshapes the pruned token axis (%v to %v), which needs the tokens in their places", in, os),
				"insert the pruning with zoo.InsertPruning (edgeinfer convert --prune), which scatters them back in their places first")
		}
	}
}

// isGridOrder reports whether ids are the patches 0…n−1 in order.
func isGridOrder(ids []int32, n int) bool {
	if len(ids) != n {
		return false
	}
	for g, id := range ids {
		if id != int32(g) {
			return false
		}
	}
	return true
}

// concat labels out = Concat(inputs) along the op's axis.
func (f *TokenFlow) concat(i int, out int32) {
	op := &f.m.Ops[i]
	axis := 0 // options are optional: axis 0
	if o, ok := op.Options.(*format.ConcatOptions); ok {
		axis = int(o.Axis)
	}
	if axis < 0 {
		axis += len(f.shape(out))
	}
	o := &f.t[out]
	*o = flowTensor{}
	tokens := false
	for _, t := range op.Inputs {
		if l := f.t[t].ax[axis]; l.kind == axTokens {
			tokens = true
			if l.rows.b != nil {
				f.block(i, "concatenates pruned tokens with other rows", "prune after the last concatenation of tokens")
				return
			}
		}
	}
	for _, t := range op.Inputs {
		for a, l := range f.t[t].ax {
			if a != axis && l.kind != axNone && o.ax[a].kind == axNone {
				o.ax[a] = l
			}
			if a != axis && l.kind == axTokens && l.rows.b != nil {
				o.ax[a] = l
			}
		}
	}
	if !tokens {
		return
	}
	var ids []int32
	for _, t := range op.Inputs {
		if l := f.t[t].ax[axis]; l.kind == axTokens {
			ids = append(ids, l.rows.ids...)
		} else {
			ids = append(ids, f.newSpecials(int(f.shape(t)[axis]))...)
		}
	}
	o.ax[axis] = axisLabel{kind: axTokens, rows: &rowSet{ids: ids}}
}

// slice labels out = Slice(x).
func (f *TokenFlow) slice(i int, out int32) {
	op := &f.m.Ops[i]
	opt := op.Options.(*format.SliceOptions)
	x := op.Inputs[0]
	xs, xf, o := f.shape(x), &f.t[x], &f.t[out]
	*o = flowTensor{}
	for a, l := range xf.ax[:len(xs)] {
		begin, size := int(opt.Begin[a]), int(opt.Size[a])
		if size < 0 {
			size = int(xs[a]) - begin
		}
		full := begin == 0 && size == int(xs[a])
		if full {
			o.ax[a] = l
			o.zeros |= xf.zeros & bit(a)
			continue
		}
		if l.kind != axTokens {
			continue
		}
		r := l.rows
		switch {
		case r.b == nil:
			ids := r.ids[begin : begin+size]
			o.ax[a] = axisLabel{kind: axTokens, rows: &rowSet{ids: ids}}
			f.markRead(ids)
		case begin+size <= r.static():
			ids := r.b.specialIDs()[r.lo+begin : r.lo+begin+size]
			o.ax[a] = axisLabel{kind: axTokens, rows: &rowSet{ids: ids}}
			f.markRead(ids)
		case begin+size == int(xs[a]) && r.lo+begin <= r.b.prefix:
			o.ax[a] = axisLabel{kind: axTokens, rows: &rowSet{b: r.b, lo: r.lo + begin}}
			o.zeros |= xf.zeros & bit(a)
		default:
			f.block(i, fmt.Sprintf("reads rows %d…%d of the pruned tokens by position, but after the pruning op only the first %d (the special rows) stay in place", begin, begin+size-1, r.static()),
				"read only special rows by index after the pruning point, or prune after this op")
		}
	}
}

// markRead records special rows read on their own by index.
func (f *TokenFlow) markRead(ids []int32) {
	for _, id := range ids {
		if id >= 0 {
			return
		}
	}
	for _, id := range ids {
		f.read[id] = true
	}
}

// gather labels out = Gather(x, indices) along the op's axis.
func (f *TokenFlow) gather(i int, out int32) {
	op := &f.m.Ops[i]
	axis := 0 // options are optional: axis 0
	if o, ok := op.Options.(*format.GatherOptions); ok {
		axis = int(o.Axis)
	}
	x, idx := op.Inputs[0], op.Inputs[1]
	xs := f.shape(x)
	if axis < 0 {
		axis += len(xs)
	}
	ir := len(f.shape(idx))
	xf, o := &f.t[x], &f.t[out]
	*o = flowTensor{}
	for a, l := range xf.ax[:len(xs)] {
		switch {
		case a < axis:
			o.ax[a] = l
		case a > axis:
			o.ax[a+ir-1] = l
		}
	}
	l := xf.ax[axis]
	if l.kind != axTokens {
		if _, axes := o.budget(); axes != 0 && f.t[idx].ax[0].kind == axTokens {
			f.block(i, "gathers with pruned indices", "gather with constant indices")
		}
		return
	}
	var rows []int32
	if f.isConst(idx) {
		rows = int32s(f.m.Tensors[idx].Data)
	}
	r := l.rows
	ids := r.ids
	if r.b != nil {
		ids = r.b.specialIDs()[r.lo:]
	}
	var got []int32
	for _, k := range rows {
		if k < 0 {
			k += xs[axis]
		}
		if k < 0 || int(k) >= len(ids) || r.b != nil && int(k) >= r.static() {
			got = nil
			break
		}
		got = append(got, ids[k])
	}
	if got == nil {
		if r.b != nil {
			f.block(i, "gathers pruned tokens by position, but after the pruning op only the special rows stay in place", "read only special rows by index after the pruning point, or prune after this op")
		}
		return
	}
	f.markRead(got)
	if ir == 1 {
		o.ax[axis] = axisLabel{kind: axTokens, rows: &rowSet{ids: got}}
	}
}

// mean labels out = Mean(x) and, over a budgeted axis, makes it a mean of
// the live rows.
func (f *TokenFlow) mean(i int, out int32) {
	op := &f.m.Ops[i]
	opt := op.Options.(*format.MeanOptions)
	x := op.Inputs[0]
	xs, xf, o := f.shape(x), &f.t[x], &f.t[out]
	*o = flowTensor{}
	red := uint8(0)
	for _, a := range opt.Axes {
		if a < 0 {
			a += int32(len(xs))
		}
		red |= bit(int(a))
	}
	k := 0
	for a, l := range xf.ax[:len(xs)] {
		if red&bit(a) == 0 {
			o.ax[k] = l
			k++
		} else if opt.KeepDims {
			k++
		}
	}
	b, axes := xf.budget()
	if axes&red == 0 {
		return
	}
	a, lo, ok := f.leadingTokens(x)
	if !ok || axes != bit(a) {
		f.block(i, "averages pruned tokens that are not a leading block of rows", "average [T, D] or [1, T, D] tokens")
		return
	}
	for r := 0; r < len(xs); r++ {
		if red&bit(r) != 0 && r != a && xs[r] != 1 {
			f.block(i, "averages the pruned tokens together with another axis", "average over the token axis alone")
			return
		}
	}
	f.steps = append(f.steps, tokenStep{op: i, kind: stepMean, b: b, lo: [3]int{lo}})
}

// batchMatMul labels out = a·b and records which of M, N, K follow a
// budget.
func (f *TokenFlow) batchMatMul(i int, out int32) {
	op := &f.m.Ops[i]
	o, _ := op.Options.(*format.BatchMatMulOptions)
	var adjX, adjY bool
	if o != nil {
		adjX, adjY = o.AdjX, o.AdjY
	}
	ta, tb := op.Inputs[0], op.Inputs[1]
	ra, rb := len(f.shape(ta)), len(f.shape(tb))
	am, ak := ra-2, ra-1
	if adjX {
		am, ak = ak, am
	}
	bk, bn := rb-2, rb-1
	if adjY {
		bk, bn = bn, bk
	}
	a, bb := &f.t[ta], &f.t[tb]
	ot := &f.t[out]
	*ot = flowTensor{}
	copy(ot.ax[:ra-2], a.ax[:ra-2])
	ot.ax[ra-2], ot.ax[ra-1] = a.ax[am], bb.ax[bn]
	bud, _ := a.budget()
	if bud == nil {
		bud, _ = bb.budget()
	}
	if bud == nil {
		return
	}
	isB := func(l axisLabel) bool { return l.kind == axTokens && l.rows.b != nil }
	for x := 0; x < ra-2; x++ {
		if isB(a.ax[x]) {
			f.block(i, "pruned tokens along a batch axis", "keep tokens on the matrix axes")
			return
		}
	}
	for x := 0; x < rb-2; x++ {
		if isB(bb.ax[x]) {
			f.block(i, "pruned tokens along a batch axis", "keep tokens on the matrix axes")
			return
		}
	}
	aK, bK := isB(a.ax[ak]), isB(bb.ax[bk])
	if aK != bK || aK && !a.ax[ak].rows.same(bb.ax[bk].rows) {
		f.block(i, "contracts pruned tokens with rows that do not follow the same pruning", "contract tokens with tokens")
		return
	}
	if aK && a.zeros&bit(ak) == 0 && bb.zeros&bit(bk) == 0 {
		f.block(i, "contracts over pruned tokens without zeros in the dead entries of either operand", "feed it a softmax over the pruned keys")
		return
	}
	var live liveDims
	var lo [3]int
	if isB(a.ax[am]) {
		if adjX {
			f.block(i, "pruned rows of a transposed operand", "transpose it explicitly first")
			return
		}
		live |= liveM
		lo[0] = a.ax[am].rows.lo
	}
	if isB(bb.ax[bn]) {
		// The dead columns are not computed: what reads them (masked
		// softmax) reads the live keys only.
		live |= liveN
		lo[1] = bb.ax[bn].rows.lo
	}
	if aK {
		// The dead terms are zeros: the sum over the live keys alone
		// has the same bits.
		live |= liveK
		lo[2] = a.ax[ak].rows.lo
	}
	if live != 0 {
		f.steps = append(f.steps, tokenStep{op: i, kind: stepMatMul, b: bud, live: live, lo: lo})
	}
}

func product32(s []int32) int64 {
	n := int64(1)
	for _, d := range s {
		n *= int64(d)
	}
	return n
}

func int16s(b []byte) []int16 {
	out := make([]int16, len(b)/2)
	for k := range out {
		out[k] = int16(uint16(b[2*k]) | uint16(b[2*k+1])<<8)
	}
	return out
}

func int32s(b []byte) []int32 {
	out := make([]int32, len(b)/4)
	for k := range out {
		out[k] = int32(uint32(b[4*k]) | uint32(b[4*k+1])<<8 | uint32(b[4*k+2])<<16 | uint32(b[4*k+3])<<24)
	}
	return out
}
