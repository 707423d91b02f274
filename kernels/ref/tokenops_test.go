package ref

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

func TestAdaptiveWindows(t *testing.T) {
	for _, c := range []struct {
		in, out int
		want    [][2]int
	}{
		{14, 8, [][2]int{{0, 2}, {1, 4}, {3, 6}, {5, 7}, {7, 9}, {8, 11}, {10, 13}, {12, 14}}},
		{14, 12, [][2]int{{0, 2}, {1, 3}, {2, 4}, {3, 5}, {4, 6}, {5, 7}, {7, 9}, {8, 10}, {9, 11}, {10, 12}, {11, 13}, {12, 14}}},
		{7, 7, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {6, 7}}},
		{14, 7, [][2]int{{0, 2}, {2, 4}, {4, 6}, {6, 8}, {8, 10}, {10, 12}, {12, 14}}},
	} {
		got := AdaptiveWindows(c.in, c.out)
		if len(got) != len(c.want) {
			t.Fatalf("%d→%d: %d windows, want %d", c.in, c.out, len(got), len(c.want))
		}
		for i, w := range got {
			if w.Lo != c.want[i][0] || w.Hi != c.want[i][1] {
				t.Errorf("%d→%d window %d = [%d,%d), want [%d,%d)", c.in, c.out, i, w.Lo, w.Hi, c.want[i][0], c.want[i][1])
			}
		}
	}
}

// TestAdaptiveTokenPoolMasked pools a 4×4 grid (value = grid index) to
// 2×2 after pruning, with a class token kept or dropped.
func TestAdaptiveTokenPoolMasked(t *testing.T) {
	// Rows: CLS, then the surviving grid cells 0, 1, 5, 10, 11, 14 (in
	// positional order), then a dead row (−1) beyond the live count.
	pos := []int16{-1, 0, 1, 5, 10, 11, 14, -1}
	x := []float32{100, 0, 1, 5, 10, 11, 14, 77}
	for _, keep := range []bool{true, false} {
		p := kernels.AdaptiveTokenPoolParams{GridH: 4, GridW: 4, OutH: 2, OutW: 2, D: 1, Rows: 7, Prefix: 1,
			KeepPrefix: keep, Masked: true, RowWin: AdaptiveWindows(4, 2), ColWin: AdaptiveWindows(4, 2)}
		// Windows: top-left {0,1,4,5} → 0,1,5; top-right {2,3,6,7} → none;
		// bottom-left {8,9,12,13} → none; bottom-right {10,11,14,15} → 10,11,14.
		want := []float32{2, 0, 0, 35.0 / 3}
		if keep {
			want = append([]float32{100}, want...)
		}
		out := make([]float32, len(want))
		AdaptiveTokenPoolFloat(&p, x, pos, make([]int32, 16), out)
		for i := range want {
			if math.Abs(float64(out[i]-want[i])) > 1e-6 {
				t.Errorf("keep=%v float out[%d] = %g, want %g", keep, i, out[i], want[i])
			}
		}
		x8 := []int8{100, 0, 1, 5, 10, 11, 14, 77}
		p.ZP = -3
		out8 := make([]int8, len(want))
		AdaptiveTokenPoolInt8(&p, x8, pos, make([]int32, 16), out8)
		want8 := []int8{2, -3, -3, 12} // 6/3 = 2; empty → zero point; 35/3 = 11.67 → 12
		if keep {
			want8 = append([]int8{100}, want8...)
		}
		for i := range want8 {
			if out8[i] != want8[i] {
				t.Errorf("keep=%v int8 out[%d] = %d, want %d", keep, i, out8[i], want8[i])
			}
		}
	}
}

