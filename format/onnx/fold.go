package onnx

import (
	"fmt"
	"math"
)

// konst is a constant value known at import time: initializers, Constant
// nodes, and everything computed from them (shape arithmetic above all).
// Floating types are held in f, integer and bool types in i.
type konst struct {
	shape []int64
	float bool
	f     []float32
	i     []int64
	// q8 is set when the values came from DequantizeLinear of int8
	// weights: the original integers and their parameters.
	q8 *Int8Weight
}

// Int8Weight is a weight that arrived already quantized (an int8
// initializer behind DequantizeLinear): Values with Scale[c] and
// ZeroPoint[c] along Axis (one entry: per tensor).
type Int8Weight struct {
	Values    []int8
	Scale     []float32
	ZeroPoint []int32
	Axis      int
}

func (k *konst) len() int {
	if k.float {
		return len(k.f)
	}
	return len(k.i)
}

// floats returns the values as float32.
func (k *konst) floats() []float32 {
	if k.float {
		return k.f
	}
	out := make([]float32, len(k.i))
	for j, v := range k.i {
		out[j] = float32(v)
	}
	return out
}

// ints returns the values as int64 (floats truncated).
func (k *konst) ints() []int64 {
	if !k.float {
		return k.i
	}
	out := make([]int64, len(k.f))
	for j, v := range k.f {
		out[j] = int64(v)
	}
	return out
}

func tensorKonst(t *Tensor) (*konst, error) {
	if _, err := t.NumElements(); err != nil {
		return nil, t.errf("%w", err)
	}
	k := &konst{shape: append([]int64{}, t.Dims...)}
	switch t.DataType {
	case Float, Double, Float16:
		f, err := t.Float32s()
		if err != nil {
			return nil, err
		}
		k.float, k.f = true, f
	case Int8, Uint8, Int16, Uint16, Int32, Int64, Bool, Uint32, Uint64:
		i, err := t.Int64s()
		if err != nil {
			return nil, err
		}
		k.i = i
	default:
		return nil, t.errf("element type %v is not supported", t.DataType)
	}
	return k, nil
}

// strides returns row-major strides of shape.
func strides(shape []int64) []int64 {
	s := make([]int64, len(shape))
	n := int64(1)
	for d := len(shape) - 1; d >= 0; d-- {
		s[d] = n
		n *= shape[d]
	}
	return s
}

