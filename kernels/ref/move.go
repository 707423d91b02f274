package ref

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/kernels"
)

// Data movement works on bytes: elemSize is the size of one element (1 for
// int8, 4 for float32 and int32), so one kernel serves every type.

// NewTranspose returns the plan of a transpose of a tensor of shape
// inShape by perm (out dim i is in dim perm[i]), right-aligned to
// kernels.MaxRank; the leading padding dims map to themselves.
func NewTranspose(inShape []int, perm []int) (kernels.TransposeParams, error) {
	var p kernels.TransposeParams
	r := len(inShape)
	if r > kernels.MaxRank {
		return p, fmt.Errorf("transpose of %v: rank above %d", inShape, kernels.MaxRank)
	}
	if len(perm) != r {
		return p, fmt.Errorf("transpose of %v: permutation %v has %d entries, want %d", inShape, perm, len(perm), r)
	}
	if err := checkDims("transpose", inShape); err != nil {
		return p, err
	}
	var seen [kernels.MaxRank]bool
	for _, v := range perm {
		if v < 0 || v >= r || seen[v] {
			return p, fmt.Errorf("transpose of %v: %v is not a permutation of 0…%d", inShape, perm, r-1)
		}
		seen[v] = true
	}
	alignShape(&p.InShape, inShape)
	k := kernels.MaxRank - r
	for i := range k {
		p.Perm[i] = i
	}
	for i, v := range perm {
		p.Perm[k+i] = k + v
	}
	return p, nil
}

// NewSlice returns the plan of a slice of a tensor of shape inShape that
// keeps, along axis i, the size[i] elements from begin[i]; size −1 means
// "to the end". begin[i] must be in [0, inShape[i]] and the slice must lie
// inside the tensor.
func NewSlice(inShape, begin, size []int) (kernels.SliceParams, error) {
	var p kernels.SliceParams
	r := len(inShape)
	if r > kernels.MaxRank {
		return p, fmt.Errorf("slice of %v: rank above %d", inShape, kernels.MaxRank)
	}
	if len(begin) != r || len(size) != r {
		return p, fmt.Errorf("slice of %v: begin %v and size %v need %d entries", inShape, begin, size, r)
	}
	if err := checkDims("slice", inShape); err != nil {
		return p, err
	}
	alignShape(&p.InShape, inShape)
	p.OutShape = p.InShape
	k := kernels.MaxRank - r
	for i, d := range inShape {
		b, s := begin[i], size[i]
		if s == -1 && b >= 0 {
			s = d - b
		}
		if b < 0 || b > d || s < 0 || s > d-b {
			return p, fmt.Errorf("slice of %v: axis %d: begin %d size %d outside [0, %d]", inShape, i, begin[i], size[i], d)
		}
		p.Begin[k+i] = b
		p.OutShape[k+i] = s
	}
	return p, nil
}

// NewPad returns the plan of a pad of a tensor of shape inShape with
// before[i] elements ahead of and after[i] elements behind axis i (both
// non-negative).
func NewPad(inShape []int, before, after []int) (kernels.SliceParams, error) {
	var p kernels.SliceParams
	r := len(inShape)
	if r > kernels.MaxRank {
		return p, fmt.Errorf("pad of %v: rank above %d", inShape, kernels.MaxRank)
	}
	if len(before) != r || len(after) != r {
		return p, fmt.Errorf("pad of %v: paddings %v, %v need %d entries", inShape, before, after, r)
	}
	if err := checkDims("pad", inShape); err != nil {
		return p, err
	}
	alignShape(&p.InShape, inShape)
	p.OutShape = p.InShape
	k := kernels.MaxRank - r
	for i, d := range inShape {
		if before[i] < 0 || after[i] < 0 {
			return p, fmt.Errorf("pad of %v: axis %d: negative padding %d, %d", inShape, i, before[i], after[i])
		}
		p.Begin[k+i] = before[i]
		p.OutShape[k+i] = before[i] + d + after[i]
	}
	return p, nil
}

