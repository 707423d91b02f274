//go:build ignore

// gen_asm writes gemm_amd64.s: the int8 GEMM micro-kernels (AVX-512 VNNI
// for 1…4 sixteen-column vectors per panel, AVX2) unrolled in Go, so that
// each register assignment is spelled out once here. Run with
// `go generate ./kernels/x86`. Every instruction used is known to Go's
// assembler; none needs a BYTE encoding.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
)

var buf bytes.Buffer

func ins(format string, args ...any) { fmt.Fprintf(&buf, "\t"+format+"\n", args...) }
func label(l string)                 { fmt.Fprintf(&buf, "%s:\n", l) }
func comment(format string, args ...any) {
	fmt.Fprintf(&buf, "\t// "+format+"\n", args...)
}

// mr is the rows of a tile (both kernels).
const mr = 6

// Arguments of both kernels (see gemm_amd64.go):
//
//	a     *int8          first A row (VNNI: int8; AVX2: int16 rows); row i is at a + min(i, rows-1)·lda
//	lda   int            bytes between A rows
//	rows  int            valid rows of the tile (1 ≤ rows ≤ 6)
//	kg    int            full K groups (VNNI: 4 k; AVX2: 2 k), ≥ 1
//	ktail int            VNNI: byte offset of the overlapping tail group in an A row, 0 for none
//	b     *int8          packed B, panel after panel
//	np    int            panels to compute (≥ 1)
//	cd    *int32         column data, 64 words per 16 columns: bias, M, M of odd columns, Shift'
//	rb    *int32         per-row bias, 6 entries
//	out   unsafe.Pointer first output element of the tile
//	ldc   int            bytes between output rows
//	int8o int            1: requantize to int8, 0: int32 out
//	q     *epilogue      zero point (16 words), 8 dwords of 1, clamp low (16 bytes), clamp high (16 bytes)
const frame = "$0-104"

// rowPointers sets R9, R10, R11, R12, R13, R15 to the A rows 0…5, each
// clamped to the last valid row so that a short tile reads only A.
var rowReg = []string{"R9", "R10", "R11", "R12", "R13", "R15"}

func prologue() {
	ins("MOVQ a+0(FP), R9")
	ins("MOVQ lda+8(FP), R8")
	ins("MOVQ rows+16(FP), CX")
	comment("A row pointers: row i = a + min(i, rows-1)·lda")
	for i := 1; i < mr; i++ {
		ins("MOVQ %s, %s", rowReg[i-1], rowReg[i])
		ins("LEAQ (%s)(R8*1), AX", rowReg[i-1])
		ins("CMPQ CX, $%d", i+1)
		ins("CMOVQGE AX, %s", rowReg[i])
	}
	ins("MOVQ b+40(FP), BX")
	ins("MOVQ np+48(FP), SI")
	ins("MOVQ cd+56(FP), DI")
	ins("MOVQ out+72(FP), AX")
	ins("MOVQ ldc+80(FP), R8")
}

// outRow sets DX to output row r: AX + r·ldc.
func outRow(r int) {
	switch r {
	case 0:
		ins("MOVQ AX, DX")
	default:
		ins("MOVQ R8, DX")
		ins("IMULQ $%d, DX", r)
		ins("ADDQ AX, DX")
	}
}

// rowGuard jumps to done when row r is not valid.
func rowGuard(r int, done string) {
	if r > 0 {
		ins("CMPQ rows+16(FP), $%d", r+1)
		ins("JLT %s", done)
	}
}

// vnni writes gemmVNNI<nv>: a 6-row tile over np panels of nv 16-column
// vectors. Accumulator (row r, vector v) is Z(r·nv+v); B vectors Z24…;
// A broadcast Z28; Z29 clamp low, Z30 zero point, Z31 = −1, K1 = odd lanes.
func vnni(nv int) {
	name := fmt.Sprintf("gemmVNNI%d", nv)
	fmt.Fprintf(&buf, "\n// func %s(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, %s\n", name, frame)
	prologue()
	ins("MOVQ q+96(FP), CX")
	ins("VMOVDQU32 0(CX), Y30")
	ins("VMOVDQU32 64(CX), X29")
	ins("VPTERNLOGD $0xff, Z31, Z31, Z31")
	ins("MOVL $0xaaaa, DX")
	ins("KMOVW DX, K1")
	acc := func(r, v int) string { return fmt.Sprintf("Z%d", r*nv+v) }
	label(name + "_panel")
	comment("accumulators = column bias + row bias")
	ins("MOVQ rb+64(FP), DX")
	for r := 0; r < mr; r++ {
		ins("VPBROADCASTD %d(DX), Z28", 4*r)
		for v := 0; v < nv; v++ {
			ins("VPADDD %d(DI), Z28, %s", 256*v, acc(r, v))
		}
	}
	body := func() {
		for v := 0; v < nv; v++ {
			ins("VMOVDQU32 %d(BX), Z%d", 64*v, 24+v)
		}
		for r := 0; r < mr; r++ {
			ins("VPBROADCASTD (%s)(DX*1), Z28", rowReg[r])
			for v := 0; v < nv; v++ {
				ins("VPDPBUSD Z28, Z%d, %s", 24+v, acc(r, v))
			}
		}
		ins("ADDQ $%d, BX", 64*nv)
	}
	ins("MOVQ kg+24(FP), CX")
	ins("XORQ DX, DX")
	label(name + "_k")
	body()
	ins("ADDQ $4, DX")
	ins("DECQ CX")
	ins("JNZ %s_k", name)
	ins("MOVQ ktail+32(FP), DX")
	ins("TESTQ DX, DX")
	ins("JZ %s_epi", name)
	comment("the tail group overlaps the last full one; its packed B is zero there")
	body()
	label(name + "_epi")
	ins("MOVQ q+96(FP), CX")
	ins("CMPQ int8o+88(FP), $0")
	ins("JEQ %s_i32", name)
	ins("VMOVDQU32 80(CX), X28")
	for r := 0; r < mr; r++ {
		rowGuard(r, name+"_next8")
		outRow(r)
		for v := 0; v < nv; v++ {
			a := acc(r, v)
			c := 256 * v
			comment("row %d, columns %d…%d: q = ⌊acc·M/2^31⌋, (q >> (s−1) + 1) >> 1", r, 16*v, 16*v+15)
			ins("VPMULDQ %d(DI), %s, Z24", c+64, a)
			ins("VPSRLQ $32, %s, Z25", a)
			ins("VPMULDQ %d(DI), Z25, Z25", c+128)
			ins("VPSRAQ $31, Z24, Z24")
			ins("VPSLLQ $1, Z25, Z25")
			ins("VPBLENDMD Z25, Z24, K1, Z24")
			ins("VPSRAVD %d(DI), Z24, Z24", c+192)
			ins("VPSUBD Z31, Z24, Z24")
			ins("VPSRAD $1, Z24, Z24")
			ins("VPMOVSDW Z24, Y24")
			ins("VPADDSW Y30, Y24, Y24")
			ins("VPMOVSWB Y24, X24")
			ins("VPMINSB X28, X24, X24")
			ins("VPMAXSB X29, X24, X24")
			ins("VMOVDQU32 X24, %d(DX)", 16*v)
		}
	}
	label(name + "_next8")
	ins("ADDQ $%d, AX", 16*nv)
	ins("JMP %s_next", name)
	label(name + "_i32")
	for r := 0; r < mr; r++ {
		rowGuard(r, name+"_next32")
		outRow(r)
		for v := 0; v < nv; v++ {
			ins("VMOVDQU32 %s, %d(DX)", acc(r, v), 64*v)
		}
	}
	label(name + "_next32")
	ins("ADDQ $%d, AX", 64*nv)
	label(name + "_next")
	ins("ADDQ $%d, DI", 256*nv)
	ins("DECQ SI")
	ins("JNZ %s_panel", name)
	ins("VZEROUPPER")
	ins("RET")
}

