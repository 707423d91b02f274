package runtime_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/ptq"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// kernelSets returns every kernel set registered on this machine, ref
// first. Besides ref there is always at least one: the kernels/neon sets
// are registered on every architecture (as their Go twins off arm64), so
// a comparison with ref is never ref against itself.
func kernelSets(t *testing.T) []string {
	t.Helper()
	sets := []string{"ref"}
	for _, s := range runtime.KernelSets() {
		if s != "ref" {
			sets = append(sets, s)
		}
	}
	if len(sets) < 2 {
		t.Fatalf("only the ref kernel set is registered (%v): nothing to compare it with", runtime.KernelSets())
	}
	return sets
}

// setInterp returns an interpreter for q with kernel set set, threads
// workers splitting every op that splits, (when tokens > 0) that token budget and afterOp, closed when
// the test ends.
func setInterp(t *testing.T, q *format.Model, set string, threads, tokens int, afterOp func(op int)) *runtime.Interpreter {
	t.Helper()
	it, err := runtime.New(q, runtime.Options{Threads: threads, Kernels: set, AfterOp: afterOp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(it.Close)
	runtime.SplitEveryStep(it) // from the first Invoke on, as a tuned interpreter would
	if tokens > 0 {
		if err := it.SetTokens(tokens); err != nil {
			t.Fatal(err)
		}
	}
	return it
}

// opOutputs runs q once as setInterp sets it up, on input bytes drawn
// from seed, and returns a copy of every op's first output and the
// interpreter's packed bytes.
func opOutputs(t *testing.T, q *format.Model, set string, threads, tokens int, seed int64) (outs [][]byte, packed int64) {
	t.Helper()
	var it *runtime.Interpreter
	it = setInterp(t, q, set, threads, tokens, func(op int) {
		o := q.Ops[op].Outputs[0]
		outs = append(outs, append([]byte(nil), it.Tensor(int(o)).Bytes()...))
	})
	rand.New(rand.NewSource(seed)).Read(it.Input(0).Bytes())
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	return outs, it.PackedBytes()
}

// sameOps reports the first op whose output differs between got and want.
func sameOps(t *testing.T, q *format.Model, what string, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d op outputs, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("%s: op %d %v %q differs from ref at 1 thread", what, i, q.Ops[i].Code, q.Ops[i].Name)
			return
		}
	}
}

// TestKernelSetsAgree runs the zoo's int8 models with every registered
// kernel set, one subtest each, and requires every op's output to be
// identical to the reference set's at one thread, bit for bit, at one and
// three threads; every set but ref must pack weights at load.
func TestKernelSetsAgree(t *testing.T) {
	sets := kernelSets(t)
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		q, _ := build(t, name)
		want, _ := opOutputs(t, q, "ref", 1, 0, 11)
		for _, set := range sets {
			t.Run(name+"/"+set, func(t *testing.T) {
				for _, threads := range []int{1, 3} {
					got, packed := opOutputs(t, q, set, threads, 0, 11)
					sameOps(t, q, fmt.Sprintf("%d threads", threads), got, want)
					if set != "ref" && packed == 0 {
						t.Errorf("%d threads: no weights packed", threads)
					}
				}
			})
		}
	}
}

// TestExpectedKernelSet checks, on a CI lane that sets
// EDGEINFER_EXPECT_KERNELS, that the set picked by default is the one that
// lane's CPU model must get (a missing CPU feature fails, not skips).
func TestExpectedKernelSet(t *testing.T) {
	want := os.Getenv("EDGEINFER_EXPECT_KERNELS")
	if want == "" {
		t.Skip("EDGEINFER_EXPECT_KERNELS is not set (only the arm64 kernel lanes of .ci/run set it)")
	}
	if env := os.Getenv(runtime.KernelEnv); env != "" {
		t.Skipf("%s=%s forces the set", runtime.KernelEnv, env)
	}
	q, _ := build(t, "vit-micro")
	it := newInterp(t, q, 1)
	ks := it.Kernels()
	t.Logf("kernel set %s (%s)", ks.Name, ks.Why)
	if ks.Name != want {
		t.Fatalf("EDGEINFER_EXPECT_KERNELS=%s but the interpreter picked %s (%s); available: %v", want, ks.Name, ks.Why, runtime.KernelSets())
	}
}

