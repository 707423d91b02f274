package onnx

import (
	"fmt"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
)

// Exporters that predate LayerNormalization and Gelu (or that decompose
// them) spell them out with primitive ops. findPatterns recognizes those
// subgraphs before import so that each becomes one op:
//
//	LayerNorm: m = ReduceMean(x); d = Sub(x, m); v = ReduceMean(Pow(d, 2) or Mul(d, d));
//	           y = Div(d, Sqrt(Add(v, ε))) [· γ] [+ β]
//	GELU:      y = x · 0.5 · (1 + Erf(x / √2))   (Div by √2 or Mul by 1/√2; any
//	           association of the two products)
//
// A match requires every intermediate value to be read only inside the
// pattern; otherwise the nodes import one by one (and Sqrt or Erf on a
// runtime tensor is then reported as unsupported).
func (im *importer) findPatterns() {
	for i := range im.g.Nodes {
		if len(im.g.Nodes[i].Outputs) == 0 {
			return // the import fails at that node; matching needs outputs
		}
	}
	p := &patterns{im: im, producer: map[string]int{}, konsts: map[string]*konst{}}
	for name, v := range im.vals {
		if v.k != nil {
			p.konsts[name] = v.k
		}
	}
	for i := range im.g.Nodes {
		n := &im.g.Nodes[i]
		for _, o := range n.Outputs {
			p.producer[o] = i
		}
		if n.OpType == "Constant" && len(n.Attributes) == 1 && len(n.Outputs) == 1 {
			a := &n.Attributes[0]
			switch {
			case a.Name == "value" && a.T != nil:
				if k, err := tensorKonst(a.T); err == nil {
					p.konsts[n.Outputs[0]] = k
				}
			case a.Name == "value_float":
				p.konsts[n.Outputs[0]] = &konst{float: true, f: []float32{a.F}}
			}
		}
	}
	for i := range im.g.Nodes {
		switch im.g.Nodes[i].OpType {
		case "ReduceMean":
			p.layerNorm(i)
		case "Erf":
			p.gelu(i)
		}
	}
}

type patterns struct {
	im       *importer
	producer map[string]int
	konsts   map[string]*konst
}

// only returns the single node reading name (−1 if none or several, or
// if name is a graph output).
func (p *patterns) only(name string) int {
	cs := p.im.consumers[name]
	if len(cs) == 0 {
		return -1
	}
	for _, c := range cs[1:] {
		if c != cs[0] {
			return -1
		}
	}
	if p.im.uses[name] != len(cs) {
		return -1 // also a graph output
	}
	return cs[0]
}

// scalar returns the value of a one-element constant.
func (p *patterns) scalar(name string) (float32, bool) {
	k, ok := p.konsts[name]
	if !ok || k.len() != 1 {
		return 0, false
	}
	return k.floats()[0], true
}

// other returns the input of a binary node that is not name.
func other(n *Node, name string) (string, bool) {
	if len(n.Inputs) != 2 {
		return "", false
	}
	switch name {
	case n.Inputs[0]:
		return n.Inputs[1], true
	case n.Inputs[1]:
		return n.Inputs[0], true
	}
	return "", false
}

func near(a float32, b float64) bool { return math.Abs(float64(a)-b) < 1e-3*math.Abs(b) }

// reduceAxes returns the axes of a ReduceMean node (attribute or constant
// input) and whether they are known.
func (p *patterns) reduceAxes(n *Node) ([]int64, bool) {
	if len(n.Inputs) > 1 && n.Inputs[1] != "" {
		k, ok := p.konsts[n.Inputs[1]]
		if !ok {
			return nil, false
		}
		return k.ints(), true
	}
	return attrInts(n, "axes"), true
}

func (p *patterns) node(i int) *Node { return &p.im.g.Nodes[i] }

