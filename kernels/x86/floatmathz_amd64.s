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

// SUMZ10 sets X0's low lane to the sum of Z10's 16 lanes (halves, then
// pairs); MAXZ0 to the largest of Z0's (clobber Z1).
#define SUMZ10 \
	VEXTRACTF64X4 $1, Z10, Y1 \
	VADDPS Y1, Y10, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VSHUFPS $0x4e, X0, X0, X1 \
	VADDPS X1, X0, X0 \
	VSHUFPS $0xb1, X0, X0, X1 \
	VADDPS X1, X0, X0

#define MAXZ0 \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VMAXPS Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VMAXPS X1, X0, X0 \
	VSHUFPS $0x4e, X0, X0, X1 \
	VMAXPS X1, X0, X0 \
	VSHUFPS $0xb1, X0, X0, X1 \
	VMAXPS X1, X0, X0

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
	SUMZ10
	MOVSS X0, ret+40(FP)
	VZEROUPPER
	RET

// func softmaxRowZ(x, out *float32, n int, beta float32, k *expConsts)
// out = softmax(β·x) over n ≥ 1 values, β ≥ 0, in one call: the largest
// x, m = float32(float64(max)·float64(β)); e = exp(β·x − m) and their sum
// as expSumF32Z; out = e·float32(1/float64(sum)).
TEXT ·softmaxRowZ(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ out+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ k+32(FP), AX
	TAILMASK
	MOVQ CX, R10
	MOVQ SI, R11
	MOVL $0xff800000, BX
	VPBROADCASTD BX, Z0
	TESTQ CX, CX
	JZ smZ_maxTail
smZ_max:
	VMAXPS (R11), Z0, Z0
	ADDQ $64, R11
	DECQ CX
	JNZ smZ_max
smZ_maxTail:
	VMAXPS (R11), Z0, K1, Z0
	MAXZ0
	VCVTSS2SD X0, X0, X0
	MOVSS beta+24(FP), X1
	VCVTSS2SD X1, X1, X1
	VMULSD X1, X0, X0
	VCVTSD2SS X0, X0, X0
	VBROADCASTSS X0, Z9
	VBROADCASTSS beta+24(FP), Z8
	VPXORD Z10, Z10, Z10
	MOVQ R10, CX
	MOVQ DI, R8
	TESTQ CX, CX
	JZ smZ_expTail
smZ_exp:
	VMULPS (SI), Z8, Z0
	VSUBPS Z9, Z0, Z0
	EXPZ(Z0, Z1, Z2, Z3, AX)
	VMOVUPS Z0, (R8)
	VADDPS Z0, Z10, Z10
	ADDQ $64, SI
	ADDQ $64, R8
	DECQ CX
	JNZ smZ_exp
smZ_expTail:
	KORTESTW K1, K1
	JZ smZ_sum
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z8, Z0, Z0
	VSUBPS Z9, Z0, Z0
	EXPZ(Z0, Z1, Z2, Z3, AX)
	VMOVUPS Z0, K1, (R8)
	VADDPS Z0, Z10, K1, Z10
smZ_sum:
	SUMZ10
	VCVTSS2SD X0, X0, X0
	MOVQ $0x3ff0000000000000, BX
	MOVQ BX, X1
	VDIVSD X0, X1, X1
	VCVTSD2SS X1, X1, X1
	VBROADCASTSS X1, Z1
	MOVQ R10, CX
	TESTQ CX, CX
	JZ smZ_scaleTail
smZ_scale:
	VMULPS (DI), Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	DECQ CX
	JNZ smZ_scale
smZ_scaleTail:
	VMOVUPS.Z (DI), K1, Z0
	VMULPS Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	VZEROUPPER
	RET
