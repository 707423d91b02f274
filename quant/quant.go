// Package quant is edgeinfer's int8 contract: how real numbers map to
// integers, how accumulators are brought back to int8, and how parameters
// are chosen. Every kernel and every importer uses these functions, so the
// arithmetic has one definition.
//
// The mapping is real = scale · (q − zeroPoint).
//   - Weights: int8, symmetric (zeroPoint 0), per output channel, in
//     [−127, 127] so that −w never overflows.
//   - Activations: int8 in [−128, 127], asymmetric (any zeroPoint).
//   - Bias: int32 with scale s_in·s_w[c] and zeroPoint 0.
//
// Requantization multiplies an int32 accumulator by a real factor
// represented as a Q31 fixed-point Multiplier. The default rounding mode,
// RoundSingle, is one rounding of the exact product (see Multiplier.Apply).
// RoundDouble reproduces gemmlowp's two-step rounding for models imported
// from TFLite that must match LiteRT bit for bit; a model records which one
// it uses.
package quant

import (
	"fmt"
	"math"
)

// Rounding selects how a requantization product is rounded.
type Rounding uint8

const (
	// RoundSingle rounds x·M·2^(shift−31) once, half toward +∞, computed
	// exactly in 64 bits. This is edgeinfer's contract and what the NEON
	// kernels do with SMULL + SRSHR.
	RoundSingle Rounding = 0
	// RoundDouble is gemmlowp's SaturatingRoundingDoublingHighMul followed
	// by RoundingDivideByPOT (half away from zero), as in LiteRT's
	// reference kernels.
	RoundDouble Rounding = 1
	// RoundXNNPACK is the arithmetic of LiteRT's default CPU path, which
	// hands convolutions, fully-connected layers and additions to XNNPACK.
	// Their accumulators are requantized in float32: float32(acc)·s with
	// s = float32(s_in·s_w)/s_out, rounded to nearest, ties to even (see
	// kernels.OutputStage.Scale); Add and Sub rescale with XNNPACK's
	// fixed-point multipliers (kernels.BinaryParams.FixedShift); int8
	// Softmax uses XNNPACK's exponential table (ref.NewSoftmaxTableXNNPACK).
	// Every other op runs LiteRT's builtin kernels, so a Multiplier
	// applied under this mode rounds as RoundDouble.
	RoundXNNPACK Rounding = 2
	// RoundXNNPACKUint8 is RoundXNNPACK for legacy uint8 models, which
	// LiteRT computes in unsigned arithmetic: in addition, averages
	// (AveragePool2D) round ties toward +∞ instead of away from zero.
	RoundXNNPACKUint8 Rounding = 3
)

// Multiplier returns the rounding a Multiplier is applied with under r:
// RoundSingle for RoundSingle, RoundDouble for every LiteRT mode.
func (r Rounding) Multiplier() Rounding {
	if r == RoundSingle {
		return RoundSingle
	}
	return RoundDouble
}

// XNNPACK reports whether r is one of LiteRT's XNNPACK modes.
func (r Rounding) XNNPACK() bool { return r == RoundXNNPACK || r == RoundXNNPACKUint8 }

func (r Rounding) String() string {
	switch r {
	case RoundSingle:
		return "single"
	case RoundDouble:
		return "double"
	case RoundXNNPACK:
		return "xnnpack"
	case RoundXNNPACKUint8:
		return "xnnpack-uint8"
	}
	return fmt.Sprintf("Rounding(%d)", uint8(r))
}

// Multiplier is a positive real factor stored as M·2^(Shift−31) with M in
// [2^30, 2^31) (or M = 0 for a zero factor).
type Multiplier struct {
	M     int32
	Shift int32
}

// MinShift is the smallest Shift a Multiplier keeps; factors below
// 2^(MinShift−1) become zero (they cannot move an int32 accumulator).
const MinShift = -31

// NewMultiplier returns the Multiplier closest to real. real must be finite
// and in [0, 2^31); values smaller than 2^-32 give the zero Multiplier.
func NewMultiplier(real float64) (Multiplier, error) {
	if math.IsNaN(real) || math.IsInf(real, 0) || real < 0 || real >= 1<<31 {
		return Multiplier{}, fmt.Errorf("quant: multiplier %g out of range [0, 2^31)", real)
	}
	if real == 0 {
		return Multiplier{}, nil
	}
	frac, exp := math.Frexp(real) // real = frac · 2^exp, frac in [0.5, 1)
	m := int64(math.Round(frac * (1 << 31)))
	if m == 1<<31 { // frac rounded up to 1.0
		m /= 2
		exp++
	}
	if exp < MinShift {
		return Multiplier{}, nil
	}
	return Multiplier{M: int32(m), Shift: int32(exp)}, nil
}

// MustMultiplier is NewMultiplier for factors known to be valid; it panics
// otherwise. For use in tests and generators only.
func MustMultiplier(real float64) Multiplier {
	m, err := NewMultiplier(real)
	if err != nil {
		panic(err)
	}
	return m
}

// Real returns the factor m represents.
func (m Multiplier) Real() float64 {
	return math.Ldexp(float64(m.M), int(m.Shift)-31)
}

// Apply returns x·M·2^(Shift−31) rounded half toward +∞, saturated to
// int32. This is RoundSingle, edgeinfer's requantization.
func (m Multiplier) Apply(x int32) int32 {
	prod := int64(x) * int64(m.M)
	total := 31 - m.Shift
	if total <= 0 {
		// Shift 31, or 32 when NewMultiplier rounds a factor just below
		// 2^31 up to 2^31: shift left and saturate.
		return saturate32(prod << uint(-total))
	}
	return saturate32((prod + int64(1)<<(total-1)) >> total)
}

// ApplyDouble returns gemmlowp's double-rounded x·M·2^(Shift−31):
// SaturatingRoundingDoublingHighMul(x·2^max(Shift,0), M) then
// RoundingDivideByPOT(max(−Shift,0)), with x·2^Shift taken exactly and the
// result saturated to int32 (gemmlowp's int32 x·2^Shift would overflow).
// For Shift > 0 the left shift is exact, so only the high multiply rounds
// and the result equals Apply's.
func (m Multiplier) ApplyDouble(x int32) int32 {
	if m.Shift > 0 {
		// floor(x·2^Shift·M/2^31 + 1/2): Apply's rounding, and Apply
		// saturates where x·2^Shift does not fit int32.
		return m.Apply(x)
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, m.M), -m.Shift)
}

// ApplyMode applies m with the given rounding mode (the LiteRT modes
// RoundXNNPACK and RoundXNNPACKUint8 apply a Multiplier as RoundDouble).
func (m Multiplier) ApplyMode(x int32, r Rounding) int32 {
	if r != RoundSingle {
		return m.ApplyDouble(x)
	}
	return m.Apply(x)
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2·a·b,
// i.e. a·b/2^31, rounded to nearest with ties toward +∞ (gemmlowp adds
// 2^30 to a non-negative product and 1−2^30 to a negative one, then
// truncates toward zero: −1.5 becomes −1, as AArch64 SQRDMULH does),
// saturating the single overflow case a = b = −2^31.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	// Division truncates toward zero, as in gemmlowp.
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT returns x / 2^exponent rounded half away from zero.
// exponent must be in [0, 31].
func RoundingDivideByPOT(x int32, exponent int32) int32 {
	if exponent <= 0 {
		return x
	}
	mask := int32(1)<<uint(exponent) - 1
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> uint(exponent)
	if remainder > threshold {
		r++
	}
	return r
}

func saturate32(v int64) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}

// Clamp returns v limited to [lo, hi].
func Clamp(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
