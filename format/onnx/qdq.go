package onnx

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/quant"
)

// activationQDQ imports a QuantizeLinear or DequantizeLinear of a runtime
// value (an activation of a QDQ model). The float graph passes the value
// through unchanged; the pair's scale and zero point become the int8
// parameters of the tensor (Result.Activations). uint8 parameters are
// shifted by −128: q8 = q − 128 with zero point z − 128 stands for the
// same real values, so no information is lost. Per-axis activation
// quantization and other integer types are refused, naming the node.
func (im *importer) activationQDQ(n *Node, v *val) error {
	scale, err := im.needConst(n, 1, "scale")
	if err != nil {
		return err
	}
	if scale.len() != 1 {
		return fmt.Errorf("%w: %s %q: %d activation scales (only per-tensor activations)", ErrUnsupported, n.OpType, n.Name, scale.len())
	}
	s := scale.floats()[0]
	if !(s > 0) {
		return fmt.Errorf("%s %q: scale %g is not positive", n.OpType, n.Name, s)
	}
	dt, z := Uint8, int64(0) // ONNX's default zero point is uint8 0
	if len(n.Inputs) > 2 && n.Inputs[2] != "" {
		zk, err := im.needConst(n, 2, "zero point")
		if err != nil {
			return err
		}
		if zk.len() != 1 {
			return fmt.Errorf("%w: %s %q: %d activation zero points", ErrUnsupported, n.OpType, n.Name, zk.len())
		}
		z = zk.ints()[0]
		dt = Undefined
		for _, t := range im.g.Initializers {
			if t.Name == n.Inputs[2] {
				dt = t.DataType
			}
		}
	} else if od := attrInt(n, "output_dtype", 0); od != 0 {
		dt = DataType(od)
	}
	var p quant.Params
	switch dt {
	case Int8:
		p = quant.Params{Scale: s, ZeroPoint: int32(z)}
	case Uint8:
		p = quant.Params{Scale: s, ZeroPoint: int32(z) - 128}
	default:
		return fmt.Errorf("%w: %s %q: zero point of type %v (want an int8 or uint8 initializer)", ErrUnsupported, n.OpType, n.Name, dt)
	}
	if p.ZeroPoint < quant.Int8Min || p.ZeroPoint > quant.Int8Max {
		return fmt.Errorf("%s %q: zero point %d out of range for %v", n.OpType, n.Name, z, dt)
	}
	recorded := false
	for _, t := range []int32{v.t, v.nhwc} {
		if t < 0 {
			continue
		}
		if old, ok := im.acts[t]; ok && old != p {
			return fmt.Errorf("%w: %s %q: value %q already quantized with scale %g zero point %d, here %g and %d", ErrUnsupported, n.OpType, n.Name, v.name, old.Scale, old.ZeroPoint, p.Scale, p.ZeroPoint)
		}
		im.acts[t] = p
		recorded = true
	}
	if !recorded {
		return fmt.Errorf("%w: %s %q of a value without a tensor", ErrUnsupported, n.OpType, n.Name)
	}
	nv := *v
	nv.name = n.Outputs[0]
	im.vals[n.Outputs[0]] = &nv
	return nil
}
