package quant

import "testing"

// The LiteRT modes apply a Multiplier as RoundDouble; only RoundSingle
// differs.
func TestRoundingModes(t *testing.T) {
	m := MustMultiplier(0.25)
	for _, r := range []Rounding{RoundDouble, RoundXNNPACK, RoundXNNPACKUint8} {
		if got := m.ApplyMode(-46, r); got != -12 {
			t.Errorf("%v: −46/4 = %d, want −12 (gemmlowp, half away from zero)", r, got)
		}
		if r.Multiplier() != RoundDouble {
			t.Errorf("%v.Multiplier() = %v, want double", r, r.Multiplier())
		}
	}
	if got := m.ApplyMode(-46, RoundSingle); got != -11 || RoundSingle.Multiplier() != RoundSingle {
		t.Errorf("single: −46/4 = %d, want −11", got)
	}
	for r, want := range map[Rounding]bool{RoundSingle: false, RoundDouble: false, RoundXNNPACK: true, RoundXNNPACKUint8: true} {
		if r.XNNPACK() != want {
			t.Errorf("%v.XNNPACK() = %v", r, !want)
		}
	}
	if RoundXNNPACK.String() != "xnnpack" || RoundXNNPACKUint8.String() != "xnnpack-uint8" || Rounding(9).String() != "Rounding(9)" {
		t.Error("rounding names")
	}
}
