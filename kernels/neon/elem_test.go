package neon

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"testing"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

func TestLookupMatchesRef(t *testing.T) {
	g := newGen(21)
	for i := 0; i < iters(200); i++ {
		var tab quant.Table
		for j := range tab {
			tab[j] = int8(g.IntN(256) - 128)
		}
		n := g.IntN(100)
		if i%3 == 0 {
			n = 16 * (1 + g.IntN(80))
		}
		x := g.I8(n, i%2 == 0)
		want, got := make([]int8, n), make([]int8, n)
		ref.LookupInt8(&tab, x, want)
		LookupInt8(&tab, x, got)
		diff8(t, fmt.Sprintf("case %d n %d", i, n), got, want, max(n, 1))
		// In place, as the runtime may run it.
		LookupInt8(&tab, x, x)
		diff8(t, fmt.Sprintf("case %d n %d in place", i, n), x, want, max(n, 1))
	}
	// Every index once: the table chunks and their boundaries.
	var tab quant.Table
	x := make([]int8, 256)
	for j := range tab {
		tab[j] = int8(255 - j)
		x[j] = int8(j - 128)
	}
	want, got := make([]int8, 256), make([]int8, 256)
	ref.LookupInt8(&tab, x, want)
	LookupInt8(&tab, x, got)
	diff8(t, "every index", got, want, 16)
}

// softmaxTable returns the exp tables the Softmax kernels meet: ref's for
// scales from tiny (many entries 2^16) to large (most 0), XNNPACK's
// (entries above 2^16: ref), and arbitrary ones: short (nonzero below a
// random length, a random number of leading 2^16 entries, entry 0
// possibly below 3: ref) and small entries all the way to 255 (sums
// below 2^17: the division's low-half form).
func softmaxTable(g gen, i, d int) *[256]uint32 {
	switch i % 8 {
	case 0:
		return ref.NewSoftmaxTableXNNPACK(d, float32(math.Exp2(g.Float64()*8-6)))
	case 1:
		return ref.NewSoftmaxTable(1, float32(math.Exp2(-20+g.Float64()*4))) // mostly 2^16
	case 2:
		return ref.NewSoftmaxTable(1, float32(math.Exp2(2+g.Float64()*3))) // mostly 0
	case 6:
		t := new([256]uint32)
		k, d0 := 1+g.IntN(255), g.IntN(4)
		for j := range k {
			t[j] = uint32(g.IntN(1<<16 + 1))
			if j < d0 {
				t[j] = 1 << 16
			}
		}
		return t
	case 7:
		t := new([256]uint32)
		for j := range t {
			t[j] = uint32(g.IntN(300))
		}
		t[0] = uint32(3 + g.IntN(1000))
		return t
	default:
		return ref.NewSoftmaxTable(float32(0.5+g.Float64()), float32(math.Exp2(g.Float64()*8-8)))
	}
}

func TestSoftmaxMatchesRef(t *testing.T) {
	g := newGen(22)
	fast, c3 := 0, 0
	var spans [3]int // rows spanning < 128, < 192, more (the exp pass's table chunks)
	var forms [3]int // rows divided in the wide, fixed and high forms
	for i := 0; i < iters(200); i++ {
		d := 1 + g.IntN(300)
		switch i % 10 {
		case 3:
			d = 197
		case 5:
			d = 16 * (1 + g.IntN(20))
		case 7:
			d = []int{8192, 8193, 4096 + 5}[g.IntN(3)]
		case 9:
			d = 127*16 + g.IntN(33) // around the sum's chunk of 127 blocks
		}
		rows := 1 + g.IntN(4)
		p := kernels.SoftmaxParams{Rows: rows, D: d, Exp: softmaxTable(g, i, d)}
		x := g.I8(rows*d, i%2 == 0)
		switch i % 4 {
		case 1: // one value far above the rest: sum = its entry, output 255 clamps
			for r := range rows {
				for j := range d {
					x[r*d+j] = -128
				}
				x[r*d+g.IntN(d)] = 127
			}
		case 2: // all equal
			v := int8(g.IntN(256) - 128)
			for j := range x {
				x[j] = v
			}
		case 3: // rows spanning fewer values, some fewer than 128 or 192
			for r := range rows {
				span := 1 + g.IntN(256)
				lo := g.IntN(257 - span)
				for j := range d {
					x[r*d+j] = int8(lo + g.IntN(span) - 128)
				}
			}
		}
		want, got := make([]int8, rows*d), make([]int8, rows*d)
		ref.SoftmaxInt8(&p, x, want)
		SoftmaxInt8(&p, x, got)
		diff8(t, fmt.Sprintf("case %d rows %d d %d", i, rows, d), got, want, d)
		var tt softmaxTables
		if d >= 16 && d <= 1<<13 && tt.split(p.Exp) && p.Exp[0] >= 3 {
			fast++
			c3 += int(tt.p1c3)
			for r := range rows {
				row := x[r*d : (r+1)*d]
				mx := slices.Max(row)
				switch span := int(mx) - int(slices.Min(row)); {
				case span < 128:
					spans[0]++
				case span < 192:
					spans[1]++
				default:
					spans[2]++
				}
				var sum uint64
				for _, q := range row {
					sum += uint64(p.Exp[uint8(int(mx)-int(q))])
				}
				switch l := bits.Len64(sum - 1); {
				case l < 18:
					forms[0]++
				case divFixed(l):
					forms[1]++
				default:
					forms[2]++
				}
			}
		}
		SoftmaxInt8(&p, x, x)
		diff8(t, fmt.Sprintf("case %d rows %d d %d in place", i, rows, d), x, want, d)
	}
	n := iters(200)
	if fast < n/2 || c3 < fast/10 || fast-c3 < fast/10 || slices.Min(spans[:]) < n/20 || slices.Min(forms[:]) < n/20 {
		t.Errorf("only %d cases reached the kernels (%d with plane 1's chunk 3; rows spanning <128, <192, more: %v; divided wide, fixed, high: %v)", fast, c3, spans, forms)
	}
	t.Logf("%d cases through the kernels (%d with plane 1's chunk 3; rows spanning <128, <192, more: %v; divided wide, fixed, high: %v)", fast, c3, spans, forms)
}

