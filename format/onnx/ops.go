package onnx

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
)

// node translates one ONNX node.
func (im *importer) node(n *Node) error {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return fmt.Errorf("%w: op %s of domain %q", ErrUnsupported, n.OpType, n.Domain)
	}
	if len(n.Outputs) == 0 {
		return fmt.Errorf("node has no outputs")
	}
	for _, a := range n.Attributes {
		if a.Graphs > 0 {
			return fmt.Errorf("%w: op %s with a subgraph attribute %q", ErrUnsupported, n.OpType, a.Name)
		}
	}
	switch n.OpType {
	case "Constant":
		return im.constant(n)
	case "Identity", "Dropout":
		v, err := im.need(n, 0)
		if err != nil {
			return err
		}
		if len(n.Outputs) > 1 && n.Outputs[1] != "" && im.uses[n.Outputs[1]] > 0 {
			return fmt.Errorf("%w: %s mask output is used", ErrUnsupported, n.OpType)
		}
		nv := *v
		nv.name = n.Outputs[0]
		im.vals[n.Outputs[0]] = &nv
		return nil
	case "Cast":
		return im.cast(n)
	case "Shape":
		return im.shapeOp(n)
	case "Reshape", "Flatten", "Squeeze", "Unsqueeze":
		return im.reshapeOp(n)
	case "Transpose":
		return im.transpose(n)
	case "Gather":
		return im.gather(n)
	case "Concat":
		return im.concat(n)
	case "Slice":
		return im.slice(n)
	case "Split":
		return im.split(n)
	case "Expand", "Tile", "ConstantOfShape", "Range", "Equal", "Where", "Sqrt", "Erf", "Neg", "Reciprocal",
		"Not", "ScatterND", "Exp":
		if im.passRecip(n) {
			return nil
		}
		return im.foldOnly(n)
	case "Add", "Sub", "Mul", "Div", "Pow", "Mod":
		return im.binary(n)
	case "MatMul":
		return im.matMul(n)
	case "Einsum":
		return im.einsum(n)
	case "Gemm":
		return im.gemm(n)
	case "Conv":
		return im.conv(n)
	case "MaxPool", "AveragePool":
		return im.pool(n)
	case "GlobalAveragePool":
		return im.globalAvgPool(n)
	case "Pad":
		return im.pad(n)
	case "ReduceL2":
		return im.reduceL2(n)
	case "BatchNormalization":
		return im.batchNorm(n)
	case "LayerNormalization":
		return im.layerNorm(n)
	case "Softmax":
		return im.softmax(n)
	case "ReduceMean":
		return im.reduceMean(n)
	case "Relu", "Gelu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "Clip":
		if im.passRecip(n) {
			return nil
		}
		return im.unary(n)
	case "DequantizeLinear":
		if v, err := im.need(n, 0); err == nil && v.k == nil {
			return im.activationQDQ(n, v)
		}
		return im.dequantize(n)
	case "QuantizeLinear":
		v, err := im.need(n, 0)
		if err != nil {
			return err
		}
		if v.k != nil {
			return fmt.Errorf("%w: QuantizeLinear %q of a constant", ErrUnsupported, n.Name)
		}
		return im.activationQDQ(n, v)
	}
	return fmt.Errorf("%w: op %s", ErrUnsupported, n.OpType)
}

func (im *importer) constant(n *Node) error {
	if len(n.Attributes) != 1 {
		return fmt.Errorf("Constant has %d attributes, want 1", len(n.Attributes))
	}
	a := &n.Attributes[0]
	var k *konst
	switch a.Name {
	case "value":
		if a.T == nil {
			return fmt.Errorf("value attribute holds no tensor")
		}
		var err error
		if k, err = tensorKonst(a.T); err != nil {
			return err
		}
	case "value_float":
		k = &konst{float: true, f: []float32{a.F}}
	case "value_floats":
		k = &konst{shape: []int64{int64(len(a.Floats))}, float: true, f: a.Floats}
	case "value_int":
		k = &konst{i: []int64{a.I}}
	case "value_ints":
		k = &konst{shape: []int64{int64(len(a.Ints))}, i: a.Ints}
	default:
		return fmt.Errorf("%w: Constant attribute %q", ErrUnsupported, a.Name)
	}
	im.setConst(n, 0, k)
	return nil
}

