package ptq

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/quant"
)

// tokenOp quantizes the token operators whose int8 form is not "int8
// activations in, observed parameters out" (the default rule, which
// serves PoolMixer, SwiGLU, GGeMPool, EfficientProbe and
// TokenAwareAvgPool). It reports whether it handled op.
func (q *quantizer) tokenOp(op *format.Op) (bool, error) {
	out := op.Outputs[0]
	ft := &q.fm.Tensors[out]
	switch op.Code {
	case format.OpZOSensitivity:
		o := op.Options.(*format.ZOSensitivityOptions)
		if o.Mode == format.ZOCentralDiff {
			// Float only: finite differences vanish in int8.
			i := -1
			for k := range q.fm.Ops {
				if &q.fm.Ops[k] == op {
					i = k
				}
			}
			return true, q.floatOp(i)
		}
		z, err := q.activation(op.Inputs[0])
		if err != nil {
			return true, err
		}
		ins := []int32{z, -1, -1}
		if o.Mode == format.ZOFroDiag {
			ins[2] = q.b.AddTensor(q.fm.Tensors[op.Inputs[2]])
		} else {
			for k := 1; k <= 2; k++ {
				if ins[k], err = q.rowsSymmetric(op.Inputs[k]); err != nil {
					return true, err
				}
			}
		}
		// The sensitivities stay float32: they only rank tokens.
		n := q.b.Activation(ft.Name, format.Float32, ft.Shape, nil)
		q.b.Op(op.Code, op.Name, op.Options, ins, n)
		q.newIdx[out] = n
		return true, nil
	case format.OpDiverseSelect, format.OpGatherTokens, format.OpScatterTokens, format.OpAdaptiveTokenPool2D, format.OpAttentionSinkRedistribute:
		ins := make([]int32, len(op.Inputs))
		for k := range op.Inputs {
			var err error
			if op.Code == format.OpDiverseSelect && k == 1 {
				if ins[k], err = q.scores(op.Inputs[k]); err != nil {
					return true, err
				}
				continue
			}
			if ins[k], err = q.input(op, k, nil); err != nil {
				return true, err
			}
		}
		x := op.Inputs[0]
		var n int32
		switch {
		case op.Code == format.OpDiverseSelect:
			n = q.b.Activation(ft.Name, format.Int16, ft.Shape, nil)
		case q.fm.Tensors[x].DType == format.Int16:
			n = q.b.Activation(ft.Name, format.Int16, ft.Shape, nil)
		default:
			// Moves or averages values, or (VAR) keeps softmax's fixed
			// output quantization: the input's parameters carry over.
			p, ok := q.params[x]
			if !ok {
				return true, fmt.Errorf("no parameters for input tensor %q", q.fm.Tensors[x].Name)
			}
			n = q.output(out, p)
		}
		q.b.Op(op.Code, op.Name, op.Options, ins, n)
		q.newIdx[out] = n
		return true, nil
	}
	return false, nil
}

// scores maps DiverseSelect's float scores: constant ones (uniform:
// pure diversity) and float results as they are, an int8 result
// dequantized.
func (q *quantizer) scores(t int32) (int32, error) {
	ft := &q.fm.Tensors[t]
	if ft.IsConst() {
		return q.b.AddTensor(*ft), nil
	}
	if n, ok := q.newIdx[t]; ok && q.b.Tensor(n).DType == format.Float32 {
		return n, nil // ZOSensitivity's float output
	}
	return q.floatAct(t)
}

// rowsSymmetric quantizes a float constant [rows, cols] with one symmetric
// scale per row (direction images, fc2 weights, low-rank factors).
func (q *quantizer) rowsSymmetric(t int32) (int32, error) {
	ft := &q.fm.Tensors[t]
	qv, scales, err := quant.QuantizeWeights(ft.Float32s(), int(ft.Shape[0]))
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %w", ft.Name, err)
	}
	return q.b.ConstInt8(ft.Name, ft.Shape, qv, format.PerAxis(scales, 0)), nil
}
