package onnx_test

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
)

// einsumRef evaluates a two-operand explicit einsum by summing over every
// assignment of its letters.
func einsumRef(eq string, a, b []float32, size map[rune]int) []float32 {
	lhs, out, _ := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	var letters []rune
	for _, c := range lhs + out {
		if c != ',' && !strings.ContainsRune(string(letters), c) {
			letters = append(letters, c)
		}
	}
	offset := func(t string, at map[rune]int) int {
		o := 0
		for _, c := range t {
			o = o*size[c] + at[c]
		}
		return o
	}
	n := 1
	for _, c := range out {
		n *= size[c]
	}
	res := make([]float64, n)
	at := map[rune]int{}
	var walk func(i int)
	walk = func(i int) {
		if i == len(letters) {
			res[offset(out, at)] += float64(a[offset(terms[0], at)]) * float64(b[offset(terms[1], at)])
			return
		}
		for v := 0; v < size[letters[i]]; v++ {
			at[letters[i]] = v
			walk(i + 1)
		}
	}
	walk(0)
	r := make([]float32, n)
	for i, v := range res {
		r[i] = float32(v)
	}
	return r
}

// einsumModel is a graph of one Einsum with the equation as written (the
// shapes follow it without its spaces).
func einsumModel(eq string, size map[rune]int) ([]byte, [2][]int64, []int64) {
	lhs, out, _ := strings.Cut(strings.ReplaceAll(eq, " ", ""), "->")
	terms := strings.Split(lhs, ",")
	dims := func(t string) []int64 {
		var d []int64
		for _, c := range t {
			d = append(d, int64(size[c]))
		}
		return d
	}
	da, db, do := dims(terms[0]), dims(terms[1]), dims(out)
	return graphSpec{
		nodes:   []pbuf{node("Einsum", "attn", []string{"a", "b"}, []string{"y"}, aString("equation", eq))},
		inputs:  []pbuf{valueInfo("a", da...), valueInfo("b", db...)},
		outputs: []pbuf{valueInfo("y", do...)},
	}.encode(), [2][]int64{da, db}, do
}

// Einsums that are batched matrix products (MaxViT's two among them)
// import as one BatchMatMul, with a Transpose only where a batch letter is
// out of place, and compute what the equation says.
func TestEinsumBatchedMatMul(t *testing.T) {
	size := map[rune]int{'b': 2, 'g': 1, 'h': 3, 'i': 4, 'j': 5, 'd': 6, 'k': 6}
	rng := rand.New(rand.NewSource(9))
	for _, tc := range []struct {
		eq  string
		ops int // BatchMatMul plus transposes
	}{
		{"bghid,bghjd->bghij", 1}, // MaxViT: Q·Kᵀ (AdjY)
		{"bghij,bghjd->bghid", 1}, // MaxViT: attention·V
		{"bhki,bhkj->bhij", 1},    // AdjX
		{"ij,jk->ik", 1},
		{"hbid,bhjd->bhij", 2},    // operand 0 permuted
		{"bhid, bhjd -> bhji", 2}, // result permuted (spaces allowed)
	} {
		t.Run(strings.ReplaceAll(tc.eq, " ", ""), func(t *testing.T) {
			b, shapes, _ := einsumModel(tc.eq, size)
			r := importBytes(t, b)
			codes := opCodes(r.Model)
			bmm := 0
			for _, c := range codes {
				if c == format.OpBatchMatMul {
					bmm++
				}
			}
			if len(codes) != tc.ops || bmm != 1 {
				t.Errorf("ops %v, want %d with one BatchMatMul", codes, tc.ops)
			}
			na, nb := 1, 1
			for _, d := range shapes[0] {
				na *= int(d)
			}
			for _, d := range shapes[1] {
				nb *= int(d)
			}
			x, y := randFloats(rng, na, 1), randFloats(rng, nb, 1)
			want := einsumRef(strings.ReplaceAll(tc.eq, " ", ""), x, y, size)
			assertClose(t, "y", runModel(t, r.Model, x, y)[0], want, 1e-5)
		})
	}
}

// What is not a batched matrix product is refused with the equation and
// the reason.
func TestEinsumRefused(t *testing.T) {
	size := map[rune]int{'b': 2, 'i': 3, 'j': 4, 'k': 5}
	for _, tc := range []struct{ eq, want string }{
		{"bij,bjk->bik", ""},
		{"bij,bjk->bi", "summed within one operand"},
		{"bij,bjk->bijk", "0 summed letters"},
		{"bii,bik->bik", "repeats a letter"},
	} {
		b, _, _ := einsumModel(tc.eq, size)
		m, err := onnx.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		_, err = onnx.Import(m, onnx.Options{})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.eq, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.eq) {
			t.Errorf("%s: err %v, want one naming the equation and %q", tc.eq, err, tc.want)
		}
	}
	// No explicit output, and an ellipsis.
	for _, eq := range []string{"bij,bjk", "...ij,...jk->...ik"} {
		b := graphSpec{
			nodes:   []pbuf{node("Einsum", "e", []string{"a", "b"}, []string{"y"}, aString("equation", eq))},
			inputs:  []pbuf{valueInfo("a", 2, 3, 4), valueInfo("b", 2, 4, 5)},
			outputs: []pbuf{valueInfo("y", 2, 3, 5)},
		}.encode()
		m, err := onnx.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnx.Import(m, onnx.Options{}); err == nil || !strings.Contains(err.Error(), "Einsum") {
			t.Errorf("%s: err %v, want an Einsum error", eq, err)
		}
	}
}
