package onnx

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
)

// fullyConnected emits x·wᵀ (+ bias) with w given as [N, K] values.
// q8, when not nil, is the int8 form of w (same layout).
func (im *importer) fullyConnected(n *Node, x *val, wName string, w []float32, nOut, k int64, bias []float32, q8 *Int8Weight) error {
	if len(x.shape) < 1 || x.shape[len(x.shape)-1] != k {
		return fmt.Errorf("input %q of shape %v does not end in %d", x.name, x.shape, k)
	}
	xt, err := im.materialize(x)
	if err != nil {
		return err
	}
	wt := im.b.ConstFloat32(wName, []int32{int32(nOut), int32(k)}, w)
	if q8 != nil {
		im.int8w[wt] = q8
	}
	ins := []int32{xt, wt}
	if bias != nil {
		ins = append(ins, im.b.ConstFloat32(wName+"/bias", []int32{int32(nOut)}, bias))
	}
	shape := append(append([]int64{}, x.shape[:len(x.shape)-1]...), nOut)
	out, err := im.emit(format.OpFullyConnected, n.Name, &format.FullyConnectedOptions{}, ins, n.Outputs[0], shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

// transpose2 returns the [cols, rows] transpose of a row-major [rows, cols] matrix.
func transpose2[T any](v []T, rows, cols int) []T {
	out := make([]T, len(v))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = v[r*cols+c]
		}
	}
	return out
}

// transposedQ8 is the int8 weight of a [K, N] matrix as [N, K].
func transposedQ8(q *Int8Weight, k, n int) *Int8Weight {
	if q == nil {
		return nil
	}
	out := &Int8Weight{Values: transpose2(q.Values, k, n), Scale: q.Scale, ZeroPoint: q.ZeroPoint}
	if len(q.Scale) > 1 {
		out.Axis = 1 - q.Axis
	}
	return out
}