// TestPoolMixerBorders checks PoolFormer's divisors: 4 valid taps at a
// corner, 6 on an edge, 9 inside, with one hot cell in a 3×3 grid.
func TestPoolMixerBorders(t *testing.T) {
	x := []float32{5, 0, 0, 0, 0, 36, 0, 0, 0, 0} // CLS, then the grid
	p := kernels.PoolMixerParams{GridH: 3, GridW: 3, D: 1, Prefix: 1}
	out := make([]float32, 10)
	PoolMixerFloat(&p, x, out)
	want := []float32{0, 9, 6, 9, 6, 4 - 36, 6, 9, 6, 9}
	for i := range want {
		if math.Abs(float64(out[i]-want[i])) > 1e-5 {
			t.Errorf("float out[%d] = %g, want %g", i, out[i], want[i])
		}
	}
	// int8 with input zero point 2, output zero point −1, scales 1.
	x8 := make([]int8, 10)
	for i, v := range x {
		x8[i] = int8(v) + 2
	}
	p.InZP, p.OutZP = 2, -1
	for n := 1; n <= 9; n++ {
		p.Mult[n] = quant.MustMultiplier(1 / float64(n))
	}
	out8 := make([]int8, 10)
	PoolMixerInt8(&p, x8, out8)
	for i := range want {
		if int32(out8[i]) != int32(want[i])-1 {
			t.Errorf("int8 out[%d] = %d, want %d", i, out8[i], int32(want[i])-1)
		}
	}
}

// TestTAPBorders checks each branch alone (one-hot logits) at the corners
// and edges of a 3×4 grid: taps outside the grid count as zeros and the
// divisor is always 9.
func TestTAPBorders(t *testing.T) {
	const gh, gw = 3, 4
	x := make([]float32, 1+gh*gw)
	x[0] = -7 // CLS passes through
	for i := 0; i < gh*gw; i++ {
		x[1+i] = float32(i + 1)
	}
	at := func(h, w int) float64 {
		if h < 0 || h >= gh || w < 0 || w >= gw {
			return 0
		}
		return float64(h*gw + w + 1)
	}
	dil := []int{0, 1, 2, 3}
	for k, d := range dil {
		logits := make([]float32, gh*gw*len(dil))
		for c := 0; c < gh*gw; c++ {
			logits[c*len(dil)+k] = 60
		}
		p := kernels.TAPParams{GridH: gh, GridW: gw, D: 1, Prefix: 1, Dilations: dil}
		out := make([]float32, len(x))
		TAPFloat(&p, x, logits, make([]float64, 4), out)
		if out[0] != -7 {
			t.Errorf("d=%d: CLS = %g", d, out[0])
		}
		for h := 0; h < gh; h++ {
			for w := 0; w < gw; w++ {
				want := at(h, w)
				if d > 0 {
					var s float64
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							s += at(h+dy*d, w+dx*d)
						}
					}
					want = s / 9
				}
				if got := float64(out[1+h*gw+w]); math.Abs(got-want) > 1e-4 {
					t.Errorf("d=%d cell (%d,%d) = %g, want %g", d, h, w, got, want)
				}
			}
		}
	}
	// Hand values on the corner (0,0): d=1 sees cells 1,2,5,6 → 14/9;
	// d=2 sees (0,0),(0,2),(2,0),(2,2) → (1+3+9+11)/9; d=3 sees (0,0),(0,3) → 5/9.
	// Equal logits average the four branches.
	logits := make([]float32, gh*gw*4)
	p := kernels.TAPParams{GridH: gh, GridW: gw, D: 1, Prefix: 1, Dilations: dil}
	out := make([]float32, len(x))
	TAPFloat(&p, x, logits, make([]float64, 4), out)
	want := (1 + 14.0/9 + 24.0/9 + 5.0/9) / 4
	if math.Abs(float64(out[1])-want) > 1e-5 {
		t.Errorf("corner mixture = %g, want %g", out[1], want)
	}
}

func softmaxRows(r *rand.Rand, rows, n int, sharp float64) []float32 {
	a := make([]float32, rows*n)
	for i := 0; i < rows; i++ {
		var s float64
		e := make([]float64, n)
		for k := range e {
			e[k] = math.Exp(sharp * r.NormFloat64())
			s += e[k]
		}
		for k := range e {
			a[i*n+k] = float32(e[k] / s)
		}
	}
	return a
}

