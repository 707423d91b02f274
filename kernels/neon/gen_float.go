//go:build ignore

// gen_float writes float_arm64.s, the float32 assembly of package neon:
// the FMLA GEMM micro-kernel (gemmF32), its A and B packers (packA8,
// packB12), the
// GELU and Softmax helpers (geluF32, maxF32, expSumF32, scaleF32), the
// dense Add and Div (addF32, divF32), and LayerNorm's float64 row statistics (sumF64,
// ssF64) and affine step (lnRowF32). Each
// instruction the Go assembler lacks (FMLA by element, the vector float
// arithmetic) is spelled out here once and encoded by package a64;
// float_arm64.go declares the routines and float_generic.go holds their
// Go twins. Run with `go generate ./kernels/neon`.
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

func ins(format string, args ...any)     { fmt.Fprintf(&buf, "\t"+format+"\n", args...) }
func word(format string, args ...any)    { ins("%s", a64.Word(fmt.Sprintf(format, args...))) }
func label(l string)                     { fmt.Fprintf(&buf, "%s:\n", l) }
func comment(format string, args ...any) { fmt.Fprintf(&buf, "\t// "+format+"\n", args...) }

// nv is the number of 4-column vectors of the tile gemm is writing: 3 for
// gemmF32 (12 columns), 2 and 1 for the narrow tails gemmF32n8, gemmF32n4.
var nv = 3

// mr is the number of tile rows gemm is writing: 8 for gemmF32, 6 and 4
// for gemmF32m6, gemmF32m4 (a last block of rows; A keeps its 8-row steps).
var mr = 8

// acc is the accumulator of tile row r (0…7), column vector c (0…nv−1).
func acc(r, c int) int { return 8 + nv*r + c }

// vlist is the register list [Va.S4, …] of n registers from a.
func vlist(a, n int) string {
	l := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			l += ", "
		}
		l += fmt.Sprintf("V%d.S4", a+i)
	}
	return "[" + l + "]"
}

func accList(r int) string { return vlist(acc(r, 0), nv) }

// step writes one k step: 24 FMLA (FMUL with fresh: the first step of a
// tile) of B (V4…V6) by the A element of row r, rows 0…3 in lanes of
// V(a0), rows 4…7 in V(a0+1).
func step(a0 int, fresh bool) {
	op := "fmla"
	if fresh {
		op = "fmul"
	}
	ins("VLD1.P (R12)(R16), %s", vlist(4, nv))
	for r := 0; r < mr; r++ {
		for c := 0; c < nv; c++ {
			word("%s v%d.4s, v%d.4s, v%d.s[%d]", op, acc(r, c), 4+c, a0+r/4, r%4)
		}
	}
}

// steps writes n k steps (n even: A two steps per load).
func steps(n int) {
	for i := 0; i < n; i += 2 {
		ins("VLD1.P 64(R11), [V0.S4, V1.S4, V2.S4, V3.S4]")
		step(0, false)
		step(2, false)
	}
}

// rowsDo writes per-row code for the tile at R5, rows ldo (R6) apart: all
// mr with post-incremented addresses when rows (R7) is mr, else row by row
// up to rows.
func rowsDo(name string, each func(r int, post bool)) {
	ins("MOVD R5, R14")
	ins("CMP $%d, R7", mr)
	ins("BNE %s_part", name)
	for r := 0; r < mr; r++ {
		each(r, true)
	}
	ins("B %s_done", name)
	label(name + "_part")
	for r := 0; r < mr; r++ {
		each(r, false)
		if r < mr-1 {
			ins("CMP $%d, R7", r+1)
			ins("BLE %s_done", name)
			ins("ADD R6, R14, R14")
		}
	}
	label(name + "_done")
}

