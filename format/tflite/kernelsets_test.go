package tflite_test

import (
	"bytes"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/edgeinfer/edgeinfer/format/tflite"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// TestKernelSetsAgreeUint8 runs the legacy uint8 MobileNets (weights with
// a per-tensor zero point) and person_detect (int8), all with XNNPACK's
// float32 requantization, and (without -short) MoveNet (int8, XNNPACK's
// Add, Sub and Mul, float32 Quantize) on every kernel set this machine has and
// compares every op's output with kernels/ref's, byte for byte; the
// accelerated sets must take the weights (packed bytes > 0) and Invoke
// must not allocate.
func TestKernelSetsAgreeUint8(t *testing.T) {
	dir := testshared.Path(t, "models")
	models := []string{"mobilenet_v1_0.25_128_quant.tflite", "person_detect.tflite"}
	if !testing.Short() {
		models = append(models, "mobilenet_v2_1.0_224_quant.tflite", "coral-more/movenet_single_pose_lightning_ptq.tflite")
	}
	for _, file := range models {
		t.Run(file, func(t *testing.T) {
			m, err := tflite.ImportFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			run := func(set string) ([][]byte, int64) {
				var outs [][]byte
				var it *runtime.Interpreter
				it, err := runtime.New(m, runtime.Options{Threads: 1, Kernels: set, AfterOp: func(op int) {
					o := m.Ops[op].Outputs[0]
					outs = append(outs, append([]byte(nil), it.Tensor(int(o)).Bytes()...))
				}})
				if err != nil {
					t.Fatal(err)
				}
				defer it.Close()
				rand.New(rand.NewSource(5)).Read(it.Input(0).Bytes())
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				if set != "ref" {
					it2, err := runtime.New(m, runtime.Options{Threads: 1, Kernels: set})
					if err != nil {
						t.Fatal(err)
					}
					defer it2.Close()
					if n := testalloc.PerRun(2, func() {
						if err := it2.Invoke(); err != nil {
							t.Fatal(err)
						}
					}); n != 0 {
						t.Errorf("%s: Invoke allocates %v times per run, want 0", set, n)
					}
				}
				return outs, it.PackedBytes()
			}
			want, _ := run("ref")
			for _, set := range runtime.KernelSets() {
				if set == "ref" {
					continue
				}
				got, packed := run(set)
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("%s: op %d (%v) differs from ref", set, i, m.Ops[i].Code)
					}
				}
				t.Logf("%s: %d ops equal to ref, %d packed bytes", set, len(want), packed)
				if packed == 0 {
					t.Errorf("%s packed no weights", set)
				}
			}
		})
	}
}