func (p *patterns) layerNorm(r1 int) {
	g := p.im.g
	n1 := &g.Nodes[r1]
	axes, ok := p.reduceAxes(n1)
	if !ok || len(axes) != 1 || attrInt(n1, "keepdims", 1) == 0 || len(n1.Inputs) == 0 {
		return
	}
	x, mean := n1.Inputs[0], n1.Outputs[0]
	si := p.only(mean)
	if si < 0 || p.node(si).OpType != "Sub" || len(p.node(si).Inputs) != 2 || p.node(si).Inputs[0] != x || p.node(si).Inputs[1] != mean {
		return
	}
	d := p.node(si).Outputs[0]
	var sq, div int = -1, -1
	for _, c := range p.im.consumers[d] {
		switch p.node(c).OpType {
		case "Pow", "Mul":
			sq = c
		case "Div":
			div = c
		}
	}
	if sq < 0 || div < 0 || p.im.uses[d] != len(p.im.consumers[d]) {
		return
	}
	sqn := p.node(sq)
	switch sqn.OpType {
	case "Pow":
		if len(sqn.Inputs) != 2 {
			return
		}
		if e, ok := p.scalar(sqn.Inputs[1]); !ok || e != 2 || sqn.Inputs[0] != d || len(p.im.consumers[d]) != 2 {
			return
		}
	case "Mul":
		if len(sqn.Inputs) != 2 || sqn.Inputs[0] != d || sqn.Inputs[1] != d || len(p.im.consumers[d]) != 3 {
			return
		}
	}
	r2 := p.only(sqn.Outputs[0])
	if r2 < 0 || p.node(r2).OpType != "ReduceMean" {
		return
	}
	if axes2, ok := p.reduceAxes(p.node(r2)); !ok || len(axes2) != 1 || axes2[0] != axes[0] {
		return
	}
	ai := p.only(p.node(r2).Outputs[0])
	if ai < 0 || p.node(ai).OpType != "Add" {
		return
	}
	epsName, ok := other(p.node(ai), p.node(r2).Outputs[0])
	if !ok {
		return
	}
	eps, ok := p.scalar(epsName)
	if !ok {
		return
	}
	sqrt := p.only(p.node(ai).Outputs[0])
	if sqrt < 0 || p.node(sqrt).OpType != "Sqrt" || p.only(p.node(sqrt).Outputs[0]) != div {
		return
	}
	dn := p.node(div)
	if len(dn.Inputs) != 2 || dn.Inputs[0] != d || dn.Inputs[1] != p.node(sqrt).Outputs[0] {
		return
	}
	nodes := []int{r1, si, sq, r2, ai, sqrt, div}
	last := div
	var gamma, beta *konst
	if c := p.only(dn.Outputs[0]); c >= 0 && p.node(c).OpType == "Mul" {
		if gn, ok := other(p.node(c), dn.Outputs[0]); ok && p.konsts[gn] != nil {
			gamma, last = p.konsts[gn], c
			nodes = append(nodes, c)
		}
	}
	if c := p.only(p.node(last).Outputs[0]); c >= 0 && p.node(c).OpType == "Add" {
		if bn, ok := other(p.node(c), p.node(last).Outputs[0]); ok && p.konsts[bn] != nil {
			beta, last = p.konsts[bn], c
			nodes = append(nodes, c)
		}
	}
	for _, i := range nodes {
		if p.im.skip[i] || p.im.replace[i] != nil {
			return
		}
	}
	for _, i := range nodes {
		p.im.skip[i] = true
	}
	delete(p.im.skip, last)
	axis := axes[0]
	outName := p.node(last).Outputs[0]
	opName := n1.Name
	p.im.replace[last] = func() error {
		xv, ok := p.im.vals[x]
		if !ok {
			return fmt.Errorf("input %q is not produced before it is used", x)
		}
		if xv.k != nil || len(xv.shape) == 0 {
			return fmt.Errorf("%w: decomposed LayerNorm of a constant", ErrUnsupported)
		}
		if a, err := normAxis(axis, len(xv.shape)); err != nil || a != len(xv.shape)-1 {
			return fmt.Errorf("%w: decomposed LayerNorm over axis %d (only the last axis)", ErrUnsupported, axis)
		}
		dim := int(xv.shape[len(xv.shape)-1])
		gv := make([]float32, dim)
		bv := make([]float32, dim)
		for j := range gv {
			gv[j] = 1
		}
		if gamma != nil {
			if gamma.len() != dim && gamma.len() != 1 {
				return fmt.Errorf("LayerNorm scale has %d values for %d features", gamma.len(), dim)
			}
			for j := range gv {
				gv[j] = gamma.floats()[min(j, gamma.len()-1)]
			}
		}
		if beta != nil {
			if beta.len() != dim && beta.len() != 1 {
				return fmt.Errorf("LayerNorm bias has %d values for %d features", beta.len(), dim)
			}
			for j := range bv {
				bv[j] = beta.floats()[min(j, beta.len()-1)]
			}
		}
		return p.im.layerNormOp(opName+"/layernorm", outName, xv, gv, bv, eps)
	}
}