// avx2 writes gemmAVX2: a 6-row tile over np panels of 16 columns, A
// widened to int16, B packed as int16 pairs; VPMADDWD is exact (two
// products of int16 values below 2^8 in magnitude per int32 lane).
// Accumulators Y0…Y11 (row r: Y(2r), Y(2r+1)); B Y12, Y13; A Y14; Y15 temp.
func avx2() {
	name := "gemmAVX2"
	fmt.Fprintf(&buf, "\n// func %s(a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, %s\n", name, frame)
	prologue()
	acc := func(r, v int) string { return fmt.Sprintf("Y%d", 2*r+v) }
	label(name + "_panel")
	comment("accumulators = column bias + row bias")
	ins("MOVQ rb+64(FP), DX")
	for r := 0; r < mr; r++ {
		ins("VPBROADCASTD %d(DX), Y14", 4*r)
		for v := 0; v < 2; v++ {
			ins("VPADDD %d(DI), Y14, %s", 32*v, acc(r, v))
		}
	}
	ins("MOVQ kg+24(FP), CX")
	ins("XORQ DX, DX")
	label(name + "_k")
	ins("VMOVDQU 0(BX), Y12")
	ins("VMOVDQU 32(BX), Y13")
	for r := 0; r < mr; r++ {
		ins("VPBROADCASTD (%s)(DX*1), Y14", rowReg[r])
		for v := 0; v < 2; v++ {
			ins("VPMADDWD Y%d, Y14, Y15", 12+v)
			ins("VPADDD Y15, %s, %s", acc(r, v), acc(r, v))
		}
	}
	ins("ADDQ $64, BX")
	ins("ADDQ $4, DX")
	ins("DECQ CX")
	ins("JNZ %s_k", name)
	ins("MOVQ q+96(FP), CX")
	ins("CMPQ int8o+88(FP), $0")
	ins("JEQ %s_i32", name)
	for r := 0; r < mr; r++ {
		rowGuard(r, name+"_next8")
		outRow(r)
		for v := 0; v < 2; v++ {
			a := acc(r, v)
			c := 32 * v
			t := fmt.Sprintf("Y%d", 12+v)
			comment("row %d, columns %d…%d: q = ⌊acc·M/2^31⌋, (q >> (s−1) + 1) >> 1", r, 8*v, 8*v+7)
			ins("VPMULDQ %d(DI), %s, %s", c+64, a, t)
			ins("VPSRLQ $32, %s, Y15", a)
			ins("VPMULDQ %d(DI), Y15, Y15", c+128)
			ins("VPADDQ %s, %s, %s", t, t, t)
			ins("VPSHUFD $0xf5, %s, %s", t, t)
			ins("VPADDQ Y15, Y15, Y15")
			ins("VPBLENDD $0xaa, Y15, %s, %s", t, t)
			ins("VPSRAVD %d(DI), %s, %s", c+192, t, t)
			ins("VPADDD 32(CX), %s, %s", t, t)
			ins("VPSRAD $1, %s, %s", t, t)
		}
		ins("VPACKSSDW Y13, Y12, Y12")
		ins("VPERMQ $0xd8, Y12, Y12")
		ins("VPADDSW 0(CX), Y12, Y12")
		ins("VEXTRACTI128 $1, Y12, X13")
		ins("VPACKSSWB X13, X12, X12")
		ins("VPMINSB 80(CX), X12, X12")
		ins("VPMAXSB 64(CX), X12, X12")
		ins("VMOVDQU X12, (DX)")
	}
	label(name + "_next8")
	ins("ADDQ $16, AX")
	ins("JMP %s_next", name)
	label(name + "_i32")
	for r := 0; r < mr; r++ {
		rowGuard(r, name+"_next32")
		outRow(r)
		for v := 0; v < 2; v++ {
			ins("VMOVDQU %s, %d(DX)", acc(r, v), 32*v)
		}
	}
	label(name + "_next32")
	ins("ADDQ $64, AX")
	label(name + "_next")
	ins("ADDQ $256, DI")
	ins("DECQ SI")
	ins("JNZ %s_panel", name)
	ins("VZEROUPPER")
	ins("RET")
}

