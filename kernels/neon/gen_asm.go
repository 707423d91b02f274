//go:build ignore

// gen_asm writes gemm_arm64.s, the generated assembly of package neon
// (gen_float.go writes float_arm64.s; ArgMax and ResizeBilinear are
// hand-written beside their Go declarations):
// the two GEMM micro-kernels (gemmDot, gemmV80), the 3×3 depthwise
// convolution (dwConv3x3, and dwConv3x3Scale for XNNPACK's float32
// stage), the row sums and minima of packing (sumBlocks, minBlocks), the
// int8 Add (addInt8…; XNNPACK's Add/Sub addFixed and Mul mulScale), the
// float32 Quantize (quantizeFloat, quantizeFloatU), Dequantize (dequantF32), the table lookup,
// Softmax and LayerNorm, and the token operators' TAP cell and ZOSensitivity
// digits (tapCell, zoDigits). They are unrolled in Go so that each
// distinct SIMD instruction is spelled out once here and encoded by
// package a64; gemm_arm64.go, elem_arm64.go and tokenops_arm64.go declare
// them. Run with
// `go generate ./kernels/neon`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/edgeinfer/edgeinfer/kernels/neon/internal/a64"
)

var buf bytes.Buffer

// ins writes one instruction line.
func ins(format string, args ...any) { fmt.Fprintf(&buf, "\t"+format+"\n", args...) }

// word writes an instruction the Go assembler lacks as WORD + comment.
func word(format string, args ...any) { ins("%s", a64.Word(fmt.Sprintf(format, args...))) }

func label(l string) { fmt.Fprintf(&buf, "%s:\n", l) }

func comment(format string, args ...any) { fmt.Fprintf(&buf, "\t// "+format+"\n", args...) }

// Arguments shared by both kernels (see gemm_arm64.go):
//
//	a    *int8          first A row; row i is at a + min(i, rows-1)·lda
//	lda  int            bytes between A rows
//	rows int            valid rows of the tile (1 ≤ rows ≤ MR)
//	nch  int            16-byte K chunks (≥ 1)
//	s1   int            offset of chunk 1 in an A row: K − 16·(nch−1)
//	b    *int8          packed B, panel after panel
//	np   int            panels to compute (≥ 1)
//	cd   *int32         per-panel column data (bias, multipliers, shifts)
//	rb   *int32         per-row bias, MR entries
//	out  unsafe.Pointer first output element of the tile
//	ldc  int            bytes between output rows
//	mode int            bit 0: requantize to int8 (else int32 out);
//	                    bit 1: add rb; bit 2 (v80 only): unpaired products
//	zp, lo, hi int      output zero point and clamp (int8 mode)
const args = "a+0(FP), lda+8(FP), rows+16(FP), nch+24(FP), s1+32(FP), b+40(FP), np+48(FP), cd+56(FP), rb+64(FP), out+72(FP), ldc+80(FP), mode+88(FP), zp+96(FP), lo+104(FP), hi+112(FP)"

func loadArgs() {
	ins("MOVD a+0(FP), R0")
	ins("MOVD lda+8(FP), R5")
	ins("MOVD rows+16(FP), R6")
	ins("MOVD nch+24(FP), R7")
	ins("MOVD s1+32(FP), R8")
	ins("MOVD b+40(FP), R9")
	ins("MOVD np+48(FP), R10")
	ins("MOVD cd+56(FP), R11")
	ins("MOVD rb+64(FP), R12")
	ins("MOVD out+72(FP), R13")
	ins("MOVD ldc+80(FP), R14")
	ins("MOVD mode+88(FP), R15")
}

// rowPointers sets R19…R19+mr-2 to the A rows 1…mr-1, each clamped to the
// last valid row so that a short tile never reads outside A.
func rowPointers(mr int) {
	comment("A row pointers: row i = a + min(i, rows-1)·lda")
	ins("MOVD R0, R16")
	for i := 1; i < mr; i++ {
		ins("CMP $%d, R6", i)
		ins("ADD R5, R16, R17")
		ins("CSEL GT, R17, R16, R16 // advance only while row %d < rows", i)
		ins("MOVD R16, R%d", 18+i)
	}
}

// storeRows stores row m of the tile with st(m, reg) for m < rows, the
// output row pointer in R16.
func storeRows(mr int, done string, st func(m int)) {
	ins("MOVD R13, R16")
	for m := 0; m < mr; m++ {
		if m > 0 {
			ins("CMP $%d, R6", m)
			ins("BLE %s", done)
			ins("ADD R14, R16, R16")
		}
		st(m)
	}
}

// requant4 turns the int32 accumulator v (four output channels) into
// saturated int32 results plus the zero point: SMULL/SMULL2 form the exact
// 64-bit products with the channels' multipliers (v0), SQRSHL by Shift−31
// (v1: channels 0-1, v2: channels 2-3) rounds half up and saturates, SQXTN
// narrows with saturation, and SQADD adds the zero point (vzp) with
// saturation: OutputStage.Requantize adds it in int64, and a sum beyond
// int32 lies beyond int8 on the same side, which the narrowing keeps.
func requant4(v, t0, t1, vm, vs0, vs1, vzp int) {
	word("smull v%d.2d, v%d.2s, v%d.2s", t0, v, vm)
	word("smull2 v%d.2d, v%d.4s, v%d.4s", t1, v, vm)
	word("sqrshl v%d.2d, v%d.2d, v%d.2d", t0, t0, vs0)
	word("sqrshl v%d.2d, v%d.2d, v%d.2d", t1, t1, vs1)
	word("sqxtn v%d.2s, v%d.2d", v, t0)
	word("sqxtn2 v%d.4s, v%d.2d", v, t1)
	word("sqadd v%d.4s, v%d.4s, v%d.4s", v, v, vzp)
}

// requant4Fast is requant4 for multipliers with Shift ≤ −1 (or zero):
// SQDMULH gives ⌊x·M/2^31⌋ and SRSHL by Shift (vsh, int32 lanes) rounds it
// half up, which equals the single rounding of x·M·2^(Shift−31) (see
// fastRequant in gemm.go); then the zero point.
func requant4Fast(v, vm, vsh, vzp int) {
	word("sqdmulh v%d.4s, v%d.4s, v%d.4s", v, v, vm)
	word("srshl v%d.4s, v%d.4s, v%d.4s", v, v, vsh)
	ins("VADD V%d.S4, V%d.S4, V%d.S4 // + output zero point", vzp, v, v)
}

// narrow16 packs four int32 vectors (16 channels) into one int8 vector
// with saturation into d, using t as scratch, then clamps to [vlo, vhi] in
// ref's order: SMIN by ActMax, then SMAX by ActMin (an empty clamp gives
// ActMin, as OutputStage.Requantize does).
func narrow16(d, t int, v [4]int, vlo, vhi int) {
	word("sqxtn v%d.4h, v%d.4s", d, v[0])
	word("sqxtn2 v%d.8h, v%d.4s", d, v[1])
	word("sqxtn v%d.4h, v%d.4s", t, v[2])
	word("sqxtn2 v%d.8h, v%d.4s", t, v[3])
	word("sqxtn v%d.8b, v%d.8h", d, d)
	word("sqxtn2 v%d.16b, v%d.8h", d, t)
	word("smin v%d.16b, v%d.16b, v%d.16b", d, d, vhi)
	word("smax v%d.16b, v%d.16b, v%d.16b", d, d, vlo)
}

// genDot writes gemmDot: a 4×16 tile with SDOT (by element). Accumulator
// V(16+4m+g) holds output row m, columns 4g…4g+3. A packed chunk holds, for
// k-group q (four k), 16 columns × 4 bytes: V4…V7 = columns 0-3 … 12-15.
func genDot() {
	const mr = 4
	acc := func(m, g int) int { return 16 + 4*m + g }
	fmt.Fprintf(&buf, "\n// func gemmDot(%s)\n", "a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int")
	fmt.Fprintf(&buf, "// Registers: V0-V7 A (row m: chunk pair in V2m, V2m+1), V8-V11 B (column\n// biases at panel start), V12/V13 zero point (int16/int32 lanes), V14/V15\n// clamp, V16-V31 accumulators.\n")
	fmt.Fprintf(&buf, "TEXT ·gemmDot(SB), NOSPLIT, $0-120\n")
	loadArgs()
	rowPointers(mr)
	ins("MOVD zp+96(FP), R17")
	ins("VDUP R17, V13.S4")
	ins("VDUP R17, V12.H8 // the zero point for int16 lanes (fast path)")
	ins("MOVD lo+104(FP), R17")
	ins("VDUP R17, V14.B16")
	ins("MOVD hi+112(FP), R17")
	ins("VDUP R17, V15.B16")

	label("dotpanel")
	comment("accumulators start at the column bias (plus the row bias: dotrb)")
	ins("VLD1.P 64(R11), [V8.S4, V9.S4, V10.S4, V11.S4]")
	ins("TBNZ $1, R15, dotrb")
	for m := 0; m < mr; m++ {
		for g := 0; g < 4; g++ {
			ins("VORR V%d.B16, V%d.B16, V%d.B16", 8+g, 8+g, acc(m, g))
		}
	}
	label("dotinit")
	ins("MOVD R0, R1")
	for m := 1; m < mr; m++ {
		ins("MOVD R%d, R%d", 18+m, 1+m)
	}
	// body multiplies one chunk of A (V2m+h for row m) with its packed B.
	body := func(h int) {
		for q := 0; q < 4; q++ {
			ins("VLD1.P 64(R9), [V8.B16, V9.B16, V10.B16, V11.B16] // B: k-group %d, 16 columns", q)
			for m := 0; m < mr; m++ {
				for g := 0; g < 4; g++ {
					word("sdot v%d.4s, v%d.16b, v%d.4b[%d]", acc(m, g), 8+g, 2*m+h, q)
				}
			}
		}
	}
	comment("chunk 0: k 0-15; A then jumps to chunk 1 at s1")
	for m := 0; m < mr; m++ {
		ins("VLD1.P (R%d)(R8), [V%d.B16]", 1+m, 2*m)
	}
	body(0)
	comment("the other chunks: an odd one alone, then pairs (one A load per row)")
	ins("SUB $1, R7, R17")
	ins("TBZ $0, R17, dotpairs")
	for m := 0; m < mr; m++ {
		ins("VLD1.P 16(R%d), [V%d.B16]", 1+m, 2*m)
	}
	body(0)
	label("dotpairs")
	ins("LSR $1, R17, R17")
	ins("CBZ R17, dotdone")
	label("dotloop")
	for m := 0; m < mr; m++ {
		ins("VLD1.P 32(R%d), [V%d.B16, V%d.B16]", 1+m, 2*m, 2*m+1)
	}
	body(0)
	body(1)
	ins("SUBS $1, R17, R17")
	ins("BNE dotloop")
	label("dotdone")
	ins("TBNZ $0, R15, dotq")
	comment("int32 out")
	storeRows(mr, "dot32done", func(m int) {
		ins("VST1 [V%d.S4, V%d.S4, V%d.S4, V%d.S4], (R16)", acc(m, 0), acc(m, 1), acc(m, 2), acc(m, 3))
	})
	label("dot32done")
	ins("ADD $256, R11 // skip the requantization data")
	ins("ADD $64, R13")
	ins("B dotnext")
	label("dotq")
	ins("TBNZ $3, R15, dotfq")
	for g := 0; g < 4; g++ {
		ins("VLD1.P 64(R11), [V0.B16, V1.B16, V2.B16, V3.B16] // multipliers, shifts of columns %d-%d", 4*g, 4*g+3)
		for m := 0; m < mr; m++ {
			requant4(acc(m, g), 4, 5, 0, 1, 2, 13)
		}
	}
	ins("B dotstore")
	label("dotfq")
	comment("fast path: SQDMULH and SRSHL leave |x| ≤ 2^30, so the zero point is added")
	comment("after the saturating narrow to int16 (SQADD), with the same int8 result")
	for g := 0; g < 4; g++ {
		ins("VLD1.P 64(R11), [V0.B16, V1.B16, V2.B16, V3.B16] // multipliers, shifts of columns %d-%d", 4*g, 4*g+3)
		for m := 0; m < mr; m++ {
			word("sqdmulh v%d.4s, v%d.4s, v0.4s", acc(m, g), acc(m, g))
			word("srshl v%d.4s, v%d.4s, v3.4s", acc(m, g), acc(m, g))
		}
	}
	fastStore := func(clamp bool) {
		storeRows(mr, "dot8done", func(m int) {
			word("sqxtn v5.4h, v%d.4s", acc(m, 0))
			word("sqxtn2 v5.8h, v%d.4s", acc(m, 1))
			word("sqxtn v6.4h, v%d.4s", acc(m, 2))
			word("sqxtn2 v6.8h, v%d.4s", acc(m, 3))
			word("sqadd v5.8h, v5.8h, v12.8h")
			word("sqadd v6.8h, v6.8h, v12.8h")
			word("sqxtn v5.8b, v5.8h")
			word("sqxtn2 v5.16b, v6.8h")
			if clamp {
				word("smin v5.16b, v5.16b, v15.16b")
				word("smax v5.16b, v5.16b, v14.16b")
			}
			ins("VST1 [V5.B16], (R16)")
		})
		ins("B dot8done")
	}
	ins("TBNZ $4, R15, dotfnc // no clamp: the activation range is all of int8")
	fastStore(true)
	label("dotfnc")
	fastStore(false)
	label("dotstore")
	storeRows(mr, "dot8done", func(m int) {
		narrow16(5, 6, [4]int{acc(m, 0), acc(m, 1), acc(m, 2), acc(m, 3)}, 14, 15)
		ins("VST1 [V5.B16], (R16)")
	})
	label("dot8done")
	ins("ADD $16, R13")
	label("dotnext")
	ins("SUBS $1, R10, R10")
	ins("BNE dotpanel")
	ins("RET")
	label("dotrb")
	comment("row biases (mode bit 1): accumulator (m, g) = row bias m + column bias g")
	ins("VLD1 (R12), [V0.S4]")
	for m := 0; m < mr; m++ {
		ins("VDUP V0.S[%d], V%d.S4", m, 1+m)
	}
	for m := 0; m < mr; m++ {
		for g := 0; g < 4; g++ {
			ins("VADD V%d.S4, V%d.S4, V%d.S4", 1+m, 8+g, acc(m, g))
		}
	}
	ins("B dotinit")
}

