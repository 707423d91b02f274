package format

import (
	"fmt"
	"math"
)

// Rules of the token-adaptive and robust ViT operators (op codes 60–70).

// maxTokenDim bounds grids, prefixes, keeps and dilations so that index
// arithmetic stays small and int16 positions can address every token.
const maxTokenDim = 1 << 14

// isTokenOp reports whether code is one of the token operators; checkOp
// hands them to opCheck.tokenOp.
func isTokenOp(code OpCode) bool { return code >= 60 && code <= 70 }

func (c *opCheck) tokenOp() error {
	switch c.op.Code {
	case OpAdaptiveTokenPool2D:
		return c.adaptiveTokenPool()
	case OpPoolMixer:
		return c.poolMixer()
	case OpSwiGLU:
		if err := c.noOptions(); err != nil {
			return err
		}
		g, u := c.in(0), c.in(1)
		if !shapeEq(u.Shape, dims(g.Shape)) {
			return c.errf("%s has shape %v, want %v like the gate", c.inName("up", 1), u.Shape, g.Shape)
		}
		if err := c.shapeIs(c.outName(), c.out().Shape, dims(g.Shape)); err != nil {
			return err
		}
		return c.elementwiseTypes(0, 1)
	case OpGGeMPool:
		return c.ggem()
	case OpEfficientProbe:
		return c.efficientProbe()
	case OpZOSensitivity:
		return c.zoSensitivity()
	case OpDiverseSelect:
		return c.diverseSelect()
	case OpGatherTokens:
		return c.gatherTokens()
	case OpScatterTokens:
		return c.scatterTokens()
	case OpTokenAwareAvgPool:
		return c.tap()
	case OpAttentionSinkRedistribute:
		return c.attentionSink()
	}
	return c.m.opErr(c.i, ErrUnsupported, "no rules for op code %d", uint16(c.op.Code))
}

// tokens checks that input k is a [T, D] token tensor and returns T, D.
func (c *opCheck) tokens(k int, role string) (int64, int64, error) {
	t := c.in(k)
	if err := c.rank(c.inName(role, k), t, 2); err != nil {
		return 0, 0, err
	}
	return int64(t.Shape[0]), int64(t.Shape[1]), nil
}

// dimIn checks lo ≤ v ≤ hi for an attribute.
func (c *opCheck) dimIn(what string, v int32, lo, hi int64) error {
	if int64(v) < lo || int64(v) > hi {
		return c.errf("%s is %d, want %d…%d", what, v, lo, hi)
	}
	return nil
}

// grid checks the grid attributes and that T = prefix + gh·gw.
func (c *opCheck) grid(gh, gw, prefix int32, t int64) error {
	for _, e := range []error{c.dimIn("grid height", gh, 1, maxTokenDim), c.dimIn("grid width", gw, 1, maxTokenDim),
		c.dimIn("prefix", prefix, 0, maxTokenDim)} {
		if e != nil {
			return e
		}
	}
	if want := int64(prefix) + int64(gh)*int64(gw); t != want {
		return c.errf("%s has %d tokens, want prefix %d + grid %d×%d = %d", c.inName("input", 0), t, prefix, gh, gw, want)
	}
	return nil
}

// floatOrInt8 checks that the listed inputs and the output are all
// float32 or all per-tensor int8, following input ks[0].
func (c *opCheck) floatOrInt8(ks ...int) error { return c.elementwiseTypes(ks...) }

