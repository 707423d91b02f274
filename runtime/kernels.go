package runtime

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// KernelSet is one implementation of the hot kernels. "ref" (portable Go)
// always exists and is the source of truth; accelerated sets register
// themselves from build-specific files and must match ref bit for bit.
//
// Parameters are passed by value: through a function value the compiler
// cannot see that a pointer argument stays on the stack, so a pointer
// would cost a heap allocation per call.
type KernelSet struct {
	Name string
	// Why says why this set was picked (CPU features, an override).
	Why string

	FullyConnectedInt8  func(p kernels.FCParams, x, w, out []int8)
	MatMulInt8          func(p kernels.MatMulParams, a, b, out []int8)
	Conv2DInt8          func(p kernels.ConvParams, x, w, out []int8)
	DepthwiseConv2DInt8 func(p kernels.ConvParams, x, w, out []int8)
	// AddInt8 takes a pointer: its parameters live in the prepared op on
	// the heap already, so nothing escapes per call.
	AddInt8 func(p *kernels.BinaryParams, a, b, out []int8)

	// PrepareFC, PrepareConv and PrepareDepthwise, when set, pack an op's weights once at
	// load into the set's micro-kernel layout and return the kernel that
	// Invoke calls instead (nil when this op stays with the plain kernel),
	// with the bytes the packed weights hold.
	PrepareFC        func(p kernels.FCParams, w []int8) (f func(p kernels.FCParams, x, out []int8), bytes int)
	PrepareConv      func(p kernels.ConvParams, w []int8) (f func(p kernels.ConvParams, x, out []int8), bytes int)
	PrepareDepthwise func(p kernels.ConvParams, w []int8) (f func(p kernels.ConvParams, x, out []int8), bytes int)

	// The int8 research operators. PrepareZOSensitivity (modes ZOJVP and
	// ZOLowRankJVP) and PrepareDiverseSelect, when set, prepare the op at
	// load (packed Jacobian-side matrix, scratch) and return the kernel
	// Invoke calls instead of kernels/ref's, or nil to stay with ref. The
	// prepared kernels keep scratch: one op, one caller at a time.
	PrepareZOSensitivity func(p kernels.ZOSensitivityParams, w []int8) (f func(p kernels.ZOSensitivityParams, z, a []int8, s []float32), bytes int)
	PrepareDiverseSelect func(p kernels.DiverseSelectParams) (f func(p kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16), bytes int)
	// TAPInt8 is ref.TAPInt8 (TokenAwareAvgPool); it takes a pointer as
	// AddInt8 does.
	TAPInt8 func(p *kernels.TAPParams, x, logits []int8, w []int32, out []int8)
}

var refKernels = KernelSet{
	Name: "ref",
	Why:  "portable Go reference kernels",
	FullyConnectedInt8: func(p kernels.FCParams, x, w, out []int8) {
		ref.FullyConnectedInt8(&p, x, w, out)
	},
	MatMulInt8: func(p kernels.MatMulParams, a, b, out []int8) {
		ref.MatMulInt8(&p, a, b, out)
	},
	Conv2DInt8: func(p kernels.ConvParams, x, w, out []int8) {
		ref.Conv2DInt8(&p, x, w, out)
	},
	DepthwiseConv2DInt8: func(p kernels.ConvParams, x, w, out []int8) {
		ref.DepthwiseConv2DInt8(&p, x, w, out)
	},
	AddInt8: ref.AddInt8,
	TAPInt8: ref.TAPInt8,
}

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
