package quant_test

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/edgeinfer/edgeinfer/quant"
)

// The models below restate the contract in exact big-integer arithmetic,
// independently of the int64 tricks in quant.go.

var (
	bigMinInt32 = big.NewInt(math.MinInt32)
	bigMaxInt32 = big.NewInt(math.MaxInt32)
)

func pow2(e uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), e) }

// floorDiv returns floor(a/b) for b > 0 (big.Int.Div is Euclidean, which
// is floor for a positive divisor).
func floorDiv(a, b *big.Int) *big.Int { return new(big.Int).Div(a, b) }

// sat32 saturates v to int32.
func sat32(v *big.Int) int32 {
	if v.Cmp(bigMaxInt32) > 0 {
		return math.MaxInt32
	}
	if v.Cmp(bigMinInt32) < 0 {
		return math.MinInt32
	}
	return int32(v.Int64())
}

// modelApply is RoundSingle: x·M/2^(31−Shift) rounded half toward +∞,
// i.e. floor(x·M/2^(31−Shift) + 1/2), saturated to int32.
func modelApply(x int32, m quant.Multiplier) int32 {
	prod := new(big.Int).Mul(big.NewInt(int64(x)), big.NewInt(int64(m.M)))
	e := 31 - int(m.Shift)
	if e <= 0 {
		return sat32(prod.Lsh(prod, uint(-e)))
	}
	// floor(prod/2^e + 1/2) = floor((2·prod + 2^e) / 2^(e+1))
	num := new(big.Int).Add(new(big.Int).Lsh(prod, 1), pow2(uint(e)))
	return sat32(floorDiv(num, pow2(uint(e+1))))
}

// modelSRDHMLiteral transcribes gemmlowp's SaturatingRoundingDoublingHighMul:
// nudge = ab ≥ 0 ? 2^30 : 1 − 2^30; (ab + nudge) / 2^31 truncated toward
// zero; a = b = −2^31 saturates to 2^31 − 1.
func modelSRDHMLiteral(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	nudge := big.NewInt(1 << 30)
	if ab.Sign() < 0 {
		nudge = big.NewInt(1 - 1<<30)
	}
	q := new(big.Int).Quo(new(big.Int).Add(ab, nudge), pow2(31)) // truncates
	return int32(q.Int64())
}

// modelSRDHMMeaning is what that literal definition computes: a·b/2^31
// rounded to nearest with ties toward +∞, i.e. floor(a·b/2^31 + 1/2).
func modelSRDHMMeaning(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	num := new(big.Int).Add(new(big.Int).Lsh(ab, 1), pow2(31))
	return int32(floorDiv(num, pow2(32)).Int64())
}

// modelRDBPOT is x/2^e rounded to nearest with ties away from zero:
// sign(x)·floor(|x|/2^e + 1/2).
func modelRDBPOT(x int32, e int32) int32 {
	a := new(big.Int).Abs(big.NewInt(int64(x)))
	num := new(big.Int).Add(new(big.Int).Lsh(a, 1), pow2(uint(e)))
	q := floorDiv(num, pow2(uint(e+1)))
	if x < 0 {
		q.Neg(q)
	}
	return int32(q.Int64())
}

// modelApplyDouble is gemmlowp's MultiplyByQuantizedMultiplier evaluated
// without overflow: the literal high multiply of the exact x·2^left (big
// integers throughout), saturated to int32, then RoundingDivideByPOT.
func modelApplyDouble(x int32, m quant.Multiplier) int32 {
	left, right := max(m.Shift, 0), max(-m.Shift, 0)
	v := new(big.Int).Lsh(big.NewInt(int64(x)), uint(left))
	ab := v.Mul(v, big.NewInt(int64(m.M)))
	nudge := big.NewInt(1 << 30)
	if ab.Sign() < 0 {
		nudge = big.NewInt(1 - 1<<30)
	}
	hm := sat32(new(big.Int).Quo(ab.Add(ab, nudge), pow2(31)))
	return modelRDBPOT(hm, right)
}

// randomIters is the number of random cases per exact-model test: the
// models use math/big, which is slow under emulation (-short).
func randomIters() int {
	if testing.Short() {
		return 5000
	}
	return 20000
}

