//go:build amd64 && !purego

#include "textflag.h"

// func nonFiniteF32(x *float32, n8 int) bool
// Whether any of n8·8 ≥ 8 values has an all-ones exponent (NaN, ±Inf):
// VPAND with the exponent mask, VPCMPEQD against it, VPOR into Y2.
TEXT ·nonFiniteF32(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	MOVQ $0x7f800000, AX
	MOVQ AX, X1
	VPBROADCASTD X1, Y1
	VPXOR Y2, Y2, Y2
nf_loop:
	VPAND (SI), Y1, Y0
	VPCMPEQD Y1, Y0, Y0
	VPOR Y0, Y2, Y2
	ADDQ $32, SI
	DECQ CX
	JNZ nf_loop
	VPTEST Y2, Y2
	SETNE ret+16(FP)
	VZEROUPPER
	RET
