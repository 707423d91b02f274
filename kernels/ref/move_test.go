package ref

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels"
)

func ewBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func ewRandomShape(r *rand.Rand, rank, maxDim int) []int {
	s := make([]int, rank)
	for i := range s {
		s[i] = 1 + r.IntN(maxDim)
	}
	return s
}

var ewElemSizes = []int{1, 2, 4, 3}

func TestTransposeRandom(t *testing.T) {
	r := ewRand(t, 40)
	for iter := range ewIters(300) {
		rank := 1 + iter%6
		shape := ewRandomShape(r, rank, 4)
		perm := r.Perm(rank)
		es := ewElemSizes[iter%len(ewElemSizes)]
		p, err := NewTranspose(shape, perm)
		if err != nil {
			t.Fatal(err)
		}
		n := ewCount(shape)
		in := ewBytes(r, n*es)
		out := make([]byte, n*es+1)
		out[n*es] = 0xAA
		TransposeBytes(&p, es, in, out[:n*es])
		if out[n*es] != 0xAA {
			t.Fatalf("TransposeBytes wrote past its output")
		}
		// Independent: for every output index, find the input index.
		outShape := make([]int, rank)
		for i, d := range perm {
			outShape[i] = shape[d]
		}
		oi, ii := make([]int, rank), make([]int, rank)
		for o := range n {
			ewUnravel(outShape, o, oi)
			for k, d := range perm {
				ii[d] = oi[k]
			}
			src := ewRavel(shape, ii)
			if !bytes.Equal(out[o*es:(o+1)*es], in[src*es:(src+1)*es]) {
				t.Fatalf("transpose %v by %v, element size %d: out[%d] = %x, want in[%d] = %x",
					shape, perm, es, o, out[o*es:(o+1)*es], src, in[src*es:(src+1)*es])
			}
		}
		// Twice, with the inverse permutation, is the identity.
		inv := make([]int, rank)
		for i, d := range perm {
			inv[d] = i
		}
		q, err := NewTranspose(outShape, inv)
		if err != nil {
			t.Fatal(err)
		}
		back := make([]byte, n*es)
		TransposeBytes(&q, es, out[:n*es], back)
		if !bytes.Equal(back, in) {
			t.Fatalf("transpose %v by %v then %v is not the identity", shape, perm, inv)
		}
	}
}