// TestRedistributeRowsSumToOne plants two sink tokens (one the CLS) and
// checks that redistributed rows keep their mass, exactly in int8.
func TestRedistributeRowsSumToOne(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	const n, d, rows = 9, 16, 12
	h := make([]float32, n*d)
	for i := range h {
		h[i] = float32(r.NormFloat64())
	}
	h[0*d+5] = 40 // CLS is a sink (not an image token)
	h[4*d+5] = 40 // token 4 is an image sink
	a := softmaxRows(r, rows, n, 1.5)
	for i := 0; i < rows; i += 3 { // make some rows sink-heavy
		a[i*n+4] += 2
		var s float32
		for k := 0; k < n; k++ {
			s += a[i*n+k]
		}
		for k := 0; k < n; k++ {
			a[i*n+k] /= s
		}
	}
	p := kernels.SinkParams{Rows: rows, N: n, D: d, Prefix: 1, SinkDims: []int{5}, Tau: 3, Rho: 0.5, MinMass: 0.2, P: 0.6}
	sink := make([]bool, n)
	SinkTokensFloat(&p, h, sink)
	for k, s := range sink {
		if s != (k == 0 || k == 4) {
			t.Fatalf("sink[%d] = %v", k, s)
		}
	}
	out := make([]float32, len(a))
	RedistributeFloat(&p, sink, a, out)
	changed := 0
	for i := 0; i < rows; i++ {
		var s0, s1 float64
		for k := 0; k < n; k++ {
			s0 += float64(a[i*n+k])
			s1 += float64(out[i*n+k])
		}
		if math.Abs(s1-1) > 1e-5 || math.Abs(s1-s0) > 1e-6 {
			t.Errorf("row %d sums to %g (was %g)", i, s1, s0)
		}
		img, imgSink := s0-float64(a[i*n]), float64(a[i*n+4])
		sel := imgSink <= 0.5*img && img >= 0.2
		if sel {
			changed++
			if math.Abs(float64(out[i*n+4])-0.6*float64(a[i*n+4])) > 1e-7 || math.Abs(float64(out[i*n])-0.6*float64(a[i*n])) > 1e-7 {
				t.Errorf("row %d: sinks not scaled by p", i)
			}
		} else if out[i*n+4] != a[i*n+4] {
			t.Errorf("row %d (not selected) changed", i)
		}
	}
	if changed == 0 || changed == rows {
		t.Errorf("%d of %d rows selected; the test wants a mix", changed, rows)
	}
	// int8: SoftmaxOutput codes.
	a8 := make([]int8, len(a))
	for i, v := range a {
		a8[i] = int8(quant.SoftmaxOutput.Quantize(v, quant.Int8Min, quant.Int8Max))
	}
	h8 := make([]int8, len(h))
	hp := quant.ChooseAsymmetric(-40, 40)
	for i, v := range h {
		h8[i] = int8(hp.Quantize(v, quant.Int8Min, quant.Int8Max))
	}
	p.HZP, p.ProbZP, p.PQ15 = hp.ZeroPoint, -128, int32(math.Round(0.6*32768))
	sink8 := make([]bool, n)
	SinkTokensInt8(&p, h8, sink8)
	for k := range sink {
		if sink8[k] != sink[k] {
			t.Fatalf("int8 sink[%d] = %v, float %v", k, sink8[k], sink[k])
		}
	}
	out8 := make([]int8, len(a8))
	RedistributeInt8(&p, sink8, SinkMinMassQ(0.2, quant.SoftmaxOutput.Scale), a8, out8)
	for i := 0; i < rows; i++ {
		var s0, s1 int
		for k := 0; k < n; k++ {
			s0 += int(a8[i*n+k]) + 128
			s1 += int(out8[i*n+k]) + 128
		}
		if s0 != s1 {
			t.Errorf("int8 row %d: code mass %d → %d", i, s0, s1)
		}
	}
	c := cosine32(out, dequant(out8, quant.SoftmaxOutput))
	reportCos(t, "AttentionSinkRedistribute", c)
	t.Logf("AttentionSinkRedistribute: int8 vs float cosine %.5f", c)
}