// TestKernelEnvForcesSet checks that $EDGEINFER_KERNELS picks each
// registered set, says so in Why, and that an unknown name is an error
// naming the sets there are.
func TestKernelEnvForcesSet(t *testing.T) {
	q, _ := build(t, "vit-micro")
	for _, set := range kernelSets(t) {
		t.Setenv(runtime.KernelEnv, set)
		it := newInterp(t, q, 1)
		if ks := it.Kernels(); ks.Name != set || !strings.Contains(ks.Why, "forced by "+runtime.KernelEnv) {
			t.Errorf("%s=%s: got set %s (%s)", runtime.KernelEnv, set, ks.Name, ks.Why)
		}
	}
	t.Setenv(runtime.KernelEnv, "sve2")
	_, err := runtime.New(q, runtime.Options{})
	if err == nil || !strings.Contains(err.Error(), `"sve2"`) || !strings.Contains(err.Error(), "ref") {
		t.Errorf("%s=sve2: got error %v, want one naming sve2 and the available sets", runtime.KernelEnv, err)
	}
}

// groupedConvModel is a small int8 CNN with a grouped convolution (4
// groups, as in RegNet and ResNeXt) between two ordinary ones, calibrated
// on seeded samples.
func groupedConvModel(t *testing.T) *format.Model {
	t.Helper()
	r := rand.New(rand.NewSource(5))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64()) * 0.3
		}
		return v
	}
	b := format.NewBuilder("grouped")
	x := b.Input("x", format.Float32, []int32{1, 7, 7, 16}, nil)
	one := format.Conv2DOptions{StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}
	c1 := b.Activation("c1", format.Float32, []int32{1, 7, 7, 16}, nil)
	b.Op(format.OpConv2D, "c1", &one, []int32{x, b.ConstFloat32("c1/w", []int32{16, 1, 1, 16}, vals(16*16)), b.ConstFloat32("c1/b", []int32{16}, vals(16))}, c1)
	grouped := one
	grouped.Groups, grouped.StrideH, grouped.StrideW = 4, 2, 2
	grouped.PadTop, grouped.PadBottom, grouped.PadLeft, grouped.PadRight = 1, 1, 1, 1
	grouped.Activation = format.ActReLU
	g := b.Activation("g", format.Float32, []int32{1, 4, 4, 16}, nil)
	b.Op(format.OpConv2D, "g", &grouped, []int32{c1, b.ConstFloat32("g/w", []int32{16, 3, 3, 4}, vals(16*9*4)), b.ConstFloat32("g/b", []int32{16}, vals(16))}, g)
	c2 := b.Activation("c2", format.Float32, []int32{1, 4, 4, 8}, nil)
	b.Op(format.OpConv2D, "c2", &one, []int32{g, b.ConstFloat32("c2/w", []int32{8, 1, 1, 16}, vals(8*16)), -1}, c2)
	b.Output(c2)
	f, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if v := f.Ops[1].Version; v != 2 {
		t.Fatalf("grouped Conv2D written as version %d, want 2", v)
	}
	return quantized(t, f, 4, func() []float32 { return vals(7 * 7 * 16) })
}

// TestKernelSetsAgreeGroupedConv: a grouped convolution gives the same
// bits with every kernel set (the accelerated sets pack each group's
// weights as its own GEMM operand), as do the ordinary convolutions
// around it, and Invoke allocates nothing.
func TestKernelSetsAgreeGroupedConv(t *testing.T) {
	q := groupedConvModel(t)
	want, _ := opOutputs(t, q, "ref", 1, 0, 3)
	for _, set := range kernelSets(t) {
		t.Run(set, func(t *testing.T) {
			for _, threads := range []int{1, 3} {
				got, packed := opOutputs(t, q, set, threads, 0, 3)
				sameOps(t, q, fmt.Sprintf("%d threads", threads), got, want)
				if set != "ref" && packed == 0 {
					t.Errorf("%d threads: no weights packed", threads)
				}
				it := setInterp(t, q, set, threads, 0, nil)
				if n := testalloc.PerRun(5, func() {
					if err := it.Invoke(); err != nil {
						t.Fatal(err)
					}
				}); n != 0 {
					t.Errorf("%d threads: %v allocations per Invoke", threads, n)
				}
			}
		})
	}
}