// fma writes gemmF32: a 6-row float32 tile over np panels of 16 columns
// with VFMADD231PS, k in increasing order (one rounding per step), then
// the bias and the clamp. Accumulators Y0…Y11 (row r: Y(2r), Y(2r+1)); B
// Y12, Y13; A broadcast Y14.
//
//	a    *float32  first A row; row i at a + min(i, rows-1)·lda
//	lda  int       bytes between A rows
//	rows int       valid rows (1…6)
//	k    int       reduction length (≥ 1)
//	b    *float32  packed B: per panel, k rows of 16 floats
//	np   int       panels (≥ 1)
//	bias *float32  16 per panel
//	out  *float32  first output; ldc bytes between rows
//	clip *[2]float32 lower and upper clamp
func fma() {
	name := "gemmF32"
	fmt.Fprintf(&buf, "\n// func %s(a *float32, lda, rows, k int, b *float32, np int, bias, out *float32, ldc int, clip *[2]float32)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	ins("MOVQ a+0(FP), R9")
	ins("MOVQ lda+8(FP), R8")
	ins("MOVQ rows+16(FP), CX")
	comment("A row pointers: row i = a + min(i, rows-1)·lda")
	for i := 1; i < mr; i++ {
		ins("MOVQ %s, %s", rowReg[i-1], rowReg[i])
		ins("LEAQ (%s)(R8*1), AX", rowReg[i-1])
		ins("CMPQ CX, $%d", i+1)
		ins("CMOVQGE AX, %s", rowReg[i])
	}
	ins("MOVQ b+32(FP), BX")
	ins("MOVQ np+40(FP), SI")
	ins("MOVQ bias+48(FP), DI")
	ins("MOVQ out+56(FP), AX")
	ins("MOVQ ldc+64(FP), R8")
	acc := func(r, v int) string { return fmt.Sprintf("Y%d", 2*r+v) }
	label(name + "_panel")
	for r := 0; r < mr; r++ {
		for v := 0; v < 2; v++ {
			ins("VXORPS %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	ins("MOVQ k+24(FP), CX")
	ins("XORQ DX, DX")
	label(name + "_k")
	ins("VMOVUPS 0(BX), Y12")
	ins("VMOVUPS 32(BX), Y13")
	for r := 0; r < mr; r++ {
		ins("VBROADCASTSS (%s)(DX*1), Y14", rowReg[r])
		for v := 0; v < 2; v++ {
			ins("VFMADD231PS Y%d, Y14, %s", 12+v, acc(r, v))
		}
	}
	ins("ADDQ $64, BX")
	ins("ADDQ $4, DX")
	ins("DECQ CX")
	ins("JNZ %s_k", name)
	comment("bias, then clamp: max(lo, v) and min(hi, v) return v when it is NaN")
	ins("MOVQ clip+72(FP), CX")
	ins("VBROADCASTSS 0(CX), Y14")
	ins("VBROADCASTSS 4(CX), Y15")
	ins("VMOVUPS 0(DI), Y12")
	ins("VMOVUPS 32(DI), Y13")
	for r := 0; r < mr; r++ {
		rowGuard(r, name+"_next")
		outRow(r)
		for v := 0; v < 2; v++ {
			a := acc(r, v)
			ins("VADDPS Y%d, %s, %s", 12+v, a, a)
			ins("VMAXPS %s, Y14, %s", a, a)
			ins("VMINPS %s, Y15, %s", a, a)
			ins("VMOVUPS %s, %d(DX)", a, 32*v)
		}
	}
	label(name + "_next")
	ins("ADDQ $64, AX")
	ins("ADDQ $64, DI")
	ins("DECQ SI")
	ins("JNZ %s_panel", name)
	ins("VZEROUPPER")
	ins("RET")
}

// fmaWide writes gemmF32W: gemmF32 over four adjacent 16-column panels at
// once with zmm registers (AVX-512F): accumulators Z0…Z23 (row r, panel
// v: Z(4r+v)), B Z24…Z27 from the four panels (kb bytes apart), A
// broadcast Z28. Each output sees the same multiply-adds in the same
// order as in gemmF32, so the two give the same bits. np counts groups of
// four panels.
func fmaWide() {
	name := "gemmF32W"
	fmt.Fprintf(&buf, "\n// func %s(a *float32, lda, rows, k int, b *float32, np int, bias, out *float32, ldc int, clip *[2]float32)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	ins("MOVQ a+0(FP), R9")
	ins("MOVQ lda+8(FP), R8")
	ins("MOVQ rows+16(FP), CX")
	for i := 1; i < mr; i++ {
		ins("MOVQ %s, %s", rowReg[i-1], rowReg[i])
		ins("LEAQ (%s)(R8*1), AX", rowReg[i-1])
		ins("CMPQ CX, $%d", i+1)
		ins("CMOVQGE AX, %s", rowReg[i])
	}
	ins("MOVQ b+32(FP), BX")
	ins("MOVQ np+40(FP), SI")
	ins("MOVQ bias+48(FP), DI")
	ins("MOVQ out+56(FP), AX")
	ins("MOVQ ldc+64(FP), R8")
	acc := func(r, v int) string { return fmt.Sprintf("Z%d", 4*r+v) }
	label(name + "_panel")
	for r := 0; r < mr; r++ {
		for v := 0; v < 4; v++ {
			ins("VPXORD %s, %s, %s", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	comment("CX = k, DX = A offset, R14 = 64·k (bytes between panels; ABI0 code may use R14)")
	ins("MOVQ k+24(FP), CX")
	ins("MOVQ CX, R14")
	ins("SHLQ $6, R14")
	ins("XORQ DX, DX")
	label(name + "_k")
	ins("VMOVUPS (BX), Z24")
	ins("VMOVUPS (BX)(R14*1), Z25")
	ins("VMOVUPS (BX)(R14*2), Z26")
	ins("ADDQ R14, BX")
	ins("VMOVUPS (BX)(R14*2), Z27")
	ins("SUBQ R14, BX")
	for r := 0; r < mr; r++ {
		ins("VBROADCASTSS (%s)(DX*1), Z28", rowReg[r])
		for v := 0; v < 4; v++ {
			ins("VFMADD231PS Z%d, Z28, %s", 24+v, acc(r, v))
		}
	}
	ins("ADDQ $64, BX")
	ins("ADDQ $4, DX")
	ins("DECQ CX")
	ins("JNZ %s_k", name)
	comment("B moves on to the next four panels: it is 64·k past the first")
	ins("LEAQ (BX)(R14*2), BX")
	ins("ADDQ R14, BX")
	ins("MOVQ clip+72(FP), CX")
	ins("VBROADCASTSS 0(CX), Z28")
	ins("VBROADCASTSS 4(CX), Z29")
	for r := 0; r < mr; r++ {
		rowGuard(r, name+"_next")
		outRow(r)
		for v := 0; v < 4; v++ {
			a := acc(r, v)
			ins("VADDPS %d(DI), %s, %s", 64*v, a, a)
			ins("VMAXPS %s, Z28, %s", a, a)
			ins("VMINPS %s, Z29, %s", a, a)
			ins("VMOVUPS %s, %d(DX)", a, 64*v)
		}
	}
	label(name + "_next")
	ins("ADDQ $256, AX")
	ins("ADDQ $256, DI")
	ins("DECQ SI")
	ins("JNZ %s_panel", name)
	ins("VZEROUPPER")
	ins("RET")
}

// fmaTail writes gemmF32T (v = "Y") and gemmF32TZ (v = "Z"): the first
// cols columns of one packed panel (gemmF32T 1…8, in ymm registers, with
// AVX-512F and VL; gemmF32TZ 1…15, in zmm) for tiles·12 rows, the stores
// masked by K1: accumulators v0…v11 (row r: vr), B v12, A broadcast v13,
// clamp v14 and v15, bias v16. Each output sees the same multiply-adds in
// the same order as in gemmF32, then the same bias add and clamp, so they
// give the same bits. Twelve rows keep twelve independent chains of FMAs
// in flight, one vector per row and k where gemmF32 takes two; rows are
// R9, R10, R11, R12 (A rows 0, 3, 6, 9 of the tile) plus 0, 1 or 2 times
// lda (R8), the four advanced by 4 each k.
//
//	a     *float32  first A row of the first tile
//	lda   int       bytes between A rows
//	tiles int       groups of 12 rows (≥ 1)
//	k     int       reduction length (≥ 1)
//	b     *float32  the packed panel: k rows of 16 floats
//	bias  *float32  the panel's 16 biases
//	out   *float32  first output; ldc bytes between rows
//	ldc   int
//	cols  int       columns stored
//	clip  *[2]float32 lower and upper clamp
func fmaTail(v string) {
	name := map[string]string{"Y": "gemmF32T", "Z": "gemmF32TZ"}[v]
	fmt.Fprintf(&buf, "\n// func %s(a *float32, lda, tiles, k int, b *float32, bias, out *float32, ldc, cols int, clip *[2]float32)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	ins("MOVQ a+0(FP), SI")
	ins("MOVQ lda+8(FP), R8")
	ins("MOVQ tiles+16(FP), DI")
	ins("MOVQ out+48(FP), AX")
	ins("MOVQ ldc+56(FP), R13")
	comment("K1 = the low cols lanes")
	ins("MOVQ cols+64(FP), CX")
	ins("MOVL $1, DX")
	ins("SHLL CX, DX")
	ins("DECL DX")
	ins("KMOVW DX, K1")
	ins("MOVQ clip+72(FP), DX")
	ins("VBROADCASTSS 0(DX), %s14", v)
	ins("VBROADCASTSS 4(DX), %s15", v)
	ins("MOVQ bias+40(FP), DX")
	ins("VMOVUPS (DX), %s16", v)
	comment("R14 = 12·lda, R15 = 12·ldc: one tile on")
	ins("LEAQ (R8)(R8*2), R14")
	ins("SHLQ $2, R14")
	ins("LEAQ (R13)(R13*2), R15")
	ins("SHLQ $2, R15")
	label(name + "_tile")
	ins("MOVQ SI, R9")
	for _, r := range []string{"R10", "R11", "R12"} {
		prev := map[string]string{"R10": "R9", "R11": "R10", "R12": "R11"}[r]
		ins("LEAQ (%s)(R8*2), %s", prev, r)
		ins("ADDQ R8, %s", r)
	}
	for r := 0; r < 12; r++ {
		if v == "Y" {
			ins("VXORPS Y%d, Y%d, Y%d", r, r, r)
		} else {
			ins("VPXORD Z%d, Z%d, Z%d", r, r, r) // VXORPS zmm would need AVX512DQ
		}
	}
	ins("MOVQ b+32(FP), BX")
	ins("MOVQ k+24(FP), CX")
	label(name + "_k")
	ins("VMOVUPS (BX), %s12", v)
	bases := []string{"R9", "R10", "R11", "R12"}
	for r := 0; r < 12; r++ {
		addr := fmt.Sprintf("(%s)", bases[r/3])
		switch r % 3 {
		case 1:
			addr += "(R8*1)"
		case 2:
			addr += "(R8*2)"
		}
		ins("VBROADCASTSS %s, %s13", addr, v)
		ins("VFMADD231PS %s12, %s13, %s%d", v, v, v, r)
	}
	ins("ADDQ $64, BX")
	for _, b := range bases {
		ins("ADDQ $4, %s", b)
	}
	ins("DECQ CX")
	ins("JNZ %s_k", name)
	comment("bias, then clamp as in gemmF32; only the low cols lanes stored")
	ins("MOVQ AX, DX")
	for r := 0; r < 12; r++ {
		a := fmt.Sprintf("%s%d", v, r)
		ins("VADDPS %s16, %s, %s", v, a, a)
		ins("VMAXPS %s, %s14, %s", a, v, a)
		ins("VMINPS %s, %s15, %s", a, v, a)
		ins("VMOVUPS %s, K1, (DX)", a)
		if r < 11 {
			ins("ADDQ R13, DX")
		}
	}
	ins("ADDQ R14, SI")
	ins("ADDQ R15, AX")
	ins("DECQ DI")
	ins("JNZ %s_tile", name)
	ins("VZEROUPPER")
	ins("RET")
}

// helpers writes the byte-sum and widening helpers (AVX2).
func helpers() {
	buf.WriteString(`
// func sumBytes(p *int8, n32 int) int32: Σ of n32·32 signed bytes (n32 ≥ 1).
// VPSADBW sums bytes as unsigned: each is flipped by 0x80 (x+128), and
// 128 per byte is taken off at the end.
TEXT ·sumBytes(SB), NOSPLIT, $0-20
	MOVQ p+0(FP), SI
	MOVQ n32+8(FP), CX
	MOVQ CX, DX
	SHLQ $12, DX // 128·32 per block
	MOVL $0x80808080, AX
	MOVQ AX, X3
	VPBROADCASTD X3, Y3
	VPXOR Y0, Y0, Y0
	VPXOR Y2, Y2, Y2
sumBytes_loop:
	VPXOR (SI), Y3, Y1
	VPSADBW Y2, Y1, Y1
	VPADDQ Y1, Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNZ sumBytes_loop
	VEXTRACTI128 $1, Y0, X1
	VPADDQ X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ X1, X0, X0
	MOVQ X0, AX
	SUBQ DX, AX
	MOVL AX, ret+16(FP)
	VZEROUPPER
	RET

// func widen(src *int8, dst *int16, n16 int): dst[i] = src[i] for
// n16·16 bytes (n16 ≥ 1).
TEXT ·widen(SB), NOSPLIT, $0-24
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ n16+16(FP), CX
widen_loop:
	VPMOVSXBW (SI), Y0
	VMOVDQU Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ widen_loop
	VZEROUPPER
	RET
`)
}

// elementwise writes the int8 Add, LayerNorm and Softmax helpers (AVX2).
func elementwise() {
	buf.WriteString(`
// func packColsVNNI(src *int8, ld, kg int, dst *int8, gstride int, sums *[16]int32)
// Packs kg groups of 4 source rows × 16 columns (rows ld bytes apart) into
// the VNNI layout (per column 4 bytes, +128), gstride bytes between
// groups, and stores Σ (b+128) per column (VPDPBUSD by ones).
TEXT ·packColsVNNI(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ ld+8(FP), R8
	MOVQ kg+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ gstride+32(FP), R9
	MOVQ sums+40(FP), DX
	LEAQ (R8)(R8*2), R10
	MOVL $0x80808080, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Z15
	MOVL $0x01010101, AX
	MOVQ AX, X14
	VPBROADCASTD X14, Z14
	VPXORD Z13, Z13, Z13
packColsVNNI_loop:
	VMOVDQU (SI), X0
	VMOVDQU (SI)(R8*1), X1
	VMOVDQU (SI)(R8*2), X2
	VMOVDQU (SI)(R10*1), X3
	VPUNPCKLBW X1, X0, X4
	VPUNPCKHBW X1, X0, X5
	VPUNPCKLBW X3, X2, X6
	VPUNPCKHBW X3, X2, X7
	VPUNPCKLWD X6, X4, X8
	VPUNPCKHWD X6, X4, X9
	VPUNPCKLWD X7, X5, X10
	VPUNPCKHWD X7, X5, X11
	VINSERTI128 $1, X9, Y8, Y8
	VINSERTI128 $1, X11, Y10, Y10
	VINSERTI64X4 $1, Y10, Z8, Z8
	VPXORD Z15, Z8, Z8
	VMOVDQU32 Z8, (DI)
	VPDPBUSD Z14, Z8, Z13
	LEAQ (SI)(R8*4), SI
	ADDQ R9, DI
	DECQ CX
	JNZ packColsVNNI_loop
	VMOVDQU32 Z13, (DX)
	VZEROUPPER
	RET

// func addF32(a, b, out *float32, n8 int, clip *[2]float32)
// out = min(max(a + b, lo), hi) in ref's order, 8 values per step:
// VMAXPS(lo, v) is lo only where lo > v and VMINPS(hi, v) is hi only
// where hi < v, so a NaN sum stays NaN as in ref.
TEXT ·addF32(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ out+16(FP), DI
	MOVQ n8+24(FP), CX
	MOVQ clip+32(FP), AX
	VBROADCASTSS 0(AX), Y14
	VBROADCASTSS 4(AX), Y15
addF32_loop:
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VMAXPS Y0, Y14, Y0
	VMINPS Y0, Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ addF32_loop
	VZEROUPPER
	RET

// func lookupVBMI(t *[256]int8, x, out *int8, n64 int)
// out[i] = t[uint8(x[i])], 64 bytes per step: VPERMI2B looks up the byte's
// low 7 bits in entries 0–127 (Z16:Z17) and in 128–255 (Z18:Z19), and
// its sign bit (VPMOVB2M) picks one of the two.
TEXT ·lookupVBMI(SB), NOSPLIT, $0-32
	MOVQ t+0(FP), AX
	MOVQ x+8(FP), SI
	MOVQ out+16(FP), DI
	MOVQ n64+24(FP), CX
	VMOVDQU64 0(AX), Z16
	VMOVDQU64 64(AX), Z17
	VMOVDQU64 128(AX), Z18
	VMOVDQU64 192(AX), Z19
lookupVBMI_loop:
	VMOVDQU64 (SI), Z0
	VMOVDQA64 Z0, Z1
	VPERMI2B Z17, Z16, Z1
	VMOVDQA64 Z0, Z2
	VPERMI2B Z19, Z18, Z2
	VPMOVB2M Z0, K1
	VPBLENDMB Z2, Z1, K1, Z1
	VMOVDQU64 Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ lookupVBMI_loop
	VZEROUPPER
	RET

// func addInt8(a, b, out *int8, n8 int, ta, tb *[256]int32, q *addConsts)
// 8 elements per step: a' = ta[a+128] and b' = tb[b+128] (VPGATHERDD),
// s = a' + b', r = (⌊s·M/2^31⌋ >> (s−1) + 1) >> 1, out = clamp(zp + r).
TEXT ·addInt8(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ out+16(FP), DI
	MOVQ n8+24(FP), CX
	MOVQ ta+32(FP), R8
	MOVQ tb+40(FP), R9
	MOVQ q+48(FP), AX
	VMOVDQU 0(AX), Y8
	VMOVDQU 32(AX), X9
	VMOVDQU 48(AX), X10
	VMOVDQU 64(AX), X11
	VMOVDQU 80(AX), Y12
	MOVQ 112(AX), X13
	VMOVDQU 120(AX), Y14
addInt8_loop:
	VPMOVSXBD (SI), Y0
	VPADDD Y14, Y0, Y0
	VPCMPEQD Y7, Y7, Y7
	VPGATHERDD Y7, (R8)(Y0*4), Y1
	VPMOVSXBD (DX), Y2
	VPADDD Y14, Y2, Y2
	VPCMPEQD Y7, Y7, Y7
	VPGATHERDD Y7, (R9)(Y2*4), Y3
	VPADDD Y3, Y1, Y1
	VPMULDQ Y8, Y1, Y3
	VPSRLQ $32, Y1, Y4
	VPMULDQ Y8, Y4, Y4
	VPADDQ Y3, Y3, Y3
	VPSHUFD $0xf5, Y3, Y3
	VPADDQ Y4, Y4, Y4
	VPBLENDD $0xaa, Y4, Y3, Y3
	VPSRAD X13, Y3, Y3
	VPADDD Y12, Y3, Y3
	VPSRAD $1, Y3, Y3
	VPACKSSDW Y3, Y3, Y3
	VPERMQ $0x08, Y3, Y3
	VPADDSW X9, X3, X3
	VPACKSSWB X3, X3, X3
	VPMAXSB X10, X3, X3
	VPMINSB X11, X3, X3
	MOVQ X3, (DI)
	ADDQ $8, SI
	ADDQ $8, DX
	ADDQ $8, DI
	DECQ CX
	JNZ addInt8_loop
	VZEROUPPER
	RET

// func rowStats(x *int8, n16 int) (s, ss int32): Σq and Σq² of n16·16
// int8 values (exact in int32 for n16·16 ≤ 2^16).
TEXT ·rowStats(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n16+8(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPCMPEQW Y5, Y5, Y5
	VPSRLW $15, Y5, Y5
rowStats_loop:
	VPMOVSXBW (SI), Y2
	VPMADDWD Y5, Y2, Y3
	VPADDD Y3, Y0, Y0
	VPMADDWD Y2, Y2, Y3
	VPADDD Y3, Y1, Y1
	ADDQ $16, SI
	DECQ CX
	JNZ rowStats_loop
	VPHADDD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPHADDD X0, X0, X0
	MOVL X0, s+16(FP)
	VPSHUFD $1, X0, X1
	MOVL X1, ss+20(FP)
	VZEROUPPER
	RET

// func layerNormRow(x, out *int8, n8 int, gamma, beta *float32, mr *[2]float32)
// out = clamp(round(((float32(q) − m)·r)·γ + β)), every operation rounded
// on its own, round half away from zero, NaN → −128; 8 elements per step.
TEXT ·layerNormRow(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n8+16(FP), CX
	MOVQ gamma+24(FP), R8
	MOVQ beta+32(FP), R9
	MOVQ mr+40(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	MOVL $0x3f000000, DX
	MOVQ DX, X10
	VPBROADCASTD X10, Y10
	MOVL $0x3f800000, DX
	MOVQ DX, X11
	VPBROADCASTD X11, Y11
	MOVL $0x80000000, DX
	MOVQ DX, X12
	VPBROADCASTD X12, Y12
	MOVL $0xc3000000, DX
	MOVQ DX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x42fe0000, DX
	MOVQ DX, X14
	VPBROADCASTD X14, Y14
layerNormRow_loop:
	VPMOVSXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VSUBPS Y8, Y0, Y0
	VMULPS Y9, Y0, Y0
	VMULPS (R8), Y0, Y0
	VADDPS (R9), Y0, Y0
	// round half away from zero: trunc(y) + sign(y)·(|y − trunc(y)| ≥ 1/2)
	VROUNDPS $3, Y0, Y1
	VSUBPS Y1, Y0, Y2
	VANDNPS Y2, Y12, Y2
	VCMPPS $13, Y10, Y2, Y2
	VANDPS Y12, Y0, Y3
	VORPS Y11, Y3, Y3
	VANDPS Y3, Y2, Y2
	VADDPS Y2, Y1, Y1
	// max(r, −128) returns −128 for NaN; then min(·, 127)
	VMAXPS Y13, Y1, Y1
	VMINPS Y14, Y1, Y1
	VCVTTPS2DQ Y1, Y1
	VPACKSSDW Y1, Y1, Y1
	VPERMQ $0x08, Y1, Y1
	VPACKSSWB X1, X1, X1
	MOVQ X1, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ layerNormRow_loop
	VZEROUPPER
	RET

// func maxBytes(x *int8, n16 int) int8: the largest of n16·16 int8 values.
TEXT ·maxBytes(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n16+8(FP), CX
	VMOVDQU (SI), X0
	ADDQ $16, SI
	DECQ CX
	JZ maxBytes_done
maxBytes_loop:
	VPMAXSB (SI), X0, X0
	ADDQ $16, SI
	DECQ CX
	JNZ maxBytes_loop
maxBytes_done:
	VPSHUFD $0x4e, X0, X1
	VPMAXSB X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPMAXSB X1, X0, X0
	VPSRLD $16, X0, X1
	VPMAXSB X1, X0, X0
	VPSRLW $8, X0, X1
	VPMAXSB X1, X0, X0
	MOVQ X0, AX
	MOVB AX, ret+16(FP)
	RET

// func softmaxSum(x *int8, n8, mx int, exp *[256]uint32) uint32:
// Σ exp[mx − q] over n8·8 values (VPGATHERDD).
TEXT ·softmaxSum(SB), NOSPLIT, $0-36
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	MOVQ mx+16(FP), AX
	MOVQ exp+24(FP), R8
	MOVQ AX, X5
	VPBROADCASTD X5, Y5
	VPXOR Y0, Y0, Y0
softmaxSum_loop:
	VPMOVSXBD (SI), Y1
	VPSUBD Y1, Y5, Y1
	VPCMPEQD Y7, Y7, Y7
	VPGATHERDD Y7, (R8)(Y1*4), Y2
	VPADDD Y2, Y0, Y0
	ADDQ $8, SI
	DECQ CX
	JNZ softmaxSum_loop
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPHADDD X0, X0, X0
	VPHADDD X0, X0, X0
	MOVL X0, ret+32(FP)
	VZEROUPPER
	RET

// func softmaxRow(x, out *int8, n8, mx int, exp *[256]uint32, sh *[2]float64)
// out = min(⌊(exp[mx − q]·256 + half)/sum⌋, 255) − 128 with sh = {half,
// sum}: the float64 quotient of integers below 2^45 floors exactly.
TEXT ·softmaxRow(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n8+16(FP), CX
	MOVQ mx+24(FP), AX
	MOVQ exp+32(FP), R8
	MOVQ sh+40(FP), DX
	MOVQ AX, X5
	VPBROADCASTD X5, Y5
	VBROADCASTSD 0(DX), Y8
	VBROADCASTSD 8(DX), Y9
	MOVL $255, AX
	MOVQ AX, X10
	VPBROADCASTD X10, Y10
	MOVL $128, AX
	MOVQ AX, X11
	VPBROADCASTD X11, Y11
softmaxRow_loop:
	VPMOVSXBD (SI), Y1
	VPSUBD Y1, Y5, Y1
	VPCMPEQD Y7, Y7, Y7
	VPGATHERDD Y7, (R8)(Y1*4), Y2
	VPSLLD $8, Y2, Y2
	VCVTDQ2PD X2, Y3
	VEXTRACTI128 $1, Y2, X4
	VCVTDQ2PD X4, Y4
	VADDPD Y8, Y3, Y3
	VADDPD Y8, Y4, Y4
	VDIVPD Y9, Y3, Y3
	VDIVPD Y9, Y4, Y4
	VCVTTPD2DQY Y3, X3
	VCVTTPD2DQY Y4, X4
	VINSERTI128 $1, X4, Y3, Y3
	VPMINSD Y10, Y3, Y3
	VPSUBD Y11, Y3, Y3
	VPACKSSDW Y3, Y3, Y3
	VPERMQ $0x08, Y3, Y3
	VPACKSSWB X3, X3, X3
	MOVQ X3, (DI)
	ADDQ $8, SI
	ADDQ $8, DI
	DECQ CX
	JNZ softmaxRow_loop
	VZEROUPPER
	RET
`)
}

// floatMath writes the float32 GELU and Softmax helpers (AVX2 + FMA):
// exp by Cephes' range reduction and degree-6 polynomial, erf by
// Abramowitz and Stegun 7.1.26 (|error| ≤ 1.5e−7).
func floatMath() {
	buf.WriteString(`
// EXP(x, t0, t1, t2, k) sets x = e^x for Y registers (clobbers t0…t2);
// constants at (k): see expConsts in float.go.
#define EXP(x, t0, t1, t2, k) \
	VMAXPS 0(k), x, x \
	VMINPS 32(k), x, x \
	VMULPS 64(k), x, t0 \
	VROUNDPS $0, t0, t0 \
	VFNMADD231PS 96(k), t0, x \
	VFNMADD231PS 128(k), t0, x \
	VMOVUPS 160(k), t1 \
	VFMADD213PS 192(k), x, t1 \
	VFMADD213PS 224(k), x, t1 \
	VFMADD213PS 256(k), x, t1 \
	VFMADD213PS 288(k), x, t1 \
	VFMADD213PS 320(k), x, t1 \
	VMULPS x, x, t2 \
	VFMADD213PS x, t2, t1 \
	VADDPS 352(k), t1, t1 \
	VCVTPS2DQ t0, t0 \
	VPSLLD $23, t0, t0 \
	VPADDD 384(k), t0, t0 \
	VMULPS t0, t1, x

// func geluF32(x, out *float32, n8 int, k *expConsts)
// out = x/2·(1 + erf(x/√2)), erf by A&S 7.1.26 on |x|/√2: with
// q = poly(t)·e^(−z²), 1 + erf(z) = q for z < 0, 2 − q otherwise.
TEXT ·geluF32(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n8+16(FP), CX
	MOVQ k+24(FP), AX
geluF32_loop:
	VMOVUPS (SI), Y0
	VMULPS 416(AX), Y0, Y1
	VANDPS 448(AX), Y1, Y1
	VMOVUPS 480(AX), Y2
	VFMADD213PS 512(AX), Y1, Y2
	VMOVUPS 512(AX), Y3
	VDIVPS Y2, Y3, Y2
	VMOVUPS 544(AX), Y3
	VFMADD213PS 576(AX), Y2, Y3
	VFMADD213PS 608(AX), Y2, Y3
	VFMADD213PS 640(AX), Y2, Y3
	VFMADD213PS 672(AX), Y2, Y3
	VMULPS Y2, Y3, Y3
	VMULPS Y1, Y1, Y4
	VXORPS 704(AX), Y4, Y4
	EXP(Y4, Y5, Y6, Y7, AX)
	VMULPS Y4, Y3, Y3
	VMOVUPS 736(AX), Y5
	VSUBPS Y3, Y5, Y5
	VXORPS Y6, Y6, Y6
	VCMPPS $1, Y6, Y0, Y6
	VBLENDVPS Y6, Y3, Y5, Y5
	VMULPS 768(AX), Y0, Y1
	VMULPS Y5, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ geluF32_loop
	VZEROUPPER
	RET

// func maxF32(x *float32, n8 int) float32: the largest of n8·8 values.
TEXT ·maxF32(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VMOVUPS (SI), Y0
	ADDQ $32, SI
	DECQ CX
	JZ maxF32_done
maxF32_loop:
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNZ maxF32_loop
maxF32_done:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VSHUFPS $0x4e, X0, X0, X1
	VMAXPS X1, X0, X0
	VSHUFPS $0xb1, X0, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func expSumF32(x, e *float32, n8 int, bm *[2]float32, k *expConsts) float32
// e = exp(β·x − m) for n8·8 values, returns their sum (8 lanes, then
// pairwise).
TEXT ·expSumF32(SB), NOSPLIT, $0-44
	MOVQ x+0(FP), SI
	MOVQ e+8(FP), DI
	MOVQ n8+16(FP), CX
	MOVQ bm+24(FP), DX
	MOVQ k+32(FP), AX
	VBROADCASTSS 0(DX), Y8
	VBROADCASTSS 4(DX), Y9
	VXORPS Y10, Y10, Y10
expSumF32_loop:
	VMOVUPS (SI), Y0
	VMULPS Y8, Y0, Y0
	VSUBPS Y9, Y0, Y0
	EXP(Y0, Y1, Y2, Y3, AX)
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y10, Y10
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ expSumF32_loop
	VEXTRACTF128 $1, Y10, X1
	VADDPS X1, X10, X0
	VSHUFPS $0x4e, X0, X0, X1
	VADDPS X1, X0, X0
	VSHUFPS $0xb1, X0, X0, X1
	VADDPS X1, X0, X0
	MOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// func scaleF32(x *float32, n8 int, s float32): x ·= s.
TEXT ·scaleF32(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
scaleF32_loop:
	VMULPS (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	DECQ CX
	JNZ scaleF32_loop
	VZEROUPPER
	RET
`)
}

// depthwise writes dwConv3x3: ow output pixels of one 16-channel group of
// a 3×3 depthwise convolution (AVX2), one pixel per iteration.
//
//	rows  *[3]*int8  the three input rows at the group's first channel
//	dC    int        bytes between a row's taps (dilation·C)
//	step  int        bytes between pixels along a row (stride·C)
//	ow    int        output pixels (≥ 1)
//	w     *int16     packed weights: 5 tap pairs × (low, high) × 16 int16
//	cd    *int32     column data (64 words, accumulator order): folded
//	                 bias, M (or float32 scale), M of odd lanes, s−1
//	out   *int8      first output pixel; ldo bytes between pixels
//	q     *epilogue  as for the GEMM kernels
//	scale int        1: XNNPACK's float32 stage, 0: the RoundSingle multiplier
//
// Rows in R9, R10, R11 (advanced by step per pixel), tap kw of a row at
// kw·dC (R12); accumulators Y0 (channels 0–3, 8–11) and Y1 (4–7, 12–15).
// Taps t and t+1, sign-extended to int16 (VPMOVSXBW), are interleaved per
// channel (VPUNPCKLWD/HWD) and multiplied by their weight pairs with
// VPMADDWD; the ninth tap pairs with zero (Y10). The float32 stage: Y11 =
// 2^30, Y14 = −2^30.
func depthwise() {
	name := "dwConv3x3"
	fmt.Fprintf(&buf, "\n// func %s(rows *[3]*int8, dC, step, ow int, w *int16, cd *int32, out *int8, ldo int, q *epilogue, scale int)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	ins("MOVQ rows+0(FP), AX")
	ins("MOVQ 0(AX), R9")
	ins("MOVQ 8(AX), R10")
	ins("MOVQ 16(AX), R11")
	ins("MOVQ dC+8(FP), R12")
	ins("MOVQ step+16(FP), R13")
	ins("MOVQ ow+24(FP), CX")
	ins("MOVQ w+32(FP), BX")
	ins("MOVQ cd+40(FP), DI")
	ins("MOVQ out+48(FP), DX")
	ins("MOVQ ldo+56(FP), R8")
	ins("MOVQ q+64(FP), SI")
	ins("MOVQ scale+72(FP), AX")
	ins("VPXOR Y10, Y10, Y10")
	ins("MOVL $0x4e800000, R14")
	ins("VMOVD R14, X11")
	ins("VPBROADCASTD X11, Y11")
	ins("MOVL $0xce800000, R14")
	ins("VMOVD R14, X14")
	ins("VPBROADCASTD X14, Y14")
	rowReg := []string{"R9", "R10", "R11"}
	tap := func(t int) string {
		r := rowReg[t/3]
		switch t % 3 {
		case 0:
			return "(" + r + ")"
		case 1:
			return "(" + r + ")(R12*1)"
		}
		return "(" + r + ")(R12*2)"
	}
	label(name + "_pixel")
	ins("VMOVDQU 0(DI), Y0")
	ins("VMOVDQU 32(DI), Y1")
	for pr := 0; pr < 5; pr++ {
		xa, xb, lo, hi := 2+4*(pr%2), 3+4*(pr%2), 4+4*(pr%2), 5+4*(pr%2)
		comment("taps %d and %d", 2*pr, 2*pr+1)
		ins("VPMOVSXBW %s, Y%d", tap(2*pr), xa)
		b := fmt.Sprintf("Y%d", xb)
		if pr < 4 {
			ins("VPMOVSXBW %s, %s", tap(2*pr+1), b)
		} else {
			b = "Y10"
		}
		ins("VPUNPCKLWD %s, Y%d, Y%d", b, xa, lo)
		ins("VPUNPCKHWD %s, Y%d, Y%d", b, xa, hi)
		ins("VPMADDWD %d(BX), Y%d, Y%d", 64*pr, lo, lo)
		ins("VPMADDWD %d(BX), Y%d, Y%d", 64*pr+32, hi, hi)
		ins("VPADDD Y%d, Y0, Y0", lo)
		ins("VPADDD Y%d, Y1, Y1", hi)
	}
	ins("TESTQ AX, AX")
	ins("JNZ %s_float", name)
	for v := 0; v < 2; v++ {
		a := fmt.Sprintf("Y%d", v)
		c := 32 * v
		t := fmt.Sprintf("Y%d", 12+v)
		comment("q = ⌊acc·M/2^31⌋, (q >> (s−1) + 1) >> 1")
		ins("VPMULDQ %d(DI), %s, %s", c+64, a, t)
		ins("VPSRLQ $32, %s, Y15", a)
		ins("VPMULDQ %d(DI), Y15, Y15", c+128)
		ins("VPADDQ %s, %s, %s", t, t, t)
		ins("VPSHUFD $0xf5, %s, %s", t, t)
		ins("VPADDQ Y15, Y15, Y15")
		ins("VPBLENDD $0xaa, Y15, %s, %s", t, t)
		ins("VPSRAVD %d(DI), %s, %s", c+192, t, t)
		ins("VPADDD 32(SI), %s, %s", t, t)
		ins("VPSRAD $1, %s, %s", t, t)
	}
	ins("JMP %s_pack", name)
	label(name + "_float")
	for v := 0; v < 2; v++ {
		a := fmt.Sprintf("Y%d", v)
		comment("round-to-even(clamp(float32(acc)·scale, ±2^30)) (MXCSR's default rounding)")
		ins("VCVTDQ2PS %s, %s", a, a)
		ins("VMULPS %d(DI), %s, %s", 64+32*v, a, a)
		ins("VMINPS Y11, %s, %s", a, a)
		ins("VMAXPS Y14, %s, %s", a, a)
		ins("VCVTPS2DQ %s, Y%d", a, 12+v)
	}
	label(name + "_pack")
	comment("both accumulators' lanes interleave back into channels 0–15")
	ins("VPACKSSDW Y13, Y12, Y12")
	ins("VPADDSW 0(SI), Y12, Y12")
	ins("VEXTRACTI128 $1, Y12, X13")
	ins("VPACKSSWB X13, X12, X12")
	ins("VPMINSB 80(SI), X12, X12")
	ins("VPMAXSB 64(SI), X12, X12")
	ins("VMOVDQU X12, (DX)")
	ins("ADDQ R8, DX")
	ins("ADDQ R13, R9")
	ins("ADDQ R13, R10")
	ins("ADDQ R13, R11")
	ins("DECQ CX")
	ins("JNZ %s_pixel", name)
	ins("VZEROUPPER")
	ins("RET")
}

// requant writes requantTile: XNNPACK's float32 output stage
// (OutputStage.Requantize with Scale) on rows rows of n8·8 int32
// accumulators, 8 columns a step (AVX2).
//
//	acc       *int32    first accumulator; accStride bytes between rows
//	rows, n8  int       rows (≥ 1) and 8-column steps per row (≥ 1)
//	scale     *float32  the first 8 columns' scales; every next 8 scaleStep
//	                    bytes on (32: one per column; 0: 8 the caller repeated)
//	out       *int8     first output byte; outStride bytes between rows
//	zp, lo, hi int      zero point (|zp| ≤ 32640), clamp (−128 ≤ lo, hi ≤ 127)
//
// Each lane: VCVTDQ2PS (rounded to nearest even, as Go's float32(acc)),
// VMULPS (one rounding, as float32(f·scale)), the clamp to ±2^30 with
// VMINPS/VMAXPS (ref's, in its order; ±Inf products clamp too, and the
// caller passes finite scales, so no NaN arises), VCVTPS2DQ under the
// default MXCSR (round to nearest even, as math.RoundToEven; exact, since
// |f| ≤ 2^30 < 2^31 never gives 0x80000000), VPACKSSDW to int16, VPADDSW
// of the zero point, VPACKSSWB to int8, then VPMINSB by hi and VPMAXSB by
// lo, ref's clamp order. Ref adds the zero point to r in int64 and clamps
// to [lo, hi] ⊆ [−128, 127]; the saturating steps give the same byte: each
// is exact while the value stays in its type, and a value saturated at a
// step lies beyond [−128, 127] on the side the exact sum does. Where r >
// 32767, VPACKSSDW gives 32767 and the sum 32767 + zp ≥ 127 (zp ≥ −32640)
// while ref's zp + r > 127 too; r < −32768 likewise with zp ≤ 32640; a sum
// saturated by VPADDSW is beyond ±32767 and VPACKSSWB's saturation beyond
// ±127, both on the exact sum's side.
func requant() {
	name := "requantTile"
	fmt.Fprintf(&buf, "\n// func %s(acc *int32, accStride, rows, n8 int, scale *float32, scaleStep int, out *int8, outStride, zp, lo, hi int)\n", name)
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-88\n", name)
	ins("MOVQ acc+0(FP), SI")
	ins("MOVQ accStride+8(FP), R8")
	ins("MOVQ rows+16(FP), CX")
	ins("MOVQ scale+32(FP), BX")
	ins("MOVQ scaleStep+40(FP), R9")
	ins("MOVQ out+48(FP), DI")
	ins("MOVQ outStride+56(FP), R10")
	comment("X13 = zp (int16 lanes), X14 = lo, X15 = hi (bytes), Y11 = 2^30, Y12 = −2^30")
	ins("MOVQ zp+64(FP), AX")
	ins("VMOVD AX, X13")
	ins("VPBROADCASTW X13, X13")
	ins("MOVQ lo+72(FP), AX")
	ins("VMOVD AX, X14")
	ins("VPBROADCASTB X14, X14")
	ins("MOVQ hi+80(FP), AX")
	ins("VMOVD AX, X15")
	ins("VPBROADCASTB X15, X15")
	ins("MOVL $0x4e800000, AX")
	ins("VMOVD AX, X11")
	ins("VPBROADCASTD X11, Y11")
	ins("MOVL $0xce800000, AX")
	ins("VMOVD AX, X12")
	ins("VPBROADCASTD X12, Y12")
	label(name + "_row")
	ins("MOVQ SI, R11")
	ins("MOVQ BX, R12")
	ins("MOVQ DI, R13")
	ins("MOVQ n8+24(FP), DX")
	label(name + "_cols")
	ins("VCVTDQ2PS (R11), Y0")
	ins("VMULPS (R12), Y0, Y0")
	ins("VMINPS Y11, Y0, Y0")
	ins("VMAXPS Y12, Y0, Y0")
	ins("VCVTPS2DQ Y0, Y0")
	ins("VEXTRACTI128 $1, Y0, X1")
	ins("VPACKSSDW X1, X0, X0")
	ins("VPADDSW X13, X0, X0")
	ins("VPACKSSWB X0, X0, X0")
	ins("VPMINSB X15, X0, X0")
	ins("VPMAXSB X14, X0, X0")
	ins("MOVQ X0, (R13)")
	ins("ADDQ $32, R11")
	ins("ADDQ R9, R12")
	ins("ADDQ $8, R13")
	ins("DECQ DX")
	ins("JNZ %s_cols", name)
	ins("ADDQ R8, SI")
	ins("ADDQ R10, DI")
	ins("DECQ CX")
	ins("JNZ %s_row", name)
	ins("VZEROUPPER")
	ins("RET")
}

// The same-shape int8 binary kernels (AVX2), 16 elements a step:
//
//	a, b, out *int8       operands and output (out may be a or b)
//	n16       int         steps (≥ 1)
//	q         *binConsts  k0, k1, k2 (int32 at 0, 4, 8), zp (int16 at 12),
//	                      lo, hi (bytes at 14, 15), shift (int64 at 16)
//
// Each kernel brings its 16 elements to int32 r in two ymm registers
// (Y0: elements 0–7, Y1: 8–15), then binaryEpilogue writes them: the
// int8 epilogue of requantTile (VPACKSSDW, VPADDSW of the zero point,
// VPACKSSWB, VPMINSB by hi, VPMAXSB by lo), which is ref's finish for
// |zp| ≤ 32640 and −128 ≤ lo ≤ hi ≤ 127 (see requant).

// binaryPrologue loads the arguments and q: Y8, Y9, Y10 = k0, k1, k2
// (dwords), X14 = shift, Y11 = zp (int16), X12 = lo, X13 = hi.
func binaryPrologue(name string) {
	fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-40\n", name)
	ins("MOVQ a+0(FP), SI")
	ins("MOVQ b+8(FP), DX")
	ins("MOVQ out+16(FP), DI")
	ins("MOVQ n16+24(FP), CX")
	ins("MOVQ q+32(FP), AX")
	ins("VPBROADCASTD 0(AX), Y8")
	ins("VPBROADCASTD 4(AX), Y9")
	ins("VPBROADCASTD 8(AX), Y10")
	ins("MOVQ 16(AX), X14")
	ins("VPBROADCASTW 12(AX), Y11")
	ins("VPBROADCASTB 14(AX), X12")
	ins("VPBROADCASTB 15(AX), X13")
}

// binaryLoad sign-extends the 16 bytes of each operand to int32: a in
// Y0, Y1, b in Y2, Y3.
func binaryLoad() {
	ins("VPMOVSXBD (SI), Y0")
	ins("VPMOVSXBD 8(SI), Y1")
	ins("VPMOVSXBD (DX), Y2")
	ins("VPMOVSXBD 8(DX), Y3")
}

// binaryEpilogue packs r (Y0, Y1) into 16 output bytes and loops.
func binaryEpilogue(name string) {
	comment("r to int16 (lanes 0–3, 8–11 | 4–7, 12–15, put back in order), + zp, to int8, clamp")
	ins("VPACKSSDW Y1, Y0, Y0")
	ins("VPERMQ $0xd8, Y0, Y0")
	ins("VPADDSW Y11, Y0, Y0")
	ins("VEXTRACTI128 $1, Y0, X1")
	ins("VPACKSSWB X1, X0, X0")
	ins("VPMINSB X13, X0, X0")
	ins("VPMAXSB X12, X0, X0")
	ins("VMOVDQU X0, (DI)")
	ins("ADDQ $16, SI")
	ins("ADDQ $16, DX")
	ins("ADDQ $16, DI")
	ins("DECQ CX")
	ins("JNZ %s_loop", name)
	ins("VZEROUPPER")
	ins("RET")
}

// binaryOps writes addFixed, mulScale and mulMult.
func binaryOps() {
	name := "addFixed"
	buf.WriteString(`
// func addFixed(a, b, out *int8, n16 int, q *binConsts)
// XNNPACK's Add and Sub (ref's fixedAddSub): r = (a·AFixed + b·(±BFixed)
// + c) >> FixedShift, q = {AFixed, ±BFixed, c = round − AZP·AFixed −
// BZP·(±BFixed)}, shift FixedShift; int32 arithmetic wraps as ref's does
// (the same ring: ref's (a − AZP)·AFixed + (b − BZP)·(±BFixed) + round),
// VPSRAD fills with the sign from 32 on, as Go's >>.
`)
	binaryPrologue(name)
	label(name + "_loop")
	binaryLoad()
	ins("VPMULLD Y8, Y0, Y0")
	ins("VPMULLD Y8, Y1, Y1")
	ins("VPMULLD Y9, Y2, Y2")
	ins("VPMULLD Y9, Y3, Y3")
	ins("VPADDD Y2, Y0, Y0")
	ins("VPADDD Y3, Y1, Y1")
	ins("VPADDD Y10, Y0, Y0")
	ins("VPADDD Y10, Y1, Y1")
	ins("VPSRAD X14, Y0, Y0")
	ins("VPSRAD X14, Y1, Y1")
	binaryEpilogue(name)

	name = "mulScale"
	buf.WriteString(`
// func mulScale(a, b, out *int8, n16 int, q *binConsts)
// Mul with XNNPACK's float32 scale: p = (a − AZP)·(b − BZP) (VPMULLD,
// wrapping as ref's int32 product), r = round-to-even(clamp(float32(p)·
// MulScale, ±2^30)) as requantTile; q = {AZP, BZP, MulScale's bits}. The
// caller passes a finite MulScale, so no NaN arises.
`)
	binaryPrologue(name)
	ins("MOVL $0x4e800000, R8")
	ins("VMOVD R8, X14")
	ins("VPBROADCASTD X14, Y14")
	ins("MOVL $0xce800000, R8")
	ins("VMOVD R8, X15")
	ins("VPBROADCASTD X15, Y15")
	label(name + "_loop")
	binaryLoad()
	mulProducts()
	for r := 0; r < 2; r++ {
		y := fmt.Sprintf("Y%d", r)
		ins("VCVTDQ2PS %s, %s", y, y)
		ins("VMULPS Y10, %s, %s", y, y)
		ins("VMINPS Y14, %s, %s", y, y)
		ins("VMAXPS Y15, %s, %s", y, y)
		ins("VCVTPS2DQ %s, %s", y, y)
	}
	binaryEpilogue(name)

	name = "mulMult"
	buf.WriteString(`
// func mulMult(a, b, out *int8, n16 int, q *binConsts)
// Mul in TFLite's arithmetic with a multiplier below 1/2 (fastRequant):
// p = (a − AZP)·(b − BZP), r = (⌊p·M/2^31⌋ >> (s−1) + 1) >> 1 as the GEMM
// epilogue; q = {AZP, BZP, M}, shift s − 1.
`)
	binaryPrologue(name)
	ins("VPCMPEQD Y15, Y15, Y15")
	ins("VPSRLD $31, Y15, Y15")
	label(name + "_loop")
	binaryLoad()
	mulProducts()
	for r := 0; r < 2; r++ {
		y := fmt.Sprintf("Y%d", r)
		comment("⌊p·M/2^31⌋: the high dwords of 2·p·M, even lanes then odd ones")
		ins("VPMULDQ Y10, %s, Y4", y)
		ins("VPSRLQ $32, %s, Y5", y)
		ins("VPMULDQ Y10, Y5, Y5")
		ins("VPADDQ Y4, Y4, Y4")
		ins("VPSHUFD $0xf5, Y4, Y4")
		ins("VPADDQ Y5, Y5, Y5")
		ins("VPBLENDD $0xaa, Y5, Y4, Y4")
		ins("VPSRAD X14, Y4, Y4")
		ins("VPADDD Y15, Y4, Y4")
		ins("VPSRAD $1, Y4, %s", y)
	}
	binaryEpilogue(name)
}

// mulProducts sets Y0, Y1 to (a − AZP)·(b − BZP), AZP in Y8, BZP in Y9.
func mulProducts() {
	ins("VPSUBD Y8, Y0, Y0")
	ins("VPSUBD Y8, Y1, Y1")
	ins("VPSUBD Y9, Y2, Y2")
	ins("VPSUBD Y9, Y3, Y3")
	ins("VPMULLD Y2, Y0, Y0")
	ins("VPMULLD Y3, Y1, Y1")
}

// quantize writes quantizeF32 (int8) and quantizeF32U (uint8): ref's
// QuantizeFloat 8 values a step,
//
//	x   *float32      values
//	out *int8         bytes
//	n8  int           steps (≥ 1)
//	q   *[4]float64   scale, zero point, lo, hi
//
// VCVTPS2PD (exact), VDIVPD by the scale (ref's float64 division, one
// rounding), round half away from zero as math.Round: t = trunc(y)
// (VROUNDPD $3), plus ±1 where |y − t| ≥ 1/2 (y − t is exact: the
// fraction of a float64), NaN to 0 (an ordered compare as mask; an
// infinite y stays infinite), + zp, VMAXPD lo, VMINPD hi (ref's clamp),
// VCVTTPD2DQ (exact: an integer in range), then saturating packs that
// the clamp leaves nothing to saturate.
func quantize() {
	for _, u := range []bool{false, true} {
		name, pack := "quantizeF32", "VPACKSSWB"
		if u {
			name, pack = "quantizeF32U", "VPACKUSWB"
		}
		fmt.Fprintf(&buf, "\n// func %s(x *float32, out *int8, n8 int, q *[4]float64)\n", name)
		fmt.Fprintf(&buf, "TEXT ·%s(SB), NOSPLIT, $0-32\n", name)
		ins("MOVQ x+0(FP), SI")
		ins("MOVQ out+8(FP), DI")
		ins("MOVQ n8+16(FP), CX")
		ins("MOVQ q+24(FP), AX")
		comment("Y8 scale, Y9 zp, Y10 lo, Y11 hi, Y13 1/2, Y14 sign bit, Y15 1")
		ins("VBROADCASTSD 0(AX), Y8")
		ins("VBROADCASTSD 8(AX), Y9")
		ins("VBROADCASTSD 16(AX), Y10")
		ins("VBROADCASTSD 24(AX), Y11")
		for _, c := range []struct {
			v   string
			reg int
		}{{"0x3fe0000000000000", 13}, {"0x8000000000000000", 14}, {"0x3ff0000000000000", 15}} {
			ins("MOVQ $%s, R8", c.v)
			ins("MOVQ R8, X%d", c.reg)
			ins("VPBROADCASTQ X%d, Y%d", c.reg, c.reg)
		}
		label(name + "_loop")
		for h := 0; h < 2; h++ {
			y, t, d, s := 4*h, 4*h+1, 4*h+2, 4*h+3
			comment("values %d…%d", 4*h, 4*h+3)
			ins("VCVTPS2PD %d(SI), Y%d", 16*h, y)
			ins("VDIVPD Y8, Y%d, Y%d", y, y)
			ins("VROUNDPD $3, Y%d, Y%d", y, t)
			ins("VSUBPD Y%d, Y%d, Y%d", t, y, d)
			ins("VANDNPD Y%d, Y14, Y%d", d, d)
			ins("VCMPPD $13, Y13, Y%d, Y%d", d, d)
			ins("VANDPD Y14, Y%d, Y%d", y, s)
			ins("VORPD Y15, Y%d, Y%d", s, s)
			ins("VANDPD Y%d, Y%d, Y%d", s, d, d)
			ins("VADDPD Y%d, Y%d, Y%d", d, t, t)
			ins("VCMPPD $7, Y%d, Y%d, Y%d", t, t, d)
			ins("VANDPD Y%d, Y%d, Y%d", d, t, t)
			ins("VADDPD Y9, Y%d, Y%d", t, t)
			ins("VMAXPD Y10, Y%d, Y%d", t, t)
			ins("VMINPD Y11, Y%d, Y%d", t, t)
			ins("VCVTTPD2DQY Y%d, X%d", t, t)
		}
		ins("VPACKSSDW X5, X1, X1")
		ins("%s X1, X1, X1", pack)
		ins("MOVQ X1, (DI)")
		ins("ADDQ $32, SI")
		ins("ADDQ $8, DI")
		ins("DECQ CX")
		ins("JNZ %s_loop", name)
		ins("VZEROUPPER")
		ins("RET")
	}
}

func main() {
	out := flag.String("o", "gemm_amd64.s", "output file")
	flag.Parse()
	buf.WriteString("// Code generated by gen_asm.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	for nv := 1; nv <= 4; nv++ {
		vnni(nv)
	}
	avx2()
	fma()
	fmaWide()
	fmaTail("Y")
	fmaTail("Z")
	depthwise()
	requant()
	helpers()
	elementwise()
	binaryOps()
	quantize()
	floatMath()
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