// TestSoftmaxTableShapes checks which tables the kernels take: a table
// with an entry above 2^16, or 2^16 after a smaller entry, or 256 entries
// of 2^16, or exp[0] = 0 runs ref (and still matches it).
func TestSoftmaxTableShapes(t *testing.T) {
	base := ref.NewSoftmaxTable(1, 0.05)
	var tt softmaxTables
	if !tt.split(base) || tt.b16 != [16]uint8{0: 1} {
		t.Fatalf("ref's table: split %v, bit 16 at distances 0-15 %v, want true and only at 0", tt.split(base), tt.b16)
	}
	bad := map[string]func(e *[256]uint32){
		"entry above 2^16":   func(e *[256]uint32) { e[3] = 1<<16 + 1 },
		"2^16 not leading":   func(e *[256]uint32) { e[9] = 1 << 16 },
		"every entry 2^16":   func(e *[256]uint32) { *e = [256]uint32{}; fillExp(e, 1<<16) },
		"zero at distance 0": func(e *[256]uint32) { e[0] = 0 },
	}
	g := newGen(23)
	for name, f := range bad {
		e := *base
		f(&e)
		if tt.split(&e) {
			t.Errorf("%s: the kernels take the table", name)
		}
		if e[0] == 0 {
			continue // ref divides by the sum, which may be 0
		}
		p := kernels.SoftmaxParams{Rows: 2, D: 40, Exp: &e}
		x := g.I8(80, true)
		want, got := make([]int8, 80), make([]int8, 80)
		ref.SoftmaxInt8(&p, x, want)
		SoftmaxInt8(&p, x, got)
		diff8(t, name, got, want, 40)
	}
}

func fillExp(e *[256]uint32, v uint32) {
	for i := range e {
		e[i] = v
	}
}

// TestSoftmaxQuotientEdges drives the float32 quotient estimate at its
// limits: the largest sums (D = 8192, every entry 2^16) and rows whose
// quotients sit on and next to integers and ties.
func TestSoftmaxQuotientEdges(t *testing.T) {
	var e [256]uint32
	for d := range e {
		e[d] = uint32(max(0, 1<<16-d*257))
	}
	g := newGen(24)
	for _, d := range []int{8192, 8191, 4099, 256, 17, 16} {
		for k := 0; k < 4; k++ {
			x := g.I8(d, false)
			switch k {
			case 0:
				for j := range x {
					x[j] = 127
				}
			case 1:
				for j := range x {
					x[j] = int8(127 - j%3)
				}
			case 2:
				for j := range x {
					x[j] = int8(127 - g.IntN(2))
				}
			}
			p := kernels.SoftmaxParams{Rows: 1, D: d, Exp: &e}
			want, got := make([]int8, d), make([]int8, d)
			ref.SoftmaxInt8(&p, x, want)
			SoftmaxInt8(&p, x, got)
			diff8(t, fmt.Sprintf("d %d pattern %d", d, k), got, want, d)
		}
	}
}