// sameQuantOut checks that an int8 output shares x's quantization.
func (c *opCheck) sameQuantOut(x *Tensor) error {
	if x.DType == Int8 {
		return c.passThrough(x)
	}
	return nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

func (c *opCheck) adaptiveTokenPool() error {
	o, err := options[AdaptiveTokenPool2DOptions](c, true)
	if err != nil {
		return err
	}
	t, d, err := c.tokens(0, "input")
	if err != nil {
		return err
	}
	for _, e := range []error{c.dimIn("output height", o.OutH, 1, maxTokenDim), c.dimIn("output width", o.OutW, 1, maxTokenDim)} {
		if e != nil {
			return e
		}
	}
	pos := c.in(1)
	if o.Masked {
		if err := c.dimIn("grid height", o.GridH, 1, maxTokenDim); err != nil {
			return err
		}
		if err := c.dimIn("grid width", o.GridW, 1, maxTokenDim); err != nil {
			return err
		}
		if err := c.dimIn("prefix", o.Prefix, 0, t); err != nil {
			return err
		}
		if pos == nil {
			return c.errf("masked pooling needs the positions input (1)")
		}
		if err := c.dtype(c.inName("positions", 1), pos, Int16); err != nil {
			return err
		}
		if err := c.shapeIs(c.inName("positions", 1), pos.Shape, []int64{t}); err != nil {
			return err
		}
	} else {
		if pos != nil {
			return c.errf("positions input given, but the pooling is not masked")
		}
		if err := c.grid(o.GridH, o.GridW, o.Prefix, t); err != nil {
			return err
		}
	}
	rows := int64(o.OutH) * int64(o.OutW)
	if o.KeepPrefix {
		rows += int64(o.Prefix)
	}
	if err := c.shapeIs(c.outName(), c.out().Shape, []int64{rows, d}); err != nil {
		return err
	}
	if err := c.floatOrInt8(0); err != nil {
		return err
	}
	return c.sameQuantOut(c.in(0))
}

func (c *opCheck) poolMixer() error {
	o, err := options[PoolMixerOptions](c, true)
	if err != nil {
		return err
	}
	t, d, err := c.tokens(0, "input")
	if err != nil {
		return err
	}
	if err := c.grid(o.GridH, o.GridW, o.Prefix, t); err != nil {
		return err
	}
	if err := c.shapeIs(c.outName(), c.out().Shape, []int64{t, d}); err != nil {
		return err
	}
	return c.floatOrInt8(0)
}

func (c *opCheck) ggem() error {
	o, err := options[GGeMPoolOptions](c, true)
	if err != nil {
		return err
	}
	t, d, err := c.tokens(0, "input")
	if err != nil {
		return err
	}
	if err := c.dimIn("groups", o.Groups, 1, d); err != nil {
		return err
	}
	if d%int64(o.Groups) != 0 {
		return c.errf("%d channels do not split into %d groups", d, o.Groups)
	}
	if int64(len(o.P)) != int64(o.Groups) {
		return c.errf("%d exponents, want one per group (%d)", len(o.P), o.Groups)
	}
	for g, p := range o.P {
		if !finite(p) || p <= 0 || p > 64 {
			return c.errf("exponent of group %d is %g, want 0 < p ≤ 64", g, p)
		}
	}
	if !finite(o.Eps) || o.Eps <= 0 {
		return c.errf("eps is %g, want a positive finite value", o.Eps)
	}
	if err := c.dimIn("prefix", o.Prefix, 0, t-1); err != nil {
		return err
	}
	if err := c.shapeIs(c.outName(), c.out().Shape, []int64{1, d}); err != nil {
		return err
	}
	return c.floatOrInt8(0)
}

func (c *opCheck) efficientProbe() error {
	o, err := options[EfficientProbeOptions](c, true)
	if err != nil {
		return err
	}
	t, d, err := c.tokens(0, "input")
	if err != nil {
		return err
	}
	lo := int64(0)
	if !o.IncludePrefix {
		lo = 1
	}
	if err := c.dimIn("prefix", o.Prefix, 0, t-lo); err != nil {
		return err
	}
	m, qd, err := c.tokens(1, "queries")
	if err != nil {
		return err
	}
	if err := c.constant(c.inName("queries", 1), c.in(1)); err != nil {
		return err
	}
	if qd != d || m < 1 {
		return c.errf("%s has shape %v, want [M, %d]", c.inName("queries", 1), c.in(1).Shape, d)
	}
	vt, dv, err := c.tokens(2, "values")
	if err != nil {
		return err
	}
	if vt != t || dv%m != 0 || dv == 0 {
		return c.errf("%s has shape %v, want [%d, a multiple of %d queries]", c.inName("values", 2), c.in(2).Shape, t, m)
	}
	if err := c.shapeIs(c.outName(), c.out().Shape, []int64{1, dv}); err != nil {
		return err
	}
	return c.floatOrInt8(0, 1, 2)
}

// symmetricRows checks an int8 constant with one symmetric scale per row
// (axis 0), or float32 for a float model.
func (c *opCheck) rowsConst(k int, role string, int8Model bool) error {
	t := c.in(k)
	if err := c.constant(c.inName(role, k), t); err != nil {
		return err
	}
	if !int8Model {
		return c.dtype(c.inName(role, k), t, Float32)
	}
	_, err := c.weights(k, 0)
	return err
}

func (c *opCheck) zoSensitivity() error {
	o, err := options[ZOSensitivityOptions](c, true)
	if err != nil {
		return err
	}
	if o.Mode > ZOCentralDiff {
		return c.m.opErr(c.i, ErrUnsupported, "unknown sensitivity mode %d", o.Mode)
	}
	t, f, err := c.tokens(0, "input")
	if err != nil {
		return err
	}
	if err := c.shapeIs(c.outName(), c.out().Shape, []int64{t}); err != nil {
		return err
	}
	if err := c.dtype(c.outName(), c.out(), Float32); err != nil {
		return err
	}
	z := c.in(0)
	int8Model := z.DType == Int8
	if int8Model {
		if err := c.perTensor(c.inName("input", 0), z); err != nil {
			return err
		}
	} else if err := c.dtype(c.inName("input", 0), z, Float32); err != nil {
		return err
	}
	switch o.Mode {
	case ZOJVP, ZOLowRankJVP:
		if len(c.op.Inputs) != 3 || c.in(1) == nil {
			return c.errf("mode %v takes z, directions and w (3 inputs)", o.Mode)
		}
		for k, role := range []string{"", "directions", "jacobian weight"} {
			if k == 0 {
				continue
			}
			if _, kf, err := c.tokens(k, role); err != nil {
				return err
			} else if kf != f {
				return c.errf("%s has shape %v, want [rows, %d]", c.inName(role, k), c.in(k).Shape, f)
			}
			if err := c.rowsConst(k, role, int8Model); err != nil {
				return err
			}
		}
	case ZOFroDiag:
		if len(c.op.Inputs) != 3 || c.in(1) != nil {
			return c.errf("mode fro_diag takes z, −1 and the diagonal weights (3 inputs)")
		}
		w := c.in(2)
		if err := c.constant(c.inName("diagonal weights", 2), w); err != nil {
			return err
		}
		if err := c.dtype(c.inName("diagonal weights", 2), w, Float32); err != nil {
			return err
		}
		if err := c.shapeIs(c.inName("diagonal weights", 2), w.Shape, []int64{f}); err != nil {
			return err
		}
	case ZOCentralDiff:
		if int8Model {
			return c.errf("mode central_diff is float only (finite differences vanish in int8)")
		}
		if len(c.op.Inputs) != 5 || c.in(1) == nil {
			return c.errf("mode central_diff takes x, u, w2, w1, b1 (5 inputs)")
		}
		if !finite(o.Step) || o.Step <= 0 {
			return c.errf("step is %g, want a positive finite value", o.Step)
		}
		din := f
		w1 := c.in(3)
		if err := c.rank(c.inName("w1", 3), w1, 2); err != nil {
			return err
		}
		hidden := int64(w1.Shape[0])
		want := map[int][]int64{1: {-1, din}, 2: {-1, hidden}, 3: {hidden, din}, 4: {hidden}}
		for k := 1; k <= 4; k++ {
			tk := c.in(k)
			name := c.inName([]string{"", "directions", "w2", "w1", "b1"}[k], k)
			if err := c.constant(name, tk); err != nil {
				return err
			}
			if err := c.dtype(name, tk, Float32); err != nil {
				return err
			}
			w := want[k]
			if len(tk.Shape) != len(w) || (w[0] >= 0 && int64(tk.Shape[0]) != w[0]) || int64(tk.Shape[len(w)-1]) != w[len(w)-1] {
				return c.errf("%s has shape %v, want %v (−1: any)", name, tk.Shape, w)
			}
		}
	}
	return nil
}

func (c *opCheck) diverseSelect() error {
	o, err := options[DiverseSelectOptions](c, true)
	if err != nil {
		return err
	}
	if o.TopK && c.op.Version < 2 {
		return c.errf("top_k needs op version 2, the op is version %d", c.op.Version)
	}
	if o.AddWeight != 0 {
		switch {
		case c.op.Version < 3:
			return c.errf("add_weight needs op version 3, the op is version %d", c.op.Version)
		case o.TopK:
			return c.errf("add_weight %g with top_k: top-k selection has no distance to add to", o.AddWeight)
		case !(o.AddWeight > 0) || math.IsInf(float64(o.AddWeight), 0):
			return c.errf("add_weight is %g, want a finite value > 0 (0: the product)", o.AddWeight)
		}
	}
	t, _, err := c.tokens(0, "features")
	if err != nil {
		return err
	}
	if t > maxTokenDim {
		return c.errf("%s has %d tokens, want at most %d (int16 indices)", c.inName("features", 0), t, maxTokenDim)
	}
	if err := c.dimIn("prefix", o.Prefix, 0, min(t, maxTokenDim)); err != nil {
		return err
	}
	if err := c.dimIn("keep", o.Keep, 1, min(t-int64(o.Prefix), maxTokenDim)); err != nil {
		return err
	}
	s := c.in(1)
	if err := c.dtype(c.inName("sensitivity", 1), s, Float32); err != nil {
		return err
	}
	if err := c.shapeIs(c.inName("sensitivity", 1), s.Shape, []int64{t}); err != nil {
		return err
	}
	if f := c.in(0); f.DType == Int8 {
		if err := c.perTensor(c.inName("features", 0), f); err != nil {
			return err
		}
	} else if err := c.dtype(c.inName("features", 0), f, Float32); err != nil {
		return err
	}
	if err := c.dtype(c.outName(), c.out(), Int16); err != nil {
		return err
	}
	return c.shapeIs(c.outName(), c.out().Shape, []int64{int64(o.Prefix) + int64(o.Keep)})
}

func (c *opCheck) gatherTokens() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, idx := c.in(0), c.in(1)
	if err := c.minRank(c.inName("input", 0), x, 1); err != nil {
		return err
	}
	if x.Shape[0] > maxTokenDim {
		return c.errf("%s has %d rows, want at most %d", c.inName("input", 0), x.Shape[0], maxTokenDim)
	}
	switch x.DType {
	case Float32, Int16:
	case Int8:
		if err := c.perTensor(c.inName("input", 0), x); err != nil {
			return err
		}
	default:
		return c.errf("%s is %v, want float32, int8 or int16", c.inName("input", 0), x.DType)
	}
	if err := c.dtype(c.inName("indices", 1), idx, Int16); err != nil {
		return err
	}
	if err := c.rank(c.inName("indices", 1), idx, 1); err != nil {
		return err
	}
	want := append([]int64{int64(idx.Shape[0])}, dims(x.Shape[1:])...)
	if err := c.shapeIs(c.outName(), c.out().Shape, want); err != nil {
		return err
	}
	return c.passThrough(x)
}

