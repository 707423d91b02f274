package runtime_test

import (
	"bytes"
	"math/rand"
	"os"
	"testing"

	"github.com/edgeinfer/edgeinfer/runtime"
)

// TestKernelSetsAgree runs the zoo's int8 models with every kernel set
// available on this machine and requires every op's output to be
// identical to the reference set's, bit for bit, at one and three threads.
func TestKernelSetsAgree(t *testing.T) {
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		q, _ := build(t, name)
		var want [][]byte
		for _, set := range append([]string{"ref"}, runtime.KernelSets()...) {
			for _, threads := range []int{1, 3} {
				var got [][]byte
				var it *runtime.Interpreter
				it, err := runtime.New(q, runtime.Options{Threads: threads, Kernels: set, AfterOp: func(op int) {
					o := q.Ops[op].Outputs[0]
					got = append(got, append([]byte(nil), it.Tensor(int(o)).Bytes()...))
				}})
				if err != nil {
					t.Fatal(err)
				}
				rand.New(rand.NewSource(11)).Read(it.Input(0).Bytes())
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				it.Close()
				if set != "ref" && it.PackedBytes() == 0 {
					t.Errorf("%s with kernel set %s: no weights packed", name, set)
				}
				if want == nil {
					want = got
					continue
				}
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Errorf("%s op %d %v %q: kernel set %s (%d threads) differs from ref", name, i, q.Ops[i].Code, q.Ops[i].Name, set, threads)
						break
					}
				}
			}
		}
	}
}

// TestExpectedKernelSet checks, on a CI lane that sets
// EDGEINFER_EXPECT_KERNELS, that the set picked by default is the one that
// lane's CPU model must get (a missing CPU feature fails, not skips).
func TestExpectedKernelSet(t *testing.T) {
	want := os.Getenv("EDGEINFER_EXPECT_KERNELS")
	if want == "" || os.Getenv(runtime.KernelEnv) != "" {
		return
	}
	q, _ := build(t, "vit-micro")
	it := newInterp(t, q, 1)
	ks := it.Kernels()
	t.Logf("kernel set %s (%s)", ks.Name, ks.Why)
	if ks.Name != want {
		t.Fatalf("EDGEINFER_EXPECT_KERNELS=%s but the interpreter picked %s (%s); available: %v", want, ks.Name, ks.Why, runtime.KernelSets())
	}
}