// quantized calibrates the one-input float graph f on n samples drawn by
// sample and returns its int8 version.
func quantized(t *testing.T, f *format.Model, n int, sample func() []float32) *format.Model {
	t.Helper()
	samples := make([][][]float32, n)
	for i := range samples {
		samples[i] = [][]float32{sample()}
	}
	ranges, err := ptq.Observe(f, samples, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ptq.Quantize(f, ranges)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// oneChannelDepthwiseModel is a float graph of two depthwise
// convolutions of a one-channel image (depth multiplier 8, 3×3, stride
// 2, padded, ReLU6; and multiplier 5, 2×3, dilated, unpadded), as
// person_detect's first layer, and its int8 version.
func oneChannelDepthwiseModel(t *testing.T) (q, f *format.Model) {
	t.Helper()
	r := rand.New(rand.NewSource(11))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64()) * 0.5
		}
		return v
	}
	b := format.NewBuilder("one-channel depthwise")
	x := b.Input("x", format.Float32, []int32{1, 13, 11, 1}, nil)
	a := format.DepthwiseConv2DOptions{DepthMultiplier: 8, Conv2DOptions: format.Conv2DOptions{StrideH: 2, StrideW: 2,
		DilationH: 1, DilationW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1, Activation: format.ActReLU6}}
	da := b.Activation("a", format.Float32, []int32{1, 7, 6, 8}, nil)
	b.Op(format.OpDepthwiseConv2D, "a", &a, []int32{x, b.ConstFloat32("a/w", []int32{1, 3, 3, 8}, vals(9*8)), b.ConstFloat32("a/b", []int32{8}, vals(8))}, da)
	d := format.DepthwiseConv2DOptions{DepthMultiplier: 5, Conv2DOptions: format.Conv2DOptions{StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 1}}
	db := b.Activation("b", format.Float32, []int32{1, 11, 9, 5}, nil)
	b.Op(format.OpDepthwiseConv2D, "b", &d, []int32{x, b.ConstFloat32("b/w", []int32{1, 2, 3, 5}, vals(6*5)), -1}, db)
	b.Output(da)
	b.Output(db)
	f, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return quantized(t, f, 4, func() []float32 { return vals(13 * 11) }), f
}

// TestKernelSetsAgreeOneChannelDepthwise: a depthwise convolution of one
// input channel runs as a convolution on the accelerated sets (its
// weights packed) and gives ref's bits in int8 and, within float
// rounding, ref's values in float32.
func TestKernelSetsAgreeOneChannelDepthwise(t *testing.T) {
	q, f := oneChannelDepthwiseModel(t)
	want, _ := opOutputs(t, q, "ref", 1, 0, 3)
	wantF, _ := floatOutputs(t, f, "ref", 1)
	for _, set := range kernelSets(t) {
		t.Run(set, func(t *testing.T) {
			for _, threads := range []int{1, 3} {
				got, packed := opOutputs(t, q, set, threads, 0, 3)
				sameOps(t, q, fmt.Sprintf("int8, %d threads", threads), got, want)
				if set != "ref" && packed == 0 {
					t.Errorf("int8, %d threads: no weights packed: the depthwise ran on ref", threads)
				}
				gotF, packedF := floatOutputs(t, f, set, threads)
				if set != "ref" && packedF == 0 {
					t.Errorf("float32, %d threads: no weights packed: the depthwise ran on ref", threads)
				}
				for i := range wantF {
					g, w := floats(gotF[i]), floats(wantF[i])
					for j := range w {
						if d := math.Abs(float64(g[j] - w[j])); !(d <= 1e-5*(1+math.Abs(float64(w[j])))) {
							t.Fatalf("float32, %d threads: op %d value %d = %g, ref %g", threads, i, j, g[j], w[j])
						}
					}
				}
				it := setInterp(t, q, set, threads, 0, nil)
				if n := testalloc.PerRun(5, func() {
					if err := it.Invoke(); err != nil {
						t.Fatal(err)
					}
				}); n != 0 {
					t.Errorf("%d threads: %v allocations per Invoke", threads, n)
				}
			}
		})
	}
}