// edgeX are accumulators worth checking at every shift.
var edgeX = []int32{0, 1, -1, 2, -2, 3, -3, 127, -128, 255, -255, 1 << 15, -1 << 15,
	1<<30 - 1, 1 << 30, -1 << 30, math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, math.MinInt32 + 1}

// edgeM are Q31 multipliers worth checking: both ends of [2^30, 2^31), the
// zero multiplier and a few in between.
var edgeM = []int32{1 << 30, 1<<30 + 1, math.MaxInt32, math.MaxInt32 - 1, 0, 1518500250, 1 << 30 * 3 / 2}

func TestApplyExact(t *testing.T) {
	check := func(x int32, m quant.Multiplier) {
		t.Helper()
		if got, want := m.Apply(x), modelApply(x, m); got != want {
			t.Fatalf("Multiplier{M: %d, Shift: %d}.Apply(%d) = %d, want %d", m.M, m.Shift, x, got, want)
		}
		if got, want := m.ApplyMode(x, quant.RoundSingle), m.Apply(x); got != want {
			t.Fatalf("ApplyMode(RoundSingle) = %d, Apply = %d", got, want)
		}
	}
	// Every representable shift, including 32 (see TestNewMultiplierNear2To31).
	for shift := int32(quant.MinShift); shift <= 32; shift++ {
		for _, M := range edgeM {
			for _, x := range edgeX {
				check(x, quant.Multiplier{M: M, Shift: shift})
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < randomIters(); i++ {
		m := quant.Multiplier{M: int32(1<<30 + r.Int64N(1<<30)), Shift: int32(r.IntN(32-quant.MinShift+1)) + quant.MinShift}
		x := int32(r.Uint32())
		if i%2 == 0 { // accumulator-sized values
			x = int32(r.IntN(1<<21)) - 1<<20
		}
		check(x, m)
	}
}

func TestApplyTies(t *testing.T) {
	half := quant.Multiplier{M: 1 << 30, Shift: 0}     // 0.5
	quarter := quant.Multiplier{M: 1 << 30, Shift: -1} // 0.25
	for _, tc := range []struct {
		m    quant.Multiplier
		x    int32
		want int32
	}{
		{half, 1, 1},    // 0.5 → 1
		{half, -1, 0},   // −0.5 → 0
		{half, 3, 2},    // 1.5 → 2
		{half, -3, -1},  // −1.5 → −1
		{quarter, 2, 1}, // 0.5 → 1
		{quarter, -2, 0},
		{quarter, -6, -1}, // −1.5 → −1
		{quarter, -7, -2}, // −1.75 → −2
		{quarter, -5, -1}, // −1.25 → −1
		{quarter, 5, 1},
		{quant.Multiplier{M: 1 << 30, Shift: quant.MinShift}, 1 << 30, 0},                // 2^30·2^-32 = 0.25
		{quant.Multiplier{M: 1 << 30, Shift: quant.MinShift}, math.MinInt32, 0},          // −0.5 → 0
		{quant.Multiplier{M: 1 << 30, Shift: quant.MinShift}, math.MinInt32 + 1, 0},      // just above −0.5
		{quant.Multiplier{M: 1 << 30, Shift: quant.MinShift}, math.MaxInt32, 0},          // just below 0.5
		{quant.Multiplier{M: 1 << 30, Shift: quant.MinShift + 1}, math.MinInt32, -1},     // −1 exactly
		{quant.Multiplier{M: math.MaxInt32, Shift: quant.MinShift}, math.MinInt32, -1},   // −1 + 2^-31
		{quant.Multiplier{M: 1 << 30, Shift: 1}, math.MaxInt32, math.MaxInt32},           // ×1
		{quant.Multiplier{M: 1 << 30, Shift: 2}, math.MaxInt32, math.MaxInt32},           // ×2 saturates
		{quant.Multiplier{M: 1 << 30, Shift: 2}, math.MinInt32, math.MinInt32},           // ×2 saturates
		{quant.Multiplier{M: 1 << 30, Shift: 31}, 1, 1 << 30},                            // ×2^30
		{quant.Multiplier{M: 1 << 30, Shift: 32}, -1, math.MinInt32},                     // ×2^31
		{quant.Multiplier{M: 1 << 30, Shift: 32}, 1, math.MaxInt32},                      // ×2^31 saturates
		{quant.Multiplier{M: math.MaxInt32, Shift: 31}, -1, -math.MaxInt32},              // ×(2^31−1)
		{quant.Multiplier{M: 0, Shift: 0}, math.MaxInt32, 0},                             // zero multiplier
		{quant.Multiplier{M: math.MaxInt32, Shift: 0}, math.MaxInt32, math.MaxInt32 - 1}, // (2^31−1)²/2^31 = 2^31 − 2 + 2^-31
		{quant.Multiplier{M: math.MaxInt32, Shift: 0}, math.MinInt32, -math.MaxInt32},    // −(2^31−1) exactly
	} {
		if got := tc.m.Apply(tc.x); got != tc.want {
			t.Errorf("%+v.Apply(%d) = %d, want %d", tc.m, tc.x, got, tc.want)
		}
		if model := modelApply(tc.x, tc.m); model != tc.want {
			t.Errorf("test bug: model(%+v, %d) = %d, written %d", tc.m, tc.x, model, tc.want)
		}
	}
}

func TestNewMultiplier(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(real float64) {
		t.Helper()
		m, err := quant.NewMultiplier(real)
		if err != nil {
			t.Fatalf("NewMultiplier(%g): %v", real, err)
		}
		if m.M == 0 {
			if real >= 0x1p-32 {
				t.Fatalf("NewMultiplier(%g) is zero", real)
			}
			if m.Shift != 0 {
				t.Fatalf("NewMultiplier(%g) = %+v, want the zero Multiplier", real, m)
			}
			return
		}
		if m.M < 1<<30 {
			t.Fatalf("NewMultiplier(%g).M = %d, not in [2^30, 2^31)", real, m.M)
		}
		if m.Shift < quant.MinShift || m.Shift > 32 {
			t.Fatalf("NewMultiplier(%g).Shift = %d", real, m.Shift)
		}
		if d := math.Abs(m.Real() - real); d > 0x1p-31*real {
			t.Fatalf("NewMultiplier(%g).Real() = %g, relative error %g > 2^-31", real, m.Real(), d/real)
		}
	}
	for i := 0; i < randomIters(); i++ {
		check(math.Exp2(r.Float64()*66 - 35)) // [2^-35, 2^31)
	}
	for e := -40; e <= 30; e++ {
		p := math.Ldexp(1, e)
		check(p)
		check(math.Nextafter(p, 0))
		check(math.Nextafter(p, math.Inf(1)))
		check(p * 1.5)
	}
	for _, real := range []float64{1, 0.5, 0.75, 1.0 / 3, 2.0 / 3, 0.1, 1e-3, 1e-6, 1e-9, 12345.678} {
		check(real)
	}

	// Exact powers of two and simple fractions have exact multipliers.
	for _, tc := range []struct {
		real float64
		want quant.Multiplier
	}{
		{1, quant.Multiplier{M: 1 << 30, Shift: 1}},
		{0.5, quant.Multiplier{M: 1 << 30, Shift: 0}},
		{0.75, quant.Multiplier{M: 3 << 29, Shift: 0}},
		{0x1p-32, quant.Multiplier{M: 1 << 30, Shift: quant.MinShift}},
		{0x1p30, quant.Multiplier{M: 1 << 30, Shift: 31}},
		{0, quant.Multiplier{}},
		{0x1p-33, quant.Multiplier{}},
		{math.Nextafter(0x1p-32, 0), quant.Multiplier{M: 1 << 30, Shift: quant.MinShift}}, // rounds up to 2^-32
		{5e-324, quant.Multiplier{}},
	} {
		m, err := quant.NewMultiplier(tc.real)
		if err != nil || m != tc.want {
			t.Errorf("NewMultiplier(%g) = %+v, %v; want %+v", tc.real, m, err, tc.want)
		}
	}

	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, -1e-30, 0x1p31, 1e300} {
		if m, err := quant.NewMultiplier(bad); err == nil {
			t.Errorf("NewMultiplier(%g) = %+v, want an error", bad, m)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustMultiplier(-1) did not panic")
			}
		}()
		quant.MustMultiplier(-1)
	}()
}

// TestNewMultiplierNear2To31 covers the one factor below 2^31 whose
// mantissa rounds up to 1: it becomes M = 2^30, Shift = 32, which Apply
// and ApplyDouble handle (saturating for any |x| ≥ 1).
func TestNewMultiplierNear2To31(t *testing.T) {
	real := math.Nextafter(0x1p31, 0)
	m, err := quant.NewMultiplier(real)
	if err != nil {
		t.Fatal(err)
	}
	if m.Real() != 0x1p31 || m.M != 1<<30 {
		t.Fatalf("NewMultiplier(2^31−ε) = %+v", m)
	}
	for _, x := range []int32{0, 1, -1} {
		want := int32(0)
		if x > 0 {
			want = math.MaxInt32
		} else if x < 0 {
			want = math.MinInt32
		}
		if got := m.Apply(x); got != want {
			t.Errorf("Apply(%d) = %d, want %d", x, got, want)
		}
		if got := m.ApplyDouble(x); got != want {
			t.Errorf("ApplyDouble(%d) = %d, want %d", x, got, want)
		}
	}
}

func TestSaturatingRoundingDoublingHighMul(t *testing.T) {
	check := func(a, b int32) {
		t.Helper()
		got := quant.SaturatingRoundingDoublingHighMul(a, b)
		if want := modelSRDHMLiteral(a, b); got != want {
			t.Fatalf("SRDHM(%d, %d) = %d, gemmlowp %d", a, b, got, want)
		}
		if want := modelSRDHMMeaning(a, b); got != want {
			t.Fatalf("SRDHM(%d, %d) = %d, floor(ab/2^31 + 1/2) = %d", a, b, got, want)
		}
	}
	for _, a := range edgeX {
		for _, b := range edgeX {
			check(a, b)
		}
		for _, b := range edgeM {
			check(a, b)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < randomIters(); i++ {
		check(int32(r.Uint32()), int32(r.Uint32()))
	}
	for _, tc := range []struct{ a, b, want int32 }{
		{math.MinInt32, math.MinInt32, math.MaxInt32}, // the one overflow
		{math.MinInt32, math.MaxInt32, -math.MaxInt32},
		{math.MaxInt32, math.MaxInt32, math.MaxInt32 - 1},
		{1, 1 << 30, 1},   // 0.5 → 1
		{-1, 1 << 30, 0},  // −0.5 → 0: a negative tie goes toward +∞
		{3, 1 << 30, 2},   // 1.5 → 2
		{-3, 1 << 30, -1}, // −1.5 → −1
		{-5, 1 << 30, -2}, // −2.5 → −2
		{-3, 1<<30 + 1, -2},
		{1 << 30, 1 << 30, 1 << 29},
	} {
		if got := quant.SaturatingRoundingDoublingHighMul(tc.a, tc.b); got != tc.want {
			t.Errorf("SRDHM(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	check := func(x, e int32) {
		t.Helper()
		if got, want := quant.RoundingDivideByPOT(x, e), modelRDBPOT(x, e); got != want {
			t.Fatalf("RoundingDivideByPOT(%d, %d) = %d, want %d", x, e, got, want)
		}
	}
	for e := int32(0); e <= 31; e++ {
		for _, x := range edgeX {
			check(x, e)
			if e > 0 { // exact ties ±(2k+1)·2^(e−1)
				for _, k := range []int32{0, 1, 2, 7} {
					if t := int64(2*k+1) << (e - 1); t <= math.MaxInt32 {
						check(int32(t), e)
						check(int32(-t), e)
					}
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < randomIters(); i++ {
		check(int32(r.Uint32()), int32(r.IntN(32)))
	}
	for _, tc := range []struct{ x, e, want int32 }{
		{3, 1, 2}, {-3, 1, -2}, // ±1.5 → ±2
		{1, 1, 1}, {-1, 1, -1}, // ±0.5 → ±1
		{5, 2, 1}, {-5, 2, -1}, {6, 2, 2}, {-6, 2, -2},
		{math.MinInt32, 31, -1}, {math.MaxInt32, 31, 1}, {1 << 30, 31, 1}, {-1 << 30, 31, -1},
		{1<<30 - 1, 31, 0}, {-(1<<30 - 1), 31, 0},
		{7, 0, 7}, {-7, 0, -7},
	} {
		if got := quant.RoundingDivideByPOT(tc.x, tc.e); got != tc.want {
			t.Errorf("RoundingDivideByPOT(%d, %d) = %d, want %d", tc.x, tc.e, got, tc.want)
		}
	}
}

func TestApplyDouble(t *testing.T) {
	check := func(x int32, m quant.Multiplier) {
		t.Helper()
		got := m.ApplyDouble(x)
		if want := modelApplyDouble(x, m); got != want {
			t.Fatalf("%+v.ApplyDouble(%d) = %d, want %d", m, x, got, want)
		}
		if mode := m.ApplyMode(x, quant.RoundDouble); mode != got {
			t.Fatalf("ApplyMode(RoundDouble) = %d, ApplyDouble = %d", mode, got)
		}
		// Both roundings approximate the same product: away from
		// saturation they differ by at most one.
		if single := m.Apply(x); single != math.MaxInt32 && single != math.MinInt32 &&
			got != math.MaxInt32 && got != math.MinInt32 && (got-single > 1 || single-got > 1) {
			t.Fatalf("%+v: ApplyDouble(%d) = %d, Apply = %d", m, x, got, single)
		}
	}
	for shift := int32(quant.MinShift); shift <= 32; shift++ {
		for _, M := range edgeM {
			for _, x := range edgeX {
				check(x, quant.Multiplier{M: M, Shift: shift})
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < randomIters(); i++ {
		m := quant.Multiplier{M: int32(1<<30 + r.Int64N(1<<30)), Shift: int32(r.IntN(32-quant.MinShift+1)) + quant.MinShift}
		x := int32(r.Uint32())
		if i%2 == 0 {
			x = int32(r.IntN(1<<21)) - 1<<20
		}
		check(x, m)
	}
	// Where the two modes differ: −46·0.25 = −11.5 is −11 single (half
	// toward +∞) but −12 double (−23 exactly, then half away from zero).
	q := quant.MustMultiplier(0.25)
	if s, d := q.Apply(-46), q.ApplyDouble(-46); s != -11 || d != -12 {
		t.Errorf("−46·0.25: single %d, double %d; want −11, −12", s, d)
	}
	// A factor ≥ 1 with a large accumulator: x·2^Shift overflows int32, the
	// result is the saturated exact product (not the high half of a
	// saturated x·2^Shift).
	one := quant.MustMultiplier(1)
	for _, x := range []int32{math.MaxInt32 - 1, math.MaxInt32, 1 << 30, math.MinInt32, -1 << 30} {
		if got := one.ApplyDouble(x); got != x {
			t.Errorf("1.0.ApplyDouble(%d) = %d", x, got)
		}
	}
	if got := quant.MustMultiplier(4).ApplyDouble(1 << 29); got != math.MaxInt32 {
		t.Errorf("4.0.ApplyDouble(2^29) = %d, want MaxInt32", got)
	}
	// Double rounding: 0.5·(2^30+1)/2^31·… rounds twice.
	m := quant.Multiplier{M: 1<<30 + 1, Shift: -1} // ≈ 0.25
	if s, d := m.Apply(2), m.ApplyDouble(2); s != 1 || d != 1 {
		t.Errorf("2·(0.25+2^-32): single %d, double %d; want 1, 1", s, d)
	}
}

func TestClampAndString(t *testing.T) {
	for _, tc := range []struct{ v, lo, hi, want int32 }{
		{5, -1, 3, 3}, {-5, -1, 3, -1}, {2, -1, 3, 2}, {-1, -1, 3, -1}, {3, -1, 3, 3},
		{math.MinInt32, -128, 127, -128}, {math.MaxInt32, -128, 127, 127},
	} {
		if got := quant.Clamp(tc.v, tc.lo, tc.hi); got != tc.want {
			t.Errorf("Clamp(%d, %d, %d) = %d", tc.v, tc.lo, tc.hi, got)
		}
	}
	if quant.RoundSingle.String() != "single" || quant.RoundDouble.String() != "double" || quant.Rounding(7).String() != "Rounding(7)" {
		t.Errorf("Rounding strings: %v %v %v", quant.RoundSingle, quant.RoundDouble, quant.Rounding(7))
	}
	if quant.RoundSingle != 0 {
		t.Error("RoundSingle must be the zero value: it is the default of every stage")
	}
}