func (im *importer) cast(n *Node) error {
	v, err := im.need(n, 0)
	if err != nil {
		return err
	}
	to := DataType(attrInt(n, "to", 0))
	if v.k == nil {
		if to != Float {
			return fmt.Errorf("%w: Cast of a runtime tensor to %v", ErrUnsupported, to)
		}
		nv := *v
		nv.name = n.Outputs[0]
		im.vals[n.Outputs[0]] = &nv
		return nil
	}
	k := &konst{shape: v.k.shape}
	switch to {
	case Float, Double, Float16:
		k.float, k.f = true, v.k.floats()
	case Bool:
		for _, x := range v.k.floats() {
			k.i = append(k.i, b2i(x != 0))
		}
	case Int8, Uint8, Int16, Uint16, Int32, Int64, Uint32, Uint64:
		k.i = v.k.ints()
	default:
		return fmt.Errorf("%w: Cast to %v", ErrUnsupported, to)
	}
	im.setConst(n, 0, k)
	return nil
}

func (im *importer) shapeOp(n *Node) error {
	v, err := im.need(n, 0)
	if err != nil {
		return err
	}
	r := int64(len(v.shape))
	start, end := attrInt(n, "start", 0), attrInt(n, "end", r)
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = min(max(start, 0), r), min(max(end, 0), r)
	s := []int64{}
	if end > start {
		s = append(s, v.shape[start:end]...)
	}
	im.setConst(n, 0, &konst{shape: []int64{int64(len(s))}, i: s})
	return nil
}

func (im *importer) reshapeOp(n *Node) error {
	v, err := im.need(n, 0)
	if err != nil {
		return err
	}
	var shape []int64
	switch n.OpType {
	case "Reshape":
		k, err := im.needConst(n, 1, "target shape")
		if err != nil {
			return err
		}
		shape, err = reshapeTarget(v.shape, k.ints(), attrInt(n, "allowzero", 0) != 0)
		if err != nil {
			return err
		}
	case "Flatten":
		axis := attrInt(n, "axis", 1)
		if axis < 0 {
			axis += int64(len(v.shape))
		}
		if axis < 0 || axis > int64(len(v.shape)) {
			return fmt.Errorf("axis %d out of range for rank %d", attrInt(n, "axis", 1), len(v.shape))
		}
		a, _ := numElements(v.shape[:axis])
		b, _ := numElements(v.shape[axis:])
		shape = []int64{int64(a), int64(b)}
	case "Squeeze":
		var axes []int64
		if a, err := im.in(n, 1); err != nil {
			return err
		} else if a != nil {
			if a.k == nil {
				return fmt.Errorf("%w: axes are not constant", ErrUnsupported)
			}
			axes = a.k.ints()
		}
		drop := map[int]bool{}
		for _, ax := range axes {
			d, err := normAxis(ax, len(v.shape))
			if err != nil {
				return err
			}
			if v.shape[d] != 1 {
				return fmt.Errorf("cannot squeeze axis %d of shape %v", ax, v.shape)
			}
			drop[d] = true
		}
		shape = []int64{}
		for d, x := range v.shape {
			if (len(axes) == 0 && x == 1) || drop[d] {
				continue
			}
			shape = append(shape, x)
		}
	case "Unsqueeze":
		k, err := im.needConst(n, 1, "axes")
		if err != nil {
			return err
		}
		r := len(v.shape) + k.len()
		ins := make([]bool, r)
		for _, ax := range k.ints() {
			d, err := normAxis(ax, r)
			if err != nil {
				return err
			}
			if ins[d] {
				return fmt.Errorf("axis %d repeated", ax)
			}
			ins[d] = true
		}
		shape = make([]int64, 0, r)
		j := 0
		for d := 0; d < r; d++ {
			if ins[d] {
				shape = append(shape, 1)
			} else {
				shape = append(shape, v.shape[j])
				j++
			}
		}
	}
	return im.reshape(n, v, shape)
}

// reshapeTarget applies ONNX Reshape's 0 and −1 rules.
func reshapeTarget(in, target []int64, allowZero bool) ([]int64, error) {
	if len(target) > 8 {
		return nil, fmt.Errorf("%w: reshape to rank %d", ErrUnsupported, len(target))
	}
	out := make([]int64, len(target))
	infer := -1
	known := int64(1)
	for d, t := range target {
		switch {
		case t == 0 && !allowZero:
			if d >= len(in) {
				return nil, fmt.Errorf("reshape target %v copies dimension %d of %v", target, d, in)
			}
			out[d] = in[d]
		case t == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("reshape target %v has two −1", target)
			}
			infer = d
			continue
		case t < 0:
			return nil, fmt.Errorf("reshape target %v has dimension %d", target, t)
		default:
			out[d] = t
		}
		if out[d] > 0 && known > int64(MaxElements)/out[d] {
			return nil, fmt.Errorf("reshape target %v is too large", target)
		}
		known *= out[d]
	}
	total, err := numElements(in)
	if err != nil {
		return nil, err
	}
	if infer >= 0 {
		if known == 0 || int64(total)%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, target)
		}
		out[infer] = int64(total) / known
	}
	if n, _ := numElements(out); n != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, target)
	}
	return out, nil
}