func TestTransposeHand(t *testing.T) {
	p, err := NewTranspose([]int{2, 3}, []int{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := (kernels.TransposeParams{InShape: [6]int{1, 1, 1, 1, 2, 3}, Perm: [6]int{0, 1, 2, 3, 5, 4}}); p != want {
		t.Errorf("NewTranspose = %+v, want %+v", p, want)
	}
	out := make([]byte, 6)
	TransposeBytes(&p, 1, []byte{1, 2, 3, 4, 5, 6}, out)
	if want := []byte{1, 4, 2, 5, 3, 6}; !bytes.Equal(out, want) {
		t.Errorf("TransposeBytes = %v, want %v", out, want)
	}
	// NHWC [1,2,2,2] → NCHW.
	p, _ = NewTranspose([]int{1, 2, 2, 2}, []int{0, 3, 1, 2})
	out = make([]byte, 8)
	TransposeBytes(&p, 1, []byte{0, 10, 1, 11, 2, 12, 3, 13}, out)
	if want := []byte{0, 1, 2, 3, 10, 11, 12, 13}; !bytes.Equal(out, want) {
		t.Errorf("NHWC→NCHW = %v, want %v", out, want)
	}
	// Zero-sized tensors are a no-op.
	p, _ = NewTranspose([]int{0, 3}, []int{1, 0})
	TransposeBytes(&p, 4, nil, nil)
	for _, c := range []struct {
		shape, perm []int
		msg         string
	}{
		{[]int{2, 3}, []int{0, 0}, "not a permutation"},
		{[]int{2, 3}, []int{0, 2}, "not a permutation"},
		{[]int{2, 3}, []int{0}, "entries"},
		{[]int{1, 1, 1, 1, 1, 1, 1}, []int{0, 1, 2, 3, 4, 5, 6}, "rank"},
		{[]int{-2, 3}, []int{1, 0}, "negative"},
	} {
		if _, err := NewTranspose(c.shape, c.perm); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("NewTranspose(%v, %v) = %v, want an error about %q", c.shape, c.perm, err, c.msg)
		}
	}
}

func TestSlicePadRandom(t *testing.T) {
	r := ewRand(t, 41)
	for iter := range ewIters(300) {
		rank := 1 + iter%6
		shape := ewRandomShape(r, rank, 5)
		es := ewElemSizes[iter%len(ewElemSizes)]
		begin, size := make([]int, rank), make([]int, rank)
		outShape := make([]int, rank)
		for i, d := range shape {
			begin[i] = r.IntN(d + 1)
			size[i] = r.IntN(d - begin[i] + 1)
			if r.IntN(3) == 0 {
				size[i] = -1
			}
			outShape[i] = size[i]
			if size[i] == -1 {
				outShape[i] = d - begin[i]
			}
		}
		p, err := NewSlice(shape, begin, size)
		if err != nil {
			t.Fatal(err)
		}
		n, m := ewCount(shape), ewCount(outShape)
		in := ewBytes(r, n*es)
		out := make([]byte, m*es+1)
		out[m*es] = 0xAA
		SliceBytes(&p, es, in, out[:m*es])
		if out[m*es] != 0xAA {
			t.Fatal("SliceBytes wrote past its output")
		}
		oi, ii := make([]int, rank), make([]int, rank)
		for o := range m {
			ewUnravel(outShape, o, oi)
			for k := range oi {
				ii[k] = oi[k] + begin[k]
			}
			src := ewRavel(shape, ii)
			if !bytes.Equal(out[o*es:(o+1)*es], in[src*es:(src+1)*es]) {
				t.Fatalf("slice %v at %v size %v: out[%d] differs", shape, begin, size, o)
			}
		}

		// Pad the input, check every element, then slice it back.
		before, after := make([]int, rank), make([]int, rank)
		padded := make([]int, rank)
		for i, d := range shape {
			before[i], after[i] = r.IntN(3), r.IntN(3)
			padded[i] = before[i] + d + after[i]
		}
		pp, err := NewPad(shape, before, after)
		if err != nil {
			t.Fatal(err)
		}
		pad := ewBytes(r, es)
		pout := make([]byte, ewCount(padded)*es)
		PadBytes(&pp, es, pad, in, pout)
		pi := make([]int, rank)
		for o := range ewCount(padded) {
			ewUnravel(padded, o, pi)
			inside := true
			for k := range pi {
				ii[k] = pi[k] - before[k]
				inside = inside && ii[k] >= 0 && ii[k] < shape[k]
			}
			want := pad
			if inside {
				src := ewRavel(shape, ii)
				want = in[src*es : (src+1)*es]
			}
			if !bytes.Equal(pout[o*es:(o+1)*es], want) {
				t.Fatalf("pad %v by %v, %v: out[%d] = %x, want %x", shape, before, after, o, pout[o*es:(o+1)*es], want)
			}
		}
		sp, err := NewSlice(padded, before, shape)
		if err != nil {
			t.Fatal(err)
		}
		back := make([]byte, n*es)
		SliceBytes(&sp, es, pout, back)
		if !bytes.Equal(back, in) {
			t.Fatalf("pad %v by %v, %v then slice is not the identity", shape, before, after)
		}
	}
}

func TestSlicePadHand(t *testing.T) {
	// [[1 2 3] [4 5 6]] sliced at [0 1] size [2 −1] → [[2 3] [5 6]].
	p, err := NewSlice([]int{2, 3}, []int{0, 1}, []int{2, -1})
	if err != nil {
		t.Fatal(err)
	}
	if p.OutShape != [6]int{1, 1, 1, 1, 2, 2} || p.Begin != [6]int{0, 0, 0, 0, 0, 1} {
		t.Errorf("NewSlice = %+v", p)
	}
	out := make([]byte, 4)
	SliceBytes(&p, 1, []byte{1, 2, 3, 4, 5, 6}, out)
	if want := []byte{2, 3, 5, 6}; !bytes.Equal(out, want) {
		t.Errorf("SliceBytes = %v, want %v", out, want)
	}
	// [1 2] padded by 1 before and 2 after with the int8 zero point −3.
	pp, err := NewPad([]int{2}, []int{1}, []int{2})
	if err != nil {
		t.Fatal(err)
	}
	out = make([]byte, 5)
	zp := int8(-3)
	PadBytes(&pp, 1, []byte{byte(zp)}, []byte{1, 2}, out)
	if want := []byte{0xfd, 1, 2, 0xfd, 0xfd}; !bytes.Equal(out, want) {
		t.Errorf("PadBytes = %v, want %v", out, want)
	}
	// A float32 [1,1] padded to [2,3] with 0.
	pp, _ = NewPad([]int{1, 1}, []int{1, 1}, []int{0, 1})
	out = make([]byte, 24)
	for i := range out {
		out[i] = 0xff // the kernel overwrites everything
	}
	PadBytes(&pp, 4, make([]byte, 4), []byte{1, 2, 3, 4}, out)
	want := make([]byte, 24)
	copy(want[16:], []byte{1, 2, 3, 4})
	if !bytes.Equal(out, want) {
		t.Errorf("PadBytes float = %v, want %v", out, want)
	}
	for _, c := range []struct {
		err error
		msg string
	}{
		{ewErr(NewSlice([]int{2, 3}, []int{0, 2}, []int{1, 2})), "outside"},
		{ewErr(NewSlice([]int{2, 3}, []int{-1, 0}, []int{1, 1})), "outside"},
		{ewErr(NewSlice([]int{2, 3}, []int{3, 0}, []int{-1, 1})), "outside"},
		{ewErr(NewSlice([]int{2, 3}, []int{0}, []int{1, 1})), "entries"},
		{ewErr(NewPad([]int{2, 3}, []int{0, -1}, []int{0, 0})), "negative"},
		{ewErr(NewPad([]int{2, 3}, []int{0, 0}, []int{0})), "entries"},
		{ewErr(NewPad(make([]int, 7), make([]int, 7), make([]int, 7))), "rank"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.msg) {
			t.Errorf("error %v, want one about %q", c.err, c.msg)
		}
	}
}

func ewErr(_ kernels.SliceParams, err error) error { return err }

func TestConcatBytes(t *testing.T) {
	// Concat along axis 1 of [2,1] and [2,2] int8 tensors.
	out := make([]byte, 6)
	ConcatBytes(2, []int{1, 2}, [][]byte{{1, 2}, {10, 11, 20, 21}}, out)
	if want := []byte{1, 10, 11, 2, 20, 21}; !bytes.Equal(out, want) {
		t.Errorf("ConcatBytes = %v, want %v", out, want)
	}
	// Random: concat along a random axis, checked element by element.
	r := ewRand(t, 42)
	for iter := range ewIters(100) {
		rank := 1 + r.IntN(4)
		axis := r.IntN(rank)
		es := ewElemSizes[iter%len(ewElemSizes)]
		base := ewRandomShape(r, rank, 4)
		k := 1 + r.IntN(4)
		shapes := make([][]int, k)
		ins := make([][]byte, k)
		chunk := make([]int, k)
		outer := ewCount(base[:axis])
		innerElems := ewCount(base[axis+1:])
		total := 0
		for i := range k {
			shapes[i] = slices.Clone(base)
			shapes[i][axis] = r.IntN(4)
			ins[i] = ewBytes(r, ewCount(shapes[i])*es)
			chunk[i] = shapes[i][axis] * innerElems * es
			total += shapes[i][axis]
		}
		outShape := slices.Clone(base)
		outShape[axis] = total
		out := make([]byte, ewCount(outShape)*es)
		ConcatBytes(outer, chunk, ins, out)
		idx := make([]int, rank)
		for o := range ewCount(outShape) {
			ewUnravel(outShape, o, idx)
			a, i := idx[axis], 0
			for a >= shapes[i][axis] {
				a -= shapes[i][axis]
				i++
			}
			idx[axis] = a
			src := ewRavel(shapes[i], idx)
			if !bytes.Equal(out[o*es:(o+1)*es], ins[i][src*es:(src+1)*es]) {
				t.Fatalf("concat of %v along %d: out[%d] differs", shapes, axis, o)
			}
		}
	}
}

func TestGatherBytes(t *testing.T) {
	// x [2,3,2] int8, gather along axis 1 with indices [2, 0, −1, 3, −4].
	in := []byte{0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121}
	out := make([]byte, 2*5*2)
	GatherBytes(2, 3, 2, []int32{2, 0, -1, 3, -4}, in, out)
	want := []byte{
		20, 21, 0, 1, 20, 21, 0, 0, 0, 0,
		120, 121, 100, 101, 120, 121, 0, 0, 0, 0,
	}
	if !bytes.Equal(out, want) {
		t.Errorf("GatherBytes = %v, want %v", out, want)
	}
	// Embedding lookup: outer 1, rows of 4 float32s.
	r := ewRand(t, 43)
	table := ewBytes(r, 10*16)
	idx := []int32{9, 0, 3, 3}
	out = make([]byte, 4*16)
	GatherBytes(1, 10, 16, idx, table, out)
	for i, k := range idx {
		if !bytes.Equal(out[i*16:(i+1)*16], table[k*16:(k+1)*16]) {
			t.Errorf("embedding row %d differs", i)
		}
	}
}

func TestMoveAllocs(t *testing.T) {
	r := ewRand(t, 44)
	tp, _ := NewTranspose([]int{2, 3, 4, 5}, []int{3, 1, 0, 2})
	sp, _ := NewSlice([]int{2, 3, 4, 5}, []int{1, 0, 1, 2}, []int{1, -1, 2, 3})
	pp, _ := NewPad([]int{2, 3, 4, 5}, []int{0, 1, 1, 0}, []int{1, 0, 1, 2})
	in, out := ewBytes(r, 120*4), make([]byte, 3*4*6*7*4)
	pad := []byte{0, 0, 0, 0}
	ins := [][]byte{in[:24], in[24:72]}
	idx := []int32{1, 0, 2}
	for _, k := range []struct {
		name string
		f    func()
	}{
		{"TransposeBytes", func() { TransposeBytes(&tp, 4, in, out) }},
		{"TransposeBytes/1", func() { TransposeBytes(&tp, 1, in[:120], out) }},
		{"SliceBytes", func() { SliceBytes(&sp, 4, in, out) }},
		{"PadBytes", func() { PadBytes(&pp, 4, pad, in, out) }},
		{"ConcatBytes", func() { ConcatBytes(4, []int{6, 12}, ins, out) }},
		{"GatherBytes", func() { GatherBytes(2, 3, 8, idx, in, out) }},
	} {
		ewAllocs(t, k.name, k.f)
	}
}

func BenchmarkTransposeBytes(b *testing.B) {
	// Attention heads: [197, 3, 64] → [3, 197, 64].
	p, _ := NewTranspose([]int{197, 3, 64}, []int{1, 0, 2})
	in, out := make([]byte, 197*3*64), make([]byte, 197*3*64)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		TransposeBytes(&p, 1, in, out)
	}
}