// broadcastShape is numpy broadcasting of a and b.
func broadcastShape(a, b []int64) ([]int64, error) {
	r := max(len(a), len(b))
	out := make([]int64, r)
	for d := 0; d < r; d++ {
		da, db := int64(1), int64(1)
		if i := d - (r - len(a)); i >= 0 {
			da = a[i]
		}
		if i := d - (r - len(b)); i >= 0 {
			db = b[i]
		}
		switch {
		case da == db || db == 1:
			out[d] = da
		case da == 1:
			out[d] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcastIndex maps every element of out to an element of in (which
// broadcasts to out).
func broadcastIndex(in, out []int64) []int {
	n, _ := numElements(out)
	idx := make([]int, n)
	r := len(out)
	ins := strides(in)
	eff := make([]int64, r)
	for d := 0; d < r; d++ {
		if i := d - (r - len(in)); i >= 0 && in[i] != 1 {
			eff[d] = ins[i]
		}
	}
	os := strides(out)
	for j := 0; j < n; j++ {
		rem, off := int64(j), int64(0)
		for d := 0; d < r; d++ {
			c := rem / os[d]
			rem %= os[d]
			off += c * eff[d]
		}
		idx[j] = int(off)
	}
	return idx
}

// binaryKonst folds an elementwise binary op.
func binaryKonst(op string, a, b *konst) (*konst, error) {
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	if _, err := numElements(shape); err != nil {
		return nil, err
	}
	ia, ib := broadcastIndex(a.shape, shape), broadcastIndex(b.shape, shape)
	out := &konst{shape: shape, float: a.float || b.float}
	if out.float {
		fa, fb := a.floats(), b.floats()
		out.f = make([]float32, len(ia))
		for j := range ia {
			x, y := fa[ia[j]], fb[ib[j]]
			switch op {
			case "Add":
				out.f[j] = x + y
			case "Sub":
				out.f[j] = x - y
			case "Mul":
				out.f[j] = x * y
			case "Div":
				out.f[j] = x / y
			case "Pow":
				out.f[j] = float32(math.Pow(float64(x), float64(y)))
			case "FMod":
				out.f[j] = float32(math.Mod(float64(x), float64(y)))
			case "Mod":
				r := math.Mod(float64(x), float64(y))
				if r != 0 && (r < 0) != (y < 0) {
					r += float64(y)
				}
				out.f[j] = float32(r)
			default:
				return nil, fmt.Errorf("cannot fold %s", op)
			}
		}
		return out, nil
	}
	xa, xb := a.ints(), b.ints()
	out.i = make([]int64, len(ia))
	for j := range ia {
		x, y := xa[ia[j]], xb[ib[j]]
		switch op {
		case "Add":
			out.i[j] = x + y
		case "Sub":
			out.i[j] = x - y
		case "Mul":
			out.i[j] = x * y
		case "Div":
			if y == 0 {
				return nil, fmt.Errorf("integer division by zero")
			}
			out.i[j] = x / y
		case "Mod", "FMod":
			if y == 0 {
				return nil, fmt.Errorf("integer modulo by zero")
			}
			r := x % y // the sign of x, as FMod wants
			if op == "Mod" && r != 0 && (r < 0) != (y < 0) {
				r += y // the sign of y
			}
			out.i[j] = r
		case "Equal":
			out.i[j] = b2i(x == y)
		default:
			return nil, fmt.Errorf("cannot fold %s on integers", op)
		}
	}
	return out, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// gather returns the elements of k whose flat indices are idx, with shape.
func (k *konst) gather(idx []int, shape []int64) *konst {
	out := &konst{shape: shape, float: k.float}
	if k.float {
		out.f = make([]float32, len(idx))
		for j, i := range idx {
			out.f[j] = k.f[i]
		}
	} else {
		out.i = make([]int64, len(idx))
		for j, i := range idx {
			out.i[j] = k.i[i]
		}
	}
	return out
}

// transposeIndex returns, for each element of the transposed tensor, its
// flat index in the source of shape in.
func transposeIndex(in []int64, perm []int) ([]int64, []int) {
	out := make([]int64, len(perm))
	for d, p := range perm {
		out[d] = in[p]
	}
	n, _ := numElements(in)
	ins := strides(in)
	os := strides(out)
	idx := make([]int, n)
	for j := 0; j < n; j++ {
		rem, off := int64(j), int64(0)
		for d := range out {
			c := rem / os[d]
			rem %= os[d]
			off += c * ins[perm[d]]
		}
		idx[j] = int(off)
	}
	return out, idx
}

// sliceIndex returns the flat indices of x[starts:ends:steps] along axes.
func sliceIndex(shape []int64, starts, ends, steps []int64) ([]int64, []int) {
	r := len(shape)
	out := make([]int64, r)
	for d := 0; d < r; d++ {
		n := int64(0)
		if steps[d] > 0 && ends[d] > starts[d] {
			n = (ends[d] - starts[d] + steps[d] - 1) / steps[d]
		} else if steps[d] < 0 && starts[d] > ends[d] {
			n = (starts[d] - ends[d] - steps[d] - 1) / -steps[d]
		}
		out[d] = n
	}
	total, _ := numElements(out)
	ins := strides(shape)
	os := strides(out)
	idx := make([]int, total)
	for j := 0; j < total; j++ {
		rem, off := int64(j), int64(0)
		for d := 0; d < r; d++ {
			c := rem / os[d]
			rem %= os[d]
			off += (starts[d] + c*steps[d]) * ins[d]
		}
		idx[j] = int(off)
	}
	return out, idx
}

// concatKonst joins constants along axis.
func concatKonst(ks []*konst, axis int) (*konst, error) {
	shape := append([]int64{}, ks[0].shape...)
	float := false
	for _, k := range ks {
		float = float || k.float
	}
	shape[axis] = 0
	for _, k := range ks {
		if len(k.shape) != len(shape) {
			return nil, fmt.Errorf("concat of ranks %d and %d", len(k.shape), len(shape))
		}
		for d := range shape {
			if d != axis && k.shape[d] != shape[d] {
				return nil, fmt.Errorf("concat of shapes %v and %v along axis %d", ks[0].shape, k.shape, axis)
			}
		}
		shape[axis] += k.shape[axis]
	}
	if _, err := numElements(shape); err != nil {
		return nil, err
	}
	outer := int64(1)
	for d := 0; d < axis; d++ {
		outer *= shape[d]
	}
	out := &konst{shape: shape, float: float}
	for o := int64(0); o < outer; o++ {
		for _, k := range ks {
			inner := int64(1)
			for d := axis; d < len(shape); d++ {
				inner *= k.shape[d]
			}
			if float {
				out.f = append(out.f, k.floats()[o*inner:(o+1)*inner]...)
			} else {
				out.i = append(out.i, k.i[o*inner:(o+1)*inner]...)
			}
		}
	}
	return out, nil
}

// scatterND folds ScatterND: a copy of data with the slices that the last
// axis of indices addresses replaced by updates.
func scatterND(data, indices, updates *konst) (*konst, error) {
	r, q := len(data.shape), len(indices.shape)
	if q == 0 {
		return nil, fmt.Errorf("ScatterND: scalar indices")
	}
	depth := indices.shape[q-1]
	if depth < 1 || depth > int64(r) {
		return nil, fmt.Errorf("ScatterND: index depth %d for data of rank %d", depth, r)
	}
	wantUpd := append(append([]int64{}, indices.shape[:q-1]...), data.shape[depth:]...)
	if !equalShape(updates.shape, wantUpd) {
		return nil, fmt.Errorf("ScatterND: updates %v, want %v", updates.shape, wantUpd)
	}
	slice := int64(1)
	for _, d := range data.shape[depth:] {
		slice *= d
	}
	out := &konst{shape: data.shape, float: data.float || updates.float}
	var uf []float32
	var ui []int64
	if out.float {
		out.f, uf = append([]float32(nil), data.floats()...), updates.floats()
	} else {
		out.i, ui = append([]int64(nil), data.ints()...), updates.ints()
	}
	ix := indices.ints()
	for u := 0; u < len(ix)/int(depth); u++ {
		off := int64(0)
		for a, v := range ix[u*int(depth) : (u+1)*int(depth)] {
			dim := data.shape[a]
			if v < 0 {
				v += dim
			}
			if v < 0 || v >= dim {
				return nil, fmt.Errorf("ScatterND: index %d out of range for axis %d of size %d", ix[u*int(depth)+a], a, dim)
			}
			off = off*dim + v
		}
		off *= slice
		if out.float {
			copy(out.f[off:off+slice], uf[int64(u)*slice:])
		} else {
			copy(out.i[off:off+slice], ui[int64(u)*slice:])
		}
	}
	return out, nil
}

// constUnary holds the activations folded when their input is constant.
var constUnary = map[string]func(float64) float64{
	"Relu":    func(x float64) float64 { return math.Max(x, 0) },
	"Sigmoid": func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	"Tanh":    math.Tanh,
}

// matMulKonst folds MatMul of two constants of rank ≥ 2 with equal batch
// dimensions (or a rank-2 b shared by every batch), accumulating in
// float64.
func matMulKonst(a, b *konst) (*konst, error) {
	ra, rb := len(a.shape), len(b.shape)
	if ra < 2 || rb < 2 {
		return nil, fmt.Errorf("%w: MatMul of constants of ranks %d and %d", ErrUnsupported, ra, rb)
	}
	m, k, n := a.shape[ra-2], a.shape[ra-1], b.shape[rb-1]
	if b.shape[rb-2] != k || (rb > 2 && !equalShape(a.shape[:ra-2], b.shape[:rb-2])) {
		return nil, fmt.Errorf("MatMul of constants %v and %v", a.shape, b.shape)
	}
	shape := append(append([]int64{}, a.shape[:ra-2]...), m, n)
	total, err := numElements(shape)
	if err != nil || int64(total)*k > 1<<30 {
		return nil, fmt.Errorf("%w: MatMul of constants %v and %v is too large to fold", ErrUnsupported, a.shape, b.shape)
	}
	fa, fb := a.floats(), b.floats()
	out := &konst{shape: shape, float: true, f: make([]float32, total)}
	batches := total / int(m*n)
	for bt := 0; bt < batches; bt++ {
		ao, bo := bt*int(m*k), 0
		if rb > 2 {
			bo = bt * int(k*n)
		}
		for i := 0; i < int(m); i++ {
			for j := 0; j < int(n); j++ {
				s := 0.0
				for l := 0; l < int(k); l++ {
					s += float64(fa[ao+i*int(k)+l]) * float64(fb[bo+l*int(n)+j])
				}
				out.f[(bt*int(m)+i)*int(n)+j] = float32(s)
			}
		}
	}
	return out, nil
}

// clipKonst folds Clip of a constant with constant bounds.
func (im *importer) clipKonst(n *Node, x *konst) error {
	lo, hi := math.Inf(-1), math.Inf(1)
	for j, b := range []*float64{&lo, &hi} {
		v, err := im.in(n, j+1)
		if err != nil {
			return err
		}
		if v == nil {
			continue
		}
		if v.k == nil || v.k.len() != 1 {
			return fmt.Errorf("%w: Clip of a constant with a runtime bound", ErrUnsupported)
		}
		*b = float64(v.k.floats()[0])
	}
	k := &konst{shape: x.shape, float: true}
	for _, v := range x.floats() {
		k.f = append(k.f, float32(math.Min(math.Max(float64(v), lo), hi)))
	}
	im.setConst(n, 0, k)
	return nil
}