func (c *opCheck) scatterTokens() error {
	if err := c.noOptions(); err != nil {
		return err
	}
	x, pos, out := c.in(0), c.in(1), c.out()
	if err := c.minRank(c.inName("input", 0), x, 1); err != nil {
		return err
	}
	switch x.DType {
	case Float32, Int16:
	case Int8:
		if err := c.perTensor(c.inName("input", 0), x); err != nil {
			return err
		}
	default:
		return c.errf("%s is %v, want float32, int8 or int16", c.inName("input", 0), x.DType)
	}
	if err := c.dtype(c.inName("positions", 1), pos, Int16); err != nil {
		return err
	}
	if err := c.shapeIs(c.inName("positions", 1), pos.Shape, []int64{int64(x.Shape[0])}); err != nil {
		return err
	}
	if err := c.minRank(c.outName(), out, 1); err != nil {
		return err
	}
	if n := out.Shape[0]; n < 1 || n > maxTokenDim {
		return c.errf("%s has %d rows, want 1…%d", c.outName(), n, maxTokenDim)
	}
	want := append([]int64{int64(out.Shape[0])}, dims(x.Shape[1:])...)
	if err := c.shapeIs(c.outName(), out.Shape, want); err != nil {
		return err
	}
	return c.passThrough(x)
}