// genV80 writes gemmV80: a 2×8 tile with SMULL/SMLAL2/SADALP (Armv8.0).
// Accumulator V(16+8m+j) holds four partial sums of row m, column j, reduced
// with ADDP at the end. A packed chunk holds 8 columns × 16 k (V4-V11).
// Two k chunks per loop iteration: A rows in V0/V1 (row 0) and V2/V3 (row 1).
func genV80() {
	const mr = 2
	acc := func(m, j int) int { return 16 + 8*m + j }
	fmt.Fprintf(&buf, "\n// func gemmV80(%s)\n", "a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int")
	fmt.Fprintf(&buf, "// Registers: V0-V3 A, V4-V11 B, V12/V13 int16 products, V14 zero point,\n// V15 low clamp, V16-V31 accumulators.\n")
	fmt.Fprintf(&buf, "TEXT ·gemmV80(SB), NOSPLIT, $0-120\n")
	loadArgs()
	rowPointers(mr)
	ins("MOVD zp+96(FP), R17")
	ins("VDUP R17, V14.S4")
	ins("MOVD lo+104(FP), R17")
	ins("VDUP R17, V15.B16")
	ins("MOVD hi+112(FP), R22")
	comment("chunks after the first: an odd one alone, then pairs")
	ins("SUB $1, R7, R7")
	ins("AND $1, R7, R23 // odd single chunk?")
	ins("LSR $1, R7, R7 // pair iterations")

	// step emits the products of A register va (row m) with the 8 B columns
	// for one chunk; first starts the accumulators.
	step := func(m, va int, first, unpaired bool) {
		for j := 0; j < 8; j++ {
			t := 12 + j%2
			a := acc(m, j)
			if unpaired {
				word("smull v%d.8h, v%d.8b, v%d.8b", t, va, 4+j)
				if first {
					word("saddlp v%d.4s, v%d.8h", a, t)
				} else {
					word("sadalp v%d.4s, v%d.8h", a, t)
				}
				word("smull2 v%d.8h, v%d.16b, v%d.16b", t, va, 4+j)
				word("sadalp v%d.4s, v%d.8h", a, t)
				continue
			}
			word("smull v%d.8h, v%d.8b, v%d.8b", t, va, 4+j)
			word("smlal2 v%d.8h, v%d.16b, v%d.16b", t, va, 4+j)
			if first {
				word("saddlp v%d.4s, v%d.8h", a, t)
			} else {
				word("sadalp v%d.4s, v%d.8h", a, t)
			}
		}
	}
	loadB := func() {
		ins("VLD1.P 64(R9), [V4.B16, V5.B16, V6.B16, V7.B16] // B columns 0-3")
		ins("VLD1.P 64(R9), [V8.B16, V9.B16, V10.B16, V11.B16] // B columns 4-7")
	}
	// One panel loop per product variant: paired (SMULL+SMLAL2 into int16,
	// safe when no product pair can reach 2·128·128) and unpaired.
	for _, unpaired := range []bool{false, true} {
		p := "v80p"
		if unpaired {
			p = "v80u"
		}
		if !unpaired {
			ins("TBNZ $2, R15, v80upanel")
		}
		label(p + "panel")
		ins("MOVD R0, R1")
		ins("MOVD R19, R2")
		comment("chunk 0 starts the accumulators; A then jumps to chunk 1 at s1")
		ins("VLD1.P (R1)(R8), [V0.B16]")
		ins("VLD1.P (R2)(R8), [V2.B16]")
		loadB()
		step(0, 0, true, unpaired)
		step(1, 2, true, unpaired)
		ins("CBZ R23, %spairs", p)
		ins("VLD1.P 16(R1), [V0.B16]")
		ins("VLD1.P 16(R2), [V2.B16]")
		loadB()
		step(0, 0, false, unpaired)
		step(1, 2, false, unpaired)
		label(p + "pairs")
		ins("CBZ R7, %sdone", p)
		ins("MOVD R7, R17")
		label(p + "loop")
		ins("VLD1.P 32(R1), [V0.B16, V1.B16]")
		ins("VLD1.P 32(R2), [V2.B16, V3.B16]")
		loadB()
		step(0, 0, false, unpaired)
		step(1, 2, false, unpaired)
		loadB()
		step(0, 1, false, unpaired)
		step(1, 3, false, unpaired)
		ins("SUBS $1, R17, R17")
		ins("BNE %sloop", p)
		label(p + "done")
		v80Epilogue(p)
		label(p + "next")
		ins("SUBS $1, R10, R10")
		ins("BNE %spanel", p)
		ins("RET")
	}
}

// v80Epilogue finishes one gemmV80 panel: it reduces the partial sums, adds
// the biases, requantizes or not, stores and advances R11 and R13, then
// goes on at label p+"next".
func v80Epilogue(p string) {
	const mr = 2
	acc := func(m, j int) int { return 16 + 8*m + j }
	comment("reduce: row m columns 0-3 into V(16+8m), 4-7 into V(17+8m)")
	for m := 0; m < mr; m++ {
		for j := 0; j < 4; j++ {
			ins("VADDP V%d.S4, V%d.S4, V%d.S4", acc(m, 2*j+1), acc(m, 2*j), 4+j)
		}
		ins("VADDP V5.S4, V4.S4, V%d.S4", acc(m, 0))
		ins("VADDP V7.S4, V6.S4, V%d.S4", acc(m, 1))
	}
	ins("VLD1.P 32(R11), [V4.S4, V5.S4] // column bias")
	for m := 0; m < mr; m++ {
		for h := 0; h < 2; h++ {
			ins("VADD V%d.S4, V%d.S4, V%d.S4", 4+h, acc(m, h), acc(m, h))
		}
	}
	ins("TBZ $1, R15, %snorb", p)
	ins("VLD1 (R12), [V6.S2] // row bias")
	for m := 0; m < mr; m++ {
		ins("VDUP V6.S[%d], V%d.S4", m, 7+m)
		for h := 0; h < 2; h++ {
			ins("VADD V%d.S4, V%d.S4, V%d.S4", 7+m, acc(m, h), acc(m, h))
		}
	}
	label(p + "norb")
	ins("TBNZ $0, R15, %sq", p)
	storeRows(mr, p+"32done", func(m int) {
		ins("VST1 [V%d.S4, V%d.S4], (R16)", acc(m, 0), acc(m, 1))
	})
	label(p + "32done")
	ins("ADD $128, R11 // skip the requantization data")
	ins("ADD $32, R13")
	ins("B %snext", p)
	label(p + "q")
	ins("TBNZ $3, R15, %sfq", p)
	for h := 0; h < 2; h++ {
		ins("VLD1.P 64(R11), [V4.B16, V5.B16, V6.B16, V7.B16] // multipliers, shifts of columns %d-%d", 4*h, 4*h+3)
		for m := 0; m < mr; m++ {
			requant4(acc(m, h), 8, 9, 4, 5, 6, 14)
		}
	}
	ins("B %sstore", p)
	label(p + "fq")
	for h := 0; h < 2; h++ {
		ins("VLD1.P 64(R11), [V4.B16, V5.B16, V6.B16, V7.B16] // multipliers, shifts of columns %d-%d", 4*h, 4*h+3)
		for m := 0; m < mr; m++ {
			requant4Fast(acc(m, h), 4, 7, 14)
		}
	}
	label(p + "store")
	ins("VDUP R22, V10.B16")
	comment("rows 0 and 1 in one vector: bytes 0-7 row 0, 8-15 row 1")
	narrow16(9, 11, [4]int{acc(0, 0), acc(0, 1), acc(1, 0), acc(1, 1)}, 15, 10)
	ins("FMOVD F9, (R13)")
	ins("CMP $1, R6")
	ins("BLE %s8done", p)
	ins("ADD R14, R13, R16")
	ins("VST1 V9.D[1], (R16)")
	label(p + "8done")
	ins("ADD $8, R13")
}

// genDepthwise writes dwConv3x3: npix output pixels of one 16-channel
// group of a 3×3 depthwise convolution. Tap t = 3·kh + kw reads through
// pointer R<t> (post-incremented by the input pixel stride); weights stay
// in V0-V8; the accumulators V21-V24 start at the group's folded bias.
// Tap products are paired in int16 lanes (|x·w| ≤ 128·127, so a pair fits)
// and widened into int32 with SADDW/SADDW2.
func genDepthwise() {
	fmt.Fprintf(&buf, "\n// func dwConv3x3(taps *[9]*int8, stride, npix int, w *int8, cd *int32, out *int8, ostride, zp, lo, hi int)\n")
	fmt.Fprintf(&buf, "// Registers: V0-V8 weights, V9-V20 multipliers and shifts, V21-V24\n// accumulators, V25-V28 scratch, V29 zero point, V30/V31 clamp.\n")
	fmt.Fprintf(&buf, "TEXT ·dwConv3x3(SB), NOSPLIT, $0-80\n")
	ins("MOVD taps+0(FP), R16")
	for t := 0; t < 9; t += 2 {
		if t == 8 {
			ins("MOVD 64(R16), R8")
			break
		}
		ins("LDP %d(R16), (R%d, R%d)", 8*t, t, t+1)
	}
	ins("MOVD stride+8(FP), R9")
	ins("MOVD npix+16(FP), R10")
	ins("MOVD w+24(FP), R16")
	ins("VLD1.P 64(R16), [V0.B16, V1.B16, V2.B16, V3.B16]")
	ins("VLD1.P 64(R16), [V4.B16, V5.B16, V6.B16, V7.B16]")
	ins("VLD1 (R16), [V8.B16]")
	ins("MOVD cd+32(FP), R11")
	ins("ADD $64, R11, R16")
	for q := 0; q < 4; q++ {
		ins("VLD1.P 48(R16), [V%d.B16, V%d.B16, V%d.B16] // multipliers, shifts of channels %d-%d", 9+3*q, 10+3*q, 11+3*q, 4*q, 4*q+3)
	}
	ins("MOVD out+40(FP), R12")
	ins("MOVD ostride+48(FP), R13")
	ins("MOVD zp+56(FP), R17")
	ins("VDUP R17, V29.S4")
	ins("MOVD lo+64(FP), R17")
	ins("VDUP R17, V30.B16")
	ins("MOVD hi+72(FP), R17")
	ins("VDUP R17, V31.B16")
	label("dwpixel")
	ins("VLD1 (R11), [V21.S4, V22.S4, V23.S4, V24.S4] // folded bias")
	for t := 0; t < 9; t += 2 {
		ins("VLD1.P (R%d)(R9), [V25.B16] // tap %d", t, t)
		if t == 8 {
			word("smull v27.8h, v25.8b, v%d.8b", t)
			word("smull2 v28.8h, v25.16b, v%d.16b", t)
		} else {
			ins("VLD1.P (R%d)(R9), [V26.B16] // tap %d", t+1, t+1)
			word("smull v27.8h, v25.8b, v%d.8b", t)
			word("smlal v27.8h, v26.8b, v%d.8b", t+1)
			word("smull2 v28.8h, v25.16b, v%d.16b", t)
			word("smlal2 v28.8h, v26.16b, v%d.16b", t+1)
		}
		word("saddw v21.4s, v21.4s, v27.4h")
		word("saddw2 v22.4s, v22.4s, v27.8h")
		word("saddw v23.4s, v23.4s, v28.4h")
		word("saddw2 v24.4s, v24.4s, v28.8h")
	}
	for q := 0; q < 4; q++ {
		requant4(21+q, 25, 26, 9+3*q, 10+3*q, 11+3*q, 29)
	}
	narrow16(27, 28, [4]int{21, 22, 23, 24}, 30, 31)
	ins("VST1.P [V27.B16], (R12)(R13)")
	ins("SUBS $1, R10, R10")
	ins("BNE dwpixel")
	ins("RET")
}

