package neon

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// gradTable returns a GELU′ table in Q14 (the real one for random
// quantization), or, one time in three, random int16 values over the
// whole range (the digit split's extremes).
func (g gen) gradTable() *[256]int16 {
	if g.IntN(3) == 0 {
		t := new([256]int16)
		for i := range t {
			t[i] = int16(g.IntN(65536) - 32768)
			if g.IntN(8) == 0 {
				t[i] = []int16{-32768, 32767}[g.IntN(2)]
			}
		}
		return t
	}
	return ref.NewZOGradTable(quant.Params{Scale: float32(0.01 + 0.1*g.Float64()), ZeroPoint: int32(g.IntN(256) - 128)}, g.IntN(5) == 0)
}

func (g gen) scales(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.Exp2(g.Float64()*10 - 14))
	}
	return s
}

func TestZOSensitivityMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(61)
		for it := 0; it < iters(60); it++ {
			p := kernels.ZOSensitivityParams{Mode: kernels.ZOJVP, Rows: 1 + g.IntN(5), F: 16 + g.IntN(200), M: 1 + g.IntN(9), R: 1 + g.IntN(40)}
			switch it % 5 {
			case 0:
				p.F = 16 * (1 + g.IntN(6))
			case 1:
				p.Mode, p.R = kernels.ZOLowRankJVP, 32
			}
			if it == 2 {
				p.Rows, p.F, p.M, p.R = 2, 768, 8, 192 // DeiT-tiny
			}
			p.GradQ14, p.DirScale, p.WScale = g.gradTable(), g.scales(p.M), g.scales(p.R)
			z, a := g.I8(p.Rows*p.F, it%2 == 0), g.I8(p.M*p.F, it%3 == 0)
			w := g.W8(p.R * p.F)
			if it%4 == 3 {
				w = g.I8(p.R*p.F, true) // −128 in the weights: unpaired v80 loop
			}
			want, got := make([]float32, p.Rows), make([]float32, p.Rows)
			ref.ZOSensitivityInt8(&p, z, a, w, nil, make([]int32, p.F), want)
			k := PrepareZOSensitivity(path, &p, w)
			if k == nil {
				t.Fatalf("%+v: not prepared", p)
			}
			k.Int8(&p, z, a, got)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("mode %d rows %d F %d M %d R %d: s[%d] = %v, ref %v", p.Mode, p.Rows, p.F, p.M, p.R, i, got[i], want[i])
				}
			}
		}
		for _, p := range []kernels.ZOSensitivityParams{{Mode: kernels.ZOFroDiag, F: 64, M: 1, R: 1}, {F: 15, M: 2, R: 3}} {
			if PrepareZOSensitivity(path, &p, make([]int8, 64)) != nil {
				t.Errorf("%+v: prepared, want nil (ref)", p)
			}
		}
	})
}

func TestDiverseSelectMatchesRef(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(62)
		for it := 0; it < iters(90); it++ {
			p := kernels.DiverseSelectParams{Rows: 1 + g.IntN(70), D: 16 + g.IntN(120), Prefix: g.IntN(3), FeatZP: int32(g.IntN(256) - 128)}
			switch it % 6 {
			case 0:
				p.D = 16 * (1 + g.IntN(8))
			case 1:
				if it < 20 {
					p.Rows, p.D, p.Prefix = 197, 192, 1 // DeiT-tiny
				}
			case 2:
				p.FeatZP = []int32{-128, 127}[g.IntN(2)]
			}
			p.Keep = g.IntN(p.Rows + 2)
			if it%4 == 1 { // ZOO-Prune's additive score
				p.AddWeight = []float64{0.1, 0.05 + g.Float64(), 4}[g.IntN(3)]
			}
			feat := g.I8(p.Rows*p.D, it%2 == 0)
			if it%5 == 4 { // duplicate rows: ties in the scores
				for r := 1; r < p.Rows; r += 3 {
					copy(feat[r*p.D:(r+1)*p.D], feat[(r-1)*p.D:r*p.D])
				}
			}
			if it%7 == 3 { // rows equal to the zero point: zero norms
				for i := range feat[:p.D*min(p.Rows, 3)] {
					feat[i] = int8(p.FeatZP)
				}
			}
			s := make([]float32, p.Rows)
			for i := range s {
				s[i] = float32(g.IntN(20))
				if it%3 == 0 {
					s[i] = float32(g.NormFloat64())
				}
			}
			want, got := make([]int16, p.Prefix+p.Keep+1), make([]int16, p.Prefix+p.Keep+1)
			ref.DiverseSelectInt8(&p, feat, s, ref.NewSelectScratch(p.Rows), want)
			// Prepared for more rows than this call has (a token budget).
			q := p
			q.Rows += g.IntN(5)
			k := PrepareDiverseSelect(path, &q)
			if it%11 == 5 { // top-k: prepared for diversity, asked for top-k
				p.TopK = true
				ref.DiverseSelectInt8(&p, feat, s, ref.NewSelectScratch(p.Rows), want)
			}
			k.Int8(&p, feat, s, ref.NewSelectScratch(q.Rows), got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("rows %d D %d prefix %d keep %d zp %d add %g: %v, ref %v", p.Rows, p.D, p.Prefix, p.Keep, p.FeatZP, p.AddWeight, got, want)
			}
		}
		if PrepareDiverseSelect(path, &kernels.DiverseSelectParams{Rows: 10, D: 32, TopK: true}) != nil {
			t.Error("top-k prepared, want nil (ref)")
		}
	})
}

