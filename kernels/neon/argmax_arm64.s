//go:build arm64 && !purego

#include "textflag.h"

// ArgMax over a contiguous axis of int8 rows (see argmax.go). Each kernel
// finds a row's maximum with SMAX/SMAXV, compares the row with it (CMEQ)
// and keeps, per matching lane, a rank that is larger the earlier the
// lane (AND with descending lane ranks); SMAXV of the ranks then names the
// first maximum, as ref.ArgMaxInt8 keeps it. lanes holds 0…15 then 16…1.

// func argmaxShort(x *int8, out *int32, rows, axis int, lanes *[32]int8)
// 1 ≤ axis < 16; 16 bytes readable from every row's start.
TEXT ·argmaxShort(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD out+8(FP), R1
	MOVD rows+16(FP), R2
	MOVD axis+24(FP), R3
	MOVD lanes+32(FP), R4
	VLD1 (R4), [V30.B16, V31.B16]
	// V28: 0xff in the row's lanes (lane < axis); V27: −128 in the others.
	VDUP R3, V2.B16
	WORD $0x6e3e345c // cmhi v28.16b, v2.16b, v30.16b
	MOVD $0x80, R5
	VDUP R5, V27.B16
	VAND V28.B16, V27.B16, V26.B16
	VEOR V26.B16, V27.B16, V27.B16
	MOVD $16, R8
short:
	VLD1.P (R0)(R3), [V0.B16]
	VAND V28.B16, V0.B16, V0.B16
	VORR V27.B16, V0.B16, V0.B16
	WORD $0x4e30a801 // smaxv b1, v0.16b
	VDUP V1.B[0], V1.B16
	VCMEQ V1.B16, V0.B16, V0.B16
	VAND V31.B16, V0.B16, V0.B16
	WORD $0x4e30a800 // smaxv b0, v0.16b
	VMOV V0.B[0], R7
	SUB R7, R8, R7
	MOVW.P R7, 4(R1)
	SUBS $1, R2, R2
	BNE short
	RET

// func argmax32(x *int8, out *int32, rows, axis int, lanes *[32]int8)
// 16 ≤ axis ≤ 32: the row is its first 16 bytes and its last 16; ranks
// are axis − index (block 0: 16…1 + axis − 16, last block: 16…1).
TEXT ·argmax32(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD out+8(FP), R1
	MOVD rows+16(FP), R2
	MOVD axis+24(FP), R3
	MOVD lanes+32(FP), R4
	VLD1 (R4), [V30.B16, V31.B16]
	SUB $16, R3, R5
	VDUP R5, V29.B16
	VADD V31.B16, V29.B16, V29.B16
row32:
	ADD R0, R5, R6
	VLD1 (R6), [V1.B16]
	VLD1.P (R0)(R3), [V0.B16]
	WORD $0x4e216402 // smax v2.16b, v0.16b, v1.16b
	WORD $0x4e30a842 // smaxv b2, v2.16b
	VDUP V2.B[0], V2.B16
	VCMEQ V2.B16, V0.B16, V0.B16
	VCMEQ V2.B16, V1.B16, V1.B16
	VAND V29.B16, V0.B16, V0.B16
	VAND V31.B16, V1.B16, V1.B16
	WORD $0x4e216400 // smax v0.16b, v0.16b, v1.16b
	WORD $0x4e30a800 // smaxv b0, v0.16b
	VMOV V0.B[0], R7
	SUB R7, R3, R7
	MOVW.P R7, 4(R1)
	SUBS $1, R2, R2
	BNE row32
	RET

// func argmaxLong(x *int8, out *int32, rows, axis int, lanes *[32]int8)
// axis > 32: the maximum over the row's 16-byte blocks (the last one
// ending at the row's end, overlapping), then the blocks in order until
// one holds it.
TEXT ·argmaxLong(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD out+8(FP), R1
	MOVD rows+16(FP), R2
	MOVD axis+24(FP), R3
	MOVD lanes+32(FP), R4
	VLD1 (R4), [V30.B16, V31.B16]
	LSR $4, R3, R5 // whole blocks (≥ 2)
	AND $15, R3, R6 // bytes past them (0: no last block)
	SUB $16, R3, R7 // offset of the last block
rowL:
	MOVD R0, R8
	VLD1.P 16(R8), [V0.B16]
	SUB $1, R5, R9
maxL:
	VLD1.P 16(R8), [V1.B16]
	WORD $0x4e216400 // smax v0.16b, v0.16b, v1.16b
	SUBS $1, R9, R9
	BNE maxL
	CBZ R6, reduceL
	ADD R0, R7, R10
	VLD1 (R10), [V1.B16]
	WORD $0x4e216400 // smax v0.16b, v0.16b, v1.16b
reduceL:
	WORD $0x4e30a800 // smaxv b0, v0.16b
	VDUP V0.B[0], V0.B16
	MOVD R0, R8
	MOVD $0, R11
	MOVD R5, R9
scanL:
	VLD1.P 16(R8), [V1.B16]
	VCMEQ V0.B16, V1.B16, V1.B16
	VAND V31.B16, V1.B16, V1.B16
	WORD $0x4e30a821 // smaxv b1, v1.16b
	VMOV V1.B[0], R12
	CBNZ R12, foundL
	ADD $16, R11, R11
	SUBS $1, R9, R9
	BNE scanL
	// Not in the whole blocks: in the last one.
	ADD R0, R7, R10
	VLD1 (R10), [V1.B16]
	VCMEQ V0.B16, V1.B16, V1.B16
	VAND V31.B16, V1.B16, V1.B16
	WORD $0x4e30a821 // smaxv b1, v1.16b
	VMOV V1.B[0], R12
	MOVD R7, R11
foundL:
	ADD $16, R11, R11
	SUB R12, R11, R11
	MOVW.P R11, 4(R1)
	ADD R3, R0, R0
	SUBS $1, R2, R2
	BNE rowL
	RET