// genDepthwiseScale writes dwConv3x3Scale, dwConv3x3 for XNNPACK's
// float32 output stage (legacy uint8 TFLite models): the weights are
// w − WZP in int16 (|w − WZP| ≤ 255 for uint8 weights, too wide for
// int8), 16 channels × 9 taps in V0-V17 (tap t: channels 0-7 in V2t, 8-15
// in V2t+1); each tap's 16 input bytes are widened with SXTL/SXTL2 and
// multiplied into the int32 accumulators V18-V21 with SMLAL/SMLAL2
// (|x·w| < 2^23, so no int16 product is formed). cd holds the group's
// folded bias (16 int32) and then its 16 float32 scales.
//
// The output stage is OutputStage.Requantize's float expression, lane by
// lane: SCVTF (int32 → float32, rounded to nearest even, as Go's
// float32(acc)), FMUL (one rounding, as float32(f·scale)), FCVTNS (round
// to nearest, ties to even, as math.RoundToEven, saturating to int32),
// SQXTN to int16, SQADD of the zero point, SQXTN to int8, then SMIN by
// ActMax and SMAX by ActMin, in ref's order. Requantize instead clamps f
// to ±2^30 before rounding and adds the zero point in int64; the bytes are
// the same. Where |f| ≤ 2^30 the two roundings agree exactly. Where f >
// 2^30, ref's r = 2^30 and FCVTNS's r ≥ 2^30: both exceed 32767 + 128, so
// ref's zp + r is above 127 ≥ ActMax and gives ActMax, and here SQXTN
// gives 32767, SQADD of zp ≥ −128 at least 32639, SQXTN 127, and the
// clamp ActMax (f < −2^30: ActMin, the same way). Every step after the
// rounding is monotonic and exact while the value stays within int16 (and
// the last within int8), and a value saturated at any step lies beyond
// [−128, 127] on the side the exact sum does, so the clamp to [ActMin,
// ActMax] ⊆ [−128, 127] gives ref's byte in every case.
func genDepthwiseScale() {
	fmt.Fprintf(&buf, "\n// func dwConv3x3Scale(taps *[9]*int8, stride, npix int, w *int16, cd *int32, out *int8, ostride, zp, lo, hi int)\n")
	fmt.Fprintf(&buf, "// Registers: V0-V17 weights, V18-V21 accumulators, V22-V25 scales,\n// V26 zero point (int16 lanes), V27/V28 clamp, V29-V31 scratch.\n")
	fmt.Fprintf(&buf, "TEXT ·dwConv3x3Scale(SB), NOSPLIT, $0-80\n")
	ins("MOVD taps+0(FP), R16")
	for t := 0; t < 8; t += 2 {
		ins("LDP %d(R16), (R%d, R%d)", 8*t, t, t+1)
	}
	ins("MOVD 64(R16), R8")
	ins("MOVD stride+8(FP), R9")
	ins("MOVD npix+16(FP), R10")
	ins("MOVD w+24(FP), R16")
	for v := 0; v < 16; v += 4 {
		ins("VLD1.P 64(R16), [V%d.H8, V%d.H8, V%d.H8, V%d.H8] // weights of taps %d-%d", v, v+1, v+2, v+3, v/2, v/2+1)
	}
	ins("VLD1 (R16), [V16.H8, V17.H8] // weights of tap 8")
	ins("MOVD cd+32(FP), R11")
	ins("ADD $64, R11, R16")
	ins("VLD1 (R16), [V22.S4, V23.S4, V24.S4, V25.S4] // scales")
	ins("MOVD out+40(FP), R12")
	ins("MOVD ostride+48(FP), R13")
	ins("MOVD zp+56(FP), R17")
	ins("VDUP R17, V26.H8")
	ins("MOVD lo+64(FP), R17")
	ins("VDUP R17, V27.B16")
	ins("MOVD hi+72(FP), R17")
	ins("VDUP R17, V28.B16")
	label("dwspixel")
	ins("VLD1 (R11), [V18.S4, V19.S4, V20.S4, V21.S4] // folded bias")
	for t := 0; t < 9; t++ {
		ins("VLD1.P (R%d)(R9), [V29.B16] // tap %d", t, t)
		word("sxtl v30.8h, v29.8b")
		word("sxtl2 v29.8h, v29.16b")
		word("smlal v18.4s, v30.4h, v%d.4h", 2*t)
		word("smlal2 v19.4s, v30.8h, v%d.8h", 2*t)
		word("smlal v20.4s, v29.4h, v%d.4h", 2*t+1)
		word("smlal2 v21.4s, v29.8h, v%d.8h", 2*t+1)
	}
	scaleStage(18, 22, 29, 31, 4)
	ins("VST1.P [V31.B16], (R12)(R13)")
	ins("SUBS $1, R10, R10")
	ins("BNE dwspixel")
	ins("RET")
}

// scaleStage writes XNNPACK's float32 output stage (see
// genDepthwiseScale) on n (2 or 4) vectors of int32 lanes from V<acc>,
// with their scales from V<sc>: the bytes in V<out> (8 or 16 lanes),
// V<h> (and V<h+1>) the int16 intermediates; the zero point in V26
// (int16 lanes), ActMin and ActMax in V27 and V28.
func scaleStage(acc, sc, h, out, n int) {
	for q := 0; q < n; q++ {
		word("scvtf v%d.4s, v%d.4s", acc+q, acc+q)
		word("fmul v%d.4s, v%d.4s, v%d.4s", acc+q, acc+q, sc+q)
		word("fcvtns v%d.4s, v%d.4s", acc+q, acc+q)
	}
	for i := 0; i < n/2; i++ {
		word("sqxtn v%d.4h, v%d.4s", h+i, acc+2*i)
		word("sqxtn2 v%d.8h, v%d.4s", h+i, acc+2*i+1)
		word("sqadd v%d.8h, v%d.8h, v26.8h", h+i, h+i)
	}
	word("sqxtn v%d.8b, v%d.8h", out, h)
	if n == 4 {
		word("sqxtn2 v%d.16b, v%d.8h", out, h+1)
	}
	word("smin v%d.16b, v%d.16b, v28.16b", out, out)
	word("smax v%d.16b, v%d.16b, v27.16b", out, out)
}

// genRequantTile writes requantTile: XNNPACK's float32 output stage on
// int32 GEMM tiles, 8 columns a step, each lane as in dwConv3x3Scale (see
// genDepthwiseScale for why the bytes are OutputStage.Requantize's): SCVTF,
// FMUL by the column's scale, FCVTNS, SQXTN, SQADD of the zero point,
// SQXTN, SMIN by ActMax, SMAX by ActMin. The scales advance by scaleStep
// bytes a step: 32 for one per column, 0 for one scale the caller repeated
// 8 times.
func genRequantTile() {
	fmt.Fprintf(&buf, "\n// func requantTile(acc *int32, accStride, rows, n8 int, scale *float32, scaleStep int, out *int8, outStride, zp, lo, hi int)\n")
	fmt.Fprintf(&buf, "TEXT ·requantTile(SB), NOSPLIT, $0-88\n")
	ins("MOVD acc+0(FP), R0")
	ins("MOVD accStride+8(FP), R1")
	ins("MOVD rows+16(FP), R2")
	ins("MOVD n8+24(FP), R3")
	ins("MOVD scale+32(FP), R4")
	ins("MOVD scaleStep+40(FP), R5")
	ins("MOVD out+48(FP), R6")
	ins("MOVD outStride+56(FP), R7")
	ins("MOVD zp+64(FP), R8")
	ins("VDUP R8, V26.H8")
	ins("MOVD lo+72(FP), R8")
	ins("VDUP R8, V27.B16")
	ins("MOVD hi+80(FP), R8")
	ins("VDUP R8, V28.B16")
	label("rqrow")
	ins("MOVD R0, R9")
	ins("MOVD R4, R10")
	ins("MOVD R6, R11")
	ins("MOVD R3, R12")
	label("rqcols")
	ins("VLD1.P 32(R9), [V0.S4, V1.S4]")
	ins("VLD1.P (R10)(R5), [V2.S4, V3.S4] // the scales")
	scaleStage(0, 2, 4, 4, 2)
	ins("VST1.P [V4.B8], 8(R11)")
	ins("SUBS $1, R12, R12")
	ins("BNE rqcols")
	ins("ADD R1, R0, R0")
	ins("ADD R7, R6, R6")
	ins("SUBS $1, R2, R2")
	ins("BNE rqrow")
	ins("RET")
}

// genSum writes sumBlocks: Σ of n16 16-byte blocks, widened pairwise
// (SADDLP to int16, SADALP into int32 lanes) so nothing can overflow.
func genSum() {
	fmt.Fprintf(&buf, "\n// func sumBlocks(p *int8, n16 int) int32\n")
	fmt.Fprintf(&buf, "TEXT ·sumBlocks(SB), NOSPLIT, $0-20\n")
	ins("MOVD p+0(FP), R0")
	ins("MOVD n16+8(FP), R1")
	ins("VEOR V0.B16, V0.B16, V0.B16")
	label("sumloop")
	ins("VLD1.P 16(R0), [V1.B16]")
	word("saddlp v2.8h, v1.16b")
	word("sadalp v0.4s, v2.8h")
	ins("SUBS $1, R1, R1")
	ins("BNE sumloop")
	ins("VADDV V0.S4, V0")
	ins("FMOVS F0, ret+16(FP)")
	ins("RET")
}

// genMinMax writes minBlocks (op "min") or maxBlocks ("max"): the
// smallest or largest of n16·16 bytes, SMIN/SMAX then SMINV/SMAXV.
func genMinMax(op string) {
	fmt.Fprintf(&buf, "\n// func %sBlocks(p *int8, n16 int) int8\n", op)
	fmt.Fprintf(&buf, "TEXT ·%sBlocks(SB), NOSPLIT, $0-17\n", op)
	ins("MOVD p+0(FP), R0")
	ins("MOVD n16+8(FP), R1")
	ins("VLD1.P 16(R0), [V0.B16]")
	ins("SUBS $1, R1, R1")
	ins("BEQ %sreduce", op)
	label(op + "loop")
	ins("VLD1.P 16(R0), [V1.B16]")
	word("s%s v0.16b, v0.16b, v1.16b", op)
	ins("SUBS $1, R1, R1")
	ins("BNE %sloop", op)
	label(op + "reduce")
	word("s%sv b0, v0.16b", op)
	ins("VMOV V0.B[0], R2")
	ins("MOVB R2, ret+16(FP)")
	ins("RET")
}

// loadTable loads the 256-byte table at R into V16-V31 (chunk c, bytes
// 64c to 64c+63, in V16+4c to V19+4c).
func loadTable(r string) {
	for c := 0; c < 4; c++ {
		v := 16 + 4*c
		ins("VLD1.P 64(%s), [V%d.B16, V%d.B16, V%d.B16, V%d.B16]", r, v, v+1, v+2, v+3)
	}
}

// lookup256 writes dst = table[idx] for the 256-byte table in V16-V31:
// TBL over the first 64 bytes, then TBX over each next 64 with the index
// lowered by 64 (V<c64>); an index out of a chunk's range (including the
// wrapped-around ones) leaves dst as it is. idx is consumed.
func lookup256(idx, dst, c64 int) {
	ins("VTBL V%d.B16, [V16.B16, V17.B16, V18.B16, V19.B16], V%d.B16", idx, dst)
	for c := 1; c < 4; c++ {
		v := 16 + 4*c
		ins("VSUB V%d.B16, V%d.B16, V%d.B16", c64, idx, idx)
		ins("VTBX V%d.B16, [V%d.B16, V%d.B16, V%d.B16, V%d.B16], V%d.B16", idx, v, v+1, v+2, v+3, dst)
	}
}

// genLookup writes lookupInt8: out = t[x+128] for n16 blocks of 16, the
// table in V16-V31, 4 TBL/TBX per 16 elements.
func genLookup() {
	fmt.Fprintf(&buf, "\n// func lookupInt8(t *[256]int8, x, out *int8, n16 int)\n")
	fmt.Fprintf(&buf, "TEXT ·lookupInt8(SB), NOSPLIT, $0-32\n")
	ins("MOVD t+0(FP), R0")
	ins("MOVD x+8(FP), R1")
	ins("MOVD out+16(FP), R2")
	ins("MOVD n16+24(FP), R3")
	loadTable("R0")
	ins("VMOVI $64, V8.B16")
	ins("VMOVI $128, V9.B16")
	label("lutloop")
	ins("VLD1.P 16(R1), [V0.B16]")
	ins("VEOR V9.B16, V0.B16, V0.B16 // x+128 as a byte")
	lookup256(0, 1, 8)
	ins("VST1.P [V1.B16], 16(R2)")
	ins("SUBS $1, R3, R3")
	ins("BNE lutloop")
	ins("RET")
}

// smxBlock names one block's registers in the Softmax exp pass: the
// distances and the ST4 list z (zero), p0 (low byte), p0+1 (second byte),
// p0+2 (bit 16) of x = 256·entry.
type smxBlock struct{ idx, z int }

// smxA and smxB are the exp pass's two blocks.
var smxA, smxB = smxBlock{0, 2}, smxBlock{1, 6}

// smxTables says which of the exp table's 64-entry chunks a row's exp
// pass looks up: chunks (2, 3 or 4: the row's distances are below
// 64·chunks) of plane 0 and the first p1c of plane 1 (fewer where plane
// 1's chunk 3 is zero: TBL's 0 stays).
type smxTables struct{ chunks, p1c int }

// sfx is the label suffix of the exp pass for t.
func (t smxTables) sfx() string { return fmt.Sprintf("%d%d", t.chunks, t.p1c) }

// softmaxRowTables loads the table registers that depend on t at the
// start of a row: with 2 chunks plane 1's chunks 0 and 1 (in V28-V31 and
// V10-V13, so that nothing is loaded per block), otherwise plane 0's
// chunk 2 (V28-V31, at R4 − 64).
func softmaxRowTables(t smxTables) {
	if t.chunks == 2 {
		ins("MOVD R21, R5")
		ins("VLD1.P 64(R5), [V28.B16, V29.B16, V30.B16, V31.B16] // plane 1, chunk 0")
		ins("VLD1 (R5), [V10.B16, V11.B16, V12.B16, V13.B16] // plane 1, chunk 1")
		return
	}
	ins("SUB $64, R4, R5")
	ins("VLD1 (R5), [V28.B16, V29.B16, V30.B16, V31.B16] // plane 0, chunk 2")
}

// softmaxLookup looks up one or two blocks (at R13, post-incremented; the
// distances idx = mx − q with mx in V16) in the exp table's chunks t:
// plane 0's chunks 0-2 in V20-V31, its chunk 3 at R4; plane 1 in
// V28-V31 and V10-V13 (2 chunks) or loaded per step through V10-V13 from
// R21 (R5); the bit 16 of the entry from the 16-byte table in V15 (TBL:
// 0 for idx ≥ 16); V14 holds 64 in every byte. Each block's ST4 list is
// stored at R15 (post-incremented): x = 256·entry.
func softmaxLookup(t smxTables, bs ...smxBlock) {
	if len(bs) == 2 {
		ins("VLD1.P 32(R13), [V0.B16, V1.B16]")
	} else {
		ins("VLD1.P 16(R13), [V%d.B16]", bs[0].idx)
	}
	for _, b := range bs {
		ins("VSUB V%d.B16, V16.B16, V%d.B16 // idx = mx - q", b.idx, b.idx)
		ins("VTBL V%d.B16, [V15.B16], V%d.B16 // bit 16 of the entry", b.idx, b.z+3)
	}
	if t.chunks > 2 {
		ins("MOVD R21, R5")
	}
	list := func(v int) string {
		return fmt.Sprintf("V%d.B16, V%d.B16, V%d.B16, V%d.B16", v, v+1, v+2, v+3)
	}
	for c := 0; c < t.chunks; c++ {
		op := "VTBX"
		if c == 0 {
			op = "VTBL"
		} else {
			for _, b := range bs {
				ins("VSUB V14.B16, V%d.B16, V%d.B16", b.idx, b.idx)
			}
		}
		p0 := list(20 + 4*c)
		if c == 3 {
			ins("VLD1 (R4), [%s] // plane 0, chunk 3", list(10))
			p0 = list(10)
		}
		for _, b := range bs {
			ins("%s V%d.B16, [%s], V%d.B16", op, b.idx, p0, b.z+1)
		}
		if c >= t.p1c {
			continue
		}
		p1 := list(10)
		switch {
		case t.chunks == 2 && c == 0:
			p1 = list(28)
		case t.chunks > 2:
			ins("VLD1.P 64(R5), [%s] // plane 1, chunk %d", p1, c)
		}
		for _, b := range bs {
			ins("%s V%d.B16, [%s], V%d.B16", op, b.idx, p1, b.z+2)
		}
	}
	for _, b := range bs {
		ins("VST4.P [V%d.B16, V%d.B16, V%d.B16, V%d.B16], 64(R15) // x = 256·entry", b.z, b.z+1, b.z+2, b.z+3)
	}
}

