// Package a64 encodes the few AArch64 Advanced SIMD instructions that the
// Go assembler does not know (widening multiplies, pairwise accumulates,
// saturating narrows and shifts, dot products), from the same text an Arm
// disassembler prints. The kernels' generator emits every such instruction
// as `WORD $0x… // text`, and a test re-encodes each comment in the .s
// files, so an encoding can never drift from what its comment says.
package a64

import (
	"fmt"
	"strconv"
	"strings"
)

// operand is one vector register operand: vN.<arrangement>, optionally
// with an element index (vN.4b[2]).
type operand struct {
	reg   uint32
	arr   string
	index int // -1 when absent
}

func parseOperand(s string) (operand, error) {
	s = strings.TrimSpace(s)
	o := operand{index: -1}
	if i := strings.IndexByte(s, '['); i >= 0 {
		if !strings.HasSuffix(s, "]") {
			return o, fmt.Errorf("bad element index in %q", s)
		}
		n, err := strconv.Atoi(s[i+1 : len(s)-1])
		if err != nil || n < 0 {
			return o, fmt.Errorf("bad element index in %q", s)
		}
		o.index = n
		s = s[:i]
	}
	dot := strings.IndexByte(s, '.')
	if len(s) >= 2 && strings.IndexByte("bhsd", s[0]) >= 0 && dot < 0 && o.index < 0 {
		// A scalar SIMD register (the result of an across-lanes reduction):
		// its arrangement is its size letter.
		n, err := strconv.Atoi(s[1:])
		if err != nil || n < 0 || n > 31 {
			return o, fmt.Errorf("bad register number in %q", s)
		}
		o.reg, o.arr = uint32(n), s[:1]
		return o, nil
	}
	if len(s) < 2 || s[0] != 'v' || dot < 0 {
		return o, fmt.Errorf("want a vector register vN.T, got %q", s)
	}
	n, err := strconv.Atoi(s[1:dot])
	if err != nil || n < 0 || n > 31 {
		return o, fmt.Errorf("bad register number in %q", s)
	}
	o.reg = uint32(n)
	o.arr = s[dot+1:]
	return o, nil
}

// form is one instruction shape: the arrangements of its operands and the
// fixed bits, with Rd, Rn and (for three operands) Rm or- in the usual
// places.
type form struct {
	arrs []string
	base uint32
	// elem marks the by-element dot product, whose third operand has an
	// index encoded in H:L and whose register takes M:Rm.
	elem bool
	// narrow is the destination element size in bits of a narrowing
	// shift by an immediate (its last operand "#n", 1 ≤ n ≤ narrow),
	// encoded in immh:immb as 2·narrow − n; 0 for other forms.
	narrow uint32
}