// TestDiverseSelectOrder is a crafted SADS example: the seed is the most
// sensitive token, then the product of distance and sensitivity decides.
func TestDiverseSelectOrder(t *testing.T) {
	feat := []float32{
		9, 9, // CLS (never a candidate)
		1, 0, // 1: s 0.9
		1, 0.01, // 2: s 1.0  → seed
		0, 1, // 3: s 0.5  → far from 2 and fairly sensitive
		-1, 0, // 4: s 0.2  → opposite of 2, but little sensitivity
		0.7, 0.7, // 5: s 0.1 → normalized weight 0, never before others
	}
	s := []float32{0, 0.9, 1.0, 0.5, 0.2, 0.1}
	// Greedy order: 2, 3 (score 0.44 vs 4: 0.22), 4 (dmin 1 × 0.11), 1, 5.
	for keep, want := range map[int][]int16{
		1: {0, 2, -1, -1, -1, -1},
		2: {0, 2, 3, -1, -1, -1},
		3: {0, 2, 3, 4, -1, -1},
		4: {0, 1, 2, 3, 4, -1},
		5: {0, 1, 2, 3, 4, 5},
	} {
		p := kernels.DiverseSelectParams{Rows: 6, D: 2, Prefix: 1, Keep: keep}
		idx := make([]int16, 6)
		DiverseSelectFloat(&p, feat, s, NewSelectScratch(6), idx)
		for i := range want {
			if idx[i] != want[i] {
				t.Errorf("keep %d: idx = %v, want %v", keep, idx, want)
				break
			}
		}
		// int8 features (scale 0.01, zero point 3) select the same.
		f8 := make([]int8, len(feat))
		fp := quant.Params{Scale: 0.1, ZeroPoint: 3}
		for i, v := range feat {
			f8[i] = int8(fp.Quantize(v*10, quant.Int8Min, quant.Int8Max))
		}
		p.FeatZP = 3
		DiverseSelectInt8(&p, f8, s, NewSelectScratch(6), idx)
		for i := range want {
			if idx[i] != want[i] {
				t.Errorf("int8 keep %d: idx = %v, want %v", keep, idx, want)
				break
			}
		}
	}
	// Ties go to the lowest index: identical tokens and sensitivities.
	tie := []float32{1, 0, 1, 0, 1, 0, 0, 1}
	p := kernels.DiverseSelectParams{Rows: 4, D: 2, Keep: 2}
	idx := make([]int16, 2)
	DiverseSelectFloat(&p, tie, []float32{1, 1, 1, 1}, NewSelectScratch(4), idx)
	if idx[0] != 0 || idx[1] != 3 {
		t.Errorf("ties: idx = %v, want [0 3]", idx)
	}
}

// TestDiverseSelectAdditive is TestDiverseSelectOrder's example with the
// score distance + λ·w (w: min–max sensitivity 0.89, 1, 0.44, 0.11, 0 for
// tokens 1–5). With λ = 0.1 the distance decides and the sensitivity only
// separates near equals: after the seed 2, token 4 (opposite, distance 2)
// comes before 3 (the product took 3 first), then 3, then 5 (distance
// 0.29) before 1 (a near copy of 2, however sensitive). With λ = 10 the
// sensitivity decides: 1 right after the seed.
func TestDiverseSelectAdditive(t *testing.T) {
	feat := []float32{9, 9, 1, 0, 1, 0.01, 0, 1, -1, 0, 0.7, 0.7}
	s := []float32{0, 0.9, 1.0, 0.5, 0.2, 0.1}
	for _, c := range []struct {
		lambda float64
		want   map[int][]int16
	}{
		{0.1, map[int][]int16{1: {0, 2}, 2: {0, 2, 4}, 3: {0, 2, 3, 4}, 4: {0, 2, 3, 4, 5}, 5: {0, 1, 2, 3, 4, 5}}},
		{10, map[int][]int16{2: {0, 1, 2}, 3: {0, 1, 2, 3}}},
	} {
		for keep, want := range c.want {
			p := kernels.DiverseSelectParams{Rows: 6, D: 2, Prefix: 1, Keep: keep, AddWeight: c.lambda}
			idx := make([]int16, 6)
			DiverseSelectFloat(&p, feat, s, NewSelectScratch(6), idx)
			if fmt.Sprint(idx[:len(want)]) != fmt.Sprint(want) || len(want) < 6 && idx[len(want)] != -1 {
				t.Errorf("λ %g keep %d: idx = %v, want %v then −1", c.lambda, keep, idx, want)
			}
		}
	}
}

