// Package kernels holds the parameter structs that every kernel
// implementation shares. The implementations live in sub-packages:
// kernels/ref is portable Go and the source of truth; kernels/neon has the
// same functions in arm64 assembly and must match ref bit for bit.
//
// Conventions: kernels are functions over caller-owned slices and a
// parameter struct filled once at load. They never allocate, never keep a
// reference to their arguments, and trust their parameters (the runtime and
// the verifier have checked shapes). All tensors are dense and row-major.
package kernels

import (
	"math"

	"github.com/edgeinfer/edgeinfer/quant"
)

// MaxRank is the largest tensor rank the data-movement and broadcasting
// kernels handle. Shape arrays are right-aligned: a rank-r shape occupies
// the last r entries, the leading ones are 1.
const MaxRank = 6

// OutputStage is the requantization that ends every int8 op with an int32
// accumulator: q = clamp(OutZP + Mult[c].Apply(acc), ActMin, ActMax), where
// c is the output channel (the last dimension) when len(Mult) > 1.
type OutputStage struct {
	Mult     []quant.Multiplier
	OutZP    int32
	ActMin   int32 // fused activation folded into the clamp, in the int8 domain
	ActMax   int32
	Rounding quant.Rounding
	// Scale, when not nil, replaces Mult: q = clamp(OutZP +
	// roundEven(float32(acc)·Scale[c]), ActMin, ActMax) in float32, which
	// is XNNPACK's requantization (quant.RoundXNNPACK). Accelerated kernel
	// sets that cannot apply it decline the op (their Prepare… returns nil).
	Scale []float32
}

// Requantize applies the stage to an accumulator of output channel ch.
func (s *OutputStage) Requantize(acc int32, ch int) int8 {
	// In int64: a saturated product plus a positive zero point must clamp
	// high, not wrap around to −128.
	var r int32
	if s.Scale != nil {
		sc := s.Scale[0]
		if len(s.Scale) > 1 {
			sc = s.Scale[ch]
		}
		// Explicit conversions keep the product a rounded float32 (no
		// fused multiply-add); the clamp keeps the int32 conversion exact.
		f := float32(float32(acc) * sc)
		r = int32(math.RoundToEven(float64(max(-1<<30, min(1<<30, f)))))
	} else {
		m := s.Mult[0]
		if len(s.Mult) > 1 {
			m = s.Mult[ch]
		}
		r = m.ApplyMode(acc, s.Rounding)
	}
	v := int64(s.OutZP) + int64(r)
	v = max(int64(s.ActMin), min(int64(s.ActMax), v))
	return int8(v)
}

// FCParams describes FullyConnected on M rows:
// out[m,n] = Out(Bias[n] + Σ_k (x[m,k] − InZP)·(w[n,k] − WZP)). Bias may be nil.
type FCParams struct {
	M, N, K int
	InZP    int32
	// WZP is the weights' zero point: 0 under edgeinfer's symmetric weight
	// contract; legacy uint8 TFLite models carry a per-tensor one (shifted
	// to int8). kernels/neon's GEMM subtracts it (row sums); sets that
	// cannot decline the op, which then runs on ref.
	WZP  int32
	Bias []int32
	Out  OutputStage
}

// FCFloatParams describes float FullyConnected:
// out[m,n] = clamp(Bias[n] + Σ_k x[m,k]·w[n,k], ActMin, ActMax).
type FCFloatParams struct {
	M, N, K        int
	Bias           []float32
	ActMin, ActMax float32
}

// MatMulParams describes one batch of BatchMatMul:
// out[m,n] = Out(Σ_k (a[m,k] − AZP)·(b[k,n] − BZP)). With AdjX a is stored
// [K,M]; with AdjY b is stored [N,K]. Out.Mult has one entry.
//
// LDA, LDB and LDO are the row strides, in elements, of a, b and out as
// stored (a's rows are along k, or along m with AdjX; b's along n, or
// along k with AdjY; out's along n); 0 means dense (the row length).
// Strides let a product run on the leading sub-block of larger matrices,
// as a run-time token budget does.
type MatMulParams struct {
	M, N, K       int
	AdjX, AdjY    bool
	AZP, BZP      int32
	Out           OutputStage
	LDA, LDB, LDO int
}