// softmaxSum adds a block's planes pairwise into V17-V19 (16-bit lanes:
// 128 blocks at most, 510 a block).
func softmaxSum(bs ...smxBlock) {
	for _, b := range bs {
		for i := 0; i < 3; i++ {
			word("uadalp v%d.8h, v%d.16b", 17+i, b.z+1+i)
		}
	}
}

// smxDiv is a form of the division pass (see SoftmaxInt8): smxWide
// (l ≤ 17: URSHL of the 32-bit y by −(l−1), the low halves), smxFixed
// (18 ≤ l ≤ 23, m = ⌈2^48/sum⌉: the high halves, a rounding narrowing
// shift by 1) and smxHigh (l ≥ 24: the high halves, URSHL by −(l−17)).
type smxDiv int

const (
	smxWide smxDiv = iota
	smxFixed
	smxHigh
)

// softmaxDivBlocks writes the 16 or 32 outputs of one or two blocks of
// 256·entry values x at R13 to R15 (both post-incremented): y =
// ⌊x·m/2^31⌋ by SQDMULH (m in V17), then the quotient ⌊x/sum + 1/2⌋ by
// form f, saturated to a byte, − 128 (V19). Alongside, the next row's
// maximum and minimum: V10 = max(V10, the blocks at R22,
// post-incremented), V11 = min(V11, …).
func softmaxDivBlocks(two bool, f smxDiv) {
	n := 1
	if two {
		n = 2
	}
	for b := 0; b < n; b++ {
		ins("VLD1.P 64(R13), [V%d.S4, V%d.S4, V%d.S4, V%d.S4]", 4*b, 4*b+1, 4*b+2, 4*b+3)
	}
	if two {
		ins("VLD1.P 32(R22), [V12.B16, V13.B16] // the next row's blocks")
	} else {
		ins("VLD1.P 16(R22), [V12.B16] // the next row's block")
	}
	for b := 0; b < n; b++ {
		word("smax v10.16b, v10.16b, v%d.16b", 12+b)
		word("smin v11.16b, v11.16b, v%d.16b", 12+b)
	}
	for e := 0; e < 4*n; e++ {
		word("sqdmulh v%d.4s, v%d.4s, v17.4s", e, e)
		if f == smxWide {
			word("urshl v%d.4s, v%d.4s, v18.4s", e, e)
		}
	}
	// the 16-bit quotients (or, fixed, 2·quotient) of block 0 in V8, V9,
	// of block 1 in V2, V3
	h := [][2]int{{8, 9}, {2, 3}}
	for b := 0; b < n; b++ {
		if f == smxWide {
			ins("VUZP1 V%d.H8, V%d.H8, V%d.H8 // the quotients (< 2^16)", 4*b+1, 4*b, h[b][0])
			ins("VUZP1 V%d.H8, V%d.H8, V%d.H8", 4*b+3, 4*b+2, h[b][1])
			continue
		}
		ins("VUZP2 V%d.H8, V%d.H8, V%d.H8 // ⌊y/2^16⌋", 4*b+1, 4*b, h[b][0])
		ins("VUZP2 V%d.H8, V%d.H8, V%d.H8", 4*b+3, 4*b+2, h[b][1])
		if f == smxHigh {
			word("urshl v%d.8h, v%d.8h, v18.8h", h[b][0], h[b][0])
			word("urshl v%d.8h, v%d.8h, v18.8h", h[b][1], h[b][1])
		}
	}
	for b := 0; b < n; b++ {
		if f == smxFixed {
			word("uqrshrn v%d.8b, v%d.8h, #1", b, h[b][0])
			word("uqrshrn2 v%d.16b, v%d.8h, #1", b, h[b][1])
		} else {
			word("uqxtn v%d.8b, v%d.8h", b, h[b][0])
			word("uqxtn2 v%d.16b, v%d.8h", b, h[b][1])
		}
		ins("VEOR V19.B16, V%d.B16, V%d.B16 // − 128", b, b)
	}
	if two {
		ins("VST1.P [V0.B16, V1.B16], 32(R15)")
	} else {
		ins("VST1.P [V0.B16], 16(R15)")
	}
}

// softmaxDivPass writes the division pass of one row in form f: pairs of
// blocks, a single one where n16 is odd, the partial one.
func softmaxDivPass(f smxDiv) {
	sfx := fmt.Sprint(int(f))
	ins("LSR $1, R8, R16 // pairs of blocks")
	ins("CBZ R16, smxdiv1" + sfx)
	label("smxdiv" + sfx)
	softmaxDivBlocks(true, f)
	ins("SUBS $1, R16, R16")
	ins("BNE smxdiv" + sfx)
	label("smxdiv1" + sfx)
	ins("TBZ $0, R8, smxdivp" + sfx)
	softmaxDivBlocks(false, f)
	label("smxdivp" + sfx)
	ins("CBZ R9, smxnext")
	ins("MOVD R12, R13")
	ins("ADD R1, R11, R15")
	ins("ADD R23, R11, R22")
	softmaxDivBlocks(false, f)
	ins("B smxnext")
}

// softmaxExpPass writes the exp pass of one row over the table chunks t
// (its table registers loaded first), then branches to smxmagic.
func softmaxExpPass(t smxTables) {
	sfx := t.sfx()
	label("smxexp" + sfx)
	softmaxRowTables(t)
	comment("exp: 256·entry into e; Σ entry = Σ low + 256·Σ second + 65536·Σ bit 16, in chunks of 63 pairs of blocks")
	ins("MOVD R0, R13")
	ins("MOVD R7, R15")
	ins("LSR $1, R8, R14 // pairs of blocks left")
	ins("AND $1, R8, R20 // a single block")
	ins("MOVD ZR, R6 // Σ entry")
	ins("VEOR V2.B16, V2.B16, V2.B16 // byte 0 of x")
	ins("VEOR V6.B16, V6.B16, V6.B16")
	label("smxchunk" + sfx)
	for i := 0; i < 3; i++ {
		ins("VEOR V%d.B16, V%d.B16, V%d.B16", 17+i, 17+i, 17+i)
	}
	ins("MOVD $63, R16")
	ins("CMP R16, R14")
	ins("CSEL LT, R14, R16, R16 // this chunk's pairs")
	ins("SUB R16, R14, R14")
	ins("CBZ R16, smxlast" + sfx)
	label("smxpair" + sfx)
	softmaxLookup(t, smxA, smxB)
	softmaxSum(smxA, smxB)
	ins("SUBS $1, R16, R16")
	ins("BNE smxpair" + sfx)
	ins("CBNZ R14, smxred" + sfx)
	label("smxlast" + sfx)
	comment("the last chunk also takes the single block and the partial one (128 blocks at most)")
	ins("CBZ R20, smxpart" + sfx)
	softmaxLookup(t, smxA)
	softmaxSum(smxA)
	label("smxpart" + sfx)
	ins("CBZ R9, smxred" + sfx)
	ins("ADD R0, R11, R13")
	ins("MOVD R12, R15")
	softmaxLookup(t, smxA)
	ins("VLD1 (R10), [V10.B16] // keep the t new lanes")
	for i := 0; i < 3; i++ {
		ins("VAND V10.B16, V%d.B16, V%d.B16", 3+i, 3+i)
	}
	softmaxSum(smxA)
	label("smxred" + sfx)
	for i := 0; i < 3; i++ {
		ins("VUADDLV V%d.H8, V%d", 17+i, 17+i)
		ins("VMOV V%d.S[0], R19", 17+i)
		ins("ADD R19<<%d, R6, R6", 8*i)
	}
	ins("CBNZ R14, smxchunk" + sfx)
	ins("B smxmagic")
}

// softmaxRange sets mx (R6, and every byte of V16) and R25 = mx − mn,
// the row's largest distance, from the maxima in V<mxv> and minima in
// V<mnv>.
func softmaxRange(mxv, mnv int) {
	word("smaxv b%d, v%d.16b", mxv, mxv)
	word("sminv b%d, v%d.16b", mnv, mnv)
	ins("VMOV V%d.B[0], R6", mxv)
	ins("VMOV V%d.B[0], R25", mnv)
	ins("VDUP R6, V16.B16 // mx")
	ins("SUB R25, R6, R25")
	ins("AND $255, R25, R25 // mx − mn")
}

// genSoftmax writes softmaxRows: every row of one Softmax (see
// SoftmaxInt8 and softmaxTables in elem.go), chunks 0-1 of the table's
// plane 0 loaded once into V20-V27. The first row's maximum and minimum;
// then per row: the exp pass (256·entry into the row buffer e, Σ entry),
// over the table chunks the row's distances reach (four variants), the
// division constants in scalar code (UDIV) and the division pass (three
// forms by the size of the sum), which also takes the next row's maximum
// and minimum. A last partial block is the row's last 16 values,
// overlapping the block before: the same maximum, the same buffer values
// and outputs written twice; its sum terms are masked to the t = d mod 16
// new lanes (mask + t).
func genSoftmax() {
	fmt.Fprintf(&buf, "\n// func softmaxRows(x, out *int8, rows, d int, t *softmaxTables, e *uint32, mask *[32]uint8)\n")
	fmt.Fprintf(&buf, "TEXT ·softmaxRows(SB), NOSPLIT, $0-56\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD out+8(FP), R1")
	ins("MOVD rows+16(FP), R2")
	ins("MOVD d+24(FP), R3")
	ins("MOVD t+32(FP), R4")
	ins("MOVD e+40(FP), R7")
	ins("MOVD mask+48(FP), R10")
	ins("LSR $4, R3, R8 // n16")
	ins("AND $15, R3, R9 // t: values in the last partial block")
	ins("ADD R9, R10, R10 // mask + t")
	ins("SUB $16, R3, R11 // d − 16: the last block's offset")
	ins("ADD R11<<2, R7, R12 // its place in e")
	ins("ADD $520, R4, R5")
	ins("VLD1 (R5), [V15.B16] // bit 16 of the entries at distances 0-15")
	ins("MOVD 512(R4), R24 // plane 1's chunk 3 is not zero")
	for c := 0; c < 3; c++ {
		v := 20 + 4*c
		ins("VLD1.P 64(R4), [V%d.B16, V%d.B16, V%d.B16, V%d.B16] // plane 0, chunk %d", v, v+1, v+2, v+3, c)
	}
	ins("ADD $64, R4, R21 // plane 1")
	ins("VMOVI $64, V14.B16")
	comment("the first row's maximum and minimum (the others' come with the division pass before)")
	ins("MOVD R0, R13")
	ins("MOVD R8, R14")
	ins("MOVD R9, R16 // a partial block to do")
	ins("VLD1.P 16(R13), [V0.B16]")
	ins("VORR V0.B16, V0.B16, V2.B16")
	ins("SUBS $1, R14, R14")
	ins("BEQ smxmaxend")
	label("smxmax")
	ins("VLD1.P 16(R13), [V1.B16]")
	word("smax v0.16b, v0.16b, v1.16b")
	word("smin v2.16b, v2.16b, v1.16b")
	ins("SUBS $1, R14, R14")
	ins("BNE smxmax")
	label("smxmaxend")
	ins("CBZ R16, smxmaxred")
	ins("MOVD ZR, R16")
	ins("ADD R0, R11, R13")
	ins("MOVD $1, R14")
	ins("B smxmax")
	label("smxmaxred")
	softmaxRange(0, 2)

	label("smxrow")
	ins("CMP $128, R25")
	ins("BLT smxexp22")
	ins("CMP $192, R25")
	ins("BLT smxexp33")
	ins("CBZ R24, smxexp43")
	softmaxExpPass(smxTables{4, 4})
	softmaxExpPass(smxTables{4, 3})
	softmaxExpPass(smxTables{3, 3})
	softmaxExpPass(smxTables{2, 2})
	label("smxmagic")
	comment("l = ⌈log2 sum⌉; m = ⌈2^(30+l)/sum⌉, or ⌈2^48/sum⌉ for 18 ≤ l ≤ 23 (see divMagic)")
	ins("SUB $1, R6, R5 // sum − 1")
	ins("CLZ R5, R14")
	ins("MOVD $64, R15")
	ins("SUB R14, R15, R14 // l")
	ins("MOVD $1, R19")
	ins("VMOVI $128, V19.B16")
	ins("MOVD R7, R13")
	ins("MOVD R1, R15")
	ins("ADD R0, R3, R23 // the next row, whose maximum and minimum this pass takes")
	ins("CMP $1, R2")
	ins("CSEL EQ, R0, R23, R23 // the last row: this row again (nothing beyond it)")
	ins("MOVD R23, R22")
	ins("VMOVI $128, V10.B16 // −128")
	ins("VMOVI $127, V11.B16")
	ins("CMP $18, R14")
	ins("BLT smxwide")
	ins("CMP $23, R14")
	ins("BGT smxhigh")
	ins("LSL $48, R19, R19")
	ins("ADD R5, R19, R19")
	ins("UDIV R6, R19, R19 // m")
	ins("VDUP R19, V17.S4")
	softmaxDivPass(smxFixed)
	label("smxhigh")
	ins("ADD $30, R14, R16")
	ins("LSL R16, R19, R19")
	ins("ADD R5, R19, R19")
	ins("UDIV R6, R19, R19 // m")
	ins("VDUP R19, V17.S4")
	ins("SUB $17, R14, R14")
	ins("NEG R14, R14")
	ins("VDUP R14, V18.H8 // a rounding right shift by l − 17 (l ≥ 24)")
	softmaxDivPass(smxHigh)
	label("smxwide")
	ins("ADD $30, R14, R16")
	ins("LSL R16, R19, R19")
	ins("ADD R5, R19, R19")
	ins("UDIV R6, R19, R19 // m")
	ins("VDUP R19, V17.S4")
	ins("SUB $1, R14, R14")
	ins("NEG R14, R14")
	ins("VDUP R14, V18.S4 // a rounding right shift by l − 1 (l ≥ 2)")
	softmaxDivPass(smxWide)
	label("smxnext")
	softmaxRange(10, 11)
	ins("ADD R3, R0, R0")
	ins("ADD R3, R1, R1")
	ins("SUBS $1, R2, R2")
	ins("BNE smxrow")
	ins("RET")
}