func (c *opCheck) tap() error {
	o, err := options[TokenAwareAvgPoolOptions](c, true)
	if err != nil {
		return err
	}
	t, d, err := c.tokens(0, "input")
	if err != nil {
		return err
	}
	if err := c.grid(o.GridH, o.GridW, o.Prefix, t); err != nil {
		return err
	}
	k := int64(len(o.Dilations))
	if k < 1 || k > 16 {
		return c.errf("%d dilations, want 1…16", k)
	}
	for i, dl := range o.Dilations {
		if err := c.dimIn(fmt.Sprintf("dilation %d", i), dl, 0, maxTokenDim); err != nil {
			return err
		}
	}
	l := c.in(1)
	cells := int64(o.GridH) * int64(o.GridW)
	if !shapeEq(l.Shape, []int64{cells, k}) && !shapeEq(l.Shape, []int64{1, int64(o.GridH), int64(o.GridW), k}) {
		return c.errf("%s has shape %v, want [%d, %d] or [1, %d, %d, %d]", c.inName("logits", 1), l.Shape, cells, k, o.GridH, o.GridW, k)
	}
	if err := c.shapeIs(c.outName(), c.out().Shape, []int64{t, d}); err != nil {
		return err
	}
	return c.floatOrInt8(0, 1)
}

