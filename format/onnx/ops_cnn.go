package onnx

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
)

// pad translates Pad in "constant" mode with the value 0 (what PyTorch's
// F.pad and count_include_pad average pooling export): pads are the
// constant input 1, begins then ends, one per axis, none negative. A
// rank-4 value held as NHWC is padded in that layout.
func (im *importer) pad(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if mode := attrString(n, "mode", "constant"); mode != "constant" {
		return fmt.Errorf("%w: Pad mode %q", ErrUnsupported, mode)
	}
	if x.k != nil {
		return fmt.Errorf("%w: Pad of a constant", ErrUnsupported)
	}
	pk, err := im.needConst(n, 1, "Pad pads")
	if err != nil {
		return err
	}
	if c, err := im.in(n, 2); err != nil {
		return err
	} else if c != nil && (c.k == nil || c.k.len() != 1 || c.k.floats()[0] != 0) {
		return fmt.Errorf("%w: Pad with a value other than the constant 0", ErrUnsupported)
	}
	if ax, err := im.in(n, 3); err != nil {
		return err
	} else if ax != nil {
		return fmt.Errorf("%w: Pad with axes", ErrUnsupported)
	}
	rank := len(x.shape)
	pads := pk.ints()
	if len(pads) != 2*rank {
		return fmt.Errorf("Pad: %d pads for rank %d, want %d", len(pads), rank, 2*rank)
	}
	shape := make([]int64, rank)
	zero := true
	for d := range shape {
		b, e := pads[d], pads[rank+d]
		if b < 0 || e < 0 {
			return fmt.Errorf("%w: Pad with negative pads %v (cropping)", ErrUnsupported, pads)
		}
		if b > 1<<16 || e > 1<<16 {
			return fmt.Errorf("Pad: pads %v", pads)
		}
		zero = zero && b == 0 && e == 0
		shape[d] = x.shape[d] + b + e
	}
	if zero {
		nv := *x
		nv.name = n.Outputs[0]
		im.vals[n.Outputs[0]] = &nv
		return nil
	}
	perm := identityPerm(rank)
	nhwc := rank == 4 && x.t < 0 && x.nhwc >= 0
	src := x.t
	if nhwc {
		perm, src = []int{0, 2, 3, 1}, x.nhwc
	} else if src, err = im.materialize(x); err != nil {
		return err
	}
	pv := make([]int32, 2*rank)
	outShape := make([]int64, rank)
	for d, p := range perm {
		pv[2*d], pv[2*d+1] = int32(pads[p]), int32(pads[rank+p])
		outShape[d] = shape[p]
	}
	pt := im.b.ConstInt32(n.Name+"/pads", []int32{int32(rank), 2}, pv, nil)
	name := n.Outputs[0]
	if nhwc {
		name += "/nhwc"
	}
	out, err := im.emit(format.OpPad, n.Name, nil, []int32{src, pt}, name, outShape)
	if err != nil {
		return err
	}
	if nhwc {
		im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: shape, t: -1, nhwc: out, op: len(im.b.Model().Ops) - 1}
		return nil
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

func identityPerm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// batchNorm translates an inference BatchNormalization that no convolution
// absorbed (DenseNet's pre-activation norms): y = x·s + (B − mean·s) with
// s = scale/√(var + ε) per channel (axis 1), as a Mul and an Add on the
// NHWC form of a rank-4 input, or on axis 1 of another rank.
func (im *importer) batchNorm(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if x.k != nil || len(x.shape) < 2 {
		return fmt.Errorf("%w: BatchNormalization needs a runtime input of rank ≥ 2", ErrUnsupported)
	}
	if attrInt(n, "training_mode", 0) != 0 {
		return fmt.Errorf("%w: BatchNormalization in training mode", ErrUnsupported)
	}
	for j := 1; j < len(n.Outputs); j++ {
		if n.Outputs[j] != "" && im.uses[n.Outputs[j]] > 0 {
			return fmt.Errorf("%w: BatchNormalization output %d (running statistics) is used", ErrUnsupported, j)
		}
	}
	c := x.shape[1]
	var p [4][]float32 // scale, B, mean, var
	for j, what := range []string{"scale", "B", "input_mean", "input_var"} {
		k, err := im.needConst(n, j+1, "BatchNormalization "+what)
		if err != nil {
			return err
		}
		if int64(k.len()) != c {
			return fmt.Errorf("BatchNormalization %s has %d values for %d channels", what, k.len(), c)
		}
		p[j] = k.floats()
	}
	eps := float64(attrFloat(n, "epsilon", 1e-5))
	if !(eps >= 0) || math.IsInf(eps, 0) {
		return fmt.Errorf("BatchNormalization epsilon %v", eps)
	}
	mul, add := make([]float32, c), make([]float32, c)
	for i := range mul {
		v := float64(p[3][i]) + eps
		if !(v > 0) {
			return fmt.Errorf("BatchNormalization channel %d: variance %v + epsilon is not positive", i, p[3][i])
		}
		s := float64(p[0][i]) / math.Sqrt(v)
		mul[i] = float32(s)
		add[i] = float32(float64(p[1][i]) - float64(p[2][i])*s)
	}
	// The per-channel constants broadcast against channels last (NHWC) or
	// against axis 1 of the ONNX layout.
	var src int32
	cshape := []int32{int32(c)}
	shape, nhwc := x.shape, len(x.shape) == 4
	if nhwc {
		if src, err = im.toNHWC(x); err != nil {
			return err
		}
		shape = []int64{x.shape[0], x.shape[2], x.shape[3], c}
	} else {
		if src, err = im.materialize(x); err != nil {
			return err
		}
		for range x.shape[2:] {
			cshape = append(cshape, 1)
		}
	}
	name := n.Outputs[0]
	if nhwc {
		name += "/nhwc"
	}
	scaled, err := im.emit(format.OpMul, n.Name+"/scale", nil, []int32{src, im.b.ConstFloat32(n.Name+"/scale", cshape, mul)}, name+"/scaled", shape)
	if err != nil {
		return err
	}
	out, err := im.emit(format.OpAdd, n.Name, &format.BinaryOptions{}, []int32{scaled, im.b.ConstFloat32(n.Name+"/shift", cshape, add)}, name, shape)
	if err != nil {
		return err
	}
	if nhwc {
		im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: x.shape, t: -1, nhwc: out, op: len(im.b.Model().Ops) - 1}
		return nil
	}
	im.setTensor(n, 0, out, x.shape)
	return nil
}