func checkDims(op string, shape []int) error {
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("%s of %v: negative dimension", op, shape)
		}
	}
	return nil
}

// byteStrides returns the row-major strides, in bytes, of shape.
func byteStrides(shape *[kernels.MaxRank]int, elemSize int) (st [kernels.MaxRank]int) {
	s := elemSize
	for i := kernels.MaxRank - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

func count(shape *[kernels.MaxRank]int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// walker walks the outer MaxRank−1 dims of shape in row-major order and
// keeps off = Σ idx·stride.
type walker struct {
	idx [kernels.MaxRank - 1]int
	off int
}

func (w *walker) next(shape, stride *[kernels.MaxRank]int) {
	for d := kernels.MaxRank - 2; d >= 0; d-- {
		w.idx[d]++
		w.off += stride[d]
		if w.idx[d] < shape[d] {
			return
		}
		w.off -= w.idx[d] * stride[d]
		w.idx[d] = 0
	}
}

// TransposeBytes writes in, of shape p.InShape, permuted by p.Perm into
// out: out[i_0…i_5] = in[j] with j[p.Perm[k]] = i_k.
func TransposeBytes(p *kernels.TransposeParams, elemSize int, in, out []byte) {
	shape, stride := TransposeView(p, elemSize)
	CopyView(&shape, &stride, 0, elemSize, in, out)
}

// TransposeView returns the transpose as a strided view of its input:
// out[i_0…i_5] = in[Σ i_k·stride[k]] (bytes) over shape, with the dims
// merged as far as they are one run in the input (Coalesce).
func TransposeView(p *kernels.TransposeParams, elemSize int) (shape, stride [kernels.MaxRank]int) {
	inStride := byteStrides(&p.InShape, elemSize)
	for i, d := range p.Perm {
		shape[i] = p.InShape[d]
		stride[i] = inStride[d]
	}
	Coalesce(&shape, &stride, elemSize)
	return shape, stride
}

// Coalesce rewrites the strided view (shape, byte strides, right-aligned)
// with as few dims as possible: a dim of size 1 is dropped, and a dim
// whose stride is the size times the stride of the dim inside it is merged
// into that dim. The view reads the same bytes in the same order. With
// every dim dropped it is one element.
func Coalesce(shape, stride *[kernels.MaxRank]int, elemSize int) {
	var s, st [kernels.MaxRank]int
	for i := range s {
		s[i] = 1
	}
	k := kernels.MaxRank // dims kept so far: k…MaxRank−1
	for i := kernels.MaxRank - 1; i >= 0; i-- {
		switch {
		case shape[i] == 1:
		case k < kernels.MaxRank && stride[i] == st[k]*s[k]:
			s[k] *= shape[i]
		default:
			k--
			s[k], st[k] = shape[i], stride[i]
		}
	}
	if k == kernels.MaxRank {
		st[last] = elemSize
	}
	*shape, *stride = s, st
}

// CopyView writes the strided view of in (byte strides, base offset off)
// over shape into out, contiguously, in row-major order.
func CopyView(shape, stride *[kernels.MaxRank]int, off, elemSize int, in, out []byte) {
	n := count(shape)
	if n == 0 {
		return
	}
	inner, st := shape[last], stride[last]
	if st != elemSize {
		// Element by element along the last dim.
		var w walker
		for o := 0; o < n*elemSize; o += inner * elemSize {
			row := out[o : o+inner*elemSize]
			src := off + w.off
			switch elemSize {
			case 1:
				for j := range row {
					row[j] = in[src]
					src += st
				}
			default:
				for j := 0; j < len(row); j += elemSize {
					copy(row[j:j+elemSize], in[src:src+elemSize])
					src += st
				}
			}
			w.next(shape, stride)
		}
		return
	}
	// Runs of the last dim, contiguous in in: copy them along the dim
	// above, walking the outer dims.
	run := inner * elemSize
	rows, rst := shape[last-1], stride[last-1]
	outer := *shape
	outer[last-1] = 1
	var w walker
	for o := 0; o < n*elemSize; {
		src := off + w.off
		for r := 0; r < rows; r++ {
			copy(out[o:o+run], in[src:src+run])
			o += run
			src += rst
		}
		w.next(&outer, stride)
	}
}

// SliceBytes writes the slice of in (shape p.InShape) that starts at
// p.Begin and has shape p.OutShape into out: out[i] = in[i + Begin].
func SliceBytes(p *kernels.SliceParams, elemSize int, in, out []byte) {
	shape, stride, off := SliceView(p, elemSize)
	CopyView(&shape, &stride, off, elemSize, in, out)
}

// SliceView returns the slice as a strided view of its input (see
// TransposeView), starting off bytes in.
func SliceView(p *kernels.SliceParams, elemSize int) (shape, stride [kernels.MaxRank]int, off int) {
	stride = byteStrides(&p.InShape, elemSize)
	for i, b := range p.Begin {
		off += b * stride[i]
	}
	shape = p.OutShape
	Coalesce(&shape, &stride, elemSize)
	return shape, stride, off
}

// PadBytes writes in (shape p.InShape) into out (shape p.OutShape) at
// offset p.Begin, out[i + Begin] = in[i], and fills every other element of
// out with padValue, one element of elemSize bytes (the zero point byte of
// an int8 tensor, or the four bytes of float32 0).
func PadBytes(p *kernels.SliceParams, elemSize int, padValue []byte, in, out []byte) {
	out = out[:count(&p.OutShape)*elemSize]
	fill(out, padValue[:elemSize])
	n := count(&p.InShape)
	if n == 0 {
		return
	}
	stride := byteStrides(&p.OutShape, elemSize)
	w := walker{}
	for i, b := range p.Begin {
		w.off += b * stride[i]
	}
	rowBytes := p.InShape[last] * elemSize
	for o := 0; o < n*elemSize; o += rowBytes {
		copy(out[w.off:w.off+rowBytes], in[o:o+rowBytes])
		w.next(&p.InShape, &stride)
	}
}

// fill repeats the element v over out.
func fill(out, v []byte) {
	if len(v) == 0 || len(out) == 0 {
		return
	}
	n := copy(out, v)
	for n < len(out) {
		n += copy(out[n:], out[:n])
	}
}

// ConcatBytes concatenates the inputs along one axis. The tensors are
// viewed as outer rows: for each o in [0, outer), out receives chunk[i]
// bytes of ins[i] (bytes [o·chunk[i], (o+1)·chunk[i]) of it) for i in
// order.
func ConcatBytes(outer int, chunk []int, ins [][]byte, out []byte) {
	pos := 0
	for o := range outer {
		for i, in := range ins {
			c := chunk[i]
			pos += copy(out[pos:pos+c], in[o*c:(o+1)*c])
		}
	}
}

// GatherBytes gathers along one axis of in, viewed as [outer, axisLen,
// innerBytes]: out[o, j, :] = in[o, indices[j], :]. A negative index
// counts from the end (−1 is axisLen−1, as in ONNX); an index outside
// [−axisLen, axisLen) yields innerBytes zero bytes, so data-dependent
// indices cannot make the kernel read out of bounds.
func GatherBytes(outer, axisLen, innerBytes int, indices []int32, in, out []byte) {
	pos := 0
	for o := range outer {
		base := o * axisLen * innerBytes
		for _, ix := range indices {
			k := int(ix)
			if k < 0 {
				k += axisLen
			}
			dst := out[pos : pos+innerBytes]
			if k < 0 || k >= axisLen {
				clear(dst)
			} else {
				copy(dst, in[base+k*innerBytes:base+(k+1)*innerBytes])
			}
			pos += innerBytes
		}
	}
}
