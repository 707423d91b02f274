package runtime

import (
	"fmt"
	"sort"

	"github.com/edgeinfer/edgeinfer/format"
)

// arenaAlign is the alignment of every tensor in the arena: a cache line,
// which also satisfies every SIMD load.
const arenaAlign = 64

// Plan is the arena layout of a model's activations.
type Plan struct {
	// Offsets[i] is tensor i's byte offset in the arena, −1 for constants.
	Offsets []int64
	// ArenaBytes is the arena size the plan needs.
	ArenaBytes int64
	// LowerBound is the largest total size of tensors alive at one step
	// (a Reshape's output counted as its input: see viewRoots): no plan
	// can use less memory.
	LowerBound int64
}

// lifetime is the span of steps [first, last] in which a tensor is alive.
// Step s is op s; graph inputs live from step 0 to the last step, and
// outputs die at the last step.
type lifetime struct{ first, last int }

func lifetimes(m *format.Model) []lifetime {
	lt := make([]lifetime, len(m.Tensors))
	for i := range lt {
		lt[i] = lifetime{first: -1, last: -1}
	}
	touch := func(t int32, step int) {
		if t < 0 || m.Tensors[t].IsConst() {
			return
		}
		l := &lt[t]
		if l.first < 0 || step < l.first {
			l.first = step
		}
		if step > l.last {
			l.last = step
		}
	}
	last := len(m.Ops) - 1
	if last < 0 {
		last = 0
	}
	// Inputs live through the whole Invoke, as in TFLite's arena: the
	// caller's frame is still there afterwards, so the same input can be
	// run again (at another token budget, say) without writing it anew.
	for _, t := range m.Inputs {
		touch(t, 0)
		touch(t, last)
	}
	for s, op := range m.Ops {
		for _, t := range op.Inputs {
			touch(t, s)
		}
		for _, t := range op.Outputs {
			touch(t, s)
		}
	}
	for _, t := range m.Outputs {
		touch(t, last)
	}
	return lt
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

// viewRoots returns for each tensor the tensor whose memory it is: the
// output of a Reshape of an activation is a view of its input (a Reshape
// moves no bytes, so its kernel finds both at one address and copies
// nothing); every other tensor is its own.
func viewRoots(m *format.Model) []int32 {
	root := make([]int32, len(m.Tensors))
	for i := range root {
		root[i] = int32(i)
	}
	for _, op := range m.Ops {
		if op.Code != format.OpReshape || len(op.Inputs) == 0 || len(op.Outputs) != 1 {
			continue
		}
		x, y := op.Inputs[0], op.Outputs[0]
		if x < 0 || y < 0 || m.Tensors[x].IsConst() || m.Tensors[y].IsConst() ||
			m.Tensors[x].ByteSize() != m.Tensors[y].ByteSize() {
			continue
		}
		root[y] = root[x] // ops run in order: x's root is final
	}
	return root
}

// rootLifetimes merges each view's lifetime into its root's and marks the
// view as not placed on its own.
func rootLifetimes(lt []lifetime, root []int32) []lifetime {
	lt = append([]lifetime(nil), lt...)
	for t, r := range root {
		if int(r) == t || lt[t].first < 0 {
			continue
		}
		if l := &lt[r]; l.first < 0 {
			*l = lt[t]
		} else {
			l.first, l.last = min(l.first, lt[t].first), max(l.last, lt[t].last)
		}
		lt[t] = lifetime{first: -1, last: -1}
	}
	return lt
}

// PlanMemory places every activation of m in one arena. Tensors are placed
// greedily, each at the lowest offset that does not overlap a tensor whose
// lifetime intersects its own — the strategy of TFLite's arena planner —
// in order of decreasing size (ties: earlier first use), and again with
// ties broken by the longer lifetime; the smaller arena is kept.
func PlanMemory(m *format.Model) *Plan {
	root := viewRoots(m)
	lt := rootLifetimes(lifetimes(m), root)
	var order []int
	for i := range m.Tensors {
		if lt[i].first >= 0 {
			order = append(order, i)
		}
	}
	size := func(i int) int64 { return alignUp(int64(m.Tensors[i].ByteSize()), arenaAlign) }
	var best *Plan
	for _, longerFirst := range []bool{false, true} {
		sort.SliceStable(order, func(a, b int) bool {
			ta, tb := order[a], order[b]
			if sa, sb := size(ta), size(tb); sa != sb {
				return sa > sb
			}
			if la, lb := lt[ta].last-lt[ta].first, lt[tb].last-lt[tb].first; longerFirst && la != lb {
				return la > lb
			}
			return lt[ta].first < lt[tb].first
		})
		if p := placeGreedy(m, lt, order, size); best == nil || p.ArenaBytes < best.ArenaBytes {
			best = p
		}
	}
	if best == nil {
		best = &Plan{Offsets: make([]int64, len(m.Tensors))}
		for i := range best.Offsets {
			best.Offsets[i] = -1
		}
	}
	for t, r := range root {
		if int(r) != t {
			best.Offsets[t] = best.Offsets[r]
		}
	}
	best.LowerBound = lowerBound(m, lt)
	return best
}

// placeGreedy places the tensors of order, in that order, each at the
// lowest offset free for its whole lifetime.
func placeGreedy(m *format.Model, lt []lifetime, order []int, size func(int) int64) *Plan {
	p := &Plan{Offsets: make([]int64, len(m.Tensors))}
	for i := range p.Offsets {
		p.Offsets[i] = -1
	}
	type span struct{ off, end int64 }
	var placed []int
	for _, t := range order {
		var busy []span
		for _, o := range placed {
			if lt[o].first <= lt[t].last && lt[t].first <= lt[o].last {
				busy = append(busy, span{p.Offsets[o], p.Offsets[o] + size(o)})
			}
		}
		sort.Slice(busy, func(a, b int) bool { return busy[a].off < busy[b].off })
		off := int64(0)
		for _, s := range busy {
			if s.off-off >= size(t) {
				break
			}
			if s.end > off {
				off = s.end
			}
		}
		p.Offsets[t] = off
		if end := off + size(t); end > p.ArenaBytes {
			p.ArenaBytes = end
		}
		placed = append(placed, t)
	}
	return p
}

func lowerBound(m *format.Model, lt []lifetime) int64 {
	steps := len(m.Ops)
	if steps == 0 {
		steps = 1
	}
	live := make([]int64, steps)
	for i, l := range lt {
		if l.first < 0 {
			continue
		}
		for s := l.first; s <= l.last; s++ {
			live[s] += int64(m.Tensors[i].ByteSize())
		}
	}
	var max int64
	for _, v := range live {
		if v > max {
			max = v
		}
	}
	return max
}

// checkPlan verifies an offline plan: every activation placed, inside the
// arena, aligned, and not overlapping any tensor alive at the same time.
func checkPlan(m *format.Model, mp *format.MemoryPlan) (*Plan, error) {
	if len(mp.Offsets) != len(m.Tensors) {
		return nil, fmt.Errorf("memory plan has %d offsets for %d tensors", len(mp.Offsets), len(m.Tensors))
	}
	lt := lifetimes(m)
	p := &Plan{Offsets: append([]int64(nil), mp.Offsets...), ArenaBytes: mp.ArenaBytes}
	var act []int
	for i, l := range lt {
		if l.first < 0 {
			continue
		}
		off, n := p.Offsets[i], int64(m.Tensors[i].ByteSize())
		if off < 0 || off%arenaAlign != 0 || off+n > p.ArenaBytes {
			return nil, fmt.Errorf("memory plan: tensor %d %q at offset %d (size %d) does not fit an aligned slot of the %d-byte arena", i, m.Tensors[i].Name, off, n, p.ArenaBytes)
		}
		act = append(act, i)
	}
	root := viewRoots(m)
	for x, a := range act {
		for _, b := range act[x+1:] {
			if root[a] == root[b] && p.Offsets[a] == p.Offsets[b] {
				continue // a Reshape's output and its input as one buffer
			}
			if lt[a].first <= lt[b].last && lt[b].first <= lt[a].last {
				ea := p.Offsets[a] + int64(m.Tensors[a].ByteSize())
				eb := p.Offsets[b] + int64(m.Tensors[b].ByteSize())
				if p.Offsets[a] < eb && p.Offsets[b] < ea {
					return nil, fmt.Errorf("memory plan: tensors %d %q and %d %q overlap while both alive", a, m.Tensors[a].Name, b, m.Tensors[b].Name)
				}
			}
		}
	}
	p.LowerBound = lowerBound(m, rootLifetimes(lt, root))
	return p, nil
}