// reduceL2 translates ReduceL2 over the last axis with keepdims when
// divisions are its only readers (through Clip with a tiny minimum and
// Expand, as F.normalize exports): the value is kept as its reciprocal,
// 1/max(‖x‖, ε) ≈ Rsqrt(D·Mean(x²) + ε²) with PyTorch's ε = 1e-12, which
// Div then multiplies by. A zero row (Swin v2's padded window tokens)
// stays zero instead of 0·∞.
func (im *importer) reduceL2(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	r := len(x.shape)
	axes := attrInts(n, "axes")
	if ax, err := im.in(n, 1); err != nil {
		return err
	} else if ax != nil {
		if ax.k == nil {
			return fmt.Errorf("%w: ReduceL2 axes are not a constant", ErrUnsupported)
		}
		axes = ax.k.ints()
	}
	if x.k != nil || r == 0 || len(axes) != 1 || attrInt(n, "keepdims", 1) != 1 {
		return fmt.Errorf("%w: ReduceL2 other than over the last axis of a runtime tensor with keepdims", ErrUnsupported)
	}
	if d, err := normAxis(axes[0], r); err != nil || d != r-1 {
		return fmt.Errorf("%w: ReduceL2 over axis %d (only the last)", ErrUnsupported, axes[0])
	}
	if !im.onlyDivides(n.Outputs[0]) {
		return fmt.Errorf("%w: ReduceL2 read other than as a divisor (F.normalize)", ErrUnsupported)
	}
	xt, err := im.materialize(x)
	if err != nil {
		return err
	}
	shape := append(append([]int64{}, x.shape[:r-1]...), 1)
	sq, err := im.emit(format.OpMul, n.Name+"/square", nil, []int32{xt, xt}, n.Outputs[0]+"/square", x.shape)
	if err != nil {
		return err
	}
	mean, err := im.emit(format.OpMean, n.Name+"/mean", &format.MeanOptions{Axes: []int32{int32(r - 1)}, KeepDims: true}, []int32{sq}, n.Outputs[0]+"/mean", shape)
	if err != nil {
		return err
	}
	d := im.b.ConstFloat32(n.Name+"/d", []int32{1}, []float32{float32(x.shape[r-1])})
	sum, err := im.emit(format.OpMul, n.Name+"/sum", nil, []int32{mean, d}, n.Outputs[0]+"/sum", shape)
	if err != nil {
		return err
	}
	eps := im.b.ConstFloat32(n.Name+"/eps2", []int32{1}, []float32{1e-24})
	if sum, err = im.emit(format.OpAdd, n.Name+"/eps", nil, []int32{sum, eps}, n.Outputs[0]+"/sumeps", shape); err != nil {
		return err
	}
	inv, err := im.emit(format.OpRsqrt, n.Name, nil, []int32{sum}, n.Outputs[0]+"/reciprocal", shape)
	if err != nil {
		return err
	}
	im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: shape, t: -1, nhwc: -1, op: -1}
	im.recip[n.Outputs[0]] = inv
	return nil
}

// onlyDivides reports whether every path from value name ends as the
// divisor of a Div, passing only through Clip (minimum ≤ 1e-6, no
// maximum) and Expand.
func (im *importer) onlyDivides(name string) bool {
	cs := im.consumers[name]
	if len(cs) == 0 {
		return false
	}
	for _, c := range cs {
		nd := &im.g.Nodes[c]
		switch nd.OpType {
		case "Div":
			if len(nd.Inputs) != 2 || nd.Inputs[1] != name || nd.Inputs[0] == name {
				return false
			}
		case "Clip", "Expand":
			if len(nd.Inputs) == 0 || nd.Inputs[0] != name || !im.onlyDivides(nd.Outputs[0]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// passRecip passes a value known by its reciprocal through Clip (a tiny
// minimum, no maximum) or Expand (Div broadcasts it), keeping it so.
func (im *importer) passRecip(n *Node) bool {
	if len(n.Inputs) == 0 || (n.OpType != "Clip" && n.OpType != "Expand") {
		return false
	}
	inv, ok := im.recip[n.Inputs[0]]
	if !ok {
		return false
	}
	if n.OpType == "Clip" {
		lo, err := im.in(n, 1)
		if err != nil || lo == nil || lo.k == nil || lo.k.len() != 1 || lo.k.floats()[0] > 1e-6 {
			return false
		}
		if hi, err := im.in(n, 2); err != nil || hi != nil {
			return false
		}
	}
	v := *im.vals[n.Inputs[0]]
	v.name = n.Outputs[0]
	im.vals[n.Outputs[0]] = &v
	im.recip[n.Outputs[0]] = inv
	return true
}
