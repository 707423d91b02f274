//go:build amd64 && !purego

#include "textflag.h"

// The AVX-512F forms of gen_asm.go's float32 GELU and Softmax helpers:
// the same instructions on 16 lanes (so the same bits per value), the
// constants of expConsts broadcast from their first lane, and a row's
// last n mod 16 values under the mask K1 instead of in Go.

// EXPZ(x, t0, t1, t2, k) sets x = e^x for Z registers as EXP does for Y
// registers (clobbers t0…t2).
#define EXPZ(x, t0, t1, t2, k) \
	VMAXPS.BCST 0(k), x, x \
	VMINPS.BCST 32(k), x, x \
	VMULPS.BCST 64(k), x, t0 \
	VRNDSCALEPS $0, t0, t0 \
	VFNMADD231PS.BCST 96(k), t0, x \
	VFNMADD231PS.BCST 128(k), t0, x \
	VBROADCASTSS 160(k), t1 \
	VFMADD213PS.BCST 192(k), x, t1 \
	VFMADD213PS.BCST 224(k), x, t1 \
	VFMADD213PS.BCST 256(k), x, t1 \
	VFMADD213PS.BCST 288(k), x, t1 \
	VFMADD213PS.BCST 320(k), x, t1 \
	VMULPS x, x, t2 \
	VFMADD213PS x, t2, t1 \
	VADDPS.BCST 352(k), t1, t1 \
	VCVTPS2DQ t0, t0 \
	VPSLLD $23, t0, t0 \
	VPADDD.BCST 384(k), t0, t0 \
	VMULPS t0, t1, x

// GELUZ(x, y) sets y = GELU(x) as geluF32 does (clobbers Z1–Z7, K2).
#define GELUZ(x, y) \
	VMULPS.BCST 416(AX), x, Z1 \
	VPANDD.BCST 448(AX), Z1, Z1 \
	VBROADCASTSS 480(AX), Z2 \
	VFMADD213PS.BCST 512(AX), Z1, Z2 \
	VBROADCASTSS 512(AX), Z3 \
	VDIVPS Z2, Z3, Z2 \
	VBROADCASTSS 544(AX), Z3 \
	VFMADD213PS.BCST 576(AX), Z2, Z3 \
	VFMADD213PS.BCST 608(AX), Z2, Z3 \
	VFMADD213PS.BCST 640(AX), Z2, Z3 \
	VFMADD213PS.BCST 672(AX), Z2, Z3 \
	VMULPS Z2, Z3, Z3 \
	VMULPS Z1, Z1, Z4 \
	VPXORD.BCST 704(AX), Z4, Z4 \
	EXPZ(Z4, Z5, Z6, Z7, AX) \
	VMULPS Z4, Z3, Z3 \
	VBROADCASTSS 736(AX), Z5 \
	VSUBPS Z3, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VCMPPS $1, Z6, x, K2 \
	VMOVAPS Z3, K2, Z5 \
	VMULPS.BCST 768(AX), x, Z1 \
	VMULPS Z5, Z1, y

// TAILMASK sets K1 to the low CX mod 16 lanes and CX to CX / 16
// (clobbers BX, DX).
#define TAILMASK \
	MOVQ CX, DX \
	ANDQ $15, DX \
	SHRQ $4, CX \
	MOVL $1, BX \
	SHLXL DX, BX, BX \
	DECL BX \
	KMOVW BX, K1

// func geluF32Z(x, out *float32, n int, k *expConsts)
TEXT ·geluF32Z(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), AX
	TAILMASK
	TESTQ CX, CX
	JZ geluZ_tail
geluZ_loop:
	VMOVUPS (SI), Z0
	GELUZ(Z0, Z8)
	VMOVUPS Z8, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ geluZ_loop
geluZ_tail:
	KORTESTW K1, K1
	JZ geluZ_done
	VMOVUPS.Z (SI), K1, Z0
	GELUZ(Z0, Z8)
	VMOVUPS Z8, K1, (DI)
geluZ_done:
	VZEROUPPER
	RET

// func maxF32Z(x *float32, n int) float32: the largest of n ≥ 1 values.
TEXT ·maxF32Z(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	TAILMASK
	MOVL $0xff800000, BX
	VPBROADCASTD BX, Z0
	TESTQ CX, CX
	JZ maxZ_tail
maxZ_loop:
	VMAXPS (SI), Z0, Z0
	ADDQ $64, SI
	DECQ CX
	JNZ maxZ_loop
maxZ_tail:
	VMAXPS (SI), Z0, K1, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VSHUFPS $0x4e, X0, X0, X1
	VMAXPS X1, X0, X0
	VSHUFPS $0xb1, X0, X0, X1
	VMAXPS X1, X0, X0
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func expSumF32Z(x, e *float32, n int, bm *[2]float32, k *expConsts) float32
// e = exp(β·x − m) for n ≥ 1 values, returns their sum (16 lanes, then
// pairwise).
TEXT ·expSumF32Z(SB), NOSPLIT, $0-44
	MOVQ x+0(FP), SI
	MOVQ e+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ bm+24(FP), R8
	MOVQ k+32(FP), AX
	TAILMASK
	VBROADCASTSS 0(R8), Z8
	VBROADCASTSS 4(R8), Z9
	VPXORD Z10, Z10, Z10
	TESTQ CX, CX
	JZ expSumZ_tail
expSumZ_loop:
	VMULPS (SI), Z8, Z0
	VSUBPS Z9, Z0, Z0
	EXPZ(Z0, Z1, Z2, Z3, AX)
	VMOVUPS Z0, (DI)
	VADDPS Z0, Z10, Z10
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ expSumZ_loop
expSumZ_tail:
	KORTESTW K1, K1
	JZ expSumZ_sum
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z8, Z0, Z0
	VSUBPS Z9, Z0, Z0
	EXPZ(Z0, Z1, Z2, Z3, AX)
	VMOVUPS Z0, K1, (DI)
	VADDPS Z0, Z10, K1, Z10
expSumZ_sum:
	VEXTRACTF64X4 $1, Z10, Y1
	VADDPS Y1, Y10, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VSHUFPS $0x4e, X0, X0, X1
	VADDPS X1, X0, X0
	VSHUFPS $0xb1, X0, X0, X1
	VADDPS X1, X0, X0
	MOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// func scaleF32Z(x *float32, n int, s float32): x ·= s for n ≥ 1 values.
TEXT ·scaleF32Z(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	TAILMASK
	VBROADCASTSS s+16(FP), Z1
	TESTQ CX, CX
	JZ scaleZ_tail
scaleZ_loop:
	VMULPS (SI), Z1, Z0
	VMOVUPS Z0, (SI)
	ADDQ $64, SI
	DECQ CX
	JNZ scaleZ_loop
scaleZ_tail:
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (SI)
	VZEROUPPER
	RET
