//go:build amd64 && !purego

#include "textflag.h"

// func sumF64(x *float32, n8 int) float64
// Value i in lane i mod 16 of Y4–Y7 (float64), 16 values per iteration,
// then an odd 8 into Y4, Y5; the lanes reduced as sumLanes.
TEXT ·sumF64(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	MOVQ CX, DX
	SHRQ $1, DX
	JZ sum_odd
sum_loop:
	VCVTPS2PD 0(SI), Y0
	VCVTPS2PD 16(SI), Y1
	VCVTPS2PD 32(SI), Y2
	VCVTPS2PD 48(SI), Y3
	VADDPD Y0, Y4, Y4
	VADDPD Y1, Y5, Y5
	VADDPD Y2, Y6, Y6
	VADDPD Y3, Y7, Y7
	ADDQ $64, SI
	DECQ DX
	JNZ sum_loop
sum_odd:
	TESTQ $1, CX
	JZ sum_reduce
	VCVTPS2PD 0(SI), Y0
	VCVTPS2PD 16(SI), Y1
	VADDPD Y0, Y4, Y4
	VADDPD Y1, Y5, Y5
sum_reduce:
	VADDPD Y5, Y4, Y4
	VADDPD Y7, Y6, Y6
	VADDPD Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD X5, X4, X4
	VUNPCKHPD X4, X4, X5
	VADDSD X5, X4, X4
	VMOVSD X4, ret+16(FP)
	VZEROUPPER
	RET

// func ssF64(x *float32, n8 int, mean float64) float64
// Σ (x − mean)² with VFMADD231PD, lanes as sumF64.
TEXT ·ssF64(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n8+8(FP), CX
	VBROADCASTSD mean+16(FP), Y8
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	MOVQ CX, DX
	SHRQ $1, DX
	JZ ss_odd
ss_loop:
	VCVTPS2PD 0(SI), Y0
	VCVTPS2PD 16(SI), Y1
	VCVTPS2PD 32(SI), Y2
	VCVTPS2PD 48(SI), Y3
	VSUBPD Y8, Y0, Y0
	VSUBPD Y8, Y1, Y1
	VSUBPD Y8, Y2, Y2
	VSUBPD Y8, Y3, Y3
	VFMADD231PD Y0, Y0, Y4
	VFMADD231PD Y1, Y1, Y5
	VFMADD231PD Y2, Y2, Y6
	VFMADD231PD Y3, Y3, Y7
	ADDQ $64, SI
	DECQ DX
	JNZ ss_loop
ss_odd:
	TESTQ $1, CX
	JZ ss_reduce
	VCVTPS2PD 0(SI), Y0
	VCVTPS2PD 16(SI), Y1
	VSUBPD Y8, Y0, Y0
	VSUBPD Y8, Y1, Y1
	VFMADD231PD Y0, Y0, Y4
	VFMADD231PD Y1, Y1, Y5
ss_reduce:
	VADDPD Y5, Y4, Y4
	VADDPD Y7, Y6, Y6
	VADDPD Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPD X5, X4, X4
	VUNPCKHPD X4, X4, X5
	VADDSD X5, X4, X4
	VMOVSD X4, ret+24(FP)
	VZEROUPPER
	RET

// func lnRowF32(x, out *float32, n8 int, gamma, beta *float32, mr *[2]float32)
// out = ((x − m)·r)·γ + β, 8 values per iteration, each step rounded
// (no FMA: ref rounds the product before adding β).
TEXT ·lnRowF32(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n8+16(FP), CX
	MOVQ gamma+24(FP), R8
	MOVQ beta+32(FP), R9
	MOVQ mr+40(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	XORQ BX, BX
ln_loop:
	VMOVUPS (SI)(BX*1), Y0
	VSUBPS Y8, Y0, Y0
	VMULPS Y9, Y0, Y0
	VMULPS (R8)(BX*1), Y0, Y0
	VADDPS (R9)(BX*1), Y0, Y0
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ $32, BX
	DECQ CX
	JNZ ln_loop
	VZEROUPPER
	RET