func (im *importer) transpose(n *Node) error {
	v, err := im.need(n, 0)
	if err != nil {
		return err
	}
	r := len(v.shape)
	perm := make([]int, r)
	if p := attrInts(n, "perm"); p != nil {
		if len(p) != r {
			return fmt.Errorf("perm %v for rank %d", p, r)
		}
		seen := make([]bool, r)
		for d, x := range p {
			a, err := normAxis(x, r)
			if err != nil || seen[a] {
				return fmt.Errorf("perm %v is not a permutation", p)
			}
			seen[a] = true
			perm[d] = a
		}
	} else {
		for d := range perm {
			perm[d] = r - 1 - d
		}
	}
	if v.k != nil {
		shape, idx := transposeIndex(v.shape, perm)
		im.setConst(n, 0, v.k.gather(idx, shape))
		return nil
	}
	out := make([]int64, r)
	for d, p := range perm {
		out[d] = v.shape[p]
	}
	// NCHW→NHWC of a value that already exists as NHWC costs nothing.
	if r == 4 && v.nhwc >= 0 && perm[0] == 0 && perm[1] == 2 && perm[2] == 3 && perm[3] == 1 {
		im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: out, t: v.nhwc, nhwc: -1, op: -1}
		return nil
	}
	x, err := im.materialize(v)
	if err != nil {
		return err
	}
	t, err := im.permute(x, v.shape, perm, n.Name, n.Outputs[0])
	if err != nil {
		return err
	}
	im.setTensor(n, 0, t, out)
	return nil
}

func (im *importer) gather(n *Node) error {
	v, err := im.need(n, 0)
	if err != nil {
		return err
	}
	idx, err := im.needConst(n, 1, "indices")
	if err != nil {
		return err
	}
	r := len(v.shape)
	if r == 0 {
		return fmt.Errorf("Gather on a scalar")
	}
	axis, err := normAxis(attrInt(n, "axis", 0), r)
	if err != nil {
		return err
	}
	ids := append([]int64{}, idx.ints()...)
	for j, x := range ids {
		if x < 0 {
			x += v.shape[axis]
		}
		if x < 0 || x >= v.shape[axis] {
			return fmt.Errorf("index %d out of range for axis %d of %v", ids[j], axis, v.shape)
		}
		ids[j] = x
	}
	outShape := append(append(append([]int64{}, v.shape[:axis]...), idx.shape...), v.shape[axis+1:]...)
	if v.k != nil {
		outer, _ := numElements(v.shape[:axis])
		inner, _ := numElements(v.shape[axis+1:])
		var flat []int
		for o := 0; o < outer; o++ {
			for _, x := range ids {
				base := (o*int(v.shape[axis]) + int(x)) * inner
				for i := 0; i < inner; i++ {
					flat = append(flat, base+i)
				}
			}
		}
		im.setConst(n, 0, v.k.gather(flat, outShape))
		return nil
	}
	x, err := im.materialize(v)
	if err != nil {
		return err
	}
	if len(idx.shape) == 0 {
		// A single index: a slice, then drop the axis.
		begin := make([]int32, r)
		size := make([]int32, r)
		sliced := append([]int64{}, v.shape...)
		for d := range size {
			size[d] = int32(v.shape[d])
		}
		begin[axis], size[axis], sliced[axis] = int32(ids[0]), 1, 1
		s, err := im.emit(format.OpSlice, n.Name, &format.SliceOptions{Begin: begin, Size: size}, []int32{x}, n.Outputs[0]+"/slice", sliced)
		if err != nil {
			return err
		}
		out, err := im.emit(format.OpReshape, n.Name+"/squeeze", nil, []int32{s}, n.Outputs[0], outShape)
		if err != nil {
			return err
		}
		im.setTensor(n, 0, out, outShape)
		return nil
	}
	i32 := make([]int32, len(ids))
	for j, x := range ids {
		i32[j] = int32(x)
	}
	is, err := shape32(idx.shape)
	if err != nil {
		return err
	}
	it := im.b.ConstInt32(n.Inputs[1], is, i32, nil)
	out, err := im.emit(format.OpGather, n.Name, &format.GatherOptions{Axis: int32(axis)}, []int32{x, it}, n.Outputs[0], outShape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, outShape)
	return nil
}

