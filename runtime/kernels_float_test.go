package runtime_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// floatOutputs runs the float graph f once with kernel set set and
// threads workers on a seeded input in [−1, 1), and returns a copy of
// every op's first output and the packed bytes.
func floatOutputs(t *testing.T, f *format.Model, set string, threads int) (outs [][]byte, packed int64) {
	t.Helper()
	var it *runtime.Interpreter
	it = setInterp(t, f, set, threads, 0, func(op int) {
		o := f.Ops[op].Outputs[0]
		outs = append(outs, append([]byte(nil), it.Tensor(int(o)).Bytes()...))
	})
	in := it.Input(0).Bytes()
	r := rand.New(rand.NewSource(13))
	for i := 0; i+4 <= len(in); i += 4 {
		binary.LittleEndian.PutUint32(in[i:], math.Float32bits(float32(r.Float64()*2-1)))
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	return outs, it.PackedBytes()
}

// TestFloatKernelSetsAgree runs the zoo's float graphs with every kernel
// set, one subtest each. A set's float kernels need not match ref bit for
// bit (the x86 GEMMs fuse multiply-adds): the graph output must be within
// 1e-4 of the largest magnitude of ref's, and every op's output the same
// bits at one and three threads.
func TestFloatKernelSetsAgree(t *testing.T) {
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		_, f := build(t, name)
		want, _ := floatOutputs(t, f, "ref", 1)
		ref := floats(want[len(want)-1])
		var scale float64
		for _, v := range ref {
			scale = max(scale, math.Abs(float64(v)))
		}
		for _, set := range kernelSets(t) {
			t.Run(name+"/"+set, func(t *testing.T) {
				one, packed := floatOutputs(t, f, set, 1)
				three, _ := floatOutputs(t, f, set, 3)
				for i := range one {
					if !bytes.Equal(one[i], three[i]) {
						t.Fatalf("op %d %v %q: 1 and 3 threads differ", i, f.Ops[i].Code, f.Ops[i].Name)
					}
				}
				got := floats(one[len(one)-1])
				for i := range ref {
					if d := math.Abs(float64(got[i] - ref[i])); !(d <= 1e-4*scale) {
						t.Fatalf("output[%d] = %v, ref %v (|diff| %g > 1e-4·%g)", i, got[i], ref[i], d, scale)
					}
				}
				t.Logf("packed %d bytes", packed)
			})
		}
	}
}

func floats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