// TestTopKSelect: the CLS-attention baseline keeps the highest scores,
// ties to the lowest index, NaN last, output in increasing order, and the
// same for float and int8 features (which it does not read).
func TestTopKSelect(t *testing.T) {
	nan := float32(math.NaN())
	s := []float32{100, 0.3, 0.7, nan, 0.7, 0.1, 0.9}
	for keep, want := range map[int][]int16{
		1: {0, 6, -1, -1, -1, -1, -1},
		2: {0, 2, 6, -1, -1, -1, -1},
		3: {0, 2, 4, 6, -1, -1, -1},
		5: {0, 1, 2, 4, 5, 6, -1},
		6: {0, 1, 2, 3, 4, 5, 6},
	} {
		p := kernels.DiverseSelectParams{Rows: 7, D: 1, Prefix: 1, Keep: keep, TopK: true}
		idx := make([]int16, 7)
		DiverseSelectFloat(&p, make([]float32, 7), s, NewSelectScratch(7), idx)
		idx8 := make([]int16, 7)
		DiverseSelectInt8(&p, make([]int8, 7), s, NewSelectScratch(7), idx8)
		for i := range want {
			if idx[i] != want[i] || idx8[i] != want[i] {
				t.Errorf("keep %d: idx = %v (int8 %v), want %v", keep, idx, idx8, want)
				break
			}
		}
	}
}

func TestGatherRows(t *testing.T) {
	x := []byte{1, 1, 2, 2, 3, 3}
	out := make([]byte, 8)
	GatherRows([]int16{2, 0, -1, 7}, 3, 2, []byte{0xfe}, x, out)
	want := []byte{3, 3, 1, 1, 0xfe, 0xfe, 0xfe, 0xfe}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
}

func TestScatterRows(t *testing.T) {
	x := []byte{1, 1, 2, 2, 3, 3}
	out := make([]byte, 8)
	for i := range out {
		out[i] = 9
	}
	ScatterRows([]int16{2, -1, 0}, 4, 2, []byte{0xfe}, x, out)
	want := []byte{3, 3, 0xfe, 0xfe, 1, 1, 0xfe, 0xfe}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
}

// mlpCase is a random MLP P = W2·GELU(W1·x + b1) with directions u_j.
type mlpCase struct {
	rows, din, f, dout, m int
	x, u, w1, b1, w2, a   []float32
	z                     []float32
}

func newMLPCase(r *rand.Rand, rows, din, f, dout, m int) *mlpCase {
	c := &mlpCase{rows: rows, din: din, f: f, dout: dout, m: m}
	rnd := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(std * r.NormFloat64())
		}
		return v
	}
	c.x, c.w1, c.b1, c.w2 = rnd(rows*din, 1), rnd(f*din, 1/math.Sqrt(float64(din))), rnd(f, 0.1), rnd(dout*f, 1/math.Sqrt(float64(f)))
	c.u = rnd(m*din, 1)
	for j := 0; j < m; j++ {
		var n2 float64
		for _, v := range c.u[j*din : (j+1)*din] {
			n2 += float64(v) * float64(v)
		}
		for k := range c.u[j*din : (j+1)*din] {
			c.u[j*din+k] /= float32(math.Sqrt(n2) + 1e-12)
		}
	}
	c.a = make([]float32, m*f)
	for j := 0; j < m; j++ {
		for o := 0; o < f; o++ {
			var s float64
			for k := 0; k < din; k++ {
				s += float64(c.w1[o*din+k]) * float64(c.u[j*din+k])
			}
			c.a[j*f+o] = float32(s)
		}
	}
	c.z = make([]float32, rows*f)
	for i := 0; i < rows; i++ {
		for o := 0; o < f; o++ {
			s := float64(c.b1[o])
			for k := 0; k < din; k++ {
				s += float64(c.w1[o*din+k]) * float64(c.x[i*din+k])
			}
			c.z[i*f+o] = float32(s)
		}
	}
	return c
}

