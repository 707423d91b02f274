package runtime

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// KernelSet is one implementation of the hot int8 kernels. kernels/ref
// (portable Go) is the source of truth; accelerated sets register
// themselves from architecture files and must match it bit for bit.
//
// Every kernel of a set is optional, and there is one rule: a nil field,
// or a Prepare… that returns a nil kernel for an op, leaves that op to
// kernels/ref. The set's kernels see only what they are written for:
// int8 weights with one zero point per tensor (FCParams.WZP and
// ConvParams.WZP: 0, or a legacy uint8 model's, which a set's Prepare…
// declines if it cannot subtract it) and output stages with Mult (and
// XNNPACK's float Scale, which a set declines if it cannot apply it);
// ops with anything else never reach them. The prep methods
// below KernelSets (setFC and friends) are the one place that applies the
// rule to the Prepare… kernels.
//
// Parameters are passed by value: through a function value the compiler
// cannot see that a pointer argument stays on the stack, so a pointer
// would cost a heap allocation per call.
type KernelSet struct {
	Name string
	// Why says why this set was picked (CPU features, an override).
	Why string

	MatMulInt8 func(p kernels.MatMulParams, a, b, out []int8)
	// AddInt8, SubInt8, MulInt8 and TAPInt8 (TokenAwareAvgPool) take a
	// pointer, as their kernels/ref twins do: their parameters live in the
	// prepared op on the heap already, so nothing escapes per call.
	AddInt8 func(p *kernels.BinaryParams, a, b, out []int8)
	SubInt8 func(p *kernels.BinaryParams, a, b, out []int8)
	MulInt8 func(p *kernels.BinaryParams, a, b, out []int8)
	TAPInt8 func(p *kernels.TAPParams, x, logits []int8, w []int32, out []int8)
	// LayerNormInt8 and SoftmaxInt8 replace their kernels/ref twins; their
	// parameters are a per-call copy (a block of rows), so by value.
	LayerNormInt8 func(p kernels.LayerNormParams, x, out []int8)
	SoftmaxInt8   func(p kernels.SoftmaxParams, x, out []int8)
	// LookupInt8 replaces ref.LookupInt8, the int8 table ops (GELU,
	// logistic, tanh, HardSwish and friends); the table is the prepared
	// op's, on the heap.
	LookupInt8 func(t *quant.Table, x, out []int8)
	// QuantizeFloat replaces ref.QuantizeFloat (float32 to int8 or uint8
	// bytes), bit for bit.
	QuantizeFloat func(x []float32, out []byte, p quant.Params, unsigned bool)
	// Dequantize replaces ref.DequantizeInt8 (ref.DequantizeUint8 when
	// unsigned) over codes stored as bytes, bit for bit; without it
	// Dequantize runs as a float32 table lookup.
	Dequantize func(x []byte, out []float32, p quant.Params, unsigned bool)
	// CopyView replaces ref.CopyView, the copy behind Transpose and Slice
	// (of any dtype); the view is the prepared op's, on the heap.
	CopyView func(shape, stride *[kernels.MaxRank]int, off, elemSize int, in, out []byte)
	// ArgMaxInt8 replaces ref.ArgMaxInt8 bit for bit (the first of equal
	// maxima), int8 and imported uint8 alike.
	ArgMaxInt8 func(x []int8, out []int32, outer, axis, inner int)
	// PrepareResizeInt8 returns the set's kernel for a planned int8
	// bilinear resize, ref's Int8Rows bit for bit (the same rows, the same
	// scratch), or nil to leave it to ref.
	PrepareResizeInt8 func(r *ref.ResizeBilinear) func(x, out []int8, lo, hi int, scratch []int32)

	// PrepareFC, PrepareConv and PrepareDepthwise pack an op's weights
	// once at load into the set's micro-kernel layout and return the
	// kernel Invoke calls, with the bytes the packed weights hold.
	PrepareFC        func(p kernels.FCParams, w []int8) (f func(p kernels.FCParams, x, out []int8), bytes int)
	PrepareConv      func(p kernels.ConvParams, w []int8) (f func(p kernels.ConvParams, x, out []int8), bytes int)
	PrepareDepthwise func(p kernels.ConvParams, w []int8) (f func(p kernels.ConvParams, x, out []int8), bytes int)
	// PrepareZOSensitivity (modes ZOJVP and ZOLowRankJVP) and
	// PrepareDiverseSelect prepare a token operator at load (packed
	// Jacobian-side matrix, scratch). The prepared kernels keep scratch:
	// one op, one caller at a time.
	PrepareZOSensitivity func(p kernels.ZOSensitivityParams, w []int8) (f func(p kernels.ZOSensitivityParams, z, a []int8, s []float32), bytes int)
	PrepareDiverseSelect func(p kernels.DiverseSelectParams) (f func(p kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16), bytes int)

	// The float32 GEMM-shaped ops. PrepareFCFloat and PrepareConvFloat
	// pack weights at load as PrepareFC does; MatMulFloat replaces
	// ref.MatMulFloat. Float kernels match ref within a tolerance their
	// package documents (not bit for bit) and give the same bits at any
	// thread count. They run in float graphs only (prep.floatKernels).
	PrepareFCFloat   func(p kernels.FCFloatParams, w []float32) (f func(p kernels.FCFloatParams, x, out []float32), bytes int)
	PrepareConvFloat func(p kernels.ConvParams, w []float32) (f func(p kernels.ConvParams, x, out []float32), bytes int)
	MatMulFloat      func(p kernels.MatMulParams, a, b, out []float32)
	// GELUFloat and SoftmaxFloat replace ref.GELUFloat and ref.SoftmaxFloat
	// within the tolerances their package documents.
	GELUFloat    func(x, out []float32, approximate bool)
	SoftmaxFloat func(rows, d int, beta float32, x, out []float32)
	// AddFloat and DivFloat replace ref.AddFloat and ref.DivFloat bit for
	// bit, LayerNormFloat ref.LayerNormFloat within the tolerance its
	// package documents.
	AddFloat       func(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32)
	DivFloat       func(p *kernels.Broadcast, a, b, out []float32, actMin, actMax float32)
	LayerNormFloat func(rows, d int, eps float32, x, gamma, beta, out []float32)
}