func (im *importer) matMul(n *Node) error {
	a, err := im.need(n, 0)
	if err != nil {
		return err
	}
	b, err := im.need(n, 1)
	if err != nil {
		return err
	}
	if len(a.shape) < 2 || len(b.shape) < 2 {
		return fmt.Errorf("%w: MatMul of ranks %d and %d (want at least 2)", ErrUnsupported, len(a.shape), len(b.shape))
	}
	if a.k == nil && b.k != nil && len(b.shape) == 2 {
		kk, nn := b.shape[0], b.shape[1]
		return im.fullyConnected(n, a, n.Inputs[1], transpose2(b.k.floats(), int(kk), int(nn)), nn, kk, nil, transposedQ8(b.k.q8, int(kk), int(nn)))
	}
	if a.k != nil && b.k != nil {
		k, err := matMulKonst(a.k, b.k)
		if err != nil {
			return err
		}
		im.setConst(n, 0, k)
		return nil
	}
	ra, rb := len(a.shape), len(b.shape)
	m, k := a.shape[ra-2], a.shape[ra-1]
	if b.shape[rb-2] != k {
		return fmt.Errorf("MatMul of %v and %v", a.shape, b.shape)
	}
	if rb > 2 && !equalShape(a.shape[:ra-2], b.shape[:rb-2]) {
		return fmt.Errorf("%w: MatMul batch dimensions %v and %v differ", ErrUnsupported, a.shape[:ra-2], b.shape[:rb-2])
	}
	x, err := im.materialize(a)
	if err != nil {
		return err
	}
	y, err := im.materialize(b)
	if err != nil {
		return err
	}
	shape := append(append([]int64{}, a.shape[:ra-2]...), m, b.shape[rb-1])
	out, err := im.emit(format.OpBatchMatMul, n.Name, &format.BatchMatMulOptions{}, []int32{x, y}, n.Outputs[0], shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

func (im *importer) gemm(n *Node) error {
	a, err := im.need(n, 0)
	if err != nil {
		return err
	}
	b, err := im.needConst(n, 1, "Gemm B")
	if err != nil {
		return err
	}
	if a.k != nil || len(a.shape) != 2 || len(b.shape) != 2 {
		return fmt.Errorf("%w: Gemm needs a runtime 2-D A and a constant 2-D B", ErrUnsupported)
	}
	if attrInt(n, "transA", 0) != 0 {
		return fmt.Errorf("%w: Gemm with transA", ErrUnsupported)
	}
	alpha, beta := attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
	w := b.floats()
	kk, nn := b.shape[0], b.shape[1]
	q8 := b.q8
	if attrInt(n, "transB", 0) != 0 {
		nn, kk = kk, nn // already [N, K]
	} else {
		w = transpose2(w, int(kk), int(nn))
		q8 = transposedQ8(q8, int(kk), int(nn))
	}
	if alpha != 1 {
		scaled := make([]float32, len(w))
		for i, v := range w {
			scaled[i] = v * alpha
		}
		w, q8 = scaled, nil
	}
	var bias []float32
	if c, err := im.in(n, 2); err != nil {
		return err
	} else if c != nil && beta != 0 {
		if c.k == nil {
			return fmt.Errorf("%w: Gemm C is not a constant", ErrUnsupported)
		}
		cn := int64(c.k.len())
		if cn != nn && cn != 1 {
			return fmt.Errorf("%w: Gemm C of shape %v (want a vector of %d)", ErrUnsupported, c.shape, nn)
		}
		bias = make([]float32, nn)
		cf := c.k.floats()
		for i := range bias {
			bias[i] = beta * cf[min(int64(i), cn-1)]
		}
	}
	return im.fullyConnected(n, a, n.Inputs[1], w, nn, kk, bias, q8)
}

// convGeometry resolves kernel, strides, dilations and pads of Conv and
// the pools for an NCHW input of spatial size h×w.
type convGeometry struct {
	kh, kw, sh, sw, dh, dw   int64
	top, left, bottom, right int64
	oh, ow                   int64
	// ceilH, ceilW: rows and columns added to bottom and right so that
	// ceil_mode's last, partial windows exist (included in bottom, right).
	ceilH, ceilW int64
}

func geometry(n *Node, h, w, kh, kw int64) (convGeometry, error) {
	g := convGeometry{kh: kh, kw: kw, sh: 1, sw: 1, dh: 1, dw: 1}
	if kh < 1 || kw < 1 || kh > 1<<16 || kw > 1<<16 {
		return g, fmt.Errorf("kernel %d×%d", kh, kw)
	}
	if s := attrInts(n, "strides"); s != nil {
		if len(s) != 2 {
			return g, fmt.Errorf("%w: strides %v", ErrUnsupported, s)
		}
		g.sh, g.sw = s[0], s[1]
	}
	if d := attrInts(n, "dilations"); d != nil {
		if len(d) != 2 {
			return g, fmt.Errorf("%w: dilations %v", ErrUnsupported, d)
		}
		g.dh, g.dw = d[0], d[1]
	}
	if g.sh <= 0 || g.sw <= 0 || g.dh <= 0 || g.dw <= 0 || g.sh > 1<<16 || g.sw > 1<<16 || g.dh > 1<<16 || g.dw > 1<<16 {
		return g, fmt.Errorf("strides %d×%d, dilations %d×%d", g.sh, g.sw, g.dh, g.dw)
	}
	effH, effW := g.dh*(kh-1)+1, g.dw*(kw-1)+1
	switch pad := attrString(n, "auto_pad", "NOTSET"); pad {
	case "NOTSET", "":
		if p := attrInts(n, "pads"); p != nil {
			if len(p) != 4 {
				return g, fmt.Errorf("%w: pads %v", ErrUnsupported, p)
			}
			g.top, g.left, g.bottom, g.right = p[0], p[1], p[2], p[3]
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		oh, ow := (h+g.sh-1)/g.sh, (w+g.sw-1)/g.sw
		ph := max((oh-1)*g.sh+effH-h, 0)
		pw := max((ow-1)*g.sw+effW-w, 0)
		g.top, g.left = ph/2, pw/2
		if pad == "SAME_LOWER" {
			g.top, g.left = ph-ph/2, pw-pw/2
		}
		g.bottom, g.right = ph-g.top, pw-g.left
	default:
		return g, fmt.Errorf("%w: auto_pad %q", ErrUnsupported, pad)
	}
	for _, p := range []int64{g.top, g.left, g.bottom, g.right} {
		if p < 0 || p > 1<<16 {
			return g, fmt.Errorf("%w: padding %d", ErrUnsupported, p)
		}
	}
	g.oh = (h+g.top+g.bottom-effH)/g.sh + 1
	g.ow = (w+g.left+g.right-effW)/g.sw + 1
	if h+g.top+g.bottom < effH || w+g.left+g.right < effW || g.oh <= 0 || g.ow <= 0 {
		return g, fmt.Errorf("kernel %d×%d does not fit input %d×%d", kh, kw, h, w)
	}
	if attrInt(n, "ceil_mode", 0) != 0 {
		g.oh, g.ceilH = ceilOut(h, g.top, g.bottom, effH, g.sh)
		g.ow, g.ceilW = ceilOut(w, g.left, g.right, effW, g.sw)
		g.bottom += g.ceilH
		g.right += g.ceilW
	}
	return g, nil
}

// ceilOut returns ceil_mode's output size along one axis and the padding
// to add at its end so that the floor formula gives that size. As in
// PyTorch and onnxruntime, a last window that would start in the end
// padding is dropped, so every window holds at least one input element.
func ceilOut(in, begin, end, k, s int64) (out, extra int64) {
	span := in + begin + end - k
	out = (span+s-1)/s + 1
	if (out-1)*s >= in+begin {
		out--
	}
	return out, max((out-1)*s+k-(in+begin+end), 0)
}

func (g convGeometry) options(act format.Activation) format.Conv2DOptions {
	return format.Conv2DOptions{
		StrideH: int32(g.sh), StrideW: int32(g.sw), DilationH: int32(g.dh), DilationW: int32(g.dw),
		PadTop: int32(g.top), PadBottom: int32(g.bottom), PadLeft: int32(g.left), PadRight: int32(g.right),
		Activation: act,
	}
}

func (im *importer) conv(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	w, err := im.needConst(n, 1, "Conv weight")
	if err != nil {
		return err
	}
	if x.k != nil || len(x.shape) != 4 || len(w.shape) != 4 {
		return fmt.Errorf("%w: Conv needs a runtime 4-D NCHW input and a 4-D constant weight (got %v and %v)", ErrUnsupported, x.shape, w.shape)
	}
	cin, cout, kh, kw := x.shape[1], w.shape[0], w.shape[2], w.shape[3]
	group := attrInt(n, "group", 1)
	if ks := attrInts(n, "kernel_shape"); ks != nil && (len(ks) != 2 || ks[0] != kh || ks[1] != kw) {
		return fmt.Errorf("kernel_shape %v does not match weight %v", ks, w.shape)
	}
	g, err := geometry(n, x.shape[2], x.shape[3], kh, kw)
	if err != nil {
		return err
	}
	var bias []float32
	if b, err := im.in(n, 2); err != nil {
		return err
	} else if b != nil {
		if b.k == nil || int64(b.k.len()) != cout {
			return fmt.Errorf("%w: Conv bias must be a constant of %d values", ErrUnsupported, cout)
		}
		bias = b.k.floats()
	}
	wf := w.floats()
	var code format.OpCode
	var opts format.Options
	var wShape []int32
	var wv []float32
	switch {
	case group == cin && group > 1 && w.shape[1] == 1 && cout%cin == 0:
		code = format.OpDepthwiseConv2D
		opts = &format.DepthwiseConv2DOptions{Conv2DOptions: g.options(format.ActNone), DepthMultiplier: int32(cout / cin)}
		wShape = []int32{1, int32(kh), int32(kw), int32(cout)}
		wv = make([]float32, len(wf))
		for co := int64(0); co < cout; co++ {
			for y := int64(0); y < kh; y++ {
				for z := int64(0); z < kw; z++ {
					wv[(y*kw+z)*cout+co] = wf[(co*kh+y)*kw+z]
				}
			}
		}
	case group >= 1 && cin%group == 0 && cout%group == 0 && w.shape[1] == cin/group:
		// One group, or several (RegNet, ResNeXt): [Cout, Cin/G, KH, KW]
		// becomes [Cout, KH, KW, Cin/G].
		code = format.OpConv2D
		o := g.options(format.ActNone)
		if group > 1 {
			o.Groups = int32(group)
		}
		opts = &o
		cg := cin / group
		wShape = []int32{int32(cout), int32(kh), int32(kw), int32(cg)}
		wv = make([]float32, len(wf))
		for co := int64(0); co < cout; co++ {
			for ci := int64(0); ci < cg; ci++ {
				for y := int64(0); y < kh; y++ {
					for z := int64(0); z < kw; z++ {
						wv[((co*kh+y)*kw+z)*cg+ci] = wf[((co*cg+ci)*kh+y)*kw+z]
					}
				}
			}
		}
	default:
		return fmt.Errorf("%w: Conv with group %d, weight %v and %d input channels", ErrUnsupported, group, w.shape, cin)
	}
	xt, err := im.toNHWC(x)
	if err != nil {
		return err
	}
	ins := []int32{xt, im.b.ConstFloat32(n.Inputs[1], wShape, wv)}
	if bias != nil {
		ins = append(ins, im.b.ConstFloat32(n.Inputs[2], []int32{int32(cout)}, bias))
	}
	nhwc := []int64{x.shape[0], g.oh, g.ow, cout}
	out, err := im.emit(code, n.Name, opts, ins, n.Outputs[0]+"/nhwc", nhwc)
	if err != nil {
		return err
	}
	im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: []int64{x.shape[0], cout, g.oh, g.ow}, t: -1, nhwc: out, op: len(im.b.Model().Ops) - 1}
	return nil
}

func (im *importer) pool(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if x.k != nil || len(x.shape) != 4 {
		return fmt.Errorf("%w: %s needs a runtime 4-D NCHW input", ErrUnsupported, n.OpType)
	}
	ks := attrInts(n, "kernel_shape")
	if len(ks) != 2 {
		return fmt.Errorf("%w: kernel_shape %v", ErrUnsupported, ks)
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" && im.uses[n.Outputs[1]] > 0 {
		return fmt.Errorf("%w: MaxPool indices output", ErrUnsupported)
	}
	g, err := geometry(n, x.shape[2], x.shape[3], ks[0], ks[1])
	if err != nil {
		return err
	}
	if g.dh != 1 || g.dw != 1 {
		return fmt.Errorf("%w: dilated pooling", ErrUnsupported)
	}
	code := format.OpMaxPool2D
	if n.OpType == "AveragePool" {
		code = format.OpAveragePool2D
	}
	xt, err := im.toNHWC(x)
	if err != nil {
		return err
	}
	if code == format.OpAveragePool2D && attrInt(n, "count_include_pad", 0) != 0 && g.top+g.left+g.bottom+g.right > g.ceilH+g.ceilW {
		// Padding counts: pad with zeros first, then average over what
		// is left (only ceil_mode's extension, which never counts).
		pads := []int32{0, 0, int32(g.top), int32(g.bottom - g.ceilH), int32(g.left), int32(g.right - g.ceilW), 0, 0}
		shape := []int64{x.shape[0], x.shape[2] + g.top + g.bottom - g.ceilH, x.shape[3] + g.left + g.right - g.ceilW, x.shape[1]}
		pt := im.b.ConstInt32(n.Name+"/pads", []int32{4, 2}, pads, nil)
		if xt, err = im.emit(format.OpPad, n.Name+"/pad", nil, []int32{xt, pt}, n.Outputs[0]+"/padded", shape); err != nil {
			return err
		}
		g.top, g.left, g.bottom, g.right = 0, 0, g.ceilH, g.ceilW
	}
	opts := &format.Pool2DOptions{
		FilterH: int32(g.kh), FilterW: int32(g.kw), StrideH: int32(g.sh), StrideW: int32(g.sw),
		PadTop: int32(g.top), PadBottom: int32(g.bottom), PadLeft: int32(g.left), PadRight: int32(g.right),
	}
	c := x.shape[1]
	out, err := im.emit(code, n.Name, opts, []int32{xt}, n.Outputs[0]+"/nhwc", []int64{x.shape[0], g.oh, g.ow, c})
	if err != nil {
		return err
	}
	im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: []int64{x.shape[0], c, g.oh, g.ow}, t: -1, nhwc: out, op: len(im.b.Model().Ops) - 1}
	return nil
}

func (im *importer) globalAvgPool(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if x.k != nil || len(x.shape) != 4 {
		return fmt.Errorf("%w: GlobalAveragePool needs a runtime 4-D NCHW input", ErrUnsupported)
	}
	xt, err := im.materialize(x)
	if err != nil {
		return err
	}
	shape := []int64{x.shape[0], x.shape[1], 1, 1}
	out, err := im.emit(format.OpMean, n.Name, &format.MeanOptions{Axes: []int32{2, 3}, KeepDims: true}, []int32{xt}, n.Outputs[0], shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

// layerNormOp emits LayerNorm over the last axis of x.
func (im *importer) layerNormOp(opName, outName string, x *val, gamma, beta []float32, eps float32) error {
	d := x.shape[len(x.shape)-1]
	if int64(len(gamma)) != d || int64(len(beta)) != d {
		return fmt.Errorf("scale/bias have %d/%d values for a last axis of %d", len(gamma), len(beta), d)
	}
	if !(eps > 0) || math.IsInf(float64(eps), 0) {
		return fmt.Errorf("epsilon %v", eps)
	}
	xt, err := im.materialize(x)
	if err != nil {
		return err
	}
	g := im.b.ConstFloat32(opName+"/gamma", []int32{int32(d)}, gamma)
	b := im.b.ConstFloat32(opName+"/beta", []int32{int32(d)}, beta)
	out, err := im.emit(format.OpLayerNorm, opName, &format.LayerNormOptions{Epsilon: eps}, []int32{xt, g, b}, outName, x.shape)
	if err != nil {
		return err
	}
	im.vals[outName] = &val{name: outName, shape: x.shape, t: out, nhwc: -1, op: len(im.b.Model().Ops) - 1}
	return nil
}

func (im *importer) layerNorm(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if len(x.shape) == 0 {
		return fmt.Errorf("LayerNormalization of a scalar")
	}
	if ax, err := normAxis(attrInt(n, "axis", -1), len(x.shape)); err != nil || ax != len(x.shape)-1 {
		return fmt.Errorf("%w: LayerNormalization over axis %d (only the last axis)", ErrUnsupported, attrInt(n, "axis", -1))
	}
	for j := 1; j < len(n.Outputs); j++ {
		if n.Outputs[j] != "" && im.uses[n.Outputs[j]] > 0 {
			return fmt.Errorf("%w: LayerNormalization output %d (mean or inverse deviation) is used", ErrUnsupported, j)
		}
	}
	g, err := im.needConst(n, 1, "scale")
	if err != nil {
		return err
	}
	d := x.shape[len(x.shape)-1]
	beta := make([]float32, d)
	if b, err := im.in(n, 2); err != nil {
		return err
	} else if b != nil {
		if b.k == nil {
			return fmt.Errorf("%w: bias is not a constant", ErrUnsupported)
		}
		beta = b.k.floats()
	}
	return im.layerNormOp(n.Name, n.Outputs[0], x, g.floats(), beta, attrFloat(n, "epsilon", 1e-5))
}

func (im *importer) softmax(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if x.k != nil || len(x.shape) == 0 {
		return fmt.Errorf("%w: Softmax of a constant", ErrUnsupported)
	}
	if ax, err := normAxis(attrInt(n, "axis", -1), len(x.shape)); err != nil || ax != len(x.shape)-1 {
		return fmt.Errorf("%w: Softmax over axis %d (only the last axis)", ErrUnsupported, attrInt(n, "axis", -1))
	}
	beta := float32(1)
	var xt int32
	if x.beta != 0 {
		beta, xt = x.beta, x.t
	} else if xt, err = im.materialize(x); err != nil {
		return err
	}
	out, err := im.emit(format.OpSoftmax, n.Name, &format.SoftmaxOptions{Beta: beta}, []int32{xt}, n.Outputs[0], x.shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, x.shape)
	return nil
}

func (im *importer) reduceMean(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if x.k != nil {
		return fmt.Errorf("%w: ReduceMean of a constant", ErrUnsupported)
	}
	axes := attrInts(n, "axes")
	if a, err := im.in(n, 1); err != nil {
		return err
	} else if a != nil {
		if a.k == nil {
			return fmt.Errorf("%w: axes are not constant", ErrUnsupported)
		}
		axes = a.k.ints()
	}
	r := len(x.shape)
	if len(axes) == 0 {
		if attrInt(n, "noop_with_empty_axes", 0) != 0 {
			return im.reshape(n, x, x.shape)
		}
		for d := 0; d < r; d++ {
			axes = append(axes, int64(d))
		}
	}
	red := make([]bool, r)
	lo, hi := r, -1
	for _, ax := range axes {
		d, err := normAxis(ax, r)
		if err != nil {
			return err
		}
		red[d] = true
		lo, hi = min(lo, d), max(hi, d)
	}
	for d := lo; d <= hi; d++ {
		if !red[d] {
			return fmt.Errorf("%w: ReduceMean over non-adjacent axes %v", ErrUnsupported, axes)
		}
	}
	keep := attrInt(n, "keepdims", 1) != 0
	var shape []int64
	a32 := []int32{}
	for d := 0; d < r; d++ {
		if red[d] {
			a32 = append(a32, int32(d))
			if keep {
				shape = append(shape, 1)
			}
			continue
		}
		shape = append(shape, x.shape[d])
	}
	if len(shape) == 0 {
		shape = []int64{1}
		keep = true
	}
	xt, err := im.materialize(x)
	if err != nil {
		return err
	}
	out, err := im.emit(format.OpMean, n.Name, &format.MeanOptions{Axes: a32, KeepDims: keep}, []int32{xt}, n.Outputs[0], shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, shape)
	return nil
}

func (im *importer) unary(n *Node) error {
	x, err := im.need(n, 0)
	if err != nil {
		return err
	}
	if x.k != nil && n.OpType == "Clip" {
		return im.clipKonst(n, x.k)
	}
	if x.k != nil {
		if f := constUnary[n.OpType]; f != nil {
			// Swin v2's position-bias MLP runs on constant coordinates.
			k := &konst{shape: x.k.shape, float: true}
			for _, v := range x.k.floats() {
				k.f = append(k.f, float32(f(float64(v))))
			}
			im.setConst(n, 0, k)
			return nil
		}
		return fmt.Errorf("%w: %s of a constant", ErrUnsupported, n.OpType)
	}
	var code format.OpCode
	var opts format.Options
	act := format.ActNone
	switch n.OpType {
	case "Relu":
		code, act = format.OpReLU, format.ActReLU
	case "Gelu":
		code = format.OpGELU
		switch a := attrString(n, "approximate", "none"); a {
		case "none":
			opts = &format.GELUOptions{}
		case "tanh":
			opts = &format.GELUOptions{Approximate: true}
		default:
			return fmt.Errorf("%w: Gelu approximate=%q", ErrUnsupported, a)
		}
	case "Sigmoid":
		code = format.OpLogistic
	case "Tanh":
		code = format.OpTanh
	case "HardSwish":
		code = format.OpHardSwish
	case "HardSigmoid":
		code = format.OpHardSigmoid
		opts = &format.HardSigmoidOptions{Alpha: attrFloat(n, "alpha", 0.2), Beta: attrFloat(n, "beta", 0.5)}
	case "Clip":
		lo, err := im.in(n, 1)
		if err != nil {
			return err
		}
		hi, err := im.in(n, 2)
		if err != nil {
			return err
		}
		switch {
		case lo != nil && lo.k != nil && lo.k.len() == 1 && lo.k.floats()[0] == 0 && hi != nil && hi.k != nil && hi.k.len() == 1 && hi.k.floats()[0] == 6:
			code, act = format.OpReLU6, format.ActReLU6
		case lo != nil && lo.k != nil && lo.k.len() == 1 && lo.k.floats()[0] == 0 && hi == nil:
			code, act = format.OpReLU, format.ActReLU
		default:
			return fmt.Errorf("%w: Clip other than to [0, 6] or [0, ∞)", ErrUnsupported)
		}
	}
	if act != format.ActNone && im.fuseActivation(n, x, act) {
		return nil
	}
	if x.t < 0 && x.nhwc >= 0 {
		// Elementwise: stay channels-last, no transpose either side.
		out, err := im.emit(code, n.Name, opts, []int32{x.nhwc}, n.Outputs[0]+"/nhwc", []int64{x.shape[0], x.shape[2], x.shape[3], x.shape[1]})
		if err != nil {
			return err
		}
		im.vals[n.Outputs[0]] = &val{name: n.Outputs[0], shape: x.shape, t: -1, nhwc: out, op: len(im.b.Model().Ops) - 1}
		return nil
	}
	xt, err := im.materialize(x)
	if err != nil {
		return err
	}
	out, err := im.emit(code, n.Name, opts, []int32{xt}, n.Outputs[0], x.shape)
	if err != nil {
		return err
	}
	im.setTensor(n, 0, out, x.shape)
	return nil
}

// fuseActivation folds a ReLU/ReLU6 into the FullyConnected or
// convolution that produced x when nothing else reads x.
func (im *importer) fuseActivation(n *Node, x *val, act format.Activation) bool {
	if x.op < 0 || im.uses[x.name] != 1 {
		return false
	}
	op := &im.b.Model().Ops[x.op]
	switch o := op.Options.(type) {
	case *format.FullyConnectedOptions:
		if o.Activation != format.ActNone || op.Outputs[0] != x.t {
			return false
		}
		o.Activation = act
	case *format.Conv2DOptions:
		if o.Activation != format.ActNone || op.Outputs[0] != x.nhwc || x.t >= 0 {
			return false
		}
		o.Activation = act
	case *format.DepthwiseConv2DOptions:
		if o.Activation != format.ActNone || op.Outputs[0] != x.nhwc || x.t >= 0 {
			return false
		}
		o.Activation = act
	case *format.BinaryOptions:
		if o.Activation != format.ActNone || (op.Outputs[0] != x.nhwc && op.Outputs[0] != x.t) || (x.t >= 0 && x.nhwc >= 0) {
			return false
		}
		o.Activation = act
	default:
		return false
	}
	nv := *x
	nv.name = n.Outputs[0]
	if nv.t >= 0 {
		im.b.Tensor(nv.t).Name = n.Outputs[0]
	}
	im.vals[n.Outputs[0]] = &nv
	return true
}

func (im *importer) dequantize(n *Node) error {
	x, err := im.needConst(n, 0, "DequantizeLinear input (only constant weights can be dequantized)")
	if err != nil {
		return err
	}
	scale, err := im.needConst(n, 1, "scale")
	if err != nil {
		return err
	}
	zp := &konst{i: make([]int64, scale.len())}
	if z, err := im.in(n, 2); err != nil {
		return err
	} else if z != nil {
		if z.k == nil {
			return fmt.Errorf("%w: zero point is not a constant", ErrUnsupported)
		}
		zp = z.k
	}
	if x.float || scale.len() == 0 || zp.len() != scale.len() {
		return fmt.Errorf("%w: DequantizeLinear of %d scales and %d zero points", ErrUnsupported, scale.len(), zp.len())
	}
	axis := 0
	per := scale.len()
	if per > 1 {
		if axis, err = normAxis(attrInt(n, "axis", 1), len(x.shape)); err != nil {
			return err
		}
		if x.shape[axis] != int64(per) {
			return fmt.Errorf("%d scales for axis %d of %v", per, axis, x.shape)
		}
	}
	if attrInt(n, "block_size", 0) != 0 {
		return fmt.Errorf("%w: blocked DequantizeLinear", ErrUnsupported)
	}
	inner := 1
	for d := axis + 1; d < len(x.shape); d++ {
		inner *= int(x.shape[d])
	}
	sf, zi := scale.floats(), zp.ints()
	out := &konst{shape: x.shape, float: true, f: make([]float32, len(x.i))}
	q8 := &Int8Weight{Values: make([]int8, len(x.i)), Axis: axis}
	int8ok := true
	for c := range sf {
		q8.Scale = append(q8.Scale, sf[c])
		q8.ZeroPoint = append(q8.ZeroPoint, 0)
	}
	for i, q := range x.i {
		c := 0
		if per > 1 {
			c = (i / inner) % per
		}
		out.f[i] = float32(q-zi[c]) * sf[c]
		// Weights are symmetric int8: s·(q − z) is kept exactly as the
		// integer q − z with zero point 0 (an asymmetric or uint8 weight
		// too) when every q − z is in [−127, 127]; otherwise the floats
		// are quantized afresh.
		if d := q - zi[c]; d < -127 || d > 127 {
			int8ok = false
		} else {
			q8.Values[i] = int8(d)
		}
	}
	if int8ok {
		// Quantization keeps these integers.
		out.q8 = q8
	}
	im.setConst(n, 0, out)
	return nil
}