func (c *opCheck) attentionSink() error {
	o, err := options[AttentionSinkOptions](c, true)
	if err != nil {
		return err
	}
	a, h := c.in(0), c.in(1)
	if err := c.minRank(c.inName("probabilities", 0), a, 2); err != nil {
		return err
	}
	n, d, err := c.tokens(1, "tokens")
	if err != nil {
		return err
	}
	if int64(a.Shape[len(a.Shape)-1]) != n {
		return c.errf("%s has %d keys, want %d like %s", c.inName("probabilities", 0), a.Shape[len(a.Shape)-1], n, c.inName("tokens", 1))
	}
	if len(o.SinkDims) == 0 {
		return c.errf("no sink dimensions")
	}
	for _, sd := range o.SinkDims {
		if err := c.dimIn("sink dimension", sd, 0, d-1); err != nil {
			return err
		}
	}
	for _, v := range []struct {
		name   string
		v      float32
		lo, hi float32
	}{{"tau", o.Tau, 0, 1e4}, {"rho", o.Rho, 0, 1}, {"min_mass", o.MinMass, 0, 1}, {"p", o.P, 0, 1}} {
		if !finite(v.v) || v.v < v.lo || v.v > v.hi {
			return c.errf("%s is %g, want %g…%g", v.name, v.v, v.lo, v.hi)
		}
	}
	if err := c.dimIn("prefix", o.Prefix, 0, n); err != nil {
		return err
	}
	if err := c.shapeIs(c.outName(), c.out().Shape, dims(a.Shape)); err != nil {
		return err
	}
	switch a.DType {
	case Float32:
		if err := c.dtype(c.inName("tokens", 1), h, Float32); err != nil {
			return err
		}
	case Int8:
		if err := c.perTensor(c.inName("probabilities", 0), a); err != nil {
			return err
		}
		if err := c.perTensor(c.inName("tokens", 1), h); err != nil {
			return err
		}
	default:
		return c.errf("%s is %v, want float32 or int8", c.inName("probabilities", 0), a.DType)
	}
	return c.passThrough(a)
}
