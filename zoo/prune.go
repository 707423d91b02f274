package zoo

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// PruneOptions choose where and how InsertPruning prunes a float ViT.
type PruneOptions struct {
	// AfterBlock is the 0-based transformer block after whose MLP
	// residual the patch tokens are pruned.
	AfterBlock int
	// Mode is "zoo", ZOO-Prune as this package tunes it (DefaultAddWeight
	// unless AddWeight says otherwise; see the README's pruning study);
	// a sensitivity with the paper's product score unless AddWeight is
	// set: "jvp", "lowrank_jvp", "fro_diag"; "uniform" (no sensitivity:
	// SADS becomes pure diversity, DivPrune); or "cls", the baseline that
	// keeps the patch tokens the class token attends to most (mean over
	// heads of the block's attention row 0, DiverseSelect in top-k mode;
	// EViT's rule). The pruning op comes after the block's MLP, and the
	// attention is that block's.
	Mode       string
	Directions int   // m for jvp modes (default 8)
	Rank       int   // lowrank_jvp rank (default 32)
	Seed       int64 // seed of the directions u_j
	// Features are the token features the diverse selection compares:
	// "block" (the block's output tokens, the default) or "mlp" (the
	// MLP's output before the residual: the analogue of ZOO-Prune's
	// projected features).
	Features string
	// AddWeight λ > 0 scores a candidate by its distance to the kept set
	// plus λ times its min–max-normalized sensitivity instead of the
	// paper's product (DiverseSelect version 3). Mode "zoo" uses
	// DefaultAddWeight when it is 0.
	AddWeight float64
}

// DefaultAddWeight is λ of Mode "zoo": distance + 0.1 × sensitivity.
// The product lets the least sensitive token's weight 0 override any
// distance; the sum with λ = 0.1 keeps diverse selection's coverage and
// uses the sensitivity between tokens of similar distance. Chosen on the
// README's pruning study (tools/prunestudy), where the numbers are.
const DefaultAddWeight = 0.1

// mlpBlock is one transformer MLP found in a graph: fc1 (→ GELU) → fc2 →
// residual Add.
type mlpBlock struct {
	fc1, fc2, add int
	z             int32 // fc1's output (pre-GELU, or post-fused-ReLU)
	relu          bool
}

func findMLPs(m *format.Model) []mlpBlock {
	producer := map[int32]int{}
	for i, op := range m.Ops {
		producer[op.Outputs[0]] = i
	}
	var out []mlpBlock
	for i, op := range m.Ops {
		if op.Code != format.OpAdd {
			continue
		}
		for _, in := range op.Inputs {
			f2, ok := producer[in]
			if !ok || m.Ops[f2].Code != format.OpFullyConnected {
				continue
			}
			h := m.Ops[f2].Inputs[0]
			p, ok := producer[h]
			if !ok {
				continue
			}
			b := mlpBlock{fc2: f2, add: i}
			switch {
			case m.Ops[p].Code == format.OpGELU:
				z := m.Ops[p].Inputs[0]
				if f1, ok := producer[z]; ok && m.Ops[f1].Code == format.OpFullyConnected {
					b.fc1, b.z = f1, z
					out = append(out, b)
				}
			case m.Ops[p].Code == format.OpFullyConnected:
				if o, _ := m.Ops[p].Options.(*format.FullyConnectedOptions); o != nil && o.Activation == format.ActReLU {
					b.fc1, b.z, b.relu = p, h, true
					out = append(out, b)
				}
			}
			break
		}
	}
	return out
}