// Strides returns LDA, LDB and LDO with 0 resolved to the dense row
// lengths.
func (p *MatMulParams) Strides() (lda, ldb, ldo int) {
	lda, ldb, ldo = p.LDA, p.LDB, p.LDO
	if lda == 0 {
		lda = p.K
		if p.AdjX {
			lda = p.M
		}
	}
	if ldb == 0 {
		ldb = p.N
		if p.AdjY {
			ldb = p.K
		}
	}
	if ldo == 0 {
		ldo = p.N
	}
	return lda, ldb, ldo
}

// Extents returns how many elements of a, b and out the product reads or
// writes: up to the end of the last row.
func (p *MatMulParams) Extents() (na, nb, no int) {
	lda, ldb, ldo := p.Strides()
	ext := func(rows, ld, width int) int {
		if rows == 0 || width == 0 {
			return 0
		}
		return (rows-1)*ld + width
	}
	if p.AdjX {
		na = ext(p.K, lda, p.M)
	} else {
		na = ext(p.M, lda, p.K)
	}
	if p.AdjY {
		nb = ext(p.N, ldb, p.K)
	} else {
		nb = ext(p.K, ldb, p.N)
	}
	return na, nb, ext(p.M, ldo, p.N)
}

// ConvParams describes Conv2D and DepthwiseConv2D over NHWC tensors; int8
// products are (x − InZP)·(w − WZP).
// Only output rows r = n·OH + oh with RowLo ≤ r < RowHi are computed, so
// the runtime can split one convolution over its workers.
type ConvParams struct {
	N, H, W, Cin         int
	KH, KW, Cout         int
	OH, OW               int
	StrideH, StrideW     int
	DilationH, DilationW int
	PadTop, PadLeft      int
	DepthMultiplier      int // depthwise only
	// Groups > 1 splits Conv2D's channels into that many groups: weights
	// are [Cout, KH, KW, Cin/Groups] and output channel co reads the input
	// channels of group co/(Cout/Groups). 0 or 1: one group.
	Groups       int
	RowLo, RowHi int
	// int8 only:
	InZP int32
	// WZP is the weights' zero point, as in FCParams (0: symmetric).
	WZP  int32
	Bias []int32 // may be nil
	Out  OutputStage
	// float only:
	BiasF          []float32 // may be nil
	ActMin, ActMax float32
}

// PoolParams describes AveragePool2D and MaxPool2D over NHWC tensors.
// Average pooling divides by the number of in-bounds taps. int8 pooling
// keeps the input's quantization (the verifier requires equal parameters)
// and rounds the average half away from zero.
type PoolParams struct {
	N, H, W, C       int
	FH, FW           int
	OH, OW           int
	StrideH, StrideW int
	PadTop, PadLeft  int
	ActMin, ActMax   int32 // int8
	// RoundHalfUp makes int8 averages round ties toward +∞ (as LiteRT's
	// uint8 kernels do for legacy uint8 models, quant.RoundXNNPACKUint8)
	// instead of away from zero.
	RoundHalfUp      bool
	ActMinF, ActMaxF float32 // float
}

// MeanParams describes Mean over a contiguous block of axes, with the
// tensor viewed as [Outer, Reduce, Inner]: out[o,i] = mean_r x[o,r,i].
// int8: out = clamp(OutZP + Mult.Apply(Σ_r (x − InZP))) with
// Mult = s_in/(s_out·Reduce).
type MeanParams struct {
	Outer, Reduce, Inner int
	InZP, OutZP          int32
	Mult                 quant.Multiplier
	Rounding             quant.Rounding
}

// Broadcast maps an output index to the two operands of a binary op with
// numpy broadcasting. Shapes and strides are right-aligned to MaxRank; a
// broadcast dimension has stride 0. N is the output element count.
type Broadcast struct {
	OutShape [MaxRank]int
	AStride  [MaxRank]int
	BStride  [MaxRank]int
	N        int
}