// TestZOJVPEqualsCentralDifference: in float, the JVP sensitivity is the
// central difference (h = 1e-3) within 1e-3 relative.
func TestZOJVPEqualsCentralDifference(t *testing.T) {
	c := newMLPCase(rand.New(rand.NewSource(7)), 6, 12, 48, 12, 5)
	p := kernels.ZOSensitivityParams{Mode: kernels.ZOJVP, Rows: c.rows, F: c.f, M: c.m, R: c.dout, DIn: c.din, H: 1e-3}
	jvp := make([]float32, c.rows)
	ZOSensitivityFloat(&p, c.z, c.a, c.w2, make([]float64, c.f), jvp)
	cd := make([]float32, c.rows)
	p.Mode = kernels.ZOCentralDiff
	ZOCentralDiffFloat(&p, c.x, c.u, c.w1, c.b1, c.w2, make([]float64, c.f+c.din), cd)
	worst := 0.0
	for i := range jvp {
		rel := math.Abs(float64(jvp[i]-cd[i])) / math.Abs(float64(cd[i]))
		worst = math.Max(worst, rel)
		if rel > 1e-3 {
			t.Errorf("token %d: jvp %g, central difference %g (rel %g)", i, jvp[i], cd[i], rel)
		}
	}
	t.Logf("jvp vs central difference (h=1e-3): max relative error %.2e", worst)
	// The same with a ReLU MLP (z may be fc1's output after the ReLU).
	p.ReLU = true
	p.H = 1e-3
	ZOCentralDiffFloat(&p, c.x, c.u, c.w1, c.b1, c.w2, make([]float64, c.f+c.din), cd)
	p.Mode = kernels.ZOJVP
	zr := make([]float32, len(c.z))
	for i, v := range c.z {
		zr[i] = max(v, 0)
	}
	ZOSensitivityFloat(&p, zr, c.a, c.w2, make([]float64, c.f), jvp)
	for i := range jvp {
		if rel := math.Abs(float64(jvp[i]-cd[i])) / math.Abs(float64(cd[i])); rel > 1e-3 {
			t.Errorf("ReLU token %d: jvp %g, central difference %g (rel %g)", i, jvp[i], cd[i], rel)
		}
	}
	p.ReLU = false
	p.Mode = kernels.ZOCentralDiff
	ZOSensitivityFloat(&kernels.ZOSensitivityParams{Mode: kernels.ZOJVP, Rows: c.rows, F: c.f, M: c.m, R: c.dout}, c.z, c.a, c.w2, make([]float64, c.f), jvp)
	// A large step must show the finite-difference bias (the comparison
	// above is not vacuous).
	p.H = 0.5
	ZOCentralDiffFloat(&p, c.x, c.u, c.w1, c.b1, c.w2, make([]float64, c.f+c.din), cd)
	if rel := math.Abs(float64(jvp[0]-cd[0])) / float64(cd[0]); rel < 1e-4 {
		t.Errorf("h = 0.5: relative difference %g, want a visible bias", rel)
	}
	// The sensitivities must differ between tokens (GELU′ makes them so).
	if jvp[0] == jvp[1] {
		t.Errorf("sensitivities do not depend on the token")
	}
}

// quantize helpers for the int8-vs-float checks.
func quantizeAsym(v []float32) ([]int8, quant.Params) {
	lo, hi := float32(0), float32(0)
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	p := quant.ChooseAsymmetric(lo, hi)
	q := make([]int8, len(v))
	for i, x := range v {
		q[i] = int8(p.Quantize(x, quant.Int8Min, quant.Int8Max))
	}
	return q, p
}

func dequant(q []int8, p quant.Params) []float32 {
	out := make([]float32, len(q))
	for i, v := range q {
		out[i] = p.Dequantize(int32(v))
	}
	return out
}