// elementwiseModel is a float graph of elementwise ops on 4100 values
// (four blocks of 1024 and a tail of 4, so the ops split over workers),
// one Add broadcasting a [1, 1] constant (which runs as one piece), and
// its int8 version.
func elementwiseModel(t *testing.T) (q, f *format.Model) {
	t.Helper()
	const n = 4100
	r := rand.New(rand.NewSource(9))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
		return v
	}
	shape := []int32{1, n}
	b := format.NewBuilder("elementwise")
	x := b.Input("x", format.Float32, shape, nil)
	act := func(name string) int32 { return b.Activation(name, format.Float32, shape, nil) }
	add, gelu, mul, sub, out := act("add"), act("gelu"), act("mul"), act("sub"), act("out")
	b.Op(format.OpAdd, "add", nil, []int32{x, b.ConstFloat32("c", shape, vals(n))}, add)
	b.Op(format.OpGELU, "gelu", nil, []int32{add}, gelu)
	b.Op(format.OpMul, "mul", nil, []int32{gelu, x}, mul)
	b.Op(format.OpSub, "sub", nil, []int32{mul, add}, sub)
	b.Op(format.OpAdd, "bias", nil, []int32{sub, b.ConstFloat32("bias", []int32{1, 1}, vals(1))}, out)
	b.Output(out)
	f, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return quantized(t, f, 4, func() []float32 { return vals(n) }), f
}

// sameSplitOps checks that m on set at threads workers gives want op by
// op (inputs from seed) and that its Invoke allocates nothing.
func sameSplitOps(t *testing.T, m *format.Model, what, set string, threads int, seed int64, want [][]byte) {
	t.Helper()
	got, _ := opOutputs(t, m, set, threads, 0, seed)
	sameOps(t, m, what, got, want)
	it := setInterp(t, m, set, threads, 0, nil)
	if n := invokeAllocs(it); n != 0 {
		t.Errorf("%s: %v allocations per Invoke", what, n)
	}
}

// TestElementwiseOpsSplit: elementwise ops split into blocks over the
// workers give the 1-thread bits at 2, 3 and 5 threads (int8: ref's, on
// every set; float32: the set's own), and Invoke allocates nothing.
func TestElementwiseOpsSplit(t *testing.T) {
	q, f := elementwiseModel(t)
	for _, m := range []*format.Model{q, f} {
		for _, set := range kernelSets(t) {
			ws := set // int8: every set gives ref's bits
			if m == q {
				ws = "ref"
			}
			want, _ := opOutputs(t, m, ws, 1, 0, 5)
			for _, threads := range []int{2, 3, 5} {
				what := fmt.Sprintf("%s %v, %d threads", set, m.Tensors[m.Inputs[0]].DType, threads)
				sameSplitOps(t, m, what, set, threads, 5, want)
			}
		}
	}
}

// TestKernelSetsResizeArgMaxSplit: a bilinear resize (its rows over the
// workers, each with its own scratch) and an ArgMax over the class axis
// give ref's 1-thread bits on every set at 1, 2, 3 and 5 threads, int8
// and float32, with no allocation per Invoke.
func TestKernelSetsResizeArgMaxSplit(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
		return v
	}
	b := format.NewBuilder("resize")
	x := b.Input("x", format.Float32, []int32{2, 5, 7, 21}, nil)
	y := b.Activation("y", format.Float32, []int32{2, 33, 29, 21}, nil)
	b.Op(format.OpResizeBilinear, "resize", &format.ResizeBilinearOptions{HalfPixelCenters: true}, []int32{x}, y)
	am := b.Activation("classes", format.Int32, []int32{2, 33, 29}, nil)
	b.Op(format.OpArgMax, "argmax", &format.ArgMaxOptions{Axis: 3}, []int32{y}, am)
	b.Output(am)
	f, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	q := quantized(t, f, 2, func() []float32 { return vals(2 * 5 * 7 * 21) })
	for _, m := range []*format.Model{q, f} {
		want, _ := opOutputs(t, m, "ref", 1, 0, 8)
		for _, set := range kernelSets(t) {
			for _, threads := range []int{1, 2, 3, 5} {
				what := fmt.Sprintf("%s %v, %d threads", set, m.Tensors[m.Inputs[0]].DType, threads)
				sameSplitOps(t, m, what, set, threads, 8, want)
			}
		}
	}
}
