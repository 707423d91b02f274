package runtime

import (
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
)

// chain builds a model x0 → ReLU → x1 → … with the given activation sizes
// (float32 elements). The planner looks only at lifetimes and sizes, so
// the ReLUs need not be shape-correct.
func chain(sizes []int32) *format.Model {
	b := format.NewBuilder("chain")
	ts := []int32{b.Input("x0", format.Float32, []int32{sizes[0]}, nil)}
	for i := 1; i < len(sizes); i++ {
		y := b.Activation("x", format.Float32, []int32{sizes[i]}, nil)
		b.Op(format.OpReLU, "relu", nil, []int32{ts[i-1]}, y)
		ts = append(ts, y)
	}
	b.Output(ts[len(ts)-1])
	return b.Model()
}

func TestPlanNeverOverlapsLiveTensors(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		n := 2 + r.Intn(12)
		sizes := make([]int32, n)
		for i := range sizes {
			sizes[i] = int32(1 + r.Intn(3000))
		}
		m := chain(sizes)
		p := PlanMemory(m)
		if _, err := checkPlan(m, &format.MemoryPlan{ArenaBytes: p.ArenaBytes, Offsets: p.Offsets}); err != nil {
			t.Fatalf("trial %d: planner produced an invalid plan: %v", trial, err)
		}
		if p.ArenaBytes < p.LowerBound {
			t.Fatalf("trial %d: arena %d below the lower bound %d", trial, p.ArenaBytes, p.LowerBound)
		}
	}
}

func TestPlanChainIsTwoBuffers(t *testing.T) {
	// In a chain only neighbours are alive together, besides the input,
	// which lives through the whole Invoke: the arena needs the input plus
	// the largest adjacent pair, which greedy-by-size finds here.
	m := chain([]int32{16, 1000, 16, 1000, 16})
	p := PlanMemory(m)
	want := alignUp(64, arenaAlign) + alignUp(4000, arenaAlign) + alignUp(64, arenaAlign)
	if p.ArenaBytes != want {
		t.Errorf("arena %d bytes, want %d", p.ArenaBytes, want)
	}
	if p.LowerBound != 64+4000+64 {
		t.Errorf("lower bound %d, want %d", p.LowerBound, 64+4000+64)
	}
}

func TestCheckPlanRejectsOverlap(t *testing.T) {
	m := chain([]int32{100, 100, 100})
	bad := &format.MemoryPlan{ArenaBytes: 1024, Offsets: []int64{0, 0, 512}}
	if _, err := checkPlan(m, bad); err == nil {
		t.Error("overlapping live tensors accepted")
	}
	bad = &format.MemoryPlan{ArenaBytes: 1024, Offsets: []int64{0, 512, 1000}}
	if _, err := checkPlan(m, bad); err == nil {
		t.Error("tensor past the arena end accepted")
	}
	// The input stays alive to the end: x2 may not reuse it.
	if _, err := checkPlan(m, &format.MemoryPlan{ArenaBytes: 1024, Offsets: []int64{0, 512, 0}}); err == nil {
		t.Error("output placed over the input accepted")
	}
	good := &format.MemoryPlan{ArenaBytes: 1536, Offsets: []int64{0, 512, 1024}}
	if _, err := checkPlan(m, good); err != nil {
		t.Errorf("valid plan rejected: %v", err)
	}
}

// A Reshape's output is a view of its input: one offset, the input kept
// alive as long as the view, no copy made; a Reshape of a constant, or
// to another byte size, gets its own buffer. Plans written before views
// existed (a separate buffer) still load.
func TestPlanReshapeIsAView(t *testing.T) {
	b := format.NewBuilder("views")
	x := b.Input("x", format.Float32, []int32{4, 6}, nil)
	r1 := b.Activation("r1", format.Float32, []int32{4, 6}, nil)
	b.Op(format.OpReLU, "relu1", nil, []int32{x}, r1)
	v1 := b.Activation("v1", format.Float32, []int32{24}, nil)
	b.Op(format.OpReshape, "view1", nil, []int32{r1}, v1)
	v2 := b.Activation("v2", format.Float32, []int32{2, 12}, nil)
	b.Op(format.OpReshape, "view2", nil, []int32{v1}, v2)
	r2 := b.Activation("r2", format.Float32, []int32{2, 12}, nil)
	b.Op(format.OpReLU, "relu2", nil, []int32{v2}, r2)
	c := b.ConstFloat32("c", []int32{2, 3}, []float32{1, -2, 3, -4, 5, -6})
	cv := b.Activation("cv", format.Float32, []int32{6}, nil)
	b.Op(format.OpReshape, "const_view", nil, []int32{c}, cv)
	b.Output(r2)
	b.Output(cv)
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	p := PlanMemory(m)
	if p.Offsets[v1] != p.Offsets[r1] || p.Offsets[v2] != p.Offsets[r1] {
		t.Errorf("views at %d and %d, their root at %d", p.Offsets[v1], p.Offsets[v2], p.Offsets[r1])
	}
	if p.Offsets[cv] < 0 {
		t.Errorf("the Reshape of a constant has no buffer")
	}
	if p.Offsets[r2] == p.Offsets[r1] {
		t.Errorf("relu2's output placed over the view it reads")
	}
	if _, err := checkPlan(m, &format.MemoryPlan{ArenaBytes: p.ArenaBytes, Offsets: p.Offsets}); err != nil {
		t.Errorf("the planner's own plan rejected: %v", err)
	}
	old := append([]int64(nil), p.Offsets...)
	old[v1], old[v2] = p.ArenaBytes, p.ArenaBytes+128 // copies, as older plans place them
	if _, err := checkPlan(m, &format.MemoryPlan{ArenaBytes: p.ArenaBytes + 256, Offsets: old}); err != nil {
		t.Errorf("a plan with the views as copies rejected: %v", err)
	}

	it, err := New(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	in := it.Input(0).Float32()
	for i := range in {
		in[i] = float32(i%5) - 2
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	for i, v := range it.Output(0).Float32() {
		if want := max(float32(i%5)-2, 0); v != want {
			t.Fatalf("output %d = %v, want %v", i, v, want)
		}
	}
	if got := it.Output(1).Float32(); got[1] != -2 || got[4] != 5 {
		t.Errorf("reshaped constant = %v", got)
	}
}