// refKernels is the reference set: no kernel of its own, every op runs
// kernels/ref.
var refKernels = KernelSet{Name: "ref", Why: "portable Go reference kernels"}

// kernelSets holds every set usable on this machine, by name.
// registerKernels adds one; best is the name picked by default.
var (
	kernelSets = map[string]KernelSet{"ref": refKernels}
	best       = "ref"
)

// registerKernels makes a set available; with preferred it becomes the
// default. Called from init functions of architecture-specific files.
func registerKernels(s KernelSet, preferred bool) {
	kernelSets[s.Name] = s
	if preferred {
		best = s.Name
	}
}

// KernelEnv is the environment variable that forces a kernel set
// (for example EDGEINFER_KERNELS=ref); Options.Kernels takes precedence.
const KernelEnv = "EDGEINFER_KERNELS"

// KernelSets returns the names of the sets usable on this machine.
func KernelSets() []string {
	var n []string
	for k := range kernelSets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// chooseKernels resolves the requested name ("" = environment, then the
// best available set).
func chooseKernels(name string) (KernelSet, error) {
	why := ""
	if name == "" {
		if env := os.Getenv(KernelEnv); env != "" {
			name, why = env, "forced by "+KernelEnv+"="+env
		}
	} else {
		why = "forced by option"
	}
	if name == "" || name == "auto" {
		return kernelSets[best], nil
	}
	s, ok := kernelSets[name]
	if !ok {
		return KernelSet{}, fmt.Errorf("kernel set %q is not available on this machine (have %s)", name, strings.Join(KernelSets(), ", "))
	}
	s.Why = why + "; " + s.Why
	return s, nil
}

// The one rule for kernel sets (see KernelSet): each method returns the
// set's kernel for an op, or nil when the set has none or declines it, and
// the op then calls kernels/ref. (MatMulInt8, AddInt8, SubInt8, MulInt8
// and TAPInt8 need no method: the op takes the field when it is not nil.)

// setTakesWeights reports whether an op with weights input i may go to
// the kernel set: one weight zero point for the whole tensor (the params'
// WZP). Output stages (Mult, or XNNPACK's Scale) are the set's to decline.
func (c *prep) setTakesWeights(op *format.Op, i int) bool {
	if q := c.mt(op.Inputs[i]).Quant; q != nil {
		for _, z := range q.ZeroPoint {
			if z != q.ZeroPoint[0] {
				return false
			}
		}
	}
	return true
}

// setFC returns the set's FullyConnected on weights w packed at load, with
// the bytes they hold.
func (c *prep) setFC(op *format.Op, p kernels.FCParams, w []int8) (func(p kernels.FCParams, x, out []int8), int) {
	if c.it.kernels.PrepareFC == nil || !c.setTakesWeights(op, 1) {
		return nil, 0
	}
	return c.it.kernels.PrepareFC(p, w)
}

// setConv returns the set's Conv2D or DepthwiseConv2D on weights w packed
// at load, with the bytes they hold.
func (c *prep) setConv(op *format.Op, p kernels.ConvParams, w []int8, depthwise bool) (func(p kernels.ConvParams, x, out []int8), int) {
	f := c.it.kernels.PrepareConv
	if depthwise {
		f = c.it.kernels.PrepareDepthwise
	}
	if f == nil || !c.setTakesWeights(op, 1) {
		return nil, 0
	}
	return f(p, w)
}

// floatKernels returns the set whose float kernels the float ops of this
// graph take: the interpreter's in a float graph (every graph input
// float32), ref's (none) in an int8 graph, whose float ops (token scores
// kept float by ptq) then give the same bits with every set, as its int8
// ops do.
func (c *prep) floatKernels() *KernelSet {
	for _, i := range c.it.model.Inputs {
		if c.it.model.Tensors[i].DType != format.Float32 {
			return &refKernels
		}
	}
	return &c.it.kernels
}

// setZOSensitivity returns the set's ZOSensitivity (JVP modes) prepared
// for weights w, with the bytes it holds.
func (c *prep) setZOSensitivity(p kernels.ZOSensitivityParams, w []int8) (func(p kernels.ZOSensitivityParams, z, a []int8, s []float32), int) {
	if c.it.kernels.PrepareZOSensitivity == nil || w == nil { // w: the JVP modes' int8 weights
		return nil, 0
	}
	return c.it.kernels.PrepareZOSensitivity(p, w)
}

// setDiverseSelect returns the set's DiverseSelect prepared for p, with
// the bytes it holds.
func (c *prep) setDiverseSelect(p kernels.DiverseSelectParams) (func(p kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16), int) {
	if c.it.kernels.PrepareDiverseSelect == nil {
		return nil, 0
	}
	return c.it.kernels.PrepareDiverseSelect(p)
}

// packedKernel is a kernel that holds data packed at load, counted by
// Interpreter.PackedBytes.
type packedKernel struct {
	kernel
	bytes int
}

func (k packedKernel) packedBytes() int { return k.bytes }

// withPacked counts bytes of packed data for k.
func withPacked(k kernel, bytes int) kernel {
	if bytes == 0 {
		return k
	}
	return packedKernel{k, bytes}
}

func (k *fcInt8) packedBytes() int  { return k.packed }
func (k *conv) packedBytes() int    { return k.packed }
func (k *fcFloat) packedBytes() int { return k.packed }

// PackedBytes returns the memory held by weights packed at load into the
// kernel set's layout (0 for the reference kernels, which read the model's
// weights in place).
func (it *Interpreter) PackedBytes() int64 {
	var n int64
	for _, s := range it.steps {
		if p, ok := s.k.(interface{ packedBytes() int }); ok {
			n += int64(p.packedBytes())
		}
	}
	return n
}