func (im *importer) concat(n *Node) error {
	var vs []*val
	allConst := true
	for j := range n.Inputs {
		v, err := im.in(n, j)
		if err != nil {
			return err
		}
		if v == nil {
			continue
		}
		if n, _ := numElements(v.shape); n == 0 {
			continue // empty inputs do not contribute
		}
		vs = append(vs, v)
		allConst = allConst && v.k != nil
	}
	if len(vs) == 0 {
		return fmt.Errorf("Concat of nothing")
	}
	axis, err := normAxis(attrInt(n, "axis", 0), len(vs[0].shape))
	if err != nil {
		return err
	}
	if allConst {
		ks := make([]*konst, len(vs))
		for j, v := range vs {
			ks[j] = v.k
		}
		k, err := concatKonst(ks, axis)
		if err != nil {
			return err
		}
		im.setConst(n, 0, k)
		return nil
	}
	shape := append([]int64{}, vs[0].shape...)
	shape[axis] = 0
	ins := make([]int32, len(vs))
	for j, v := range vs {
		if len(v.shape) != len(shape) {
			return fmt.Errorf("Concat of ranks %d and %d", len(v.shape), len(shape))
		}
		for d := range shape {
			if d != axis && v.shape[d] != vs[0].shape[d] {
				return fmt.Errorf("Concat of shapes %v and %v along axis %d", vs[0].shape, v.shape, axis)
			}
		}
		shape[axis] += v.shape[axis]
		if ins[j], err = im.materialize(v); err != nil {
			return err
		}
	}
	if len(ins) == 1 {
		return im.reshape(n, vs[0], shape)
	}
	out, err := im.emit(format.OpConcat, n.Name, &format.ConcatOptions{Axis: int32(axis)}, ins, n.Outputs[0], shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

// sliceRange clamps ONNX slice bounds for a dimension of size dim.
func sliceRange(start, end, step, dim int64) (int64, int64) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start = min(max(start, 0), dim)
		end = min(max(end, 0), dim)
	} else {
		start = min(max(start, 0), dim-1)
		end = min(max(end, -1), dim-1)
	}
	return start, end
}

func (im *importer) slice(n *Node) error {
	v, err := im.need(n, 0)
	if err != nil {
		return err
	}
	starts, err := im.needConst(n, 1, "starts")
	if err != nil {
		return err
	}
	ends, err := im.needConst(n, 2, "ends")
	if err != nil {
		return err
	}
	r := len(v.shape)
	if starts.len() != ends.len() {
		return fmt.Errorf("%d starts and %d ends", starts.len(), ends.len())
	}
	axes := make([]int64, starts.len())
	for j := range axes {
		axes[j] = int64(j)
	}
	if a, err := im.in(n, 3); err != nil {
		return err
	} else if a != nil {
		if a.k == nil || a.k.len() != len(axes) {
			return fmt.Errorf("%w: axes must be a constant with one entry per start", ErrUnsupported)
		}
		axes = a.k.ints()
	}
	steps := make([]int64, len(axes))
	for j := range steps {
		steps[j] = 1
	}
	if s, err := im.in(n, 4); err != nil {
		return err
	} else if s != nil {
		if s.k == nil || s.k.len() != len(axes) {
			return fmt.Errorf("%w: steps must be a constant with one entry per start", ErrUnsupported)
		}
		steps = s.k.ints()
	}
	st := make([]int64, r)
	en := append([]int64{}, v.shape...)
	sp := make([]int64, r)
	for d := range sp {
		sp[d] = 1
	}
	seen := make([]bool, r)
	for j, ax := range axes {
		d, err := normAxis(ax, r)
		if err != nil {
			return err
		}
		if seen[d] {
			return fmt.Errorf("axis %d repeated", ax)
		}
		seen[d] = true
		if steps[j] == 0 {
			return fmt.Errorf("step 0 on axis %d", ax)
		}
		sp[d] = steps[j]
		st[d], en[d] = sliceRange(starts.ints()[j], ends.ints()[j], steps[j], v.shape[d])
	}
	shape, idx := sliceIndex(v.shape, st, en, sp)
	if v.k != nil {
		im.setConst(n, 0, v.k.gather(idx, shape))
		return nil
	}
	return im.sliceRuntime(n, n.Name, n.Outputs[0], v, st, shape, sp)
}

