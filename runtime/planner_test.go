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