func (p *patterns) gelu(ei int) {
	en := p.node(ei)
	if len(en.Inputs) != 1 {
		return
	}
	pa, ok := p.producer[en.Inputs[0]]
	if !ok || p.only(en.Inputs[0]) != ei {
		return
	}
	pn := p.node(pa)
	if len(pn.Inputs) != 2 {
		return
	}
	x := pn.Inputs[0]
	c, ok := p.scalar(pn.Inputs[1])
	switch {
	case ok && pn.OpType == "Div" && near(c, math.Sqrt2):
	case ok && pn.OpType == "Mul" && near(c, 1/math.Sqrt2):
	case pn.OpType == "Mul":
		if c, ok = p.scalar(pn.Inputs[0]); !ok || !near(c, 1/math.Sqrt2) {
			return
		}
		x = pn.Inputs[1]
	default:
		return
	}
	ai := p.only(en.Outputs[0])
	if ai < 0 || p.node(ai).OpType != "Add" {
		return
	}
	if one, ok := other(p.node(ai), en.Outputs[0]); !ok {
		return
	} else if v, ok := p.scalar(one); !ok || v != 1 {
		return
	}
	m1 := p.only(p.node(ai).Outputs[0])
	if m1 < 0 || p.node(m1).OpType != "Mul" {
		return
	}
	y, ok := other(p.node(m1), p.node(ai).Outputs[0])
	if !ok {
		return
	}
	nodes := []int{pa, ei, ai, m1}
	last := m1
	isHalf := func(n *Node, x string) bool {
		o, ok := other(n, x)
		if !ok {
			return false
		}
		v, ok := p.scalar(o)
		return ok && v == 0.5
	}
	switch {
	case y == x:
		// (x · (1+erf)) · 0.5
		m2 := p.only(p.node(m1).Outputs[0])
		if m2 < 0 || p.node(m2).OpType != "Mul" || !isHalf(p.node(m2), p.node(m1).Outputs[0]) {
			return
		}
		nodes = append(nodes, m2)
		last = m2
	default:
		// (x · 0.5) · (1+erf)
		h, ok := p.producer[y]
		if !ok || p.node(h).OpType != "Mul" || p.only(y) != m1 || !isHalf(p.node(h), x) {
			return
		}
		if o, _ := other(p.node(h), x); o == x {
			return
		}
		nodes = append(nodes, h)
	}
	for _, i := range nodes {
		if p.im.skip[i] || p.im.replace[i] != nil {
			return
		}
	}
	for _, i := range nodes {
		p.im.skip[i] = true
	}
	delete(p.im.skip, last)
	outName := p.node(last).Outputs[0]
	opName := en.Name
	p.im.replace[last] = func() error {
		xv, ok := p.im.vals[x]
		if !ok {
			return fmt.Errorf("input %q is not produced before it is used", x)
		}
		if xv.k != nil {
			return fmt.Errorf("%w: GELU of a constant", ErrUnsupported)
		}
		xt, err := p.im.materialize(xv)
		if err != nil {
			return err
		}
		out, err := p.im.emit(format.OpGELU, opName+"/gelu", &format.GELUOptions{}, []int32{xt}, outName, xv.shape)
		if err != nil {
			return err
		}
		p.im.vals[outName] = &val{name: outName, shape: xv.shape, t: out, nhwc: -1, op: len(p.im.b.Model().Ops) - 1}
		return nil
	}
}