// sliceRuntime emits a Slice defining output name; axes with a step other
// than 1 (Swin's patch merging takes every second row) are then picked by
// a Gather each.
func (im *importer) sliceRuntime(n *Node, opName, outName string, v *val, begin, shape, steps []int64) error {
	var strided []int
	for d, s := range steps {
		if s != 1 {
			strided = append(strided, d)
		}
	}
	if len(strided) > 0 {
		// Unit-step axes first, the strided ones kept whole.
		b1, s1 := append([]int64{}, begin...), append([]int64{}, shape...)
		for _, d := range strided {
			b1[d], s1[d] = 0, v.shape[d]
		}
		mid := outName + "/unit"
		if err := im.sliceRuntime(n, opName+"/unit", mid, v, b1, s1, make1(len(steps))); err != nil {
			return err
		}
		cur := im.vals[mid]
		for k, d := range strided {
			x, err := im.materialize(cur)
			if err != nil {
				return err
			}
			idx := make([]int32, shape[d])
			for j := range idx {
				idx[j] = int32(begin[d] + int64(j)*steps[d])
			}
			gs := append([]int64{}, cur.shape...)
			gs[d] = shape[d]
			name := fmt.Sprintf("%s/axis%d", outName, d)
			if k == len(strided)-1 {
				name = outName
			}
			it := im.b.ConstInt32(name+"/indices", []int32{int32(len(idx))}, idx, nil)
			out, err := im.emit(format.OpGather, fmt.Sprintf("%s/axis%d", opName, d), &format.GatherOptions{Axis: int32(d)}, []int32{x, it}, name, gs)
			if err != nil {
				return err
			}
			cur = &val{name: name, shape: gs, t: out, nhwc: -1, op: len(im.b.Model().Ops) - 1}
			im.vals[name] = cur
		}
		return nil
	}
	if equalShape(shape, v.shape) {
		nv := *v
		nv.name = outName
		im.vals[outName] = &nv
		return nil
	}
	for _, d := range shape {
		if d == 0 {
			return fmt.Errorf("%w: empty slice of a runtime tensor", ErrUnsupported)
		}
	}
	x, err := im.materialize(v)
	if err != nil {
		return err
	}
	b32 := make([]int32, len(begin))
	s32 := make([]int32, len(shape))
	for d := range begin {
		b32[d], s32[d] = int32(begin[d]), int32(shape[d])
	}
	out, err := im.emit(format.OpSlice, opName, &format.SliceOptions{Begin: b32, Size: s32}, []int32{x}, outName, shape)
	if err != nil {
		return err
	}
	im.vals[outName] = &val{name: outName, shape: shape, t: out, nhwc: -1, op: len(im.b.Model().Ops) - 1}
	return nil
}

func (im *importer) split(n *Node) error {
	v, err := im.need(n, 0)
	if err != nil {
		return err
	}
	axis, err := normAxis(attrInt(n, "axis", 0), len(v.shape))
	if err != nil {
		return err
	}
	dim := v.shape[axis]
	var sizes []int64
	if s, err := im.in(n, 1); err != nil {
		return err
	} else if s != nil {
		if s.k == nil {
			return fmt.Errorf("%w: split sizes are not constant", ErrUnsupported)
		}
		sizes = s.k.ints()
	} else if a := attrInts(n, "split"); a != nil {
		sizes = a
	} else {
		parts := int64(len(n.Outputs))
		if k := attrInt(n, "num_outputs", 0); k > 0 {
			parts = k
		}
		if parts <= 0 {
			return fmt.Errorf("Split into %d parts", parts)
		}
		chunk := (dim + parts - 1) / parts
		for left := dim; left > 0; left -= chunk {
			sizes = append(sizes, min(chunk, left))
		}
	}
	if len(sizes) != len(n.Outputs) {
		return fmt.Errorf("split sizes %v for %d outputs", sizes, len(n.Outputs))
	}
	off := int64(0)
	for j, s := range sizes {
		if s < 0 || off+s > dim {
			return fmt.Errorf("split sizes %v do not fit dimension %d", sizes, dim)
		}
		st := make([]int64, len(v.shape))
		en := append([]int64{}, v.shape...)
		sp := make([]int64, len(v.shape))
		for d := range sp {
			sp[d] = 1
		}
		st[axis], en[axis] = off, off+s
		shape, idx := sliceIndex(v.shape, st, en, sp)
		off += s
		if n.Outputs[j] == "" {
			continue
		}
		if v.k != nil {
			im.setConst(n, j, v.k.gather(idx, shape))
			continue
		}
		if err := im.sliceRuntime(n, fmt.Sprintf("%s/%d", n.Name, j), n.Outputs[j], v, st, shape, sp); err != nil {
			return err
		}
	}
	if off != dim {
		return fmt.Errorf("split sizes %v do not add up to dimension %d", sizes, dim)
	}
	return nil
}

