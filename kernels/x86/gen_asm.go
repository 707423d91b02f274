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
			ins("VPMAXSB X29, X24, X24")
			ins("VPMINSB X28, X24, X24")
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
		ins("VPMAXSB 64(CX), X12, X12")
		ins("VPMINSB 80(CX), X12, X12")
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

func main() {
	out := flag.String("o", "gemm_amd64.s", "output file")
	flag.Parse()
	buf.WriteString("// Code generated by gen_asm.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	for nv := 1; nv <= 4; nv++ {
		vnni(nv)
	}
	avx2()
	fma()
	helpers()
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