// gemm writes gemmF32 (nv = 3, mr = 8: an 8-row × 12-column float32 tile
// over np panels), a narrow variant for a last panel of at most 8 or 4
// columns (nv = 2, 1: the same contract, 4·nv columns written per row), or
// a short one for a last block of at most 6 or 4 rows (mr = 6, 4: rows ≤ mr).
// Each output is the product of step 0, then FMA of the later products in
// increasing k (one rounding each), then + bias, then the clamp: the order
// of kernels/x86's gemmF32 (which starts from 0: the two can differ only in
// the sign of a zero sum when the bias is −0).
//
//	a      *float32  packed A: kc steps of 8 floats (rows 0…7 at step k)
//	kc     int       steps (≥ 1)
//	b      *float32  panel 0 of B at step 0: kc rows of 12 floats
//	ldb    int       bytes between those rows (48 when packed)
//	pstride int      bytes between panels
//	np     int       panels (≥ 1)
//	out    *float32  first output; ldo bytes between rows; 12 per panel
//	rows   int       rows stored (and loaded), 1…mr
//	mode   int       bit 0: start from out instead of step 0's products (a
//	                 later K block); bit 1: add the bias (last K block);
//	                 bit 2: clamp
//	bias   *float32  12 per panel
//	clip   *[2]float32 lower and upper clamp
//
// Registers: accumulators V8…V31 (row r, vector c: V(8+3r+c)), A V0…V3
// (two steps), B V4…V6. Steps run 16 to a loop iteration, then 8, 4, 2, 1.
func gemm(name string, vectors, rows int) {
	nv, mr = vectors, rows
	fmt.Fprintf(&buf, "\n// func %s(a *float32, kc int, b *float32, ldb, pstride, np int, out *float32, ldo, rows, mode int, bias *float32, clip *[2]float32)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-96\n", name)
	ins("MOVD a+0(FP), R0")
	ins("MOVD kc+8(FP), R1")
	ins("MOVD b+16(FP), R2")
	ins("MOVD ldb+24(FP), R16")
	ins("MOVD pstride+32(FP), R3")
	ins("MOVD np+40(FP), R4")
	ins("MOVD out+48(FP), R5")
	ins("MOVD ldo+56(FP), R6")
	ins("MOVD rows+64(FP), R7")
	ins("MOVD mode+72(FP), R8")
	ins("MOVD bias+80(FP), R9")
	ins("MOVD clip+88(FP), R10")
	label(name + "_panel")
	ins("MOVD R0, R11")
	ins("MOVD R2, R12")
	ins("TBNZ $0, R8, %s_cont", name)
	comment("step 0: the products themselves")
	ins("VLD1.P 32(R11), [V0.S4, V1.S4]")
	step(0, true)
	ins("SUB $1, R1, R13")
	ins("B %s_k", name)
	label(name + "_cont")
	comment("a later K block: continue from the partial sums in out")
	rowsDo(name+"_load", func(r int, post bool) {
		if post {
			ins("VLD1.P (R14)(R6), %s", accList(r))
		} else {
			ins("VLD1 (R14), %s", accList(r))
		}
	})
	ins("MOVD R1, R13")
	label(name + "_k")
	ins("LSR $4, R13, R15")
	ins("CBZ R15, %s_k8", name)
	label(name + "_k16")
	steps(16)
	ins("SUBS $1, R15, R15")
	ins("BNE %s_k16", name)
	label(name + "_k8")
	ins("TBZ $3, R13, %s_k4", name)
	steps(8)
	label(name + "_k4")
	ins("TBZ $2, R13, %s_k2", name)
	steps(4)
	label(name + "_k2")
	ins("TBZ $1, R13, %s_k1", name)
	steps(2)
	label(name + "_k1")
	ins("TBZ $0, R13, %s_bias", name)
	ins("VLD1.P 32(R11), [V0.S4, V1.S4]")
	step(0, false)
	label(name + "_bias")
	ins("TBZ $1, R8, %s_store", name)
	ins("VLD1 (R9), %s", vlist(4, nv))
	for r := 0; r < mr; r++ {
		for c := 0; c < nv; c++ {
			word("fadd v%d.4s, v%d.4s, v%d.4s", acc(r, c), acc(r, c), 4+c)
		}
	}
	ins("TBZ $2, R8, %s_store", name)
	comment("clamp: FMAX/FMIN return NaN for a NaN input, as ref's comparisons do")
	ins("VLD1R (R10), [V0.S4]")
	ins("ADD $4, R10, R15")
	ins("VLD1R (R15), [V1.S4]")
	for r := 0; r < mr; r++ {
		for c := 0; c < nv; c++ {
			word("fmax v%d.4s, v%d.4s, v0.4s", acc(r, c), acc(r, c))
			word("fmin v%d.4s, v%d.4s, v1.4s", acc(r, c), acc(r, c))
		}
	}
	label(name + "_store")
	rowsDo(name+"_st", func(r int, post bool) {
		if post {
			ins("VST1.P %s, (R14)(R6)", accList(r))
		} else {
			ins("VST1 %s, (R14)", accList(r))
		}
	})
	ins("ADD $%d, R5, R5", 16*nv)
	ins("ADD $48, R9, R9")
	ins("ADD R3, R2, R2")
	ins("SUBS $1, R4, R4")
	ins("BNE %s_panel", name)
	ins("RET")
}