// foldOnly handles ops that are supported only on constants.
func (im *importer) foldOnly(n *Node) error {
	var ks []*konst
	for j := range n.Inputs {
		v, err := im.in(n, j)
		if err != nil {
			return err
		}
		if v == nil {
			ks = append(ks, nil)
			continue
		}
		if v.k == nil {
			return fmt.Errorf("%w: op %s on runtime tensor %q (only constant inputs can be folded)", ErrUnsupported, n.OpType, v.name)
		}
		ks = append(ks, v.k)
	}
	arg := func(j int) (*konst, error) {
		if j >= len(ks) || ks[j] == nil {
			return nil, fmt.Errorf("missing input %d", j)
		}
		return ks[j], nil
	}
	x, err := arg(0)
	if err != nil && n.OpType != "ConstantOfShape" {
		return err
	}
	switch n.OpType {
	case "Expand", "Tile":
		s, err := arg(1)
		if err != nil {
			return err
		}
		if n.OpType == "Tile" {
			reps := s.ints()
			if len(reps) != len(x.shape) {
				return fmt.Errorf("Tile repeats %v for rank %d", reps, len(x.shape))
			}
			out := append([]int64{}, x.shape...)
			for d, r := range reps {
				if r < 0 {
					return fmt.Errorf("Tile repeat %d", r)
				}
				out[d] *= r
			}
			total, err := numElements(out)
			if err != nil {
				return err
			}
			xs := strides(x.shape)
			os := strides(out)
			idx := make([]int, total)
			for j := range idx {
				rem, off := int64(j), int64(0)
				for d := range out {
					c := rem / os[d]
					rem %= os[d]
					off += (c % x.shape[d]) * xs[d]
				}
				idx[j] = int(off)
			}
			im.setConst(n, 0, x.gather(idx, out))
			return nil
		}
		out, err := broadcastShape(x.shape, s.ints())
		if err != nil {
			return err
		}
		if _, err := numElements(out); err != nil {
			return err
		}
		im.setConst(n, 0, x.gather(broadcastIndex(x.shape, out), out))
		return nil
	case "ConstantOfShape":
		var shape []int64
		if len(ks) > 0 && ks[0] != nil {
			shape = ks[0].ints()
		}
		total, err := numElements(shape)
		if err != nil {
			return err
		}
		k := &konst{shape: shape, float: true}
		var fill konst = konst{float: true, f: []float32{0}}
		if a := attr(n, "value"); a != nil && a.T != nil {
			f, err := tensorKonst(a.T)
			if err != nil {
				return err
			}
			if f.len() != 1 {
				return fmt.Errorf("ConstantOfShape value has %d elements", f.len())
			}
			fill = *f
		}
		k.float = fill.float
		for j := 0; j < total; j++ {
			if fill.float {
				k.f = append(k.f, fill.f[0])
			} else {
				k.i = append(k.i, fill.i[0])
			}
		}
		im.setConst(n, 0, k)
		return nil
	case "Range":
		l, err := arg(1)
		if err != nil {
			return err
		}
		d, err := arg(2)
		if err != nil {
			return err
		}
		if x.len() != 1 || l.len() != 1 || d.len() != 1 {
			return fmt.Errorf("Range arguments of %d, %d and %d values (want scalars)", x.len(), l.len(), d.len())
		}
		s0, s1, st := x.floats()[0], l.floats()[0], d.floats()[0]
		if st == 0 {
			return fmt.Errorf("Range with delta 0")
		}
		cnt := math.Ceil(float64(s1-s0) / float64(st))
		if !(cnt >= 0) {
			cnt = 0
		}
		if cnt > float64(MaxElements) {
			return fmt.Errorf("Range of %v elements", cnt)
		}
		k := &konst{float: x.float || l.float || d.float}
		for j := 0; j < int(cnt); j++ {
			if k.float {
				k.f = append(k.f, s0+float32(j)*st)
			} else {
				k.i = append(k.i, x.ints()[0]+int64(j)*d.ints()[0])
			}
		}
		k.shape = []int64{int64(k.len())}
		im.setConst(n, 0, k)
		return nil
	case "Equal":
		y, err := arg(1)
		if err != nil {
			return err
		}
		if x.float || y.float {
			a, b := *x, *y
			a.float, a.i, b.float, b.i = false, nil, false, nil
			for _, v := range x.floats() {
				a.i = append(a.i, int64(math.Float32bits(v)))
			}
			for _, v := range y.floats() {
				b.i = append(b.i, int64(math.Float32bits(v)))
			}
			x, y = &a, &b
		}
		k, err := binaryKonst("Equal", x, y)
		if err != nil {
			return err
		}
		im.setConst(n, 0, k)
		return nil
	case "Not":
		k := &konst{shape: x.shape}
		for _, v := range x.ints() {
			k.i = append(k.i, b2i(v == 0))
		}
		im.setConst(n, 0, k)
		return nil
	case "ScatterND":
		idx, err := arg(1)
		if err != nil {
			return err
		}
		upd, err := arg(2)
		if err != nil {
			return err
		}
		if r := attrString(n, "reduction", "none"); r != "none" {
			return fmt.Errorf("%w: ScatterND reduction %q", ErrUnsupported, r)
		}
		k, err := scatterND(x, idx, upd)
		if err != nil {
			return err
		}
		im.setConst(n, 0, k)
		return nil
	case "Where":
		a, err := arg(1)
		if err != nil {
			return err
		}
		b, err := arg(2)
		if err != nil {
			return err
		}
		s1, err := broadcastShape(x.shape, a.shape)
		if err != nil {
			return err
		}
		out, err := broadcastShape(s1, b.shape)
		if err != nil {
			return err
		}
		if _, err := numElements(out); err != nil {
			return err
		}
		ic, ia, ib := broadcastIndex(x.shape, out), broadcastIndex(a.shape, out), broadcastIndex(b.shape, out)
		k := &konst{shape: out, float: a.float || b.float}
		cond := x.ints()
		for j := range ic {
			if k.float {
				v := b.floats()[ib[j]]
				if cond[ic[j]] != 0 {
					v = a.floats()[ia[j]]
				}
				k.f = append(k.f, v)
			} else {
				v := b.i[ib[j]]
				if cond[ic[j]] != 0 {
					v = a.i[ia[j]]
				}
				k.i = append(k.i, v)
			}
		}
		im.setConst(n, 0, k)
		return nil
	}
	// Unary float functions.
	k := &konst{shape: x.shape, float: true}
	for _, v := range x.floats() {
		f := float64(v)
		switch n.OpType {
		case "Sqrt":
			f = math.Sqrt(f)
		case "Erf":
			f = math.Erf(f)
		case "Neg":
			f = -f
		case "Reciprocal":
			f = 1 / f
		case "Exp":
			f = math.Exp(f)
		}
		k.f = append(k.f, float32(f))
	}
	if n.OpType == "Neg" && !x.float {
		k.float, k.f = false, nil
		for _, v := range x.i {
			k.i = append(k.i, -v)
		}
	}
	im.setConst(n, 0, k)
	return nil
}

