//go:build arm64 && !purego

#include "textflag.h"

// The bilinear resize's two passes (see resize.go).

// func resizeH(in *int8, t *int32, ow, c int, cols *int32)
// Per output column, chunks of 8 channels at 0, 8, … and a last one
// ending at c (overlapping): SXTL of the left and right bytes, then
// 1024 + l·(2048 − αx) + r·αx with SMLAL/SMLAL2 by the column's weights.
TEXT ·resizeH(SB), NOSPLIT, $0-40
	MOVD in+0(FP), R0
	MOVD t+8(FP), R1
	MOVD ow+16(FP), R2
	MOVD c+24(FP), R3
	MOVD cols+32(FP), R4
	MOVD $1024, R5
	VDUP R5, V22.S4
	LSL $2, R3, R12 // bytes of t per column
	SUB $8, R3, R13 // the last chunk's channel
colH:
	MOVW (R4), R8
	MOVW 4(R4), R9
	MOVW 8(R4), R10
	MOVW 12(R4), R11
	ADD $16, R4, R4
	ADD R0, R8, R8
	ADD R0, R9, R9
	VDUP R10, V20.H8
	VDUP R11, V21.H8
	MOVD $0, R6
chunkH:
	CMP R13, R6
	BLT doH
	MOVD R13, R6 // the last chunk
doH:
	ADD R8, R6, R14
	VLD1 (R14), [V0.B8]
	ADD R9, R6, R15
	VLD1 (R15), [V1.B8]
	WORD $0x0f08a400 // sxtl v0.8h, v0.8b
	WORD $0x0f08a421 // sxtl v1.8h, v1.8b
	VMOV V22.B16, V2.B16
	VMOV V22.B16, V3.B16
	WORD $0x0e748002 // smlal v2.4s, v0.4h, v20.4h
	WORD $0x4e748003 // smlal2 v3.4s, v0.8h, v20.8h
	WORD $0x0e758022 // smlal v2.4s, v1.4h, v21.4h
	WORD $0x4e758023 // smlal2 v3.4s, v1.8h, v21.8h
	ADD R6<<2, R1, R16
	VST1 [V2.S4, V3.S4], (R16)
	CMP R13, R6
	ADD $8, R6, R6
	BLT chunkH
	ADD R12, R1, R1
	SUBS $1, R2, R2
	BNE colH
	RET

// func resizeV(t, b *int32, out *int8, n int, w *[2]int32)
// 16 outputs a step (the last step ending at n, overlapping): MUL and
// MLA by the row's weights, then UZP2 of halfwords and of bytes keeps
// each lane's top byte.
TEXT ·resizeV(SB), NOSPLIT, $0-40
	MOVD t+0(FP), R0
	MOVD b+8(FP), R1
	MOVD out+16(FP), R2
	MOVD n+24(FP), R3
	MOVD w+32(FP), R4
	MOVW (R4), R5
	MOVW 4(R4), R6
	VDUP R5, V20.S4
	VDUP R6, V21.S4
	AND $15, R3, R7 // outputs past the whole steps
	LSR $4, R3, R8  // whole steps (≥ 1)
stepV:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	WORD $0x4eb49c00 // mul v0.4s, v0.4s, v20.4s
	WORD $0x4eb49c21 // mul v1.4s, v1.4s, v20.4s
	WORD $0x4eb49c42 // mul v2.4s, v2.4s, v20.4s
	WORD $0x4eb49c63 // mul v3.4s, v3.4s, v20.4s
	WORD $0x4eb59480 // mla v0.4s, v4.4s, v21.4s
	WORD $0x4eb594a1 // mla v1.4s, v5.4s, v21.4s
	WORD $0x4eb594c2 // mla v2.4s, v6.4s, v21.4s
	WORD $0x4eb594e3 // mla v3.4s, v7.4s, v21.4s
	VUZP2 V1.H8, V0.H8, V16.H8
	VUZP2 V3.H8, V2.H8, V17.H8
	VUZP2 V17.B16, V16.B16, V18.B16
	VST1.P [V18.B16], 16(R2)
	SUBS $1, R8, R8
	BNE stepV
	CBZ R7, doneV
	// The last step: back by 16 − (n mod 16) outputs.
	MOVD $16, R9
	SUB R7, R9, R9
	SUB R9<<2, R0, R0
	SUB R9<<2, R1, R1
	SUB R9, R2, R2
	MOVD $1, R8
	MOVD $0, R7
	B stepV
doneV:
	RET