// genLayerNorm writes lnStats (Σq and Σq² of a row) and lnRow (the
// affine step of ref.LayerNormInt8, 16 elements at a time: FSUB, FMUL,
// FMUL, FADD each rounded on its own, as ref; the clamp to [−128, 127]
// before FCVTAS, whose rounding is ref's, half away from zero; FMAXNM
// turns a NaN into −128, as ref).
func genLayerNorm() {
	fmt.Fprintf(&buf, "\n// func lnStats(x *int8, n16 int, res *[8]int32)\n")
	fmt.Fprintf(&buf, "TEXT ·lnStats(SB), NOSPLIT, $0-24\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD n16+8(FP), R1")
	ins("MOVD res+16(FP), R2")
	ins("VEOR V4.B16, V4.B16, V4.B16")
	ins("VEOR V5.B16, V5.B16, V5.B16")
	label("lnstatloop")
	ins("VLD1.P 16(R0), [V0.B16]")
	word("saddlp v1.8h, v0.16b")
	word("sadalp v4.4s, v1.8h")
	word("smull v2.8h, v0.8b, v0.8b")
	word("smull2 v3.8h, v0.16b, v0.16b")
	word("sadalp v5.4s, v2.8h")
	word("sadalp v5.4s, v3.8h")
	ins("SUBS $1, R1, R1")
	ins("BNE lnstatloop")
	ins("VST1 [V4.B16, V5.B16], (R2)")
	ins("RET")

	fmt.Fprintf(&buf, "\n// func lnStatsDot(x *int8, n16 int, res *[8]int32)\n")
	fmt.Fprintf(&buf, "// lnStats with SDOT (FEAT_DotProd): Σq against ones, Σq² against q.\n")
	fmt.Fprintf(&buf, "TEXT ·lnStatsDot(SB), NOSPLIT, $0-24\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD n16+8(FP), R1")
	ins("MOVD res+16(FP), R2")
	ins("VMOVI $1, V6.B16")
	ins("VEOR V4.B16, V4.B16, V4.B16")
	ins("VEOR V5.B16, V5.B16, V5.B16")
	label("lnsdotloop")
	ins("VLD1.P 16(R0), [V0.B16]")
	word("sdot v4.4s, v0.16b, v6.16b")
	word("sdot v5.4s, v0.16b, v0.16b")
	ins("SUBS $1, R1, R1")
	ins("BNE lnsdotloop")
	ins("VST1 [V4.B16, V5.B16], (R2)")
	ins("RET")

	genLNRow(false)
	genLNRow(true)
}

// genLNRow writes lnRow or (sat) lnRowSat: lnRow clamps to [−128, 127]
// with FMAXNM/FMINNM before FCVTAS (a NaN becomes −128) and keeps the low
// bytes; lnRowSat, for rows where no NaN can arise (see LayerNormInt8),
// narrows FCVTAS's int32 with saturation (SQXTN), the same bytes.
func genLNRow(sat bool) {
	name, loop := "lnRow", "lnrowloop"
	if sat {
		name, loop = "lnRowSat", "lnrowsatloop"
	}
	fmt.Fprintf(&buf, "\n// func %s(x, out *int8, n16 int, gamma, beta *float32, mr *[4]float32)\n", name)
	fmt.Fprintf(&buf, "// mr: the row's mean and reciprocal standard deviation, −128, 127.\n")
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	ins("MOVD x+0(FP), R0")
	ins("MOVD out+8(FP), R1")
	ins("MOVD n16+16(FP), R2")
	ins("MOVD gamma+24(FP), R3")
	ins("MOVD beta+32(FP), R4")
	ins("MOVD mr+40(FP), R5")
	ins("VLD1 (R5), [V19.S4]")
	ins("VDUP V19.S[0], V15.S4 // m")
	ins("VDUP V19.S[1], V16.S4 // r")
	ins("VDUP V19.S[2], V17.S4 // -128")
	ins("VDUP V19.S[3], V18.S4 // 127")
	label(loop)
	ins("VLD1.P 16(R0), [V0.B16]")
	ins("VLD1.P 64(R3), [V7.S4, V8.S4, V9.S4, V10.S4]")
	ins("VLD1.P 64(R4), [V11.S4, V12.S4, V13.S4, V14.S4]")
	word("sxtl v1.8h, v0.8b")
	word("sxtl2 v2.8h, v0.16b")
	word("sxtl v3.4s, v1.4h")
	word("sxtl2 v4.4s, v1.8h")
	word("sxtl v5.4s, v2.4h")
	word("sxtl2 v6.4s, v2.8h")
	for j := 0; j < 4; j++ {
		v := 3 + j
		word("scvtf v%d.4s, v%d.4s", v, v)
		word("fsub v%d.4s, v%d.4s, v15.4s", v, v)
		word("fmul v%d.4s, v%d.4s, v16.4s", v, v)
		word("fmul v%d.4s, v%d.4s, v%d.4s", v, v, 7+j)
		word("fadd v%d.4s, v%d.4s, v%d.4s", v, v, 11+j)
		if !sat {
			word("fmaxnm v%d.4s, v%d.4s, v17.4s", v, v)
			word("fminnm v%d.4s, v%d.4s, v18.4s", v, v)
		}
		word("fcvtas v%d.4s, v%d.4s", v, v)
	}
	if sat {
		word("sqxtn v1.4h, v3.4s")
		word("sqxtn2 v1.8h, v4.4s")
		word("sqxtn v2.4h, v5.4s")
		word("sqxtn2 v2.8h, v6.4s")
		word("sqxtn v0.8b, v1.8h")
		word("sqxtn2 v0.16b, v2.8h")
	} else {
		ins("VUZP1 V4.H8, V3.H8, V1.H8")
		ins("VUZP1 V6.H8, V5.H8, V2.H8")
		ins("VUZP1 V2.B16, V1.B16, V0.B16")
	}
	ins("VST1.P [V0.B16], 16(R1)")
	ins("SUBS $1, R2, R2")
	ins("BNE %s", loop)
	ins("RET")
}

// genAdd writes addInt8 (fast false) or addInt8Fast: n16 blocks of 16
// elements of int8 Add with both operands the same shape.
//
// addInt8: q holds, as int64, the multipliers and SQRSHL amounts of A, B
// and the output (Shift−31, with LeftShift folded into those of A and B),
// the zero points of A, B and the output, and the clamp; each rescale is
// SMULL/SMULL2, SQRSHL, SQXTN/SQXTN2 (exact for any multiplier).
//
// addInt8Fast (where addFast holds): q holds the multiplier and Shift of A,
// B and the output, the zero points, the clamp and LeftShift; each rescale
// is SQDMULH then SRSHL by Shift, exactly Apply's single rounding (see
// fastRequant), 2 instructions per 4 values instead of 6.
//
// addInt8FastNC is addInt8Fast for the clamp [−128, 127]: no SMAX/SMIN.
// addInt8FastL and addInt8FastLNC (lw, for 16 ≤ LeftShift ≤ 23, q[11] =
// LeftShift − 16) shift the int16 differences (|d| ≤ 255) left by
// LeftShift − 16 (no overflow: ≤ 255·2^7 < 2^15) and widen them by a
// ZIP with zero (V28) into the high halves, the same int32 (no wrap:
// 255·2^23 < 2^31) in 2 instructions per 16 values fewer than SXTL and
// SRSHL.
// Both fast kernels add the output zero point after the saturating narrow
// to int16 (SQADD on 8 lanes): SQDMULH and SRSHL leave |x| ≤ 2^30, so
// the int8 result is that of the int32 SQADD.
func genAdd(fast, clamp, lw bool) {
	name, nq, sh, loop, lastc := "addInt8", 11, "D2", "addloop", 26
	if fast {
		name, nq, sh, loop, lastc = "addInt8Fast", 12, "S4", "addfastloop", 27
		if lw {
			name, loop, lastc = "addInt8FastL", "addfastlloop", 28
		}
		if !clamp {
			name, loop = name+"NC", loop+"nc"
		}
	}
	fmt.Fprintf(&buf, "\n// func %s(a, b, out *int8, n16 int, q *[%d]int64)\n", name, nq)
	fmt.Fprintf(&buf, "// Registers: V0/V1 inputs, V2-V5 int16 and V6-V13 int32 operands,\n// V14/V15 products, V16-V%d constants.\n", lastc)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	ins("MOVD a+0(FP), R0")
	ins("MOVD b+8(FP), R1")
	ins("MOVD out+16(FP), R2")
	ins("MOVD n16+24(FP), R3")
	ins("MOVD q+32(FP), R4")
	dups := []struct {
		off  int
		v    int
		arr  string
		what string
	}{
		{0, 16, "S4", "A multiplier"}, {8, 17, sh, "A shift"},
		{16, 18, "S4", "B multiplier"}, {24, 19, sh, "B shift"},
		{32, 20, "S4", "output multiplier"}, {40, 21, sh, "output shift"},
		{48, 22, "B16", "A zero point"}, {56, 23, "B16", "B zero point"},
		{64, 24, "S4", "output zero point"}, {72, 25, "B16", "low clamp"}, {80, 26, "B16", "high clamp"},
	}
	if fast {
		dups = append(dups, struct {
			off  int
			v    int
			arr  string
			what string
		}{88, 27, "S4", "left shift"})
		if lw {
			dups[len(dups)-1].arr, dups[len(dups)-1].what = "H8", "left shift − 16"
		}
	}
	if lw {
		ins("VEOR V28.B16, V28.B16, V28.B16")
	}
	if fast {
		dups[8].arr = "H8" // the output zero point, for int16 lanes
	}
	for _, d := range dups {
		ins("MOVD %d(R4), R5", d.off)
		ins("VDUP R5, V%d.%s // %s", d.v, d.arr, d.what)
	}
	// rescale multiplies int32 vector v by vm and shifts by vs.
	rescale := func(v, vm, vs int) {
		if fast {
			word("sqdmulh v%d.4s, v%d.4s, v%d.4s", v, v, vm)
			word("srshl v%d.4s, v%d.4s, v%d.4s", v, v, vs)
			return
		}
		word("smull v14.2d, v%d.2s, v%d.2s", v, vm)
		word("smull2 v15.2d, v%d.4s, v%d.4s", v, vm)
		word("sqrshl v14.2d, v14.2d, v%d.2d", vs)
		word("sqrshl v15.2d, v15.2d, v%d.2d", vs)
		word("sqxtn v%d.2s, v14.2d", v)
		word("sqxtn2 v%d.4s, v15.2d", v)
	}
	// operand widens 16 int8 (register in) minus the zero point vzp into
	// four int32 vectors o..o+3 and rescales them by vm, vs.
	operand := func(in, vzp, o, vm, vs int) {
		word("ssubl v2.8h, v%d.8b, v%d.8b", in, vzp)
		word("ssubl2 v3.8h, v%d.16b, v%d.16b", in, vzp)
		if lw {
			word("sshl v2.8h, v2.8h, v27.8h")
			word("sshl v3.8h, v3.8h, v27.8h")
			ins("VZIP1 V2.H8, V28.H8, V%d.H8 // d·2^LeftShift", o)
			ins("VZIP2 V2.H8, V28.H8, V%d.H8", o+1)
			ins("VZIP1 V3.H8, V28.H8, V%d.H8", o+2)
			ins("VZIP2 V3.H8, V28.H8, V%d.H8", o+3)
			for i := 0; i < 4; i++ {
				rescale(o+i, vm, vs)
			}
			return
		}
		word("sxtl v%d.4s, v2.4h", o)
		word("sxtl2 v%d.4s, v2.8h", o+1)
		word("sxtl v%d.4s, v3.4h", o+2)
		word("sxtl2 v%d.4s, v3.8h", o+3)
		for i := 0; i < 4; i++ {
			if fast {
				word("srshl v%d.4s, v%d.4s, v27.4s", o+i, o+i) // << LeftShift (int32 wrap, as ref)
			}
			rescale(o+i, vm, vs)
		}
	}
	label(loop)
	ins("VLD1.P 16(R0), [V0.B16]")
	ins("VLD1.P 16(R1), [V1.B16]")
	operand(0, 22, 6, 16, 17)
	operand(1, 23, 10, 18, 19)
	for i := 0; i < 4; i++ {
		ins("VADD V%d.S4, V%d.S4, V%d.S4 // a' + b' (int32 wrap, as ref)", 10+i, 6+i, 6+i)
		rescale(6+i, 20, 21)
		if !fast {
			word("sqadd v%d.4s, v%d.4s, v24.4s", 6+i, 6+i)
		}
	}
	if fast {
		word("sqxtn v2.4h, v6.4s")
		word("sqxtn2 v2.8h, v7.4s")
		word("sqxtn v3.4h, v8.4s")
		word("sqxtn2 v3.8h, v9.4s")
		word("sqadd v2.8h, v2.8h, v24.8h")
		word("sqadd v3.8h, v3.8h, v24.8h")
		word("sqxtn v2.8b, v2.8h")
		word("sqxtn2 v2.16b, v3.8h")
		if clamp {
			word("smax v2.16b, v2.16b, v25.16b")
			word("smin v2.16b, v2.16b, v26.16b")
		}
	} else {
		narrow16(2, 3, [4]int{6, 7, 8, 9}, 25, 26)
	}
	ins("VST1.P [V2.B16], 16(R2)")
	ins("SUBS $1, R3, R3")
	ins("BNE %s", loop)
	ins("RET")
}