// TestGramInt8 checks the Gram matrix against its definition, with the
// zero points and rows that make the int32 range matter.
func TestGramInt8(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(63)
		for it := 0; it < iters(30); it++ {
			n, d := 1+g.IntN(40), 16+g.IntN(300)
			z := int32(g.IntN(256) - 128)
			if it%3 == 0 {
				z = []int32{-128, 127}[g.IntN(2)]
			}
			x := g.I8(n*d, true)
			k := PrepareDiverseSelect(path, &kernels.DiverseSelectParams{Rows: n, D: d})
			k.gramInt8(x, n, z)
			for a := 0; a < n; a++ {
				for b := 0; b < n; b++ {
					var want int64
					for c := 0; c < d; c++ {
						want += int64(int32(x[a*d+c])-z) * int64(int32(x[b*d+c])-z)
					}
					if got := k.gram[a*n+b]; int64(got) != want {
						t.Fatalf("n %d d %d z %d: gram[%d,%d] = %d, want %d", n, d, z, a, b, got, want)
					}
				}
			}
		}
	})
}

// TestTAPMatchesRef: TAPInt8 has one implementation on every CPU (no
// dot products), run once.
func TestTAPMatchesRef(t *testing.T) {
	{
		g := newGen(64)
		for it := 0; it < iters(150); it++ {
			p := kernels.TAPParams{GridH: 1 + g.IntN(8), GridW: 1 + g.IntN(8), D: 16 + g.IntN(80), Prefix: g.IntN(3), Rounding: quant.RoundSingle}
			switch it % 5 {
			case 0:
				p.D = 16 * (1 + g.IntN(4))
			case 1:
				if it < 20 {
					p.GridH, p.GridW, p.D, p.Prefix = 14, 14, 192, 1 // DeiT-tiny
				}
			}
			for k := 1 + g.IntN(5); k > 0; k-- {
				p.Dilations = append(p.Dilations, []int{0, 1, 2, 3, 5}[g.IntN(5)])
			}
			if it%4 == 0 {
				p.Dilations = []int{0, 1, 2, 3}
			}
			sx, sout := 0.01+0.1*g.Float64(), 0.01+0.1*g.Float64()
			p.Exp = ref.NewSoftmaxTable(1, float32(0.02+0.5*g.Float64()))
			p.InZP, p.OutZP = int32(g.IntN(256)-128), int32(g.IntN(256)-128)
			if it%6 == 5 {
				p.InZP, p.OutZP = []int32{-128, 127}[g.IntN(2)], []int32{-128, 127}[g.IntN(2)]
			}
			p.Mult = quant.MustMultiplier(sx / (9 * 32768 * sout))
			p.PassMult = quant.MustMultiplier(sx / sout)
			switch it % 9 {
			case 7: // saturating output
				p.Mult = quant.MustMultiplier(sx / (32768 * sout) * 40)
			case 8: // Shift ≥ 0, or RoundDouble: kernels/ref
				p.Mult = quant.MustMultiplier(0.75)
				if g.IntN(2) == 0 {
					p.Mult, p.Rounding = quant.MustMultiplier(sx/(9*32768*sout)), quant.RoundDouble
				}
			}
			cells := p.GridH * p.GridW
			x := g.I8((p.Prefix+cells)*p.D, it%2 == 0)
			logits := g.I8(cells*len(p.Dilations), it%3 == 0)
			want, got := make([]int8, len(x)), make([]int8, len(x))
			ref.TAPInt8(&p, x, logits, make([]int32, len(p.Dilations)), want)
			TAPInt8(&p, x, logits, make([]int32, len(p.Dilations)), got)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("grid %dx%d D %d prefix %d dilations %v zp %d/%d mult %+v: out[%d] = %d, ref %d",
						p.GridH, p.GridW, p.D, p.Prefix, p.Dilations, p.InZP, p.OutZP, p.Mult, i, got[i], want[i])
				}
			}
		}
	}
}