// pack writes packA8 and packB12: R rows (8 or 12; lda bytes apart) × 4·k4
// columns into k-major steps of R floats, four columns at a time by 4×4
// transposes (TRN1/TRN2 on words, then on doublewords). Rows in V0…,
// temporaries V28…V31, steps in V16… (step k, rows 4h…4h+3: V(16+k·R/4+h)).
func pack(name string, R int) {
	fmt.Fprintf(&buf, "\n// func %s(a *float32, lda, k4 int, dst *float32)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
	ins("MOVD a+0(FP), R0")
	ins("MOVD lda+8(FP), R1")
	ins("MOVD k4+16(FP), R2")
	ins("MOVD dst+24(FP), R3")
	ins("MOVD R0, R4")
	for i := 5; i < 4+R; i++ {
		ins("ADD R1, R%d, R%d", i-1, i)
	}
	label(name + "_loop")
	for r := 0; r < R; r++ {
		ins("VLD1.P 16(R%d), [V%d.S4]", 4+r, r)
	}
	g := R / 4
	for h := 0; h < g; h++ {
		r := 4 * h
		ins("VTRN1 V%d.S4, V%d.S4, V28.S4", r+1, r)
		ins("VTRN2 V%d.S4, V%d.S4, V29.S4", r+1, r)
		ins("VTRN1 V%d.S4, V%d.S4, V30.S4", r+3, r+2)
		ins("VTRN2 V%d.S4, V%d.S4, V31.S4", r+3, r+2)
		ins("VTRN1 V30.D2, V28.D2, V%d.D2", 16+0*g+h)
		ins("VTRN1 V31.D2, V29.D2, V%d.D2", 16+1*g+h)
		ins("VTRN2 V30.D2, V28.D2, V%d.D2", 16+2*g+h)
		ins("VTRN2 V31.D2, V29.D2, V%d.D2", 16+3*g+h)
	}
	for v := 16; v < 16+R; v += 4 {
		ins("VST1.P [V%d.S4, V%d.S4, V%d.S4, V%d.S4], 64(R3)", v, v+1, v+2, v+3)
	}
	ins("SUBS $1, R2, R2")
	ins("BNE %s_loop", name)
	ins("RET")
}

// The float math constants (floatmath.go's mathConsts), one per register:
// V10…V29 after loadConsts; V8 holds 0.
const (
	cLo, cHi, cLog2e, cC1, cC2 = 10, 11, 12, 13, 14 // exp range reduction
	cP0                        = 15                 // exp polynomial, V15…V20
	cOne, cBias                = 21, 22             // 1, 127<<23
	cRSqrt2, cP                = 23, 24             // 1/√2, A&S p
	cA5                        = 25                 // A&S a5…a1 halved, V25…V29
)

// loadConsts broadcasts the first n constants at R(k) into V10….
func loadConsts(k, n int) {
	for i := 0; i < n; i++ {
		ins("VLD1R.P 4(R%d), [V%d.S4]", k, 10+i)
	}
}

// copyV sets Vd = Vs.
func copyV(s, d int) { ins("VORR V%d.B16, V%d.B16, V%d.B16", s, s, d) }

// exp sets Vx = e^x lane by lane for x ≤ 0 (clobbers t0…t2): Cephes'
// range reduction and degree-6 polynomial with fused multiply-adds, the
// operations of kernels/x86's EXP in the same order (whose clamp at 88.4
// never acts on such x).
func exp(x, t0, t1, t2 int) {
	word("fmax v%d.4s, v%d.4s, v%d.4s", x, x, cLo)
	// No upper clamp: both callers pass x ≤ 0 (−z², β·x − max β·x) or NaN.
	word("fmul v%d.4s, v%d.4s, v%d.4s", t0, x, cLog2e)
	word("frintn v%d.4s, v%d.4s", t0, t0)
	ins("VFMLS V%d.S4, V%d.S4, V%d.S4 // x −= n·C1", cC1, t0, x)
	ins("VFMLS V%d.S4, V%d.S4, V%d.S4 // x −= n·C2", cC2, t0, x)
	// Horner: t = p1 + p0·x, then t = p(i) + t·x, alternating t1 and t2.
	copyV(cP0+1, t1)
	ins("VFMLA V%d.S4, V%d.S4, V%d.S4", cP0, x, t1)
	a, b := t1, t2
	for i := 2; i <= 5; i++ {
		copyV(cP0+i, b)
		ins("VFMLA V%d.S4, V%d.S4, V%d.S4", a, x, b)
		a, b = b, a
	}
	// a = poly; x = x + poly·x², then + 1
	word("fmul v%d.4s, v%d.4s, v%d.4s", b, x, x)
	ins("VFMLA V%d.S4, V%d.S4, V%d.S4", a, b, x)
	word("fadd v%d.4s, v%d.4s, v%d.4s", x, x, cOne)
	word("fcvtns v%d.4s, v%d.4s", t0, t0)
	ins("VSHL $23, V%d.S4, V%d.S4", t0, t0)
	ins("VADD V%d.S4, V%d.S4, V%d.S4", cBias, t0, t0)
	word("fmul v%d.4s, v%d.4s, v%d.4s", x, x, t0)
}

// floatMath writes the float32 GELU and Softmax helpers.
func floatMath() {
	buf.WriteString("\n// func geluF32(x, out *float32, n4 int, k *mathConsts)\n")
	buf.WriteString("// out = x/2·(1 + erf(x/√2)), erf by Abramowitz and Stegun 7.1.26 on\n")
	buf.WriteString("// z = |x|/√2: with q = poly(t)·e^(−z²), 1 + erf = q for x < 0, else 2 − q;\n")
	buf.WriteString("// the coefficients are halved, so q/2 and out = x·(q/2 or 1 − q/2), the\n")
	buf.WriteString("// bits of (x/2)·(q or 2 − q) (scaling by 2 is exact).\n")
	buf.WriteString("TEXT ·geluF32(SB), NOSPLIT, $0-32\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD out+8(FP), R1")
	ins("MOVD n4+16(FP), R2")
	ins("MOVD k+24(FP), R3")
	loadConsts(3, 20)
	ins("VEOR V8.B16, V8.B16, V8.B16")
	label("geluF32_loop")
	ins("VLD1.P 16(R0), [V0.S4]")
	word("fmul v1.4s, v0.4s, v%d.4s", cRSqrt2)
	word("fabs v1.4s, v1.4s")
	copyV(cOne, 2)
	ins("VFMLA V%d.S4, V1.S4, V2.S4 // 1 + p·z", cP)
	word("fdiv v2.4s, v%d.4s, v2.4s", cOne)
	copyV(cA5+1, 3)
	ins("VFMLA V%d.S4, V2.S4, V3.S4", cA5)
	a, b := 3, 4
	for i := 2; i <= 4; i++ {
		copyV(cA5+i, b)
		ins("VFMLA V%d.S4, V2.S4, V%d.S4", a, b)
		a, b = b, a
	}
	word("fmul v3.4s, v%d.4s, v2.4s", a)
	word("fmul v4.4s, v1.4s, v1.4s")
	word("fneg v4.4s, v4.4s")
	exp(4, 5, 6, 7)
	word("fmul v3.4s, v4.4s, v3.4s")
	word("fsub v5.4s, v%d.4s, v3.4s", cOne)
	word("fcmgt v6.4s, v8.4s, v0.4s")
	ins("VBIT V6.B16, V3.B16, V5.B16 // x < 0: q/2, else 1 − q/2")
	word("fmul v1.4s, v0.4s, v5.4s")
	ins("VST1.P [V1.S4], 16(R1)")
	ins("SUBS $1, R2, R2")
	ins("BNE geluF32_loop")
	ins("RET")

	buf.WriteString("\n// func maxF32(x *float32, n4 int) float32: the largest of n4·4 values\n")
	buf.WriteString("// (n4 ≥ 1), 16 at a time into four vectors, then the rest one by one.\n")
	buf.WriteString("TEXT ·maxF32(SB), NOSPLIT, $0-20\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD n4+8(FP), R2")
	ins("VLD1 (R0), [V0.S4]")
	for i := 1; i < 4; i++ {
		ins("VORR V0.B16, V0.B16, V%d.B16", i)
	}
	ins("LSR $2, R2, R3")
	ins("CBZ R3, maxF32_one")
	label("maxF32_loop")
	ins("VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]")
	for i := 0; i < 4; i++ {
		word("fmax v%d.4s, v%d.4s, v%d.4s", i, i, 4+i)
	}
	ins("SUBS $1, R3, R3")
	ins("BNE maxF32_loop")
	label("maxF32_one")
	ins("ANDS $3, R2, R2")
	ins("BEQ maxF32_done")
	label("maxF32_rest")
	ins("VLD1.P 16(R0), [V4.S4]")
	word("fmax v0.4s, v0.4s, v4.4s")
	ins("SUBS $1, R2, R2")
	ins("BNE maxF32_rest")
	label("maxF32_done")
	word("fmax v0.4s, v0.4s, v1.4s")
	word("fmax v2.4s, v2.4s, v3.4s")
	word("fmax v0.4s, v0.4s, v2.4s")
	word("fmaxv s0, v0.4s")
	ins("FMOVS F0, ret+16(FP)")
	ins("RET")

	buf.WriteString("\n// func expSumF32(x, e *float32, n4 int, bm *[2]float32, k *mathConsts) float32\n")
	buf.WriteString("// e = exp(β·x − m) for n4·4 values, 8 per iteration (no multiply when\n")
	buf.WriteString("// β = 1); returns their sum: one 4-lane sum in order, then pairwise.\n")
	buf.WriteString("TEXT ·expSumF32(SB), NOSPLIT, $0-44\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD e+8(FP), R1")
	ins("MOVD n4+16(FP), R2")
	ins("MOVD bm+24(FP), R4")
	ins("MOVD k+32(FP), R3")
	loadConsts(3, 13)
	ins("VLD1R.P 4(R4), [V24.S4]")
	ins("VLD1R (R4), [V25.S4]")
	ins("VEOR V26.B16, V26.B16, V26.B16")
	ins("LSR $1, R2, R5")
	ins("FMOVS $1.0, F27")
	ins("FCMPS F27, F24")
	ins("BEQ expSumF32_one")
	for _, one := range []bool{false, true} {
		l := "expSumF32_beta"
		if one {
			l = "expSumF32_one"
			label(l)
		}
		ins("CBZ R5, %s_last", l)
		label(l + "_loop")
		ins("VLD1.P 32(R0), [V0.S4, V1.S4]")
		for v := 0; v < 2; v++ {
			if !one {
				word("fmul v%d.4s, v%d.4s, v24.4s", v, v)
			}
			word("fsub v%d.4s, v%d.4s, v25.4s", v, v)
		}
		exp(0, 2, 3, 4)
		exp(1, 5, 6, 7)
		ins("VST1.P [V0.S4, V1.S4], 32(R1)")
		word("fadd v26.4s, v26.4s, v0.4s")
		word("fadd v26.4s, v26.4s, v1.4s")
		ins("SUBS $1, R5, R5")
		ins("BNE %s_loop", l)
		label(l + "_last")
		ins("TBZ $0, R2, expSumF32_sum")
		ins("VLD1 (R0), [V0.S4]")
		if !one {
			word("fmul v0.4s, v0.4s, v24.4s")
		}
		word("fsub v0.4s, v0.4s, v25.4s")
		exp(0, 2, 3, 4)
		ins("VST1 [V0.S4], (R1)")
		word("fadd v26.4s, v26.4s, v0.4s")
		ins("B expSumF32_sum")
	}
	label("expSumF32_sum")
	word("faddp v26.4s, v26.4s, v26.4s")
	word("faddp s0, v26.2s")
	ins("FMOVS F0, ret+40(FP)")
	ins("RET")

	buf.WriteString("\n// func scaleF32(x *float32, n4 int, s float32): x ·= s, 16 at a time, then\n")
	buf.WriteString("// the rest one by one.\n")
	buf.WriteString("TEXT ·scaleF32(SB), NOSPLIT, $0-20\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD n4+8(FP), R2")
	ins("MOVD $s+16(FP), R3")
	ins("VLD1R (R3), [V16.S4]")
	ins("LSR $2, R2, R3")
	ins("CBZ R3, scaleF32_one")
	label("scaleF32_loop")
	ins("VLD1 (R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
	for i := 0; i < 4; i++ {
		word("fmul v%d.4s, v%d.4s, v16.4s", i, i)
	}
	ins("VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)")
	ins("SUBS $1, R3, R3")
	ins("BNE scaleF32_loop")
	label("scaleF32_one")
	ins("ANDS $3, R2, R2")
	ins("BEQ scaleF32_done")
	label("scaleF32_rest")
	ins("VLD1 (R0), [V0.S4]")
	word("fmul v0.4s, v0.4s, v16.4s")
	ins("VST1.P [V0.S4], 16(R0)")
	ins("SUBS $1, R2, R2")
	ins("BNE scaleF32_rest")
	label("scaleF32_done")
	ins("RET")
}

// elementwise writes the float32 Add and Div (dense) and the LayerNorm
// affine step, 16 values per iteration, every operation rounded as
// kernels/ref's.
func elementwise() {
	binaryF32("addF32", "fadd", "a + b")
	binaryF32("divF32", "fdiv", "a / b")
	buf.WriteString("\n// func lnRowF32(x, out *float32, n16 int, gamma, beta *float32, mr *[2]float32)\n")
	buf.WriteString("// out = ((x − m)·r)·γ + β for n16·16 values, each operation rounded.\n")
	buf.WriteString("TEXT ·lnRowF32(SB), NOSPLIT, $0-48\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD out+8(FP), R1")
	ins("MOVD n16+16(FP), R2")
	ins("MOVD gamma+24(FP), R3")
	ins("MOVD beta+32(FP), R4")
	ins("MOVD mr+40(FP), R5")
	ins("VLD1R.P 4(R5), [V16.S4]")
	ins("VLD1R (R5), [V17.S4]")
	label("lnRowF32_loop")
	ins("VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
	ins("VLD1.P 64(R3), [V4.S4, V5.S4, V6.S4, V7.S4]")
	ins("VLD1.P 64(R4), [V20.S4, V21.S4, V22.S4, V23.S4]")
	for i := 0; i < 4; i++ {
		word("fsub v%d.4s, v%d.4s, v16.4s", i, i)
		word("fmul v%d.4s, v%d.4s, v17.4s", i, i)
		word("fmul v%d.4s, v%d.4s, v%d.4s", i, i, 4+i)
		word("fadd v%d.4s, v%d.4s, v%d.4s", i, i, 20+i)
	}
	ins("VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R1)")
	ins("SUBS $1, R2, R2")
	ins("BNE lnRowF32_loop")
	ins("RET")
}

// lnStats writes the LayerNorm row statistics in float64: sumF64 (Σx) and
// ssF64 (Σ(x − mean)², fused), each over four 2-lane accumulators, 16
// values per iteration.
func lnStats() {
	// cvt16 loads 16 floats and widens them into V4…V11 (pairs in order).
	cvt16 := func() {
		ins("VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
		for i := 0; i < 4; i++ {
			word("fcvtl v%d.2d, v%d.2s", 4+2*i, i)
			word("fcvtl2 v%d.2d, v%d.4s", 5+2*i, i)
		}
	}
	// reduce adds V16…V19 into F0 ((16+17) + (18+19), then the pair).
	reduce := func() {
		word("fadd v16.2d, v16.2d, v17.2d")
		word("fadd v18.2d, v18.2d, v19.2d")
		word("fadd v16.2d, v16.2d, v18.2d")
		word("faddp d0, v16.2d")
	}
	buf.WriteString("\n// func sumF64(x *float32, n16 int) float64: Σx over n16·16 values in float64.\n")
	buf.WriteString("TEXT ·sumF64(SB), NOSPLIT, $0-24\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD n16+8(FP), R2")
	for i := 16; i < 20; i++ {
		ins("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	label("sumF64_loop")
	cvt16()
	for i := 0; i < 8; i++ {
		word("fadd v%d.2d, v%d.2d, v%d.2d", 16+i%4, 16+i%4, 4+i)
	}
	ins("SUBS $1, R2, R2")
	ins("BNE sumF64_loop")
	reduce()
	ins("FMOVD F0, ret+16(FP)")
	ins("RET")

	buf.WriteString("\n// func ssF64(x *float32, n16 int, mean float64) float64: Σ(x − mean)² over\n")
	buf.WriteString("// n16·16 values in float64, each square fused into its sum.\n")
	buf.WriteString("TEXT ·ssF64(SB), NOSPLIT, $0-32\n")
	ins("MOVD x+0(FP), R0")
	ins("MOVD n16+8(FP), R2")
	ins("MOVD $mean+16(FP), R3")
	ins("VLD1R (R3), [V20.D2]")
	for i := 16; i < 20; i++ {
		ins("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
	}
	label("ssF64_loop")
	cvt16()
	for i := 0; i < 8; i++ {
		word("fsub v%d.2d, v%d.2d, v20.2d", 4+i, 4+i)
		ins("VFMLA V%d.D2, V%d.D2, V%d.D2", 4+i, 4+i, 16+i%4)
	}
	ins("SUBS $1, R2, R2")
	ins("BNE ssF64_loop")
	reduce()
	ins("FMOVD F0, ret+24(FP)")
	ins("RET")
}

func main() {
	out := flag.String("o", "float_arm64.s", "output file")
	flag.Parse()
	buf.WriteString("// Code generated by gen_float.go; DO NOT EDIT.\n\n//go:build arm64 && !purego\n\n#include \"textflag.h\"\n")
	gemm("gemmF32", 3, 8)
	gemm("gemmF32n8", 2, 8)
	gemm("gemmF32n4", 1, 8)
	gemm("gemmF32m6", 3, 6)
	gemm("gemmF32m4", 3, 4)
	pack("packA8", 8)
	pack("packB12", 12)
	floatMath()
	elementwise()
	lnStats()
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// binaryF32 writes the dense float32 binary routine name, out = a op b
// (the vector instruction fop) for n16·16 values, clamped as ref's
// clampFloat when clamp is not 0.
func binaryF32(name, fop, expr string) {
	fmt.Fprintf(&buf, "\n// func %s(a, b, out *float32, n16 int, clip *[2]float32, clamp int)\n", name)
	fmt.Fprintf(&buf, "// out = %s for n16·16 values; with clamp, v < lo gives lo and v > hi\n", expr)
	buf.WriteString("// gives hi (compare and select: NaN and −0 pass as in ref).\n")
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	ins("MOVD a+0(FP), R0")
	ins("MOVD b+8(FP), R1")
	ins("MOVD out+16(FP), R2")
	ins("MOVD n16+24(FP), R3")
	ins("MOVD clip+32(FP), R4")
	ins("MOVD clamp+40(FP), R5")
	ins("VLD1R.P 4(R4), [V16.S4]")
	ins("VLD1R (R4), [V17.S4]")
	label(name + "_loop")
	ins("VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]")
	ins("VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]")
	for i := 0; i < 4; i++ {
		word("%s v%d.4s, v%d.4s, v%d.4s", fop, i, i, 4+i)
	}
	ins("CBZ R5, %s_store", name)
	for i := 0; i < 4; i++ {
		word("fcmgt v%d.4s, v16.4s, v%d.4s", 4+i, i)
		ins("VBIT V%d.B16, V16.B16, V%d.B16 // lo where lo > v", 4+i, i)
		word("fcmgt v%d.4s, v%d.4s, v17.4s", 4+i, i)
		ins("VBIT V%d.B16, V17.B16, V%d.B16 // hi where v > hi", 4+i, i)
	}
	label(name + "_store")
	ins("VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R2)")
	ins("SUBS $1, R3, R3")
	ins("BNE %s_loop", name)
	ins("RET")
}