func cosine32(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// minCos records the smallest int8-vs-float cosine seen per op.
var minCos = map[string]float64{}

func reportCos(t *testing.T, op string, c float64) {
	t.Helper()
	if v, ok := minCos[op]; !ok || c < v {
		minCos[op] = c
	}
	if !(c >= 0.99) {
		t.Errorf("%s: int8 vs float cosine %.5f < 0.99", op, c)
	}
}

// outParams picks int8 output parameters from the float result.
func outParams(v []float32) quant.Params {
	_, p := quantizeAsym(v)
	return p
}

func TestTokenOpsInt8TracksFloat(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	for seed := 0; seed < seeds; seed++ {
		tokenOpsInt8TracksFloat(t, rand.New(rand.NewSource(int64(11+seed))))
	}
	for _, op := range []string{"AdaptiveTokenPool2D", "PoolMixer", "SwiGLU", "GGeMPool", "EfficientProbe",
		"TokenAwareAvgPool", "ZOSensitivity/jvp", "ZOSensitivity/fro_diag"} {
		t.Logf("%-24s min int8 vs float cosine over %d seeds: %.5f", op, seeds, minCos[op])
	}
}

func tokenOpsInt8TracksFloat(t *testing.T, r *rand.Rand) {
	rnd := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(std * r.NormFloat64())
		}
		return v
	}
	const gh, gw, d = 6, 6, 24
	T := 1 + gh*gw
	x := rnd(T*d, 1)
	x8, xp := quantizeAsym(x)
	xd := dequant(x8, xp)

	t.Run("AdaptiveTokenPool2D", func(t *testing.T) {
		p := kernels.AdaptiveTokenPoolParams{GridH: gh, GridW: gw, OutH: 4, OutW: 4, D: d, Rows: T, Prefix: 1, KeepPrefix: true,
			RowWin: AdaptiveWindows(gh, 4), ColWin: AdaptiveWindows(gw, 4), ZP: xp.ZeroPoint}
		of := make([]float32, 17*d)
		AdaptiveTokenPoolFloat(&p, xd, nil, make([]int32, gh*gw), of)
		o8 := make([]int8, 17*d)
		AdaptiveTokenPoolInt8(&p, x8, nil, make([]int32, gh*gw), o8)
		reportCos(t, "AdaptiveTokenPool2D", cosine32(of, dequant(o8, xp)))
	})
	t.Run("PoolMixer", func(t *testing.T) {
		p := kernels.PoolMixerParams{GridH: gh, GridW: gw, D: d, Prefix: 1}
		of := make([]float32, T*d)
		PoolMixerFloat(&p, xd, of)
		op := outParams(of)
		p.InZP, p.OutZP = xp.ZeroPoint, op.ZeroPoint
		for n := 1; n <= 9; n++ {
			p.Mult[n] = quant.MustMultiplier(float64(xp.Scale) / (float64(n) * float64(op.Scale)))
		}
		o8 := make([]int8, T*d)
		PoolMixerInt8(&p, x8, o8)
		reportCos(t, "PoolMixer", cosine32(of, dequant(o8, op)))
	})
	t.Run("SwiGLU", func(t *testing.T) {
		g, u := rnd(500, 2), rnd(500, 1)
		g8, gp := quantizeAsym(g)
		u8, up := quantizeAsym(u)
		of := make([]float32, 500)
		SwiGLUFloat(dequant(g8, gp), dequant(u8, up), of)
		op := outParams(of)
		p, err := NewSwiGLUParams(gp, up, op, quant.RoundSingle)
		if err != nil {
			t.Fatal(err)
		}
		o8 := make([]int8, 500)
		SwiGLUInt8(&p, g8, u8, o8)
		reportCos(t, "SwiGLU", cosine32(of, dequant(o8, op)))
	})
	t.Run("GGeMPool", func(t *testing.T) {
		pw := []float32{3, 1.5, 6}
		p := kernels.GGeMParams{Rows: T, Prefix: 1, D: d, Groups: 3, P: pw, Eps: 1e-6}
		of := make([]float32, d)
		GGeMFloat(&p, xd, of)
		op := outParams(of)
		p.Pow, p.Out = NewGGeMTables(xp, pw, 1e-6), op
		o8 := make([]int8, d)
		GGeMInt8(&p, x8, o8)
		reportCos(t, "GGeMPool", cosine32(of, dequant(o8, op)))
	})
	t.Run("EfficientProbe", func(t *testing.T) {
		const m, dv = 4, 24
		q := rnd(m*d, 1)
		v := rnd(T*dv, 1)
		q8, qp := quantizeAsym(q)
		v8, vp := quantizeAsym(v)
		p := kernels.EfficientProbeParams{M: m, D: d, Dv: dv, C: dv / m, First: 1, Rows: T, Scale: float32(1 / math.Sqrt(d))}
		of := make([]float32, dv)
		EfficientProbeFloat(&p, xd, dequant(q8, qp), dequant(v8, vp), make([]float64, T), of)
		op := outParams(of)
		p.XZP, p.QZP, p.VZP, p.OutZP = xp.ZeroPoint, qp.ZeroPoint, vp.ZeroPoint, op.ZeroPoint
		p.LogitScale = float64(xp.Scale) * float64(qp.Scale) * float64(p.Scale)
		p.Mult = quant.MustMultiplier(float64(vp.Scale) / (65536 * float64(op.Scale)))
		o8 := make([]int8, dv)
		EfficientProbeInt8(&p, x8, q8, v8, make([]float64, T), make([]int32, T), o8)
		reportCos(t, "EfficientProbe", cosine32(of, dequant(o8, op)))
	})
	t.Run("TokenAwareAvgPool", func(t *testing.T) {
		dil := []int{0, 1, 2, 3}
		l := rnd(gh*gw*4, 1.5)
		l8, lp := quantizeAsym(l)
		p := kernels.TAPParams{GridH: gh, GridW: gw, D: d, Prefix: 1, Dilations: dil}
		of := make([]float32, T*d)
		TAPFloat(&p, xd, dequant(l8, lp), make([]float64, 4), of)
		op := outParams(of)
		p.Exp = NewSoftmaxTable(1, lp.Scale)
		p.InZP, p.OutZP = xp.ZeroPoint, op.ZeroPoint
		p.Mult = quant.MustMultiplier(float64(xp.Scale) / (9 * 32768 * float64(op.Scale)))
		p.PassMult = quant.MustMultiplier(float64(xp.Scale) / float64(op.Scale))
		o8 := make([]int8, T*d)
		TAPInt8(&p, x8, l8, make([]int32, 4), o8)
		reportCos(t, "TokenAwareAvgPool", cosine32(of, dequant(o8, op)))
	})
	t.Run("ZOSensitivity", func(t *testing.T) {
		c := newMLPCase(r, 40, 16, 64, 16, 8)
		z8, zp := quantizeAsym(c.z)
		a8, as := quantizePerRow(c.a, c.m)
		w8, ws := quantizePerRow(c.w2, c.dout)
		for _, mode := range []int{kernels.ZOJVP, kernels.ZOFroDiag} {
			w := c.w2
			rows := c.dout
			var wf []float32
			if mode == kernels.ZOFroDiag {
				wf = froDiag(c)
				w, rows = wf, 1
			}
			p := kernels.ZOSensitivityParams{Mode: mode, Rows: c.rows, F: c.f, M: c.m, R: rows}
			sf := make([]float32, c.rows)
			ZOSensitivityFloat(&p, dequant(z8, zp), c.a, w, make([]float64, c.f), sf)
			p.GradQ14, p.DirScale, p.WScale = NewZOGradTable(zp, false), as, ws
			s8 := make([]float32, c.rows)
			ZOSensitivityInt8(&p, z8, a8, w8, wf, make([]int32, c.f), s8)
			// Sensitivities are compared centred (their ranking is what counts).
			reportCos(t, []string{"ZOSensitivity/jvp", "", "ZOSensitivity/fro_diag"}[mode], cosine32(centre(sf), centre(s8)))
		}
	})
}

func quantizePerRow(v []float32, rows int) ([]int8, []float32) {
	q, s, err := quant.QuantizeWeights(v, rows)
	if err != nil {
		panic(err)
	}
	return q, s
}

func froDiag(c *mlpCase) []float32 {
	w := make([]float32, c.f)
	for k := 0; k < c.f; k++ {
		var a, b float64
		for o := 0; o < c.dout; o++ {
			a += float64(c.w2[o*c.f+k]) * float64(c.w2[o*c.f+k])
		}
		for i := 0; i < c.din; i++ {
			b += float64(c.w1[k*c.din+i]) * float64(c.w1[k*c.din+i])
		}
		w[k] = float32(a * b)
	}
	return w
}

func centre(v []float32) []float32 {
	var m float64
	for _, x := range v {
		m += float64(x)
	}
	m /= float64(len(v))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) - m)
	}
	return out
}
