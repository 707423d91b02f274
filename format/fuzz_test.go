package format

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"testing"

	"github.com/edgeinfer/edgeinfer/internal/fuzzcorpus"
)

// corpusSeeds are the committed seed inputs of FuzzRead. They are small on
// purpose: the fuzzer minimizes every new interesting input in time
// quadratic in its size, so seeds of several kilobytes stall it. Each seed
// is a one-op model cut from the test models (one per op code and input
// dtype), plus one model carrying every metadata field, an external-data
// variant and a few truncations.
func corpusSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	put := func(key string, m *Model, external bool) {
		data, err := marshal(m, external)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("seed %s: %v", key, err)
		}
		seeds[key] = data
	}
	names := make([]string, 0)
	for name := range testModels() {
		names = append(names, name)
	}
	sort.Strings(names)
	done := map[string]bool{}
	for _, name := range names {
		m := testModels()[name]()
		for i := range m.Ops {
			op := &m.Ops[i]
			key := fmt.Sprintf("%v-%v", op.Code, m.Tensors[op.Inputs[0]].DType)
			if done[key] {
				continue
			}
			done[key] = true
			put(key, subModel(m, i), false)
		}
	}
	// The token operators (ops_tokens.go), whole and one by one.
	sm := tokenOpsModel(t)
	put("token-ops", sm, false)
	for i := range sm.Ops {
		op := &sm.Ops[i]
		key := fmt.Sprintf("%v-%v", op.Code, sm.Tensors[op.Inputs[0]].DType)
		if one := subModel(sm, i); !done[key] && one.Validate() == nil {
			done[key] = true
			put(key, one, false)
		}
	}
	meta := subModel(floatCNN(), 6) // Softmax
	meta.Name, meta.Description = "m", "d"
	meta.Labels = []string{"a", "b"}
	meta.Rounding = 1
	meta.Preprocess = &Preprocess{Width: 2, Height: 2, Layout: NCHW, Color: BGR, Scale: 1, Mean: []float32{0}, Std: []float32{1, 2, 3}}
	meta.MemoryPlan = &MemoryPlan{ArenaBytes: 128, Offsets: []int64{0, 64}}
	put("metadata", meta, false)
	put("Conv2D-float32-external", subModel(floatCNN(), 0), true)
	small := seeds["metadata"]
	for _, n := range []int{0, 8, 16, 64, len(small) / 2, len(small) - 1} {
		seeds[fmt.Sprintf("truncated-%d", n)] = small[:n]
	}
	return seeds
}

// subModel returns op i of m alone: its non-constant inputs become graph
// inputs, its output the graph output, and names are dropped (they only
// add bytes).
func subModel(m *Model, i int) *Model {
	op := m.Ops[i]
	sm := &Model{}
	remap := map[int32]int32{}
	add := func(t int32) int32 {
		if t < 0 {
			return t
		}
		if n, ok := remap[t]; ok {
			return n
		}
		tt := m.Tensors[t]
		tt.Name = ""
		sm.Tensors = append(sm.Tensors, tt)
		n := int32(len(sm.Tensors) - 1)
		remap[t] = n
		if !tt.IsConst() && t != op.Outputs[0] {
			sm.Inputs = append(sm.Inputs, n)
		}
		return n
	}
	ins := make([]int32, len(op.Inputs))
	for k, t := range op.Inputs {
		ins[k] = add(t)
	}
	out := add(op.Outputs[0])
	sm.Outputs = []int32{out}
	sm.Ops = []Op{{Code: op.Code, Version: op.Version, Inputs: ins, Outputs: []int32{out}, Options: op.Options}}
	return sm
}

// TestFuzzCorpus checks that the committed seeds are what the test models
// marshal to today (go generate ./format rewrites them).
func TestFuzzCorpus(t *testing.T) { fuzzcorpus.Check(t, "FuzzRead", corpusSeeds(t)) }

// maxReadAlloc bounds what Read may allocate for an input of n bytes: the
// decoded model is a small multiple of the file (constants are not copied).
func maxReadAlloc(n int) uint64 { return 32*uint64(n) + 64<<10 }

func FuzzRead(f *testing.F) {
	for _, data := range corpusSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := Read(data)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxReadAlloc(len(data)) {
			t.Fatalf("Read of %d bytes allocated %d bytes (limit %d)", len(data), alloc, maxReadAlloc(len(data)))
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if m != nil {
				t.Fatal("Read returned a model and an error")
			}
			return
		}
		// Whatever Read accepts is valid: it marshals, and reads back the same.
		again, err := Marshal(m)
		if err != nil {
			t.Fatalf("Read accepted a model Marshal rejects: %v", err)
		}
		m2, err := Read(again)
		if err != nil {
			t.Fatalf("re-marshalled model does not read: %v", err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatal("re-marshalled model reads back different")
		}
	})
}