// genAddFixed writes addFixed: n16 blocks of 16 elements of int8 Add (or
// Sub, with BFixed negated) in XNNPACK's arithmetic (ref's fixedAddSub),
// both operands the same shape. q holds AFixed, BFixed, −FixedShift, the
// zero points of A, B and the output, ActMin and ActMax. Each operand
// minus its zero point (SSUBL, exact in int16) is widened (SXTL) and
// multiplied into one int32 sum (MUL, then MLA; no wrap for
// |AFixed|, |BFixed| ≤ 2^21, which the caller checks), SRSHL by
// −FixedShift adds 2^(FixedShift−1) and shifts arithmetically (ref's
// ties toward +∞), and SQXTN, SQADD of the zero point, SQXTN, SMAX and
// SMIN finish as in addInt8Fast.
func genAddFixed() {
	fmt.Fprintf(&buf, "\n// func addFixed(a, b, out *int8, n16 int, q *[8]int64)\n")
	fmt.Fprintf(&buf, "TEXT ·addFixed(SB), NOSPLIT, $0-40\n")
	ins("MOVD a+0(FP), R0")
	ins("MOVD b+8(FP), R1")
	ins("MOVD out+16(FP), R2")
	ins("MOVD n16+24(FP), R3")
	ins("MOVD q+32(FP), R4")
	for _, d := range []struct {
		off  int
		v    int
		arr  string
		what string
	}{
		{0, 16, "S4", "AFixed"}, {8, 18, "S4", "BFixed"}, {16, 19, "S4", "−FixedShift"},
		{24, 22, "B16", "A zero point"}, {32, 23, "B16", "B zero point"},
		{40, 24, "H8", "output zero point"}, {48, 25, "B16", "low clamp"}, {56, 26, "B16", "high clamp"},
	} {
		ins("MOVD %d(R4), R5", d.off)
		ins("VDUP R5, V%d.%s // %s", d.v, d.arr, d.what)
	}
	label("addfixedloop")
	ins("VLD1.P 16(R0), [V0.B16]")
	ins("VLD1.P 16(R1), [V1.B16]")
	word("ssubl v2.8h, v0.8b, v22.8b")
	word("ssubl2 v3.8h, v0.16b, v22.16b")
	word("ssubl v4.8h, v1.8b, v23.8b")
	word("ssubl2 v5.8h, v1.16b, v23.16b")
	for i, h := range []int{2, 2, 3, 3} {
		hi := ""
		if i%2 == 1 {
			hi = "2"
		}
		w := "4h"
		if hi != "" {
			w = "8h"
		}
		word("sxtl%s v%d.4s, v%d.%s", hi, 6+i, h, w)
		word("sxtl%s v%d.4s, v%d.%s", hi, 10+i, h+2, w)
	}
	for i := 0; i < 4; i++ {
		word("mul v%d.4s, v%d.4s, v16.4s", 6+i, 6+i)
		word("mla v%d.4s, v%d.4s, v18.4s", 6+i, 10+i)
		word("srshl v%d.4s, v%d.4s, v19.4s", 6+i, 6+i)
	}
	word("sqxtn v2.4h, v6.4s")
	word("sqxtn2 v2.8h, v7.4s")
	word("sqxtn v3.4h, v8.4s")
	word("sqxtn2 v3.8h, v9.4s")
	word("sqadd v2.8h, v2.8h, v24.8h")
	word("sqadd v3.8h, v3.8h, v24.8h")
	word("sqxtn v2.8b, v2.8h")
	word("sqxtn2 v2.16b, v3.8h")
	word("smax v2.16b, v2.16b, v25.16b")
	word("smin v2.16b, v2.16b, v26.16b")
	ins("VST1.P [V2.B16], 16(R2)")
	ins("SUBS $1, R3, R3")
	ins("BNE addfixedloop")
	ins("RET")
}

// genMulScale writes mulScale: n16 blocks of 16 elements of int8 Mul in
// XNNPACK's arithmetic (ref's MulScale branch), both operands the same
// shape. q holds the float32 bits of MulScale, the zero points of A, B and
// the output, ActMin and ActMax. The operands minus their zero points
// (SSUBL, exact in int16) are multiplied exactly into int32 (SMULL,
// SMULL2), and scaleStage finishes: SCVTF (exact, |prod| ≤ 2^16), FMUL,
// FCVTNS (ties to even; it saturates where ref clamps to ±2^30 — the
// same bytes after the int8 clamp), SQXTN, SQADD of the zero point,
// SQXTN, SMIN, SMAX.
func genMulScale() {
	fmt.Fprintf(&buf, "\n// func mulScale(a, b, out *int8, n16 int, q *[6]int64)\n")
	fmt.Fprintf(&buf, "TEXT ·mulScale(SB), NOSPLIT, $0-40\n")
	ins("MOVD a+0(FP), R0")
	ins("MOVD b+8(FP), R1")
	ins("MOVD out+16(FP), R2")
	ins("MOVD n16+24(FP), R3")
	ins("MOVD q+32(FP), R4")
	ins("MOVD 0(R4), R5")
	for v := 16; v < 20; v++ {
		ins("VDUP R5, V%d.S4 // MulScale", v)
	}
	for _, d := range []struct {
		off  int
		v    int
		arr  string
		what string
	}{
		{8, 22, "B16", "A zero point"}, {16, 23, "B16", "B zero point"},
		{24, 26, "H8", "output zero point"}, {32, 27, "B16", "low clamp"}, {40, 28, "B16", "high clamp"},
	} {
		ins("MOVD %d(R4), R5", d.off)
		ins("VDUP R5, V%d.%s // %s", d.v, d.arr, d.what)
	}
	label("mulscaleloop")
	ins("VLD1.P 16(R0), [V0.B16]")
	ins("VLD1.P 16(R1), [V1.B16]")
	word("ssubl v2.8h, v0.8b, v22.8b")
	word("ssubl2 v3.8h, v0.16b, v22.16b")
	word("ssubl v4.8h, v1.8b, v23.8b")
	word("ssubl2 v5.8h, v1.16b, v23.16b")
	word("smull v6.4s, v2.4h, v4.4h")
	word("smull2 v7.4s, v2.8h, v4.8h")
	word("smull v8.4s, v3.4h, v5.4h")
	word("smull2 v9.4s, v3.8h, v5.8h")
	scaleStage(6, 16, 10, 12, 4)
	ins("VST1.P [V12.B16], 16(R2)")
	ins("SUBS $1, R3, R3")
	ins("BNE mulscaleloop")
	ins("RET")
}

// genDequantize writes dequantF32: n16 blocks of 16 int8 (or uint8)
// codes to float32 as ref.DequantizeInt8 does, scale·float32(q − zp).
// k holds the byte XORed into each code (0x80 for uint8: q − 128 then
// fits int8, as does zp − 128), the (shifted) zero point byte, then the
// float32 scale bits. SSUBL forms q − zp exactly in int16, SXTL widens it,
// SCVTF converts it exactly and one FMUL rounds the product as ref's.
func genDequantize() {
	buf.WriteString("\n// func dequantF32(x *byte, out *float32, n16 int, k *[2]uint32)\n")
	buf.WriteString("TEXT ·dequantF32(SB), NOSPLIT, $0-32\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD out+8(FP), R1")
	ins("MOVD n16+16(FP), R2")
	ins("MOVD k+24(FP), R3")
	ins("VLD1R (R3), [V31.B16]")
	ins("ADD $1, R3, R4")
	ins("VLD1R (R4), [V30.B16]")
	ins("ADD $4, R3, R4")
	ins("VLD1R (R4), [V29.S4]")
	label("dqloop")
	ins("VLD1.P 16(R0), [V0.B16]")
	ins("VEOR V31.B16, V0.B16, V0.B16")
	word("ssubl v1.8h, v0.8b, v30.8b")
	word("ssubl2 v2.8h, v0.16b, v30.16b")
	word("sxtl v3.4s, v1.4h")
	word("sxtl2 v4.4s, v1.8h")
	word("sxtl v5.4s, v2.4h")
	word("sxtl2 v6.4s, v2.8h")
	for i := 3; i <= 6; i++ {
		word("scvtf v%d.4s, v%d.4s", i, i)
	}
	for i := 3; i <= 6; i++ {
		word("fmul v%d.4s, v%d.4s, v29.4s", i, i)
	}
	ins("VST1.P [V3.S4, V4.S4, V5.S4, V6.S4], 64(R1)")
	ins("SUBS $1, R2, R2")
	ins("BNE dqloop")
	ins("RET")
}

