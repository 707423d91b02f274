package x86

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// edgeAcc returns an accumulator at the float32 stage's edges: int32's
// extremes, odd and small (ties under scales 1/2 and 1/4), or random of
// any magnitude.
func (g gen) edgeAcc() int32 {
	switch g.IntN(6) {
	case 0:
		return []int32{math.MinInt32, math.MaxInt32, -1 << 30, 1 << 30, 0, 1, -1, 3, -3}[g.IntN(9)]
	case 1:
		return int32(2*g.IntN(600) - 599)
	}
	v := int32(g.Uint32())
	if g.IntN(2) == 0 {
		v >>= 8 + g.IntN(20)
	}
	return v
}

// edgeScale returns a scale at the stage's edges: exact ties (1/2, 1/4),
// 1 and 2, zero, ± subnormal, ±3e38 (products overflow to ±Inf), 2^20
// (products beyond ±2^30), or a typical one of either sign.
func (g gen) edgeScale() float32 {
	switch g.IntN(8) {
	case 0:
		return []float32{0.5, 0.25, 1, 2}[g.IntN(4)]
	case 1:
		return []float32{0, 1e-40, -1e-40, 3e38, -3e38, 1 << 20, -(1 << 20)}[g.IntN(7)]
	}
	return float32(math.Exp2(-20+12*g.Float64()) * (g.Float64()*2 - 0.5))
}

// edgeZPClamp sets s's zero point and clamp across the ranges requantTile
// takes: zero points up to ±32640 (now and then the ends), clamps anywhere
// in int8 (now and then empty, ActMin > ActMax).
func (g gen) edgeZPClamp(s *kernels.OutputStage, i int) {
	switch g.IntN(4) {
	case 0:
		s.OutZP = []int32{-32640, 32640, -32768 + 200, 32767 - 200, -128, 127}[g.IntN(6)]
	case 1:
		s.OutZP = int32(g.IntN(65281) - 32640)
	default:
		s.OutZP = int32(g.IntN(511) - 255)
	}
	s.ActMin, s.ActMax = -128, 127
	switch i % 4 {
	case 1:
		s.ActMin = int32(g.IntN(200) - 128)
		s.ActMax = s.ActMin + int32(g.IntN(128-int(s.ActMin)))
	case 3:
		s.ActMin, s.ActMax = int32(g.IntN(256)-128), int32(g.IntN(256)-128)
	}
}

// TestRequantTileMatchesRequantize drives the float32-stage tile kernel
// with accumulators and scales at its edges (edgeAcc, edgeScale),
// per-tensor and per-channel, zero points and clamps across their ranges
// (edgeZPClamp), 1 to 6 rows of 8 to 64 columns — each byte against
// OutputStage.Requantize, ref's; bytes outside the columns stay untouched.
func TestRequantTileMatchesRequantize(t *testing.T) {
	needAVX2(t)
	g := newGen(41)
	for i := 0; i < iters(1500); i++ {
		rows, n8 := 1+g.IntN(6), 1+g.IntN(8)
		cols, stride := 8*n8, 8*n8+g.IntN(9)
		acc := make([]int32, rows*cols)
		for j := range acc {
			acc[j] = g.edgeAcc()
		}
		nsc := cols
		if i%3 == 0 {
			nsc = 1
		}
		s := kernels.OutputStage{Scale: make([]float32, nsc), Rounding: quant.RoundXNNPACKUint8}
		for c := range s.Scale {
			s.Scale[c] = g.edgeScale()
		}
		g.edgeZPClamp(&s, i)
		want := make([]int8, rows*stride)
		for j := range want {
			want[j] = int8(j)
		}
		got := append([]int8(nil), want...)
		for r := range rows {
			for c := range cols {
				want[r*stride+c] = s.Requantize(acc[r*cols+c], c)
			}
		}
		var one [8]float32
		step, ok := scaleTile(&s, &one)
		if !ok {
			t.Fatalf("case %d: scaleTile declined %+v", i, s)
		}
		sc := &one[0]
		if step != 0 {
			sc = &s.Scale[0]
		}
		requantTile(&acc[0], 4*cols, rows, n8, sc, step, &got[0], stride, int(s.OutZP), int(s.ActMin), int(s.ActMax))
		diff8(t, fmt.Sprintf("case %d: %d×%d, stage %+v", i, rows, cols, s), got, want, stride)
	}
}

