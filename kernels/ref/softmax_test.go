package ref

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

// ewSoftmaxExact restates the int8 rule with rationals: 256·e/sum rounded
// to nearest, ties up, minus 128, at most 127.
func ewSoftmaxExact(exp *[256]uint32, row []int8, out []int8) {
	mx := slices.Max(row)
	sum := new(big.Int)
	for _, q := range row {
		sum.Add(sum, big.NewInt(int64(exp[int(mx)-int(q)])))
	}
	for i, q := range row {
		v := new(big.Rat).SetFrac(big.NewInt(256*int64(exp[int(mx)-int(q)])), sum)
		v.Add(v, big.NewRat(1, 2))
		f := new(big.Int).Div(v.Num(), v.Denom()) // floor: the denominator is positive
		out[i] = int8(min(f.Int64(), 255) - 128)
	}
}

func TestSoftmaxInt8Random(t *testing.T) {
	r := ewRand(t, 20)
	for iter := range ewIters(80) {
		rows, d := 1+r.IntN(4), 1+r.IntN(300)
		in := ewParams(r, 1e-3, 0.3)
		beta := float32(1)
		if iter%3 == 1 {
			beta = float32(0.125 + r.Float64()*2)
		}
		p := kernels.SoftmaxParams{Rows: rows, D: d, Exp: NewSoftmaxTable(beta, in.Scale)}
		x := ewInt8s(r, rows*d)
		if iter%4 == 0 { // a peaked row
			for i := range x {
				x[i] = int8(r.IntN(20) - 128)
			}
			x[r.IntN(len(x))] = 127
		}
		got := make([]int8, len(x))
		SoftmaxInt8(&p, x, got)
		want := make([]int8, len(x))
		for row := range rows {
			ewSoftmaxExact(p.Exp, x[row*d:(row+1)*d], want[row*d:(row+1)*d])
		}
		if !slices.Equal(got, want) {
			i := 0
			for got[i] == want[i] {
				i++
			}
			t.Fatalf("iter %d (d %d, β %v, %v) element %d: got %d, want %d", iter, d, beta, in, i, got[i], want[i])
		}
		// The dequantized output tracks the real softmax, and rows sum to ≈ 1.
		for row := range rows {
			xs := x[row*d : (row+1)*d]
			mx := float64(slices.Max(xs))
			var sum float64
			for _, q := range xs {
				sum += math.Exp(float64(beta) * float64(in.Scale) * (float64(q) - mx))
			}
			var deqSum float64
			for i, q := range xs {
				pr := math.Exp(float64(beta)*float64(in.Scale)*(float64(q)-mx)) / sum
				deq := float64(quant.SoftmaxOutput.Dequantize(int32(got[row*d+i])))
				deqSum += deq
				// Rounding is half a quantum; the table's 2^−16 resolution
				// moves the ratio by a little more; 1 only reaches 255/256.
				if math.Abs(deq-pr) > 1.0/256+1e-4 {
					t.Fatalf("iter %d element %d: dequantized %v, softmax %v", iter, i, deq, pr)
				}
			}
			if tol := float64(d)*0.5/256 + 1.0/256 + float64(d)*1e-4; math.Abs(deqSum-1) > tol {
				t.Fatalf("iter %d row %d: dequantized sum %v, want 1 ± %v", iter, row, deqSum, tol)
			}
		}
	}
}

func TestSoftmaxInt8Hand(t *testing.T) {
	// β·s = ln 2 makes Exp[d] ≈ 2^(16−d).
	exp := NewSoftmaxTable(1, math.Ln2)
	run := func(d int, x ...int8) []int8 {
		out := make([]int8, len(x))
		SoftmaxInt8(&kernels.SoftmaxParams{Rows: len(x) / d, D: d, Exp: exp}, x, out)
		return out
	}
	for _, c := range []struct {
		name string
		d    int
		x    []int8
		want []int8
	}{
		// e = [65536, 32768], sum 98304: 256·2/3 = 170.67 → 171 → 43;
		// 256/3 = 85.33 → 85 → −43.
		{"two", 2, []int8{0, -1}, []int8{43, -43}},
		// Equal values: 64 each → −64.
		{"uniform", 4, []int8{5, 5, 5, 5}, []int8{-64, -64, -64, -64}},
		// One value dominates: 256·e/sum rounds to 256, clamped to 127;
		// the others are 0 in the table → −128.
		{"peak", 3, []int8{127, -128, -100}, []int8{127, -128, -128}},
		// A single element is probability 1 → 127.
		{"single", 1, []int8{-7}, []int8{127}},
		// 512 equal values: 256/512 = 0.5 exactly, a tie, rounds up → −127.
		{"tie", 512, make([]int8, 512), slices.Repeat([]int8{-127}, 512)},
		// Rows are independent.
		{"rows", 2, []int8{0, -1, -1, 0}, []int8{43, -43, -43, 43}},
	} {
		if got := run(c.d, c.x...); !slices.Equal(got, c.want) {
			t.Errorf("%s: SoftmaxInt8(%v) = %v, want %v", c.name, c.x, got, c.want)
		}
	}
}

func TestSoftmaxFloat(t *testing.T) {
	r := ewRand(t, 21)
	for iter := range ewIters(50) {
		rows, d := 1+r.IntN(3), 1+r.IntN(100)
		beta := float32(1)
		if iter%2 == 1 {
			beta = float32(r.Float64()*4 - 2)
		}
		x := ewFloats(r, rows*d, -20, 20)
		out := make([]float32, len(x))
		SoftmaxFloat(rows, d, beta, x, out)
		for row := range rows {
			xs := x[row*d : (row+1)*d]
			var sum, total float64
			for _, v := range xs {
				sum += math.Exp(float64(beta) * float64(v))
			}
			for i, v := range xs {
				want := math.Exp(float64(beta)*float64(v)) / sum
				got := float64(out[row*d+i])
				if math.Abs(got-want) > 1e-7*want+1e-30 {
					t.Fatalf("β %v element %d: got %v, want %v", beta, i, got, want)
				}
				total += got
			}
			if math.Abs(total-1) > 1e-5 {
				t.Fatalf("row sum %v", total)
			}
		}
	}
	// Large values do not overflow (the maximum is subtracted first).
	out := make([]float32, 2)
	SoftmaxFloat(1, 2, math.Ln2, []float32{1000, 1001}, out)
	if math.Abs(float64(out[0])-1.0/3) > 1e-6 || math.Abs(float64(out[1])-2.0/3) > 1e-6 {
		t.Errorf("SoftmaxFloat = %v, want [1/3 2/3]", out)
	}
}

func TestSoftmaxAllocs(t *testing.T) {
	r := ewRand(t, 22)
	p := kernels.SoftmaxParams{Rows: 3, D: 50, Exp: NewSoftmaxTable(1, 0.05)}
	x, out := ewInt8s(r, 150), make([]int8, 150)
	xf, outf := ewFloats(r, 150, -3, 3), make([]float32, 150)
	ewAllocs(t, "SoftmaxInt8", func() { SoftmaxInt8(&p, x, out) })
	ewAllocs(t, "SoftmaxFloat", func() { SoftmaxFloat(3, 50, 1, xf, outf) })
}

func BenchmarkSoftmaxInt8(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	p := kernels.SoftmaxParams{Rows: 3 * 197, D: 197, Exp: NewSoftmaxTable(1, 0.08)}
	x, out := ewInt8s(r, p.Rows*p.D), make([]int8, p.Rows*p.D)
	b.SetBytes(int64(len(x)))
	for b.Loop() {
		SoftmaxInt8(&p, x, out)
	}
}