var forms = map[string][]form{
	// SMULL/SMULL2 (vector), Arm ARM C7.2.323: 0 Q 0 01110 size 1 Rm 1100 00 Rn Rd.
	"smull":  {{arrs: []string{"8h", "8b", "8b"}, base: 0x0e20c000}, {arrs: []string{"4s", "4h", "4h"}, base: 0x0e60c000}, {arrs: []string{"2d", "2s", "2s"}, base: 0x0ea0c000}},
	"smull2": {{arrs: []string{"8h", "16b", "16b"}, base: 0x4e20c000}, {arrs: []string{"4s", "8h", "8h"}, base: 0x4e60c000}, {arrs: []string{"2d", "4s", "4s"}, base: 0x4ea0c000}},
	// SMLAL/SMLAL2 (vector): 0 Q 0 01110 size 1 Rm 1000 00 Rn Rd.
	"smlal":  {{arrs: []string{"8h", "8b", "8b"}, base: 0x0e208000}, {arrs: []string{"4s", "4h", "4h"}, base: 0x0e608000}},
	"smlal2": {{arrs: []string{"8h", "16b", "16b"}, base: 0x4e208000}, {arrs: []string{"4s", "8h", "8h"}, base: 0x4e608000}},
	// SADALP / SADDLP: 0 Q 0 01110 size 10000 0o110 10 Rn Rd (o = 1: accumulate).
	"sadalp": {{arrs: []string{"4s", "8h"}, base: 0x4e606800}, {arrs: []string{"8h", "16b"}, base: 0x4e206800}},
	"saddlp": {{arrs: []string{"4s", "8h"}, base: 0x4e602800}, {arrs: []string{"8h", "16b"}, base: 0x4e202800}},
	// SADDW/SADDW2: 0 Q 0 01110 size 1 Rm 0001 00 Rn Rd.
	"saddw":  {{arrs: []string{"4s", "4s", "4h"}, base: 0x0e601000}, {arrs: []string{"8h", "8h", "8b"}, base: 0x0e201000}},
	"saddw2": {{arrs: []string{"4s", "4s", "8h"}, base: 0x4e601000}, {arrs: []string{"8h", "8h", "16b"}, base: 0x4e201000}},
	// SADDL/SADDL2: 0 Q 0 01110 size 1 Rm 0000 00 Rn Rd.
	"saddl":  {{arrs: []string{"8h", "8b", "8b"}, base: 0x0e200000}},
	"saddl2": {{arrs: []string{"8h", "16b", "16b"}, base: 0x4e200000}},
	// MLA (vector): 0 Q 0 01110 size 1 Rm 1001 01 Rn Rd.
	"mla": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea09400}},
	// MUL (vector): 0 Q 0 01110 size 1 Rm 1001 11 Rn Rd.
	"mul": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea09c00}},
	// SSUBL/SSUBL2: 0 Q 0 01110 size 1 Rm 0010 00 Rn Rd.
	"ssubl":  {{arrs: []string{"8h", "8b", "8b"}, base: 0x0e202000}},
	"ssubl2": {{arrs: []string{"8h", "16b", "16b"}, base: 0x4e202000}},
	// SXTL/SXTL2 (SSHLL #0): 0 Q 0 011110 immh:immb=0010000 10100 1 Rn Rd.
	// immh:immb=0001000 for bytes to halfwords.
	"sxtl":  {{arrs: []string{"4s", "4h"}, base: 0x0f10a400}, {arrs: []string{"8h", "8b"}, base: 0x0f08a400}},
	"sxtl2": {{arrs: []string{"4s", "8h"}, base: 0x4f10a400}, {arrs: []string{"8h", "16b"}, base: 0x4f08a400}},
	// SQADD (vector): 0 Q 0 01110 size 1 Rm 0000 11 Rn Rd.
	"sqadd": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea00c00}, {arrs: []string{"8h", "8h", "8h"}, base: 0x4e600c00}},
	// SQDMULH (vector): 0 Q 0 01110 size 1 Rm 1011 01 Rn Rd.
	"sqdmulh": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea0b400}},
	// SRSHL (vector): 0 Q 0 01110 size 1 Rm 0101 01 Rn Rd.
	"srshl": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea05400}},
	// SSHL (vector), the Add operands' left shift: 0 Q 0 01110 size 1 Rm 0100 01 Rn Rd.
	"sshl": {{arrs: []string{"8h", "8h", "8h"}, base: 0x4e604400}},
	// SQRSHL (vector): 0 Q 0 01110 size 1 Rm 0101 11 Rn Rd.
	"sqrshl": {{arrs: []string{"2d", "2d", "2d"}, base: 0x4ee05c00}},
	// SQXTN/SQXTN2: 0 Q 0 01110 size 10000 10100 10 Rn Rd.
	// SQXTUN/SQXTUN2 (halfwords to unsigned bytes): 0 Q 1 01110 00 10000 10010 10 Rn Rd.
	"sqxtun":  {{arrs: []string{"8b", "8h"}, base: 0x2e212800}},
	"sqxtun2": {{arrs: []string{"16b", "8h"}, base: 0x6e212800}},
	"sqxtn":   {{arrs: []string{"8b", "8h"}, base: 0x0e214800}, {arrs: []string{"4h", "4s"}, base: 0x0e614800}, {arrs: []string{"2s", "2d"}, base: 0x0ea14800}},
	"sqxtn2":  {{arrs: []string{"16b", "8h"}, base: 0x4e214800}, {arrs: []string{"8h", "4s"}, base: 0x4e614800}, {arrs: []string{"4s", "2d"}, base: 0x4ea14800}},
	// SMAX/SMIN (vector): 0 Q 0 01110 size 1 Rm 0110 o1 Rn Rd.
	"smax": {{arrs: []string{"16b", "16b", "16b"}, base: 0x4e206400}, {arrs: []string{"4s", "4s", "4s"}, base: 0x4ea06400}},
	"smin": {{arrs: []string{"16b", "16b", "16b"}, base: 0x4e206c00}, {arrs: []string{"4s", "4s", "4s"}, base: 0x4ea06c00}},
	// SMINV: 0 Q 0 01110 size 11000 11010 10 Rn Rd.
	"sminv": {{arrs: []string{"b", "16b"}, base: 0x4e31a800}},
	// SDOT (vector), FEAT_DotProd: 0 Q 0 01110 10 0 Rm 1001 01 Rn Rd.
	// SDOT (by element): 0 Q 0 01111 10 L M Rm 1110 H 0 Rn Rd.
	"sdot": {{arrs: []string{"4s", "16b", "16b"}, base: 0x4e809400}, {arrs: []string{"4s", "16b", "4b"}, base: 0x4f80e000, elem: true}},
	// SMMLA, FEAT_I8MM: 0 1 0 01110 10 0 Rm 1010 01 Rn Rd.
	"smmla": {{arrs: []string{"4s", "16b", "16b"}, base: 0x4e80a400}},

	// The int8 Softmax kernels (Arm ARM C7.2): across-lanes maximum,
	// unsigned compare, unsigned pairwise accumulate, int/float
	// conversions, float multiply, multiply-subtract, signed compares and
	// the unsigned saturating narrow.
	"smaxv":  {{arrs: []string{"b", "16b"}, base: 0x4e30a800}},
	"cmhi":   {{arrs: []string{"16b", "16b", "16b"}, base: 0x6e203400}},
	"uadalp": {{arrs: []string{"4s", "8h"}, base: 0x6e606800}, {arrs: []string{"8h", "16b"}, base: 0x6e206800}},
	"ucvtf":  {{arrs: []string{"4s", "4s"}, base: 0x6e21d800}},
	"fmul":   {{arrs: []string{"4s", "4s", "4s"}, base: 0x6e20dc00}},
	"fcvtzu": {{arrs: []string{"4s", "4s"}, base: 0x6ea1b800}},
	"mls":    {{arrs: []string{"4s", "4s", "4s"}, base: 0x6ea09400}},
	"cmge":   {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea03c00}},
	"cmgt":   {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea03400}},
	"uqxtn":  {{arrs: []string{"8b", "8h"}, base: 0x2e214800}, {arrs: []string{"4h", "4s"}, base: 0x2e614800}},
	"uqxtn2": {{arrs: []string{"16b", "8h"}, base: 0x6e214800}, {arrs: []string{"8h", "4s"}, base: 0x6e614800}},
	// The Softmax division by an invariant integer: UMULL/UMULL2 (vector):
	// 0 Q 1 01110 size 1 Rm 1100 00 Rn Rd; USHL (vector): 0 Q 1 01110 size 1
	// Rm 0100 01 Rn Rd; URSHL (vector), the rounding shift of the Softmax
	// quotient: 0 Q 1 01110 size 1 Rm 0101 01 Rn Rd.
	"umull":  {{arrs: []string{"2d", "2s", "2s"}, base: 0x2ea0c000}},
	"umull2": {{arrs: []string{"2d", "4s", "4s"}, base: 0x6ea0c000}},
	"ushl":   {{arrs: []string{"4s", "4s", "4s"}, base: 0x6ea04400}},
	"urshl":  {{arrs: []string{"4s", "4s", "4s"}, base: 0x6ea05400}, {arrs: []string{"8h", "8h", "8h"}, base: 0x6e605400}},
	// The int8 LayerNorm affine step: int to float, float add/subtract,
	// the NaN-dropping clamp and the round-half-away conversion.
	"scvtf":  {{arrs: []string{"4s", "4s"}, base: 0x4e21d800}},
	"fsub":   {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea0d400}},
	"fadd":   {{arrs: []string{"4s", "4s", "4s"}, base: 0x4e20d400}},
	"fmaxnm": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4e20c400}},
	"fminnm": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea0c400}},
	"fcvtas": {{arrs: []string{"4s", "4s"}, base: 0x4e21c800}},
	// FCVTNS (vector), the depthwise float32 stage's round to nearest even
	// with saturation to int32: 0 Q 0 01110 0 sz 10000 11010 10 Rn Rd.
	"fcvtns": {{arrs: []string{"4s", "4s"}, base: 0x4e21a800}},

	// UQRSHRN/UQRSHRN2 (unsigned saturating rounding shift right narrow),
	// C7.2.370: 0 Q 1 011110 immh:immb 100111 Rn Rd.
	"uqrshrn":  {{arrs: []string{"8b", "8h"}, base: 0x2f009c00, narrow: 8}},
	"uqrshrn2": {{arrs: []string{"16b", "8h"}, base: 0x6f009c00, narrow: 8}},
}