func TestElemNoAllocs(t *testing.T) {
	g := newGen(25)
	var tab quant.Table
	x := g.I8(197*3, true)
	out := make([]int8, len(x))
	p := kernels.SoftmaxParams{Rows: 3, D: 197, Exp: ref.NewSoftmaxTable(1, 0.1)}
	if n := testing.AllocsPerRun(10, func() {
		LookupInt8(&tab, x, out)
		SoftmaxInt8(&p, x, out)
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
	// Add: the general kernel, the fast one with a clamp and without.
	shape := []int{3, 197}
	for i, c := range []struct {
		outScale float32
		lo, hi   int32
	}{{0.05, -128, 127}, {0.05, -100, 100}, {3e-7, -128, 127}} {
		a, err := ref.NewAddParams(quant.Params{Scale: 0.05, ZeroPoint: 3}, quant.Params{Scale: 0.02, ZeroPoint: -7},
			quant.Params{Scale: c.outScale, ZeroPoint: 1}, false)
		if err != nil {
			t.Fatal(err)
		}
		if a.Broadcast, err = ref.NewBroadcast(shape, shape, shape); err != nil {
			t.Fatal(err)
		}
		a.ActMin, a.ActMax = c.lo, c.hi
		y := g.I8(len(x), true)
		if n := testing.AllocsPerRun(10, func() { AddInt8(&a, x, y, out) }); n != 0 {
			t.Errorf("Add case %d (fast %v): %v allocations per run", i, addFast(&a), n)
		}
	}
}

func TestLayerNormMatchesRef(t *testing.T) {
	ps := paths(t)
	g := newGen(26)
	fast := 0
	for i := 0; i < iters(200); i++ {
		d := 16 * (1 + g.IntN(24))
		switch i % 8 {
		case 3:
			d = 192
		case 5:
			d = 1 + g.IntN(100) // not a multiple of 16: ref
		case 7:
			d = 768
		}
		rows := 1 + g.IntN(5)
		gamma, beta := make([]float32, d), make([]float32, d)
		for j := range gamma {
			gamma[j] = float32(g.NormFloat64() * math.Exp2(g.Float64()*6-3))
			beta[j] = float32(g.NormFloat64())
		}
		qp := func() quant.Params {
			return quant.Params{Scale: float32(math.Exp2(g.Float64()*8 - 8)), ZeroPoint: int32(g.IntN(256) - 128)}
		}
		eps := []float32{0, 1e-5, 1e-12, 10}[g.IntN(4)]
		p, err := ref.NewLayerNormParams(rows, d, eps, gamma, beta, qp(), qp())
		if err != nil {
			t.Fatal(err)
		}
		if i%6 == 1 { // scales that saturate, products that overflow to ±Inf and sums to NaN
			for j := range p.Gamma {
				p.Gamma[j] = []float32{3e38, -3e38, float32(math.Inf(1)), float32(math.NaN()), 1e-40, 0}[g.IntN(6)]
				p.Beta[j] = []float32{float32(math.Inf(-1)), 3e38, -0.5, 0.5, 126.5, -128.5}[g.IntN(6)]
			}
		}
		if i%6 == 4 { // finite γ and β whose products and sums overflow or round at the clamp (lnRowSat)
			for j := range p.Gamma {
				p.Gamma[j] = []float32{3e38, -3e38, 1e-40, 0, 1, -1}[g.IntN(6)]
				p.Beta[j] = []float32{-3e38, 3e38, -0.5, 0.5, 126.5, 127.5, -128.5, -127.5}[g.IntN(8)]
			}
		}
		x := g.I8(rows*d, i%2 == 0)
		if i%5 == 2 { // constant rows: variance 0, and with eps 0 a zero rstd
			v := int8(g.IntN(256) - 128)
			for j := range x {
				x[j] = v
			}
			if i%3 == 0 { // an rstd beyond float32: r = +Inf, 0·Inf = NaN (lnRow's clamp)
				p.Eps = 1e-80
			}
		}
		want, got := make([]int8, rows*d), make([]int8, rows*d)
		ref.LayerNormInt8(&p, x, want)
		for _, path := range ps {
			LayerNormInt8(path, &p, x, got)
			diff8(t, fmt.Sprintf("%v case %d rows %d d %d", path, i, rows, d), got, want, d)
			in := slices.Clone(x)
			LayerNormInt8(path, &p, in, in)
			diff8(t, fmt.Sprintf("%v case %d rows %d d %d in place", path, i, rows, d), in, want, d)
		}
		if d%16 == 0 {
			fast++
		}
	}
	if fast < iters(200)/2 {
		t.Errorf("only %d cases reached the kernels", fast)
	}
}

func TestLayerNormNoAllocs(t *testing.T) {
	g := newGen(27)
	p, err := ref.NewLayerNormParams(4, 192, 1e-6, make([]float32, 192), make([]float32, 192), quant.Params{Scale: 0.1}, quant.Params{Scale: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	x := g.I8(4*192, true)
	out := make([]int8, len(x))
	for _, path := range paths(t) {
		if n := testing.AllocsPerRun(10, func() { LayerNormInt8(path, &p, x, out) }); n != 0 {
			t.Errorf("%v: %v allocations per run", path, n)
		}
	}
}

// TestSoftmaxDivisionByMultiply checks divMagic's identities, on which
// softmaxRows rests: ⌊n/d⌋ = ⌊⌊n·m/2^31⌋ / 2^(l−1)⌋ with m < 2^31, and
// for n = x + ⌊d/2⌋ (x ≤ 2^24, d ≥ 3) the rounding form
// ⌊(⌊x·m/2^31⌋ + 2^(l−2)) / 2^(l−1)⌋ and, for 2^17 < d ≤ 2^23, the
// fixed-shift form ⌊(⌊x·⌈2^48/d⌉/2^47⌋ + 1)/2⌋, for
// divisors across [2, 2^29] (powers of two and their neighbours included)
// and numerators at the multiples of d, around them and at 2^30 − 1.
func TestSoftmaxDivisionByMultiply(t *testing.T) {
	g := newGen(24)
	var ds []uint64
	for l := 1; l <= 29; l++ {
		ds = append(ds, 1<<l-1, 1<<l, 1<<l+1)
	}
	for range iters(3000) {
		ds = append(ds, 2+g.Uint64N(1<<29-1))
	}
	for range iters(1000) { // the fixed-shift form's sums
		ds = append(ds, 1<<17+1+g.Uint64N(1<<23-1<<17))
	}
	for _, d := range ds {
		if d < 2 || d > 1<<29 {
			continue
		}
		l, m := divMagic(d)
		if m >= 1<<31 {
			t.Fatalf("d=%d: m=%d needs more than 31 bits", d, m)
		}
		const top = 1<<30 - 1
		ns := []uint64{0, 1, d - 1, d, d + 1, top, top - top%d, top - top%d - 1}
		for range 20 {
			k := g.Uint64N(top/d + 1)
			ns = append(ns, k*d, k*d+d-1, k*d+g.Uint64N(d))
			k = g.Uint64N((1<<24+d/2)/d + 1) // within the rounding form's x range
			ns = append(ns, k*d, k*d+d-1, k*d+g.Uint64N(d))
		}
		for _, n := range ns {
			if n > top {
				continue
			}
			if got, want := n*m>>31>>(l-1), n/d; got != want {
				t.Fatalf("d=%d n=%d: %d, want %d", d, n, got, want)
			}
			// The kernel's rounding forms, for x = 256·entry ≤ 2^24.
			if x := n - d/2; d >= 3 && n >= d/2 && x <= 1<<24 {
				if got, want := (x*m>>31+1<<(l-2))>>(l-1), n/d; got != want {
					t.Fatalf("d=%d x=%d: rounded %d, want %d", d, x, got, want)
				}
				if !divFixed(l) {
					continue
				}
				if mf := divMagicFixed(d); mf >= 1<<31 {
					t.Fatalf("d=%d: fixed m=%d needs more than 31 bits", d, mf)
				} else if got, want := (x*mf>>31>>16+1)>>1, n/d; got != want {
					t.Fatalf("d=%d x=%d: rounded by the fixed shift %d, want %d", d, x, got, want)
				}
			}
		}
	}
}

// TestSoftmaxSmallEntries: tables whose entries are far below 2^16 (not
// ref's, but the kernels take them) give sums below 2 (no shift to make)
// and quotients far above 255, which must saturate exactly as ref's.
func TestSoftmaxSmallEntries(t *testing.T) {
	g := newGen(25)
	for _, e0 := range []uint32{1, 2, 3, 255, 40000} {
		var e [256]uint32
		e[0] = e0
		for d := 1; d < 256; d++ {
			e[d] = uint32(g.IntN(int(e0)+1)) / uint32(d)
		}
		for _, d := range []int{16, 17, 197} {
			x := g.I8(2*d, true)
			for j := range x[:d] {
				x[j] = -128 // row 0: the maximum alone, sum e0
			}
			x[g.IntN(d)] = 127
			p := kernels.SoftmaxParams{Rows: 2, D: d, Exp: &e}
			want, got := make([]int8, 2*d), make([]int8, 2*d)
			ref.SoftmaxInt8(&p, x, want)
			SoftmaxInt8(&p, x, got)
			diff8(t, fmt.Sprintf("e0=%d D=%d", e0, d), got, want, d)
		}
	}
}

// TestSoftmaxTablesLayout pins the field offsets softmaxRows reads.
func TestSoftmaxTablesLayout(t *testing.T) {
	var tt softmaxTables
	if p1, c3, b16 := unsafe.Offsetof(tt.p1), unsafe.Offsetof(tt.p1c3), unsafe.Offsetof(tt.b16); p1 != 256 || c3 != 512 || b16 != 520 {
		t.Errorf("softmaxTables offsets p1 %d, p1c3 %d, b16 %d; the assembly reads 256, 512, 520", p1, c3, b16)
	}
}