// binary handles Add, Sub, Mul, Div and Pow.
func (im *importer) binary(n *Node) error {
	a, err := im.need(n, 0)
	if err != nil {
		return err
	}
	b, err := im.need(n, 1)
	if err != nil {
		return err
	}
	if a.k != nil && b.k != nil {
		op := n.OpType
		if op == "Mod" && attrInt(n, "fmod", 0) != 0 {
			op = "FMod"
		}
		k, err := binaryKonst(op, a.k, b.k)
		if err != nil {
			return err
		}
		im.setConst(n, 0, k)
		return nil
	}
	if n.OpType == "Mod" {
		return fmt.Errorf("%w: Mod of a runtime tensor (only shape arithmetic on constants is folded)", ErrUnsupported)
	}
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return err
	}
	code := format.OpAdd
	switch n.OpType {
	case "Sub":
		code = format.OpSub
	case "Mul":
		code = format.OpMul
	case "Div":
		if r, ok := im.recip[b.name]; ok && a.k == nil {
			// x / ‖x‖ (F.normalize): x times the reciprocal norm.
			x, err := im.materialize(a)
			if err != nil {
				return err
			}
			out, err := im.emit(format.OpMul, n.Name, nil, []int32{x, r}, n.Outputs[0], shape)
			if err != nil {
				return err
			}
			im.setTensor(n, 0, out, shape)
			return nil
		}
		if b.k == nil {
			return fmt.Errorf("%w: Div by runtime tensor %q", ErrUnsupported, b.name)
		}
		inv := &konst{shape: b.k.shape, float: true}
		for _, v := range b.k.floats() {
			inv.f = append(inv.f, 1/v)
		}
		b = &val{name: n.Inputs[1] + "/reciprocal", shape: inv.shape, k: inv, t: -1, nhwc: -1, op: -1}
		code = format.OpMul
	case "Pow":
		if b.k == nil || b.k.len() != 1 || b.k.floats()[0] != 2 {
			return fmt.Errorf("%w: Pow with an exponent other than the constant 2", ErrUnsupported)
		}
		b = a
		code = format.OpMul
	}
	if code == format.OpAdd && im.fuseBias(n, a, b) {
		return nil
	}
	if code == format.OpMul && im.softmaxScale(n, a, b) {
		return nil
	}
	x, err := im.materialize(a)
	if err != nil {
		return err
	}
	y, err := im.materialize(b)
	if err != nil {
		return err
	}
	out, err := im.emit(code, n.Name, nil, []int32{x, y}, n.Outputs[0], shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

// singleConsumer returns the only node reading name, or −1.
func (im *importer) singleConsumer(name string) int {
	if im.uses[name] != 1 || len(im.consumers[name]) != 1 {
		return -1
	}
	return im.consumers[name][0]
}

// softmaxScale turns x·c, with c a scalar constant and the product read
// only by a last-axis Softmax, into that Softmax's Beta.
func (im *importer) softmaxScale(n *Node, a, b *val) bool {
	if a.k != nil {
		a, b = b, a
	}
	if b.k == nil || b.k.len() != 1 || a.t < 0 || a.beta != 0 || !equalShapeOrScalar(a.shape, b.shape) {
		return false
	}
	c := im.singleConsumer(n.Outputs[0])
	if c < 0 {
		return false
	}
	sm := &im.g.Nodes[c]
	if sm.OpType != "Softmax" || len(sm.Inputs) == 0 || sm.Inputs[0] != n.Outputs[0] {
		return false
	}
	if ax, err := normAxis(attrInt(sm, "axis", -1), len(a.shape)); err != nil || ax != len(a.shape)-1 {
		return false
	}
	beta := b.k.floats()[0]
	if beta <= 0 || math.IsInf(float64(beta), 0) || math.IsNaN(float64(beta)) {
		return false
	}
	im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: a.shape, t: a.t, nhwc: -1, op: -1, beta: beta}
	return true
}