// genQuantizeFloat writes quantizeFloat (unsigned false) or
// quantizeFloatU: n16 blocks of 16 float32 quantized as ref.QuantizeFloat
// does, round(x/scale) + zp clamped to int8 (uint8). q holds the float64
// bits of the scale and the zero point. Each value is widened to float64
// (FCVTL, exact), divided by the scale in float64 (FDIV, ref's division)
// and rounded half away from zero to int64 (FCVTAS: ref's math.Round; NaN
// gives 0, ref's zero; it saturates, as ref clamps); SQXTN twice, SQADD
// of the zero point in int16 and SQXTN (SQXTUN for uint8) bring the sum
// to the output type with saturation, which is ref's clamp (a saturated
// value stays beyond the output range after the zero point).
func genQuantizeFloat(unsigned bool) {
	name, loop, nar := "quantizeFloat", "qfloop", "sqxtn"
	if unsigned {
		name, loop, nar = "quantizeFloatU", "qfuloop", "sqxtun"
	}
	fmt.Fprintf(&buf, "\n// func %s(x *float32, out *int8, n16 int, q *[2]int64)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	ins("MOVD x+0(FP), R0")
	ins("MOVD out+8(FP), R1")
	ins("MOVD n16+16(FP), R2")
	ins("MOVD q+24(FP), R3")
	ins("MOVD 0(R3), R5")
	ins("VDUP R5, V16.D2 // the scale (float64)")
	ins("MOVD 8(R3), R5")
	ins("VDUP R5, V17.H8 // the zero point")
	label(loop)
	ins("VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
	for i := 0; i < 4; i++ {
		word("fcvtl v%d.2d, v%d.2s", 4+2*i, i)
		word("fcvtl2 v%d.2d, v%d.4s", 5+2*i, i)
	}
	for j := 4; j < 12; j++ {
		word("fdiv v%d.2d, v%d.2d, v16.2d", j, j)
	}
	for j := 4; j < 12; j++ {
		word("fcvtas v%d.2d, v%d.2d", j, j)
	}
	for i := 0; i < 4; i++ {
		word("sqxtn v%d.2s, v%d.2d", i, 4+2*i)
		word("sqxtn2 v%d.4s, v%d.2d", i, 5+2*i)
	}
	word("sqxtn v4.4h, v0.4s")
	word("sqxtn2 v4.8h, v1.4s")
	word("sqxtn v5.4h, v2.4s")
	word("sqxtn2 v5.8h, v3.4s")
	word("sqadd v4.8h, v4.8h, v17.8h")
	word("sqadd v5.8h, v5.8h, v17.8h")
	word("%s v6.8b, v4.8h", nar)
	word("%s2 v6.16b, v5.8h", nar)
	ins("VST1.P [V6.B16], 16(R1)")
	ins("SUBS $1, R2, R2")
	ins("BNE %s", loop)
	ins("RET")
}

// genTAP writes tapCell: one grid cell of TokenAwareAvgPool over n16
// groups of 16 channels, through an int32 accumulator row acc in memory.
// taps holds the centre row, then 8 rows per dilated branch (nb of them;
// a tap outside the grid points at a row of the input zero point), each
// at the first channel; coef holds the centre's coefficient, then each
// branch's weight; q holds bias, multiplier, shift and output zero point.
// Pass 1: acc = bias + coef[0]·centre. Pass 2, per branch: the 8 taps are
// summed in int16 lanes (SADDL/SADDW: |Σ| ≤ 8·128), widened and
// multiply-added (MLA) into acc with the branch's weight. Pass 3: SQDMULH
// + SRSHL (the exact requantization for Shift ≤ −1, see fastRequant),
// the zero point, and two saturating narrows to int8.
func genTAP() {
	fmt.Fprintf(&buf, "\n// func tapCell(taps **int8, nb int, coef *int32, n16 int, acc *int32, out *int8, q *[4]int32)\n")
	fmt.Fprintf(&buf, "// Registers: V0-V7 taps, V8-V13 sums, V16-V19 accumulators, V20 coefficient,\n// V21 bias, V24-V26 requantization.\n")
	fmt.Fprintf(&buf, "TEXT ·tapCell(SB), NOSPLIT, $0-56\n")
	ins("MOVD taps+0(FP), R0")
	ins("MOVD nb+8(FP), R1")
	ins("MOVD coef+16(FP), R2")
	ins("MOVD n16+24(FP), R3")
	ins("MOVD acc+32(FP), R4")
	ins("MOVD out+40(FP), R5")
	ins("MOVD q+48(FP), R6")
	ins("MOVW (R6), R16")
	ins("VDUP R16, V21.S4 // bias")
	ins("MOVW.P 4(R2), R16")
	ins("VDUP R16, V20.S4 // centre coefficient")
	ins("MOVD.P 8(R0), R7 // centre row")
	ins("MOVD R4, R15")
	ins("MOVD R3, R16")
	label("tapinit")
	ins("VLD1.P 16(R7), [V0.B16]")
	word("sxtl v1.8h, v0.8b")
	word("sxtl2 v2.8h, v0.16b")
	word("sxtl v4.4s, v1.4h")
	word("sxtl2 v5.4s, v1.8h")
	word("sxtl v6.4s, v2.4h")
	word("sxtl2 v7.4s, v2.8h")
	for i := 0; i < 4; i++ {
		ins("VMOV V21.B16, V%d.B16", 16+i)
		word("mla v%d.4s, v%d.4s, v20.4s", 16+i, 4+i)
	}
	ins("VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R15)")
	ins("SUBS $1, R16, R16")
	ins("BNE tapinit")
	ins("CBZ R1, tapout")
	label("tapbranch")
	comment("the branch's 8 tap rows and weight")
	ins("LDP 0(R0), (R7, R8)")
	ins("LDP 16(R0), (R9, R10)")
	ins("LDP 32(R0), (R11, R12)")
	ins("LDP 48(R0), (R13, R14)")
	ins("ADD $64, R0")
	ins("MOVW.P 4(R2), R16")
	ins("VDUP R16, V20.S4")
	ins("MOVD R4, R15")
	ins("MOVD R3, R16")
	label("tapgroup")
	for t := 0; t < 8; t++ {
		ins("VLD1.P 16(R%d), [V%d.B16]", 7+t, t)
	}
	word("saddl v8.8h, v0.8b, v1.8b")
	word("saddl2 v9.8h, v0.16b, v1.16b")
	for t := 2; t < 8; t++ {
		word("saddw v8.8h, v8.8h, v%d.8b", t)
		word("saddw2 v9.8h, v9.8h, v%d.16b", t)
	}
	word("sxtl v10.4s, v8.4h")
	word("sxtl2 v11.4s, v8.8h")
	word("sxtl v12.4s, v9.4h")
	word("sxtl2 v13.4s, v9.8h")
	ins("VLD1 (R15), [V16.S4, V17.S4, V18.S4, V19.S4]")
	for i := 0; i < 4; i++ {
		word("mla v%d.4s, v%d.4s, v20.4s", 16+i, 10+i)
	}
	ins("VST1.P [V16.S4, V17.S4, V18.S4, V19.S4], 64(R15)")
	ins("SUBS $1, R16, R16")
	ins("BNE tapgroup")
	ins("SUBS $1, R1, R1")
	ins("BNE tapbranch")
	label("tapout")
	ins("MOVW 4(R6), R16")
	ins("VDUP R16, V24.S4 // multiplier")
	ins("MOVW 8(R6), R16")
	ins("VDUP R16, V25.S4 // shift")
	ins("MOVW 12(R6), R16")
	ins("VDUP R16, V26.S4 // output zero point")
	label("tapstore")
	ins("VLD1.P 64(R4), [V16.S4, V17.S4, V18.S4, V19.S4]")
	for i := 0; i < 4; i++ {
		requant4Fast(16+i, 24, 25, 26)
	}
	word("sqxtn v0.4h, v16.4s")
	word("sqxtn2 v0.8h, v17.4s")
	word("sqxtn v1.4h, v18.4s")
	word("sqxtn2 v1.8h, v19.4s")
	word("sqxtn v0.8b, v0.8h")
	word("sqxtn2 v0.16b, v1.8h")
	ins("VST1.P [V0.B16], 16(R5)")
	ins("SUBS $1, R3, R3")
	ins("BNE tapstore")
	ins("RET")
}

// genZODigits writes zoDigits: for n16 groups of 16 columns, t = gz·a
// (int16 GELU′ codes × int8 direction, exact int32 by SMULL) cut into the
// signed base-256 digits of ZOSensitivity (see ZOSensitivity in prune.go):
// d0 = low byte of t, t1 = (t + 2^7) >> 8 (SRSHL by −8), d1 = its low
// byte, d2 = (t1 + 2^7) >> 8. UZP1 keeps the low halfwords, then the low
// bytes. d0, d1 and d2 go to dig, dig+f and dig+2f.
func genZODigits() {
	fmt.Fprintf(&buf, "\n// func zoDigits(gz *int16, a *int8, n16 int, dig *int8, f int)\n")
	fmt.Fprintf(&buf, "// Registers: V0/V1 GELU′, V2-V4 direction, V5-V8 t, V9-V11 digits, V31 −8.\n")
	fmt.Fprintf(&buf, "TEXT ·zoDigits(SB), NOSPLIT, $0-40\n")
	ins("MOVD gz+0(FP), R0")
	ins("MOVD a+8(FP), R1")
	ins("MOVD n16+16(FP), R2")
	ins("MOVD dig+24(FP), R3")
	ins("MOVD f+32(FP), R6")
	ins("ADD R6, R3, R4")
	ins("ADD R6, R4, R5")
	ins("MOVD $-8, R7")
	ins("VDUP R7, V31.S4")
	digit := func(r int) {
		ins("VUZP1 V6.H8, V5.H8, V9.H8")
		ins("VUZP1 V8.H8, V7.H8, V10.H8")
		ins("VUZP1 V10.B16, V9.B16, V11.B16 // low bytes")
		ins("VST1.P [V11.B16], 16(R%d)", r)
	}
	label("zoloop")
	ins("VLD1.P 32(R0), [V0.H8, V1.H8]")
	ins("VLD1.P 16(R1), [V2.B16]")
	word("sxtl v3.8h, v2.8b")
	word("sxtl2 v4.8h, v2.16b")
	word("smull v5.4s, v0.4h, v3.4h")
	word("smull2 v6.4s, v0.8h, v3.8h")
	word("smull v7.4s, v1.4h, v4.4h")
	word("smull2 v8.4s, v1.8h, v4.8h")
	for d := 0; d < 3; d++ {
		if d > 0 {
			for i := 5; i <= 8; i++ {
				word("srshl v%d.4s, v%d.4s, v31.4s", i, i)
			}
		}
		digit(3 + d)
	}
	ins("SUBS $1, R2, R2")
	ins("BNE zoloop")
	ins("RET")
}

// genPack writes the per-call packing of BatchMatMul's B operand for the
// dot-product layout and the sums that fold the zero points:
//
//	packRowsDot  B stored [N,K] (AdjY): each 4-row group's 16-byte chunk
//	             is a 4×4 matrix of 4-byte words, transposed with TRN1/TRN2
//	             into the panel's k-groups (0.25 instructions per byte).
//	packColsDot  B stored [K,N]: four source rows of one k-group are
//	             interleaved byte by byte with ST4, 16 columns per store.
//	colBiasDot   per panel, Σ_k of each column by SDOT with ones, then the
//	             column bias kzz − azp·Σ (MLS) into the column data.
//	rowSums      −bzp·Σ_k a[m,k] of up to 4 A rows (SADDLP/SADALP, any
//	             path), chunked as the micro-kernels read A.
func genPack() {
	fmt.Fprintf(&buf, "\n// func packRowsDot(dst, src *int8, ld, n, np, nch, s1 int, mask *[16]int8)\n")
	fmt.Fprintf(&buf, "// Row r of B (r < n, stride ld) is column r of the np panels at dst; rows\n// past n repeat row n−1. Chunk 1's bytes below k = 16 are cleared by mask.\n")
	fmt.Fprintf(&buf, "TEXT ·packRowsDot(SB), NOSPLIT, $0-64\n")
	ins("MOVD dst+0(FP), R0")
	ins("MOVD src+8(FP), R1")
	ins("MOVD ld+16(FP), R2")
	ins("MOVD n+24(FP), R3")
	ins("MOVD np+32(FP), R4")
	ins("MOVD nch+40(FP), R5")
	ins("MOVD s1+48(FP), R6")
	ins("MOVD mask+56(FP), R7")
	ins("VLD1 (R7), [V31.B16]")
	ins("SUB $1, R3, R3")
	ins("MUL R2, R3, R3")
	ins("ADD R1, R3, R3 // the last row")
	ins("MOVD $64, R16")
	label("prdpanel")
	ins("MOVD R0, R8 // this group's first column in the panel")
	ins("MOVD $4, R9")
	label("prdgroup")
	comment("rows of the group, clamped to the last")
	for i := 0; i < 4; i++ {
		if i == 0 {
			ins("MOVD R1, R10")
		} else {
			ins("ADD R2, R%d, R%d", 9+i, 10+i)
		}
	}
	for i := 0; i < 4; i++ {
		ins("CMP R3, R%d", 10+i)
		ins("CSEL HI, R3, R%d, R%d", 10+i, 10+i)
	}
	ins("ADD R2<<2, R1, R1")
	ins("MOVD R8, R14")
	tr := func(chunk0 bool) {
		for i := 0; i < 4; i++ {
			if chunk0 {
				ins("VLD1.P (R%d)(R6), [V%d.B16]", 10+i, i)
			} else {
				ins("VLD1.P 16(R%d), [V%d.B16]", 10+i, i)
			}
		}
	}
	masked := func() {
		for i := 0; i < 4; i++ {
			ins("VAND V31.B16, V%d.B16, V%d.B16", i, i)
		}
	}
	transposeStore := func() {
		comment("4×4 words: V0-V3 become k-groups 0-3 of the 4 columns")
		ins("VTRN1 V1.S4, V0.S4, V4.S4")
		ins("VTRN2 V1.S4, V0.S4, V5.S4")
		ins("VTRN1 V3.S4, V2.S4, V6.S4")
		ins("VTRN2 V3.S4, V2.S4, V7.S4")
		ins("VTRN1 V6.D2, V4.D2, V0.D2")
		ins("VTRN1 V7.D2, V5.D2, V1.D2")
		ins("VTRN2 V6.D2, V4.D2, V2.D2")
		ins("VTRN2 V7.D2, V5.D2, V3.D2")
		for q := 0; q < 4; q++ {
			ins("VST1.P [V%d.S4], (R14)(R16)", q)
		}
	}
	comment("chunk 0; the rows then jump to chunk 1 at s1")
	tr(true)
	transposeStore()
	ins("SUBS $1, R5, R15")
	ins("BEQ prdgdone")
	comment("chunk 1: bytes below k = 16 belong to chunk 0")
	tr(false)
	masked()
	transposeStore()
	ins("SUBS $1, R15, R15")
	ins("BEQ prdgdone")
	label("prdloop")
	tr(false)
	transposeStore()
	ins("SUBS $1, R15, R15")
	ins("BNE prdloop")
	label("prdgdone")
	ins("ADD $16, R8")
	ins("SUBS $1, R9, R9")
	ins("BNE prdgroup")
	ins("ADD R5<<8, R0, R0 // next panel: nch·256 bytes on")
	ins("SUBS $1, R4, R4")
	ins("BNE prdpanel")
	ins("RET")

	fmt.Fprintf(&buf, "\n// func packColsDot(dst *int8, r *[4]*int8, ld, ngroups, np, pstride int)\n")
	fmt.Fprintf(&buf, "// k-group g (g < ngroups) of np 16-column panels pstride bytes apart\n// from the rows r[i] + 4·g·ld: byte 4j+i of the group is row i, column j.\n")
	fmt.Fprintf(&buf, "TEXT ·packColsDot(SB), NOSPLIT, $0-48\n")
	ins("MOVD dst+0(FP), R0")
	ins("MOVD r+8(FP), R1")
	ins("MOVD ld+16(FP), R2")
	ins("MOVD ngroups+24(FP), R3")
	ins("MOVD np+32(FP), R4")
	ins("MOVD pstride+40(FP), R5")
	for i := 0; i < 4; i++ {
		ins("MOVD %d(R1), R%d", 8*i, 10+i)
	}
	label("pcdgroup")
	for i := 0; i < 4; i++ {
		ins("MOVD R%d, R%d", 10+i, 14+i)
	}
	ins("MOVD R0, R6")
	ins("MOVD R4, R7")
	label("pcdpanel")
	for i := 0; i < 4; i++ {
		ins("VLD1.P 16(R%d), [V%d.B16]", 14+i, i)
	}
	ins("VST4 [V0.B16, V1.B16, V2.B16, V3.B16], (R6)")
	ins("ADD R5, R6, R6")
	ins("SUBS $1, R7, R7")
	ins("BNE pcdpanel")
	for i := 0; i < 4; i++ {
		ins("ADD R2<<2, R%d, R%d", 10+i, 10+i)
	}
	ins("ADD $64, R0")
	ins("SUBS $1, R3, R3")
	ins("BNE pcdgroup")
	ins("RET")

	fmt.Fprintf(&buf, "\n// func colBiasDot(b *int8, np, nch int, cd *int32, cdStride int, kzz, azp int)\n")
	fmt.Fprintf(&buf, "// For each of np packed 16-column panels: the column sums by SDOT with\n// ones, then cd[0:16] = kzz − azp·Σ; cd advances cdStride bytes a panel.\n")
	fmt.Fprintf(&buf, "TEXT ·colBiasDot(SB), NOSPLIT, $0-56\n")
	ins("MOVD b+0(FP), R0")
	ins("MOVD np+8(FP), R1")
	ins("MOVD nch+16(FP), R2")
	ins("MOVD cd+24(FP), R3")
	ins("MOVD cdStride+32(FP), R4")
	ins("MOVD kzz+40(FP), R5")
	ins("VDUP R5, V28.S4")
	ins("MOVD azp+48(FP), R5")
	ins("VDUP R5, V29.S4")
	ins("VMOVI $1, V30.B16")
	ins("LSL $2, R2, R2 // k-groups per panel")
	label("cbdpanel")
	for g := 0; g < 4; g++ {
		ins("VEOR V%d.B16, V%d.B16, V%d.B16", 16+g, 16+g, 16+g)
	}
	ins("MOVD R2, R6")
	label("cbdloop")
	ins("VLD1.P 64(R0), [V0.B16, V1.B16, V2.B16, V3.B16]")
	for g := 0; g < 4; g++ {
		word("sdot v%d.4s, v%d.16b, v30.16b", 16+g, g)
	}
	ins("SUBS $1, R6, R6")
	ins("BNE cbdloop")
	for g := 0; g < 4; g++ {
		ins("VORR V28.B16, V28.B16, V%d.B16", 20+g)
		word("mls v%d.4s, v%d.4s, v29.4s", 20+g, 16+g)
	}
	ins("VST1 [V20.S4, V21.S4, V22.S4, V23.S4], (R3)")
	ins("ADD R4, R3, R3")
	ins("SUBS $1, R1, R1")
	ins("BNE cbdpanel")
	ins("RET")

	fmt.Fprintf(&buf, "\n// func rowSums(a *int8, lda, rows, nch, s1 int, mask *[16]int8, bzp int, rb *[4]int32)\n")
	fmt.Fprintf(&buf, "// rb[m] = −bzp·Σ_k a[m,k] for the A rows m < 4 (rows past rows repeat the\n// last), K read in chunks as the micro-kernels do, chunk 1 masked.\n")
	fmt.Fprintf(&buf, "TEXT ·rowSums(SB), NOSPLIT, $0-64\n")
	ins("MOVD a+0(FP), R0")
	ins("MOVD lda+8(FP), R5")
	ins("MOVD rows+16(FP), R6")
	ins("MOVD nch+24(FP), R7")
	ins("MOVD s1+32(FP), R8")
	ins("MOVD mask+40(FP), R9")
	ins("VLD1 (R9), [V31.B16]")
	ins("MOVD bzp+48(FP), R9")
	ins("VDUP R9, V30.S4")
	ins("MOVD rb+56(FP), R9")
	rowPointers(4)
	ins("MOVD R0, R1")
	for m := 1; m < 4; m++ {
		ins("MOVD R%d, R%d", 18+m, 1+m)
	}
	for m := 0; m < 4; m++ {
		ins("VEOR V%d.B16, V%d.B16, V%d.B16", 16+m, 16+m, 16+m)
	}
	sum := func() {
		for m := 0; m < 4; m++ {
			word("saddlp v%d.8h, v%d.16b", 4+m, m)
			word("sadalp v%d.4s, v%d.8h", 16+m, 4+m)
		}
	}
	for m := 0; m < 4; m++ {
		ins("VLD1.P (R%d)(R8), [V%d.B16]", 1+m, m)
	}
	sum()
	ins("SUBS $1, R7, R7")
	ins("BEQ rsdone")
	for m := 0; m < 4; m++ {
		ins("VLD1.P 16(R%d), [V%d.B16]", 1+m, m)
		ins("VAND V31.B16, V%d.B16, V%d.B16", m, m)
	}
	sum()
	ins("SUBS $1, R7, R7")
	ins("BEQ rsdone")
	label("rsloop")
	for m := 0; m < 4; m++ {
		ins("VLD1.P 16(R%d), [V%d.B16]", 1+m, m)
	}
	sum()
	ins("SUBS $1, R7, R7")
	ins("BNE rsloop")
	label("rsdone")
	ins("VADDP V17.S4, V16.S4, V16.S4")
	ins("VADDP V19.S4, V18.S4, V18.S4")
	ins("VADDP V18.S4, V16.S4, V16.S4 // Σ of rows 0-3")
	ins("VEOR V0.B16, V0.B16, V0.B16")
	word("mls v0.4s, v16.4s, v30.4s")
	ins("VST1 [V0.S4], (R9)")
	ins("RET")
}

// genCopyRuns writes copyRuns: rows runs of run16·16 bytes, the source
// advancing stride bytes a run, the destination contiguous (the inner
// loop of a transpose or slice whose last dim stays last).
func genCopyRuns() {
	fmt.Fprintf(&buf, "\n// func copyRuns(dst, src *byte, rows, run16, stride int)\n")
	fmt.Fprintf(&buf, "TEXT ·copyRuns(SB), NOSPLIT, $0-40\n")
	ins("MOVD dst+0(FP), R0")
	ins("MOVD src+8(FP), R1")
	ins("MOVD rows+16(FP), R2")
	ins("MOVD run16+24(FP), R3")
	ins("MOVD stride+32(FP), R4")
	label("crrow")
	ins("MOVD R1, R5")
	ins("MOVD R3, R6")
	ins("CMP $4, R6")
	ins("BLT crones")
	label("crfour")
	ins("VLD1.P 64(R5), [V0.B16, V1.B16, V2.B16, V3.B16]")
	ins("VST1.P [V0.B16, V1.B16, V2.B16, V3.B16], 64(R0)")
	ins("SUB $4, R6, R6")
	ins("CMP $4, R6")
	ins("BGE crfour")
	label("crones")
	ins("CBZ R6, crnext")
	label("crone")
	ins("VLD1.P 16(R5), [V0.B16]")
	ins("VST1.P [V0.B16], 16(R0)")
	ins("SUBS $1, R6, R6")
	ins("BNE crone")
	label("crnext")
	ins("ADD R4, R1, R1")
	ins("SUBS $1, R2, R2")
	ins("BNE crrow")
	ins("RET")
}

// genPackV80 writes the v80 layout's per-call packing of BatchMatMul's B
// (column j of a panel holds its 16 bytes of each chunk) and its column
// biases:
//
//	packColsV80  B stored [K,N]: per chunk and 8-column panel, 16 rows of 8
//	             bytes (rows i and i+8 in the halves of one register) are
//	             transposed by three TRN1/TRN2 stages into the 8 columns.
//	packRowsV80  B stored [N,K]: each row's chunks are copied to its column.
//	colBiasV80   per panel, Σ_k of each column (SADDLP/SADALP, ADDP), then
//	             kzz − azp·Σ (MLS) into the column data.
//
// Both packers return the smallest byte they read (−128 selects the
// unpaired loop).
func genPackV80() {
	fmt.Fprintf(&buf, "\n// func packColsV80(dst, src *int8, ld, np, nch, s1 int, mask *[16]int8) int8\n")
	fmt.Fprintf(&buf, "TEXT ·packColsV80(SB), NOSPLIT, $0-57\n")
	ins("MOVD dst+0(FP), R8")
	ins("MOVD src+8(FP), R1")
	ins("MOVD ld+16(FP), R2")
	ins("MOVD np+24(FP), R3")
	ins("MOVD nch+32(FP), R4")
	ins("MOVD s1+40(FP), R5")
	ins("MOVD mask+48(FP), R7")
	ins("VLD1 (R7), [V31.B16]")
	ins("VMOVI $127, V30.B16 // running minimum")
	ins("MOVD $16, R10")
	ins("SUB R5, R10, R10")
	ins("MUL R2, R10, R10 // (16 − s1)·ld: from the end of chunk 0 back to chunk 1")
	ld := func() {
		for h := 0; h < 2; h++ {
			for i := 0; i < 8; i++ {
				ins("VLD1.P (R6)(R2), V%d.D[%d] // row %d", i, h, 8*h+i)
			}
		}
		for i := 0; i < 8; i++ {
			word("smin v30.16b, v30.16b, v%d.16b", i)
		}
		comment("8×8 byte transposes in both halves: V16+j = column j, k 0-15")
		for a := 0; a < 4; a++ {
			ins("VTRN1 V%d.B16, V%d.B16, V%d.B16", 2*a+1, 2*a, 8+2*a)
			ins("VTRN2 V%d.B16, V%d.B16, V%d.B16", 2*a+1, 2*a, 9+2*a)
		}
		for a := 0; a < 2; a++ {
			x, y := 8+4*a, 10+4*a // trn1/trn2 pairs of rows 4a..4a+3
			ins("VTRN1 V%d.H8, V%d.H8, V%d.H8", y, x, 4*a)
			ins("VTRN2 V%d.H8, V%d.H8, V%d.H8", y, x, 4*a+1)
			ins("VTRN1 V%d.H8, V%d.H8, V%d.H8", y+1, x+1, 4*a+2)
			ins("VTRN2 V%d.H8, V%d.H8, V%d.H8", y+1, x+1, 4*a+3)
		}
		// V0 columns 0,4 (rows 0-3), V1 2,6, V2 1,5, V3 3,7; V4-V7 rows 4-7.
		for _, c := range []struct{ u, lo, hi int }{{0, 0, 4}, {1, 2, 6}, {2, 1, 5}, {3, 3, 7}} {
			ins("VTRN1 V%d.S4, V%d.S4, V%d.S4", c.u+4, c.u, 16+c.lo)
			ins("VTRN2 V%d.S4, V%d.S4, V%d.S4", c.u+4, c.u, 16+c.hi)
		}
	}
	st := func() {
		ins("VST1.P [V16.B16, V17.B16, V18.B16, V19.B16], 64(R8)")
		ins("VST1.P [V20.B16, V21.B16, V22.B16, V23.B16], 64(R8)")
	}
	label("pcvpanel")
	ins("MOVD R1, R6")
	comment("chunk 0: rows 0-15")
	ld()
	st()
	ins("SUBS $1, R4, R7")
	ins("BEQ pcvnext")
	comment("chunk 1: rows s1 to s1+15, bytes below k = 16 cleared")
	ins("SUB R10, R6, R6")
	ld()
	for j := 0; j < 8; j++ {
		ins("VAND V31.B16, V%d.B16, V%d.B16", 16+j, 16+j)
	}
	st()
	ins("SUBS $1, R7, R7")
	ins("BEQ pcvnext")
	label("pcvloop")
	ld()
	st()
	ins("SUBS $1, R7, R7")
	ins("BNE pcvloop")
	label("pcvnext")
	ins("ADD $8, R1")
	ins("SUBS $1, R3, R3")
	ins("BNE pcvpanel")
	word("sminv b0, v30.16b")
	ins("VMOV V0.B[0], R2")
	ins("MOVB R2, ret+56(FP)")
	ins("RET")

	fmt.Fprintf(&buf, "\n// func packRowsV80(dst, src *int8, ld, n, np, nch, s1 int, mask *[16]int8) int8\n")
	fmt.Fprintf(&buf, "TEXT ·packRowsV80(SB), NOSPLIT, $0-65\n")
	ins("MOVD dst+0(FP), R0")
	ins("MOVD src+8(FP), R1")
	ins("MOVD ld+16(FP), R2")
	ins("MOVD n+24(FP), R3")
	ins("MOVD np+32(FP), R4")
	ins("MOVD nch+40(FP), R5")
	ins("MOVD s1+48(FP), R6")
	ins("MOVD mask+56(FP), R7")
	ins("VLD1 (R7), [V31.B16]")
	ins("VMOVI $127, V30.B16 // running minimum")
	ins("SUB $1, R3, R3")
	ins("MUL R2, R3, R3")
	ins("ADD R1, R3, R3 // the last row")
	ins("MOVD $128, R11")
	label("prvpanel")
	ins("MOVD $8, R9")
	ins("MOVD R0, R8")
	label("prvrow")
	ins("CMP R3, R1")
	ins("CSEL HI, R3, R1, R12 // rows past n repeat the last")
	ins("MOVD R8, R14")
	ins("VLD1.P (R12)(R6), [V0.B16]")
	word("smin v30.16b, v30.16b, v0.16b")
	ins("VST1.P [V0.B16], (R14)(R11)")
	ins("SUBS $1, R5, R15")
	ins("BEQ prvrowdone")
	ins("VLD1.P 16(R12), [V0.B16]")
	word("smin v30.16b, v30.16b, v0.16b")
	ins("VAND V31.B16, V0.B16, V0.B16")
	ins("VST1.P [V0.B16], (R14)(R11)")
	ins("SUBS $1, R15, R15")
	ins("BEQ prvrowdone")
	label("prvloop")
	ins("VLD1.P 16(R12), [V0.B16]")
	word("smin v30.16b, v30.16b, v0.16b")
	ins("VST1.P [V0.B16], (R14)(R11)")
	ins("SUBS $1, R15, R15")
	ins("BNE prvloop")
	label("prvrowdone")
	ins("ADD R2, R1, R1")
	ins("ADD $16, R8")
	ins("SUBS $1, R9, R9")
	ins("BNE prvrow")
	ins("ADD R5<<7, R0, R0 // next panel: nch·128 bytes on")
	ins("SUBS $1, R4, R4")
	ins("BNE prvpanel")
	word("sminv b0, v30.16b")
	ins("VMOV V0.B[0], R2")
	ins("MOVB R2, ret+64(FP)")
	ins("RET")

	fmt.Fprintf(&buf, "\n// func colBiasV80(b *int8, np, nch int, cd *int32, cdStride int, kzz, azp int)\n")
	fmt.Fprintf(&buf, "TEXT ·colBiasV80(SB), NOSPLIT, $0-56\n")
	ins("MOVD b+0(FP), R0")
	ins("MOVD np+8(FP), R1")
	ins("MOVD nch+16(FP), R2")
	ins("MOVD cd+24(FP), R3")
	ins("MOVD cdStride+32(FP), R4")
	ins("MOVD kzz+40(FP), R5")
	ins("VDUP R5, V28.S4")
	ins("MOVD azp+48(FP), R5")
	ins("VDUP R5, V29.S4")
	label("cbvpanel")
	for j := 0; j < 8; j++ {
		ins("VEOR V%d.B16, V%d.B16, V%d.B16", 16+j, 16+j, 16+j)
	}
	ins("MOVD R2, R6")
	label("cbvloop")
	ins("VLD1.P 64(R0), [V0.B16, V1.B16, V2.B16, V3.B16]")
	ins("VLD1.P 64(R0), [V4.B16, V5.B16, V6.B16, V7.B16]")
	for j := 0; j < 8; j++ {
		word("saddlp v%d.8h, v%d.16b", 8+j%2, j)
		word("sadalp v%d.4s, v%d.8h", 16+j, 8+j%2)
	}
	ins("SUBS $1, R6, R6")
	ins("BNE cbvloop")
	for a := 0; a < 4; a++ {
		ins("VADDP V%d.S4, V%d.S4, V%d.S4", 17+2*a, 16+2*a, 24+a)
	}
	ins("VADDP V25.S4, V24.S4, V24.S4 // Σ of columns 0-3")
	ins("VADDP V27.S4, V26.S4, V26.S4 // 4-7")
	ins("VORR V28.B16, V28.B16, V0.B16")
	ins("VORR V28.B16, V28.B16, V1.B16")
	word("mls v0.4s, v24.4s, v29.4s")
	word("mls v1.4s, v26.4s, v29.4s")
	ins("VST1 [V0.S4, V1.S4], (R3)")
	ins("ADD R4, R3, R3")
	ins("SUBS $1, R1, R1")
	ins("BNE cbvpanel")
	ins("RET")
}

func main() {
	out := flag.String("o", "gemm_arm64.s", "output file")
	flag.Parse()
	fmt.Fprintf(&buf, "// Code generated by gen_asm.go; DO NOT EDIT.\n\n")
	fmt.Fprintf(&buf, "//go:build arm64 && !purego\n\n")
	fmt.Fprintf(&buf, "#include \"textflag.h\"\n")
	genDot()
	genV80()
	genDepthwise()
	genDepthwiseScale()
	genRequantTile()
	genSum()
	genMinMax("min")
	genAdd(false, true, false)
	genAdd(true, true, false)
	genAdd(true, false, false)
	genAdd(true, true, true)
	genAdd(true, false, true)
	genAddFixed()
	genMulScale()
	genQuantizeFloat(false)
	genQuantizeFloat(true)
	genDequantize()
	genMinMax("max")
	genLookup()
	genSoftmax()
	genLayerNorm()
	genTAP()
	genZODigits()
	genPack()
	genPackV80()
	genCopyRuns()
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