// TestScaleTileDeclines: requantTile is not used where its saturating
// steps or NaN conversions would differ from ref: clamps beyond int8 (ref
// wraps), zero points beyond ±32640, NaN and infinite scales.
func TestScaleTileDeclines(t *testing.T) {
	base := kernels.OutputStage{Scale: []float32{0.01, 0.02}, ActMin: -128, ActMax: 127}
	var one [8]float32
	if _, ok := scaleTile(&base, &one); !ok {
		t.Fatal("base stage declined")
	}
	for name, f := range map[string]func(s *kernels.OutputStage){
		"actmax128":  func(s *kernels.OutputStage) { s.ActMax = 128 },
		"actmin-129": func(s *kernels.OutputStage) { s.ActMin = -129 },
		"zp32641":    func(s *kernels.OutputStage) { s.OutZP = 32641 },
		"zp-32641":   func(s *kernels.OutputStage) { s.OutZP = -32641 },
		"nan":        func(s *kernels.OutputStage) { s.Scale = []float32{float32(math.NaN())} },
		"inf":        func(s *kernels.OutputStage) { s.Scale = []float32{1, float32(math.Inf(-1))} },
	} {
		s := base
		f(&s)
		if _, ok := scaleTile(&s, &one); ok {
			t.Errorf("%s: taken", name)
		}
	}
}

// TestFullyConnectedScaleStage: FullyConnected with XNNPACK's float32
// stage at its edges through the GEMM (requantTile on each tile's
// columns in eights, the last columns short of 8 and the stages it
// declines in Go): accumulators up to ±2^26 and scales from edgeScale,
// per-tensor and per-channel, N across the tile widths, zero points and
// clamps across and beyond requantTile's ranges, NaN and infinite scales.
func TestFullyConnectedScaleStage(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(42)
		for i := 0; i < iters(300); i++ {
			m := 1 + g.IntN(14)
			n := []int{1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 48, 63, 64, 65, 71, 130, 200}[g.IntN(17)]
			k := minK + g.IntN(300)
			p := kernels.FCParams{M: m, N: n, K: k, InZP: int32(g.IntN(256) - 128), Bias: g.Bias(n)}
			if i%3 == 1 {
				p.WZP = g.WZP(i)
			}
			nsc := n
			if i%3 == 0 {
				nsc = 1
			}
			// Mult as converted models carry it beside Scale (unused).
			p.Out = kernels.OutputStage{Scale: make([]float32, nsc), Mult: make([]quant.Multiplier, nsc), Rounding: quant.RoundXNNPACKUint8}
			for c := range p.Out.Scale {
				p.Out.Scale[c] = g.edgeScale()
				if g.IntN(3) == 0 {
					p.Out.Scale[c] = float32(math.Exp2(-float64(10 + g.IntN(8))))
				}
			}
			g.edgeZPClamp(&p.Out, i)
			switch i % 13 {
			case 5:
				p.Out.OutZP = []int32{32641, -32641, 40000, -1 << 20}[g.IntN(4)]
			case 7:
				p.Out.ActMax = 200
			case 9:
				p.Out.Scale[g.IntN(nsc)] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[g.IntN(3)]
			}
			x := g.I8(m*k, true)
			w := g.W8(n * k)
			if p.WZP != 0 {
				w = g.U8W(n * k)
			}
			want := make([]int8, m*n)
			ref.FullyConnectedInt8(&p, x, w, want)
			pk := PackFC(path, &p, w)
			if pk == nil {
				if path != AVX2 || k <= maxAVX2K {
					t.Fatalf("PackFC(K=%d) = nil", k)
				}
				continue
			}
			got := make([]int8, m*n)
			FullyConnectedInt8(&p, x, pk, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d stage %+v", i, m, n, k, p.Out), got, want, n)
		}
	})
}