func equalShapeOrScalar(a, b []int64) bool {
	n, _ := numElements(b)
	return n == 1 && len(b) <= len(a)
}

// fuseBias folds Add(FC(x), c) into the FullyConnected's bias when c is a
// vector along the output features and the FC output has no other reader.
func (im *importer) fuseBias(n *Node, a, b *val) bool {
	if a.k != nil {
		a, b = b, a
	}
	if b.k == nil || a.t < 0 || a.op < 0 || len(a.shape) == 0 {
		return false
	}
	if im.uses[a.name] != 1 {
		return false
	}
	op := &im.b.Model().Ops[a.op]
	if op.Code != format.OpFullyConnected || len(op.Inputs) != 2 || op.Outputs[0] != a.t {
		return false
	}
	nOut := a.shape[len(a.shape)-1]
	if int64(b.k.len()) != nOut || len(b.k.shape) > len(a.shape) {
		return false
	}
	for _, d := range b.k.shape[:max(len(b.k.shape)-1, 0)] {
		if d != 1 {
			return false
		}
	}
	if len(b.k.shape) > 0 && b.k.shape[len(b.k.shape)-1] != nOut {
		return false
	}
	bias := im.b.ConstFloat32(n.Inputs[1], []int32{int32(nOut)}, b.k.floats())
	op.Inputs = append(op.Inputs, bias)
	im.b.Tensor(a.t).Name = n.Outputs[0]
	im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: a.shape, t: a.t, nhwc: -1, op: a.op}
	return true
}

// make1 returns n ones.
func make1(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}
