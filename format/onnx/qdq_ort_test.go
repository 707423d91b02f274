package onnx_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// qdqModels runs tools/qdqmodels/make.py into a cache folder named by the
// script's hash and returns the folder; it skips when python3-onnx or
// python3-torch is missing.
func qdqModels(t *testing.T) string {
	t.Helper()
	script := filepath.Join("..", "..", "tools", "qdqmodels", "make.py")
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "edgeinfer", "qdqmodels-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "mlp.onnx")); err == nil {
		return dir
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import onnx, torch").Run(); err != nil {
		skipOrFail(t, "needs /usr/bin/python3 with onnx and torch (Debian python3-onnx, python3-torch)")
	}
	if out, err := exec.Command("/usr/bin/python3", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("make.py: %v\n%s", err, out)
	}
	return dir
}

// TestQDQAgainstOnnxRuntime imports the QDQ models of make.py as int8
// with their own parameters and compares the int8 outputs with
// onnxruntime-node (tools/onnxref/raw.js, graph optimizations off) and
// with the model's own float graph (QDQ pairs passed through, weights
// dequantized), in quantization steps of the output.
func TestQDQAgainstOnnxRuntime(t *testing.T) {
	dir := qdqModels(t)
	ref := filepath.Join("..", "..", "tools", "onnxref")
	if _, err := os.Stat(filepath.Join(ref, "node_modules", "onnxruntime-node")); err != nil {
		skipOrFail(t, "needs onnxruntime-node: cd tools/onnxref && npm install --ignore-scripts")
	}
	for _, tc := range []struct {
		name           string
		shape          []int
		normal         bool // inputs N(0, 1) instead of U(−1, 1), as make.py chose the scales
		ortMax, fltMax int  // allowed steps from onnxruntime and from the float graph
	}{
		{"cnn", []int{3, 16, 16}, false, 0, 1},
		{"mlp", []int{4, 16}, true, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := onnx.ImportFile(filepath.Join(dir, tc.name+".onnx"), onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			m := r.Model
			qo := ptq.QuantizeOptions{Weights: map[int32]*ptq.FixedWeight{}}
			for ti, w := range r.Int8Weights {
				qo.Weights[ti] = &ptq.FixedWeight{Values: w.Values, Scale: w.Scale}
			}
			qm, err := ptq.QuantizeWith(m, ptq.FixedRanges(len(m.Tensors), r.Activations), qo)
			if err != nil {
				t.Fatal(err)
			}
			qi, err := runtime.New(qm, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer qi.Close()
			fi, err := runtime.New(m, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer fi.Close()
			inP := qm.Tensors[qm.Inputs[0]].Quant.PerTensor()
			outP := qm.Tensors[qm.Outputs[0]].Quant.PerTensor()
			const n = 50
			rng := rand.New(rand.NewSource(15))
			size := qi.Input(0).NumElements()
			xs := make([]float32, n*size)
			for i := range xs {
				// inputs on the input grid, so every path sees the same values
				v := rng.Float64()*2 - 1
				if tc.normal {
					v = rng.NormFloat64()
				}
				q := max(-128, min(127, int32(math.Round(v/float64(inP.Scale)))+inP.ZeroPoint))
				xs[i] = float32(q-inP.ZeroPoint) * inP.Scale
			}
			raw := make([]byte, 4*len(xs))
			for i, v := range xs {
				binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
			}
			tmp := t.TempDir()
			if err := os.WriteFile(filepath.Join(tmp, "in.f32"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("node", filepath.Join(ref, "raw.js"), filepath.Join(dir, tc.name+".onnx"), filepath.Join(tmp, "in.f32"), strconv.Itoa(n), filepath.Join(tmp, "out.f32"))
			dims := make([]string, len(tc.shape))
			for i, d := range tc.shape {
				dims[i] = strconv.Itoa(d)
			}
			cmd.Env = append(os.Environ(), "QDQ_SHAPE="+strings.Join(dims, ","))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("onnxruntime: %v\n%s", err, out)
			}
			ob, err := os.ReadFile(filepath.Join(tmp, "out.f32"))
			if err != nil {
				t.Fatal(err)
			}
			outN := qi.Output(0).NumElements()
			if len(ob) != 4*n*outN {
				t.Fatalf("onnxruntime wrote %d bytes, want %d", len(ob), 4*n*outN)
			}
			step := func(v float32) int { return int(math.Round(float64(v/outP.Scale))) + int(outP.ZeroPoint) }
			ortWorst, ortOff, fltWorst := 0, 0, 0
			for s := 0; s < n; s++ {
				x := xs[s*size : (s+1)*size]
				q := qi.Input(0).Int8()
				for i, v := range x {
					q[i] = int8(math.Round(float64(v/inP.Scale)) + float64(inP.ZeroPoint))
				}
				copy(fi.Input(0).Float32(), x)
				if err := qi.Invoke(); err != nil {
					t.Fatal(err)
				}
				if err := fi.Invoke(); err != nil {
					t.Fatal(err)
				}
				got, fl := qi.Output(0).Int8(), fi.Output(0).Float32()
				for j := range got {
					o := math.Float32frombits(binary.LittleEndian.Uint32(ob[4*(s*outN+j):]))
					if d := abs(int(got[j]) - step(o)); d > 0 {
						ortOff++
						ortWorst = max(ortWorst, d)
					}
					f := max(-128, min(127, step(fl[j])))
					fltWorst = max(fltWorst, abs(int(got[j])-f))
				}
			}
			t.Logf("%s int8: %d of %d outputs differ from onnxruntime, at most %d step(s); at most %d step(s) from the float graph", tc.name, ortOff, n*outN, ortWorst, fltWorst)
			if ortWorst > tc.ortMax || fltWorst > tc.fltMax {
				t.Fatalf("%s: %d steps from onnxruntime (allowed %d), %d from the float graph (allowed %d)", tc.name, ortWorst, tc.ortMax, fltWorst, tc.fltMax)
			}
			if a := testalloc.PerRun(5, func() { _ = qi.Invoke() }); a != 0 {
				t.Fatalf("%v allocations per Invoke", a)
			}
		})
	}
}

// skipOrFail skips a test whose outside tool is missing, except in CI
// (EDGEINFER_EXPECT_SHARED=1), which installs every tool and where a skip
// would hide a test that never ran.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(testshared.ExpectEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