// attentionSoftmax finds the attention softmax of block b: the last
// Softmax between the previous block's MLP residual and this block's
// whose queries and keys (its last two axes) are the token rows rows.
// It returns the op's index.
func attentionSoftmax(m *format.Model, flow *runtime.TokenFlow, blocks []mlpBlock, b int, rows []int32) (int, error) {
	lo := -1
	if b > 0 {
		lo = blocks[b-1].add
	}
	for i := blocks[b].add - 1; i > lo; i-- {
		if m.Ops[i].Code != format.OpSoftmax {
			continue
		}
		t := m.Ops[i].Outputs[0]
		r := len(m.Tensors[t].Shape)
		if axes := flow.TokenAxes(t); len(axes) == 2 && axes[0] == r-2 && axes[1] == r-1 {
			_, ids, _ := flow.TokenAxis(t)
			if slices.Equal(ids, rows) {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("zoo: block %d has no attention softmax over its tokens before its MLP", b)
}

// scatterBack puts the pruned tokens back in their places (ScatterTokens
// with pos, the original row of each kept one) where pts say something
// needs them there: what reads them then sees every row as before the
// pruning, the pruned ones zero. A token axis that is not the first is
// transposed to the front and back around the scatter.
func scatterBack(m *format.Model, pts []runtime.ScatterPoint, pos int32, p string, act func(string, format.DType, ...int32) int32) {
	before := map[int][]format.Op{}
	var tail []format.Op
	repl := map[[2]int32]int32{} // (reader, tensor) → scattered tensor
	rows := m.Tensors[pos].Shape[0]
	for k, pt := range pts {
		name := fmt.Sprintf("%sscatter%d", p, k)
		t := m.Tensors[pt.Tensor]
		var ops []format.Op
		mk := func(code format.OpCode, n string, o format.Options, in, out int32) {
			ops = append(ops, format.Op{Code: code, Version: 1, Name: n, Options: o, Inputs: []int32{in}, Outputs: []int32{out}})
		}
		x := pt.Tensor
		perm := []int32{int32(pt.Axis)}
		for a := range t.Shape {
			if a != pt.Axis {
				perm = append(perm, int32(a))
			}
		}
		front := make([]int32, len(t.Shape))
		for k, a := range perm {
			front[k] = t.Shape[a]
		}
		if pt.Axis != 0 {
			x = act(name+"/front", t.DType, front...)
			mk(format.OpTranspose, name+"/front", &format.TransposeOptions{Perm: perm}, pt.Tensor, x)
		}
		front[0] = rows
		s := act(name, t.DType, front...)
		ops = append(ops, format.Op{Code: format.OpScatterTokens, Version: 1, Name: name, Inputs: []int32{x, pos}, Outputs: []int32{s}})
		if pt.Axis != 0 {
			inv := make([]int32, len(perm))
			shape := make([]int32, len(perm))
			for k, a := range perm {
				inv[a] = int32(k)
				shape[a] = front[k]
			}
			back := act(name+"/back", t.DType, shape...)
			mk(format.OpTranspose, name+"/back", &format.TransposeOptions{Perm: inv}, s, back)
			s = back
		}
		if pt.Reader < 0 {
			tail = append(tail, ops...)
			for j, o := range m.Outputs {
				if o == pt.Tensor {
					m.Outputs[j] = s
				}
			}
			continue
		}
		before[pt.Reader] = append(before[pt.Reader], ops...)
		repl[[2]int32{int32(pt.Reader), pt.Tensor}] = s
	}
	old := m.Ops
	m.Ops = nil
	for i, op := range old {
		m.Ops = append(m.Ops, before[i]...)
		op.Inputs = append([]int32(nil), op.Inputs...)
		for k, t := range op.Inputs {
			if s, ok := repl[[2]int32{int32(i), t}]; ok {
				op.Inputs[k] = s
			}
		}
		m.Ops = append(m.Ops, op)
	}
	m.Ops = append(m.Ops, tail...)
}

// specialReads returns new options for the slices after op add that read
// rows of the token layout rows by position, once the pruning has moved
// the special rows to the front (perm: the original row of each row).
func specialReads(m *format.Model, flow *runtime.TokenFlow, add int, rows []int32, perm []int16) (map[int]format.Options, error) {
	at := make([]int32, len(perm)) // new row of each original row
	for j, r := range perm {
		at[r] = int32(j)
	}
	out := map[int]format.Options{}
	for i := add + 1; i < len(m.Ops); i++ {
		op := &m.Ops[i]
		for _, a := range flow.TokenAxes(op.Inputs[0]) {
			if ids, _ := flow.Rows(op.Inputs[0], a); !slices.Equal(ids, rows) {
				continue
			}
			switch o := op.Options.(type) {
			case *format.SliceOptions:
				b, n := o.Begin[a], o.Size[a]
				if n < 0 {
					n = int32(len(rows)) - b
				}
				if n == int32(len(rows)) {
					continue
				}
				for k := b + 1; k < b+n; k++ {
					if at[k] != at[k-1]+1 {
						return nil, fmt.Errorf("op %d %v %q reads rows %d…%d, which are no longer together once the special rows move before the patches", i, op.Code, op.Name, b, b+n-1)
					}
				}
				no := *o
				no.Begin = slices.Clone(o.Begin)
				no.Begin[a] = at[b]
				if prev, ok := out[i]; ok {
					no.Begin = slices.Clone(prev.(*format.SliceOptions).Begin)
					no.Begin[a] = at[b]
				}
				out[i] = &no
			case *format.GatherOptions:
				return nil, fmt.Errorf("op %d %v %q reads token rows by index, which move when the special rows move before the patches", i, op.Code, op.Name)
			}
		}
	}
	return out, nil
}

// ErrNoClassToken is returned by InsertPruning for the "cls" mode on a
// model without a class token (one whose head averages the tokens).
var ErrNoClassToken = errors.New("the model has no class token")

// tokens2D returns t, whose token axis is axis and whose other axes but
// the last have length 1, as a [T, C] tensor: t itself when it is 2-D,
// else the output of a Reshape appended to ops.
func tokens2D(t int32, shape []int32, axis int, name string, act func(string, format.DType, ...int32) int32, op func(format.OpCode, string, format.Options, []int32, int32)) int32 {
	if len(shape) == 2 && axis == 0 {
		return t
	}
	r := act(name, format.Float32, shape[axis], shape[len(shape)-1])
	op(format.OpReshape, name, nil, []int32{t}, r)
	return r
}

// tokenRows returns the token axis and rows of tensor t (what), checking
// that every axis but the token axis and the last has length 1.
func tokenRows(m *format.Model, flow *runtime.TokenFlow, t int32, what string) (int, []int32, error) {
	axis, ids, ok := flow.TokenAxis(t)
	sh := m.Tensors[t].Shape
	if !ok {
		return 0, nil, fmt.Errorf("zoo: %s %q (shape %v) holds no tokens that come from the patch embedding", what, m.Tensors[t].Name, sh)
	}
	for a, d := range sh[:len(sh)-1] {
		if a != axis && d != 1 {
			return 0, nil, fmt.Errorf("zoo: %s %q has shape %v with tokens along axis %d: every other axis but the features must have length 1", what, m.Tensors[t].Name, sh, axis)
		}
	}
	if axis == len(sh)-1 {
		return 0, nil, fmt.Errorf("zoo: %s %q has shape %v with tokens along its last axis: want the features last", what, m.Tensors[t].Name, sh)
	}
	return axis, ids, nil
}

// InsertPruning returns a copy of the float ViT m with ZOO-Prune inserted
// after block o.AfterBlock: ZOSensitivity through that block's MLP,
// DiverseSelect on the block's output tokens and GatherTokens. Where the
// tokens are, and which are patches and which special rows (class,
// distillation, registers: always kept), comes from the token-flow
// analysis (runtime.AnalyzeTokens): the tokens may be [T, D], [1, T, D]
// or [T, 1, D], the special rows must come before the patches. The
// pruning keeps every patch token at load (Keep = patches, so every later
// shape is unchanged); Interpreter.SetTokens chooses how many survive per
// Invoke. It fails, naming the op and why, when the pruned model's budget
// could not change at run time.
func InsertPruning(m *format.Model, o PruneOptions) (*format.Model, error) {
	blocks := findMLPs(m)
	if o.AfterBlock < 0 || o.AfterBlock >= len(blocks) {
		return nil, fmt.Errorf("zoo: prune after block %d: the model has %d MLP blocks", o.AfterBlock, len(blocks))
	}
	blk := blocks[o.AfterBlock]
	nm := *m
	nm.MemoryPlan = nil
	nm.Tensors = append([]format.Tensor(nil), m.Tensors...)
	add := func(t format.Tensor) int32 {
		nm.Tensors = append(nm.Tensors, t)
		return int32(len(nm.Tensors) - 1)
	}
	act := func(name string, dt format.DType, shape ...int32) int32 {
		return add(format.Tensor{Name: name, DType: dt, Shape: shape})
	}
	constF := func(name string, shape []int32, v []float32) int32 {
		b := format.NewBuilder("")
		b.ConstFloat32(name, shape, v)
		return add(*b.Tensor(0))
	}
	x := m.Ops[blk.add].Outputs[0]
	xs := m.Tensors[x].Shape
	zs := m.Tensors[blk.z].Shape
	flow := runtime.AnalyzeTokens(m)
	xa, rows, err := tokenRows(m, flow, x, fmt.Sprintf("block %d output", o.AfterBlock))
	if err != nil {
		return nil, err
	}
	za, zrows, err := tokenRows(m, flow, blk.z, fmt.Sprintf("block %d MLP", o.AfterBlock))
	if err != nil {
		return nil, err
	}
	if !slices.Equal(rows, zrows) {
		return nil, fmt.Errorf("zoo: block %d: the MLP's tokens are not the block output's", o.AfterBlock)
	}
	// The pruning keeps a prefix of special rows: special rows after the
	// patches (registers appended at the end) are moved to the front
	// first (perm: the original row of each row after that).
	var perm []int16
	prefix := 0
	for r, id := range rows {
		if id < 0 {
			perm = append(perm, int16(r))
			prefix++
		}
	}
	for r, id := range rows {
		if id >= 0 {
			perm = append(perm, int16(r))
		}
	}
	reorder := false
	for j, r := range perm {
		reorder = reorder || int(r) != j
	}
	if prefix == len(rows) {
		return nil, fmt.Errorf("zoo: block %d output %q has no patch tokens to prune", o.AfterBlock, m.Tensors[x].Name)
	}
	T, D, F := xs[xa], xs[len(xs)-1], zs[len(zs)-1]
	p := fmt.Sprintf("prune%d/", o.AfterBlock)
	var ops []format.Op
	op := func(code format.OpCode, name string, opts format.Options, ins []int32, out int32) {
		ops = append(ops, format.Op{Code: code, Version: format.MinVersion(code, opts), Name: p + name, Options: opts, Inputs: ins, Outputs: []int32{out}})
	}
	x2 := tokens2D(x, xs, xa, p+"tokens2d", act, op)
	z2 := tokens2D(blk.z, zs, za, p+"fc1_2d", act, op)
	var permOf int32                 // perm as a constant, when rows move
	var moved map[int]format.Options // slices of special rows, where those moved
	specialsFirst := func(t int32, name string) int32 {
		if !reorder {
			return t
		}
		r := act(p+name, format.Float32, nm.Tensors[t].Shape...)
		op(format.OpGatherTokens, name, nil, []int32{t, permOf}, r)
		return r
	}
	if reorder {
		b := format.NewBuilder("")
		b.ConstInt16(p+"specials_first", []int32{T}, perm)
		permOf = add(*b.Tensor(0))
		if moved, err = specialReads(m, flow, blk.add, rows, perm); err != nil {
			return nil, fmt.Errorf("zoo: prune after block %d: %w", o.AfterBlock, err)
		}
		x2 = specialsFirst(x2, "tokens_specials_first")
		z2 = specialsFirst(z2, "fc1_specials_first")
	}
	var s int32
	if o.Mode != "uniform" {
		s = act(p+"sensitivity", format.Float32, T)
	}
	sel := &format.DiverseSelectOptions{Keep: T - int32(prefix), Prefix: int32(prefix), AddWeight: float32(o.AddWeight)}
	switch {
	case !(o.AddWeight >= 0) || math.IsInf(o.AddWeight, 0):
		return nil, fmt.Errorf("zoo: AddWeight %g: want a finite λ ≥ 0 (0: the product)", o.AddWeight)
	case o.Mode == "zoo" && o.AddWeight == 0:
		sel.AddWeight = DefaultAddWeight
	case o.Mode == "uniform":
		sel.AddWeight = 0 // constant scores: the sum ranks as the distance
	}
	w1 := m.Tensors[m.Ops[blk.fc1].Inputs[1]].Float32s()
	w2i := m.Ops[blk.fc2].Inputs[1]
	zo := &format.ZOSensitivityOptions{Step: 1e-3, ReLU: blk.relu}
	switch o.Mode {
	case "uniform":
		s = constF(p+"sensitivity", []int32{T}, make([]float32, T))
	case "fro_diag":
		zo.Mode = format.ZOFroDiag
		w2 := m.Tensors[w2i].Float32s()
		diag := make([]float32, F)
		for c := 0; c < int(F); c++ {
			var a, b float64
			for i := 0; i < int(D); i++ {
				a += float64(w2[i*int(F)+c]) * float64(w2[i*int(F)+c])
				b += float64(w1[c*int(D)+i]) * float64(w1[c*int(D)+i])
			}
			diag[c] = float32(a * b)
		}
		op(format.OpZOSensitivity, "sensitivity", zo, []int32{z2, -1, constF(p+"diag", []int32{F}, diag)}, s)
	case "zoo", "jvp", "lowrank_jvp", "":
		dirs := o.Directions
		if dirs <= 0 {
			dirs = 8
		}
		r := rand.New(rand.NewSource(o.Seed))
		a := make([]float32, dirs*int(F))
		for j := 0; j < dirs; j++ {
			u := make([]float64, D)
			var n2 float64
			for i := range u {
				u[i] = r.NormFloat64()
				n2 += u[i] * u[i]
			}
			for c := 0; c < int(F); c++ {
				var acc float64
				for i, e := range u {
					acc += float64(w1[c*int(D)+i]) * e
				}
				a[j*int(F)+c] = float32(acc / (math.Sqrt(n2) + 1e-12))
			}
		}
		wj := w2i
		if o.Mode == "lowrank_jvp" {
			zo.Mode = format.ZOLowRankJVP
			rank := o.Rank
			if rank <= 0 {
				rank = 32
			}
			rank = min(rank, int(D))
			wj = constF(p+"lowrank", []int32{int32(rank), F}, LowRankRows(m.Tensors[w2i].Float32s(), int(D), int(F), rank))
		}
		op(format.OpZOSensitivity, "sensitivity", zo, []int32{z2, constF(p+"directions", []int32{int32(dirs), F}, a), wj}, s)
	case "cls":
		cls, ok := flow.ClassToken()
		if !ok {
			return nil, fmt.Errorf("zoo: the cls mode ranks patches by the class token's attention: %w (its head reads no special row by index); use jvp, lowrank_jvp, fro_diag or uniform", ErrNoClassToken)
		}
		row := slices.Index(rows, -1-cls)
		sm, err := attentionSoftmax(m, flow, blocks, o.AfterBlock, rows)
		if err != nil {
			return nil, err
		}
		// The class token's attention, recomputed from its own row of
		// the logits [1…, H, T, T]: its row of every head [1…, H, 1, T] →
		// softmax → mean over everything but the last axis → [T]. In
		// float this is the block's own softmax of the same rows; in an
		// int8 model the score ops stay float (package ptq), so the
		// ranking sees the int8 logits rather than probabilities in
		// steps of 1/256, most of which round to zero.
		logits := m.Ops[sm].Inputs[0]
		ls := m.Tensors[logits].Shape
		size := append([]int32(nil), ls...)
		size[len(size)-2] = 1
		begin := make([]int32, len(ls))
		begin[len(ls)-2] = int32(row)
		clsRow := act(p+"cls_logits", format.Float32, size...)
		op(format.OpSlice, "cls_logits", &format.SliceOptions{Begin: begin, Size: size}, []int32{logits}, clsRow)
		probs := act(p+"cls_attention", format.Float32, size...)
		op(format.OpSoftmax, "cls_attention", m.Ops[sm].Options, []int32{clsRow}, probs)
		axes := make([]int32, len(ls)-1)
		for k := range axes {
			axes[k] = int32(k)
		}
		if reorder {
			s0 := act(p+"cls_sensitivity", format.Float32, T)
			op(format.OpMean, "cls_sensitivity", &format.MeanOptions{Axes: axes}, []int32{probs}, s0)
			op(format.OpGatherTokens, "sensitivity", nil, []int32{s0, permOf}, s)
		} else {
			op(format.OpMean, "sensitivity", &format.MeanOptions{Axes: axes}, []int32{probs}, s)
		}
		sel.TopK, sel.AddWeight = true, 0
	default:
		return nil, fmt.Errorf("zoo: unknown pruning mode %q (zoo, jvp, lowrank_jvp, fro_diag, uniform, cls)", o.Mode)
	}
	feat := x2
	switch o.Features {
	case "", "block":
	case "mlp":
		y := m.Ops[blk.fc2].Outputs[0]
		ya, yrows, err := tokenRows(m, flow, y, fmt.Sprintf("block %d MLP output", o.AfterBlock))
		if err != nil {
			return nil, err
		}
		if !slices.Equal(rows, yrows) {
			return nil, fmt.Errorf("zoo: block %d: the MLP output's tokens are not the block output's", o.AfterBlock)
		}
		feat = tokens2D(y, m.Tensors[y].Shape, ya, p+"mlp2d", act, op)
	default:
		return nil, fmt.Errorf("zoo: unknown diversity features %q (block, mlp)", o.Features)
	}
	idx := act(p+"keep", format.Int16, T)
	op(format.OpDiverseSelect, "select", sel, []int32{feat, s}, idx)
	kept := act(p+"kept", format.Float32, T, D)
	op(format.OpGatherTokens, "kept", nil, []int32{x2, idx}, kept)
	if x2 != x {
		back := act(p+"kept_tokens", format.Float32, xs...)
		op(format.OpReshape, "kept_tokens", nil, []int32{kept}, back)
		kept = back
	}
	nm.Ops = nil
	for i, mo := range m.Ops {
		if o, ok := moved[i]; ok {
			mo.Options = o
		}
		if i > blk.add {
			mo.Inputs = append([]int32(nil), mo.Inputs...)
			for k, t := range mo.Inputs {
				if t == x {
					mo.Inputs[k] = kept
				}
			}
		}
		nm.Ops = append(nm.Ops, mo)
		if i == blk.add {
			nm.Ops = append(nm.Ops, ops...)
		}
	}
	nm.Outputs = append([]int32(nil), m.Outputs...)
	for k, t := range nm.Outputs {
		if t == x {
			nm.Outputs[k] = kept
		}
	}
	if err := nm.Validate(); err != nil {
		return nil, fmt.Errorf("zoo: pruned model: %w", err)
	}
	if pts := runtime.AnalyzeTokens(&nm).ScatterPoints(); len(pts) > 0 {
		b := format.NewBuilder("")
		b.ConstInt16(p+"rows", []int32{T}, perm)
		rowsOf := add(*b.Tensor(0))
		pos := act(p+"kept_rows", format.Int16, T)
		g := blk.add + len(ops) // the pruning's last op
		nm.Ops = slices.Insert(nm.Ops, g+1, format.Op{Code: format.OpGatherTokens, Version: 1, Name: p + "kept_rows", Inputs: []int32{rowsOf, idx}, Outputs: []int32{pos}})
		for k := range pts {
			if pts[k].Reader > g {
				pts[k].Reader++
			}
		}
		scatterBack(&nm, pts, pos, p, act)
		if err := nm.Validate(); err != nil {
			return nil, fmt.Errorf("zoo: pruned model: %w", err)
		}
	}
	if err := runtime.AnalyzeTokens(&nm).Err(); err != nil {
		return nil, fmt.Errorf("zoo: prune after block %d: %w", o.AfterBlock, err)
	}
	return &nm, nil
}
