package onnx

import (
	"fmt"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
)

// einsum imports a two-operand Einsum that is a batched matrix product,
// as MaxViT's attention writes it ("bghid,bghjd->bghij" for Q·Kᵀ,
// "bghij,bghjd->bghid" for A·V): the letters in both operands and the
// output are batch dimensions, exactly one letter is summed over (in both
// operands, not in the output) and each operand has one letter of its
// own. It becomes one BatchMatMul, with AdjX/AdjY where an operand holds
// its matrix transposed, and a Transpose of an operand or of the result
// only where the batch letters are out of place. Anything else (an
// ellipsis, a repeated letter, a letter summed within one operand, three
// operands) is a clear error.
func (im *importer) einsum(n *Node) error {
	eq := strings.ReplaceAll(attrString(n, "equation", ""), " ", "")
	unsupported := func(why string) error {
		return fmt.Errorf("%w: Einsum %q: %s (only batched matrix products import)", ErrUnsupported, eq, why)
	}
	lhs, out, ok := strings.Cut(eq, "->")
	if !ok {
		return unsupported("no explicit output")
	}
	terms := strings.Split(lhs, ",")
	if len(terms) != 2 || len(n.Inputs) != 2 {
		return unsupported(fmt.Sprintf("%d operands", len(terms)))
	}
	ta, tb := terms[0], terms[1]
	for _, t := range []string{ta, tb, out} {
		if strings.Contains(t, ".") {
			return unsupported("an ellipsis")
		}
		for i, c := range t {
			if c < 'A' || c > 'z' || (c > 'Z' && c < 'a') || strings.IndexRune(t[i+1:], c) >= 0 {
				return unsupported(fmt.Sprintf("term %q repeats a letter or has a character that is not one", t))
			}
		}
	}
	a, err := im.need(n, 0)
	if err != nil {
		return err
	}
	b, err := im.need(n, 1)
	if err != nil {
		return err
	}
	if len(a.shape) != len(ta) || len(b.shape) != len(tb) {
		return fmt.Errorf("Einsum %q on shapes %v and %v", eq, a.shape, b.shape)
	}
	in := func(t string, c rune) bool { return strings.ContainsRune(t, c) }
	var batch, sum, freeA, freeB []rune
	for _, c := range out {
		switch {
		case in(ta, c) && in(tb, c):
			batch = append(batch, c)
		case in(ta, c):
			freeA = append(freeA, c)
		case in(tb, c):
			freeB = append(freeB, c)
		default:
			return unsupported(fmt.Sprintf("output letter %c is in no operand", c))
		}
	}
	for _, c := range ta {
		if !in(out, c) {
			if !in(tb, c) {
				return unsupported(fmt.Sprintf("letter %c is summed within one operand", c))
			}
			sum = append(sum, c)
		}
	}
	for _, c := range tb {
		if !in(out, c) && !in(ta, c) {
			return unsupported(fmt.Sprintf("letter %c is summed within one operand", c))
		}
	}
	if len(sum) != 1 || len(freeA) != 1 || len(freeB) != 1 {
		return unsupported(fmt.Sprintf("%d summed letters and %d, %d free ones (want 1, 1, 1)", len(sum), len(freeA), len(freeB)))
	}
	dim := func(t string, v *val, c rune) int64 { return v.shape[strings.IndexRune(t, c)] }
	for _, c := range append(append([]rune{}, batch...), sum[0]) {
		if dim(ta, a, c) != dim(tb, b, c) {
			return fmt.Errorf("%w: Einsum %q: dimension %c is %d and %d (no broadcasting)", ErrUnsupported, eq, c, dim(ta, a, c), dim(tb, b, c))
		}
	}
	// Each operand as [batch..., row, col], its two matrix letters in the
	// order that needs no transpose (the adjoint flag says which), else
	// permuted into [batch..., first, second].
	operand := func(j int, t string, v *val, first, second rune) (int32, bool, error) {
		x, err := im.materialize(v)
		if err != nil {
			return 0, false, err
		}
		permOf := func(order string) ([]int, bool) {
			perm := make([]int, len(order))
			identity := true
			for d, c := range order {
				perm[d] = strings.IndexRune(t, c)
				identity = identity && perm[d] == d
			}
			return perm, identity
		}
		perm, identity := permOf(string(batch) + string(first) + string(second))
		if identity {
			return x, false, nil
		}
		if _, identity := permOf(string(batch) + string(second) + string(first)); identity {
			return x, true, nil
		}
		name := fmt.Sprintf("%s/operand%d", n.Outputs[0], j)
		y, err := im.permute(x, v.shape, perm, name, name)
		return y, false, err
	}
	x, adjX, err := operand(0, ta, a, freeA[0], sum[0])
	if err != nil {
		return err
	}
	y, adjY, err := operand(1, tb, b, sum[0], freeB[0])
	if err != nil {
		return err
	}
	var shape []int64
	for _, c := range batch {
		shape = append(shape, dim(ta, a, c))
	}
	shape = append(shape, dim(ta, a, freeA[0]), dim(tb, b, freeB[0]))
	product := string(batch) + string(freeA) + string(freeB)
	if product == out {
		r, err := im.emit(format.OpBatchMatMul, n.Name, &format.BatchMatMulOptions{AdjX: adjX, AdjY: adjY}, []int32{x, y}, n.Outputs[0], shape)
		if err != nil {
			return err
		}
		im.setTensor(n, 0, r, shape)
		return nil
	}
	r, err := im.emit(format.OpBatchMatMul, n.Name, &format.BatchMatMulOptions{AdjX: adjX, AdjY: adjY}, []int32{x, y}, n.Outputs[0]+"/product", shape)
	if err != nil {
		return err
	}
	perm := make([]int, len(out))
	outShape := make([]int64, len(out))
	for d, c := range out {
		perm[d] = strings.IndexRune(product, c)
		outShape[d] = shape[perm[d]]
	}
	r, err = im.permute(r, shape, perm, n.Name+"/output", n.Outputs[0])
	if err != nil {
		return err
	}
	im.setTensor(n, 0, r, outShape)
	return nil
}
