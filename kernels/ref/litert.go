package ref

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/quant"
)

// NewSoftmaxTableXNNPACK returns the exponential table of XNNPACK's int8
// and uint8 softmax over rows of d values, which LiteRT's CPU path uses
// (quant.RoundXNNPACK): Exp[k] = roundEven(q·exp(−s_in·k)) with
// q = min((2^32 − 1)/d, 2^23 − 1), so that a row's sum fits 32 bits. With
// SoftmaxInt8's normalisation ⌊(256·e + ⌊sum/2⌋)/sum⌋ this is XNNPACK's
// arithmetic exactly (it requires β = 1, as LiteRT's delegate does).
func NewSoftmaxTableXNNPACK(d int, inScale float32) *[256]uint32 {
	q := math.Min(float64(math.MaxUint32)/float64(max(d, 1)), 8388607)
	var t [256]uint32
	for k := range t {
		t[k] = uint32(math.RoundToEven(q * math.Exp(-float64(k)*float64(inScale))))
	}
	return &t
}

// NewHardSwishTableLiteRT tabulates LiteRT's builtin int8 HardSwish,
// which works in 16-bit fixed point rather than in reals: the input moves
// to a "hi-res" scale s_in/128; a "relu-ish" factor in [0, 1] comes from
// rescaling x to 3.0 ↦ 2^15 (saturating) and mapping [−1, 1] to [0, 1];
// the product is taken with a truncating doubling high multiply and a
// final rounding shift brings it to the output. The multipliers are the
// Q31 ones (quant.NewMultiplier) rounded to Q15. The results differ from
// round(hardswish(x)/s_out) on about one input in twenty (ties and
// truncation bias); LiteRT's CPU path runs this kernel for int8 models
// (quant.RoundXNNPACK).
func NewHardSwishTableLiteRT(in, out quant.Params) (quant.Table, error) {
	var t quant.Table
	hires := float32(1.0/128) * in.Scale
	outM, err := quant.NewMultiplier(float64(hires / out.Scale))
	if err != nil {
		return t, fmt.Errorf("hard swish: output multiplier: %w", err)
	}
	if outM.Shift > 0 {
		return t, fmt.Errorf("hard swish: output multiplier %g ≥ 1", outM.Real())
	}
	reluM, err := quant.NewMultiplier(float64(hires / float32(3.0/32768)))
	if err != nil {
		return t, fmt.Errorf("hard swish: relu-ish multiplier: %w", err)
	}
	outM16, reluM16 := q15(outM.M), q15(reluM.M)
	for i := range t {
		x := int32(i) + quant.Int8Min - in.ZeroPoint
		hiresX := sat16(x * 128)
		pre := srdhm16(hiresX, outM16)
		relu := hiresX
		if reluM.Shift > 0 {
			relu = satShl16(relu, reluM.Shift-1)
		}
		relu = srdhm16(relu, reluM16)
		if reluM.Shift > 0 {
			relu = satShl16(relu, 1)
		}
		if reluM.Shift < 0 {
			relu = quant.RoundingDivideByPOT(relu, -reluM.Shift)
		}
		relu = (relu + 1<<15) >> 1
		v := sdhm16(relu, pre)
		v = quant.RoundingDivideByPOT(v, -outM.Shift) + out.ZeroPoint
		t[i] = int8(quant.Clamp(v, quant.Int8Min, quant.Int8Max))
	}
	return t, nil
}

// q15 rounds a Q31 multiplier mantissa to Q15 (saturating at 2^15 − 1).
func q15(m int32) int32 {
	if m >= math.MaxInt32-(1<<15) {
		return math.MaxInt16
	}
	return (m + 1<<15) >> 16
}

func sat16(v int32) int32 { return max(math.MinInt16, min(math.MaxInt16, v)) }

// satShl16 is v·2^s saturated to int16.
func satShl16(v, s int32) int32 {
	return sat16(int32(max(math.MinInt32, min(math.MaxInt32, int64(v)<<s))))
}

// srdhm16 is gemmlowp's 16-bit SaturatingRoundingDoublingHighMul.
func srdhm16(a, b int32) int32 {
	if a == math.MinInt16 && b == math.MinInt16 {
		return math.MaxInt16
	}
	ab := a * b
	nudge := int32(1 << 14)
	if ab < 0 {
		nudge = 1 - 1<<14
	}
	return (ab + nudge) / (1 << 15)
}

// sdhm16 is the 16-bit doubling high multiply without rounding (truncating).
func sdhm16(a, b int32) int32 {
	if a == math.MinInt16 && b == math.MinInt16 {
		return math.MaxInt16
	}
	return sat16(a * b / (1 << 15))
}