// TestScaleStageNoAllocs: FullyConnected and Conv2D with XNNPACK's
// float32 stage (per-tensor and per-channel) allocate nothing.
func TestScaleStageNoAllocs(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		for _, nsc := range []int{1, 70} {
			p := kernels.FCParams{M: 20, N: 70, K: 64}
			p.Out = kernels.OutputStage{Scale: make([]float32, nsc), Mult: make([]quant.Multiplier, nsc),
				ActMin: -128, ActMax: 127, OutZP: 5, Rounding: quant.RoundXNNPACKUint8}
			for c := range p.Out.Scale {
				p.Out.Scale[c] = 0.001 * float32(c+1)
			}
			x, out := make([]int8, 20*64), make([]int8, 20*70)
			pk := PackFC(path, &p, make([]int8, 70*64))
			if n := testing.AllocsPerRun(5, func() { FullyConnectedInt8(&p, x, pk, out) }); n != 0 {
				t.Fatalf("%d scales: %v allocations per call", nsc, n)
			}
			c := kernels.ConvParams{N: 1, H: 8, W: 8, Cin: 8, Cout: 70, KH: 3, KW: 3, StrideH: 1, StrideW: 1,
				DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1, OH: 8, OW: 8, RowHi: 8, Out: p.Out}
			xc, oc := make([]int8, 8*8*8), make([]int8, 8*8*70)
			pc := PackConv(path, &c, make([]int8, 70*9*8))
			if n := testing.AllocsPerRun(5, func() { Conv2DInt8(&c, xc, pc, oc) }); n != 0 {
				t.Fatalf("conv, %d scales: %v allocations per call", nsc, n)
			}
		}
	})
}

// TestMatMulScaleStage: BatchMatMul with XNNPACK's float32 stage, per
// tensor and per column, at the stage's edges (edgeScale, edgeZPClamp and
// beyond requantTile's ranges), over several blocks of packed panels,
// with AdjY, strides and B's zero point; AdjX stays with ref.
func TestMatMulScaleStage(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(43)
		for i := 0; i < iters(200); i++ {
			m, n, k := g.shape(i)
			if i%11 == 3 {
				m, k, n = 1+g.IntN(5), 100+g.IntN(400), 600+g.IntN(1400)
			}
			p := kernels.MatMulParams{M: m, N: n, K: k, AdjX: i%17 == 5, AdjY: i%2 == 1,
				AZP: int32(g.IntN(256) - 128), BZP: int32(g.IntN(256) - 128)}
			if i%3 == 0 {
				p.BZP = 0
			}
			nsc := 1
			if i%4 >= 2 {
				nsc = n
			}
			p.Out = kernels.OutputStage{Scale: make([]float32, nsc), Rounding: quant.RoundXNNPACKUint8}
			for c := range p.Out.Scale {
				p.Out.Scale[c] = g.edgeScale()
				if g.IntN(3) == 0 {
					p.Out.Scale[c] = float32(math.Exp2(-float64(10 + g.IntN(8))))
				}
			}
			g.edgeZPClamp(&p.Out, i)
			switch i % 13 {
			case 5:
				p.Out.OutZP = 40000
			case 7:
				p.Out.ActMin = -200
			}
			bw := n
			if p.AdjY {
				bw = k
			}
			if i%5 == 1 && !p.AdjX {
				p.LDA, p.LDB, p.LDO = k+g.IntN(20), bw+g.IntN(20), n+1+g.IntN(20)
			}
			_, _, ldo := p.Strides()
			na, nb, no := p.Extents()
			a, b := g.I8(na, true), g.I8(nb, i%4 < 2)
			want, got := make([]int8, no), make([]int8, no)
			for j := range want {
				want[j], got[j] = 55, 55
			}
			ref.MatMulInt8(&p, a, b, want)
			MatMulInt8(path, &p, a, b, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d AdjY=%v stage %+v", i, m, n, k, p.AdjY, p.Out), got, want, ldo)
		}
	})
}

// TestMatMulPerColumnMult: a Mult stage with one multiplier per output
// column gives ref's bytes (the kernels take one multiplier for all).
func TestMatMulPerColumnMult(t *testing.T) {
	forEachPath(t, func(t *testing.T, path Path) {
		g := newGen(44)
		for i := 0; i < 4; i++ {
			m, n, k := 1+g.IntN(9), 20+g.IntN(700), 16+g.IntN(200)
			p := kernels.MatMulParams{M: m, N: n, K: k, AdjY: i%2 == 1, AZP: int32(g.IntN(256) - 128), BZP: int32(g.IntN(256) - 128)}
			p.Out = g.Stage(1, 128*math.Sqrt(float64(k))*128, quant.RoundSingle)
			for c := 1; c < n; c++ {
				p.Out.Mult = append(p.Out.Mult, quant.Multiplier{M: p.Out.Mult[0].M >> (c % 3), Shift: p.Out.Mult[0].Shift})
			}
			a, b := g.I8(m*k, true), g.I8(k*n, false)
			want, got := make([]int8, m*n), make([]int8, m*n)
			ref.MatMulInt8(&p, a, b, want)
			MatMulInt8(path, &p, a, b, got)
			diff8(t, fmt.Sprintf("case %d M=%d N=%d K=%d", i, m, n, k), got, want, n)
		}
	})
}