// Encode returns the 32-bit encoding of one instruction written as an Arm
// disassembler prints it, e.g. "sdot v16.4s, v24.16b, v0.4b[2]".
func Encode(text string) (uint32, error) {
	text = strings.TrimSpace(text)
	sp := strings.IndexAny(text, " \t")
	if sp < 0 {
		return 0, fmt.Errorf("a64: %q: no operands", text)
	}
	mn := strings.ToLower(text[:sp])
	fs, ok := forms[mn]
	if !ok {
		return 0, fmt.Errorf("a64: %q: unknown mnemonic %q", text, mn)
	}
	var ops []operand
	shift := -1 // the "#n" operand, if any
	for _, s := range strings.Split(text[sp:], ",") {
		if s = strings.TrimSpace(s); strings.HasPrefix(s, "#") {
			n, err := strconv.Atoi(s[1:])
			if err != nil || n < 0 {
				return 0, fmt.Errorf("a64: %q: bad immediate %q", text, s)
			}
			shift = n
			continue
		}
		o, err := parseOperand(strings.ToLower(s))
		if err != nil {
			return 0, fmt.Errorf("a64: %q: %w", text, err)
		}
		ops = append(ops, o)
	}
	for _, f := range fs {
		if !f.matches(ops) || (f.narrow > 0) != (shift >= 0) {
			continue
		}
		w := f.base | ops[0].reg | ops[1].reg<<5
		if f.narrow > 0 {
			if shift < 1 || uint32(shift) > f.narrow {
				return 0, fmt.Errorf("a64: %q: shift must be 1…%d", text, f.narrow)
			}
			w |= (2*f.narrow - uint32(shift)) << 16
		}
		if len(ops) == 3 {
			w |= ops[2].reg << 16
		}
		if f.elem {
			i := uint32(ops[2].index)
			if ops[2].index < 0 || i > 3 {
				return 0, fmt.Errorf("a64: %q: element index must be 0…3", text)
			}
			w |= (i&1)<<21 | (i>>1)<<11
		}
		return w, nil
	}
	return 0, fmt.Errorf("a64: %q: no %s form takes these arrangements", text, mn)
}

func (f form) matches(ops []operand) bool {
	if len(ops) != len(f.arrs) {
		return false
	}
	for i, o := range ops {
		if o.arr != f.arrs[i] {
			return false
		}
		wantIndex := f.elem && i == 2
		if (o.index >= 0) != wantIndex {
			return false
		}
	}
	return true
}

// MustEncode is Encode for generators: it panics on a malformed line.
func MustEncode(text string) uint32 {
	w, err := Encode(text)
	if err != nil {
		panic(err)
	}
	return w
}

// Word returns the Go assembler line for one instruction:
// "WORD $0x4f80eb10 // sdot v16.4s, v24.16b, v0.4b[2]".
func Word(text string) string {
	return fmt.Sprintf("WORD $0x%08x // %s", MustEncode(text), text)
}