// DenseBroadcast is the Broadcast of two operands of n elements each, with
// the output's shape.
func DenseBroadcast(n int) Broadcast {
	var bc Broadcast
	for i := range bc.OutShape {
		bc.OutShape[i] = 1
	}
	bc.OutShape[MaxRank-1] = n
	bc.AStride[MaxRank-1] = 1
	bc.BStride[MaxRank-1] = 1
	bc.N = n
	return bc
}

// Dense reports whether both operands have the output's shape and dense
// strides (no broadcasting), so that element i of each is element i of
// the output.
func (bc *Broadcast) Dense() bool {
	stride := 1
	for i := MaxRank - 1; i >= 0; i-- {
		d := bc.OutShape[i]
		if d != 1 && (bc.AStride[i] != stride || bc.BStride[i] != stride) {
			return false
		}
		stride *= d
	}
	return stride == bc.N
}

// BinaryParams describes int8 Add, Sub, Mul and SquaredDifference.
//
// Add/Sub (as in TFLite): each operand is shifted left by LeftShift bits,
// rescaled to a common scale by AMult/BMult, summed (or subtracted), and
// brought to the output by OutMult. Mul and SquaredDifference multiply the
// zero-point-corrected operands (or their difference, squared, for
// SquaredDifference after rescaling) and apply OutMult.
type BinaryParams struct {
	Broadcast
	AZP, BZP, OutZP       int32
	AMult, BMult, OutMult quant.Multiplier
	LeftShift             int
	ActMin, ActMax        int32
	Rounding              quant.Rounding
	// FixedShift, when > 0, makes Add and Sub use XNNPACK's arithmetic
	// (quant.RoundXNNPACK) instead of the multipliers above:
	// out = clamp(OutZP + ((a−AZP)·AFixed ± (b−BZP)·BFixed + 2^(FixedShift−1)) >> FixedShift).
	FixedShift     int
	AFixed, BFixed int32
	// MulScale, when > 0, makes Mul use XNNPACK's arithmetic
	// (quant.RoundXNNPACK): out = clamp(OutZP +
	// roundEven(float32((a−AZP)·(b−BZP))·MulScale)), in float32.
	MulScale float32
}

// LayerNormParams describes int8 LayerNorm over Rows rows of D values.
// Statistics are exact integers (Σq and Σq² in int64); the per-row
// reciprocal standard deviation is computed in float64; the per-element
// affine map runs in float32 with every product explicitly rounded so that
// every platform produces the same bits. Gamma and Beta are pre-scaled at
// load: Gamma[d] = γ_d/s_out, Beta[d] = β_d/s_out + OutZP. Eps = ε/s_in².
type LayerNormParams struct {
	Rows, D int
	Gamma   []float32
	Beta    []float32
	Eps     float64
}

// SoftmaxParams describes int8 Softmax over Rows rows of D values with the
// fixed output quantization quant.SoftmaxOutput. Exp[d] holds
// round(2^16·exp(−β·s_in·d)) for a distance d = max − q in [0, 255].
type SoftmaxParams struct {
	Rows, D int
	Exp     *[256]uint32
}

// TransposeParams describes a permutation of a tensor of rank ≤ MaxRank:
// out dim i is in dim Perm[i]. Shapes are right-aligned as in Broadcast;
// Perm is expressed over the MaxRank aligned dims.
type TransposeParams struct {
	InShape [MaxRank]int
	Perm    [MaxRank]int
}

// SliceParams describes Slice and Pad on right-aligned shapes. For Slice,
// out[i] = in[i + Begin]; for Pad, out[i + Begin] = in[i] and every other
// element is the pad value.
type SliceParams struct {
	InShape  [MaxRank]int
	OutShape [MaxRank]int
	Begin    [MaxRank]int
}

// RequantizeParams describes int8/uint8 → int8/uint8 requantization:
// out = clamp(OutZP + Mult.Apply(in − InZP)) over the output type's range.
type RequantizeParams struct {
	InZP, OutZP             int32
	Mult                    quant.Multiplier
	InUnsigned, OutUnsigned bool
	Rounding                quant.Rounding
}
