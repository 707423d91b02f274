package x86

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

// The float32 GEMM (AVX2 + FMA): a 6×16 tile, k in increasing order with
// one rounding per multiply-add, then the bias and the clamp.
//
// Tolerance against kernels/ref, which rounds every product and every sum:
// each output differs from ref's by at most K·2^−23·(|Bias| + Σ_k |x·w|)
// (both are within the textbook γ_K bound of the exact sum; tested). Each
// output depends only on its row and column, never on the tile it is in,
// so any split of rows over threads gives the same bits.

// floatWide selects gemmF32W, the zmm kernel over four panels at once,
// where the CPU has AVX-512F; it gives the same bits as gemmF32.
var floatWide = hasAVX512F()

// floatTail selects gemmF32T (AVX-512F and VL) for a last partial panel
// of at most 8 columns and gemmF32TZ (AVX-512F) for 9…15 (or where the
// CPU lacks VL), 12 rows at a time (the attention scores' 197 columns end
// in 5); both give the same bits as gemmF32.
var floatTail, tailVL = hasAVX512F(), hasAVX512VL()

// PackedF32 is a float B operand in the micro-kernel's layout: per panel of
// 16 columns, K rows of 16 floats, and the panel's 16 biases.
type PackedF32 struct {
	n, k int
	b    []float32
	bias []float32
}

// Bytes returns the memory the packed operand holds.
func (w *PackedF32) Bytes() int { return 4 * (len(w.b) + len(w.bias)) }

// FloatSupported reports whether the CPU runs the float32 GEMM (AVX2 and
// FMA; always true for the Go twin), and why.
func FloatSupported() (bool, string) {
	if !asm {
		return true, "Go twin of the FMA kernel"
	}
	return cpuFloat()
}

// packF32 packs B[n,k] = src[n·sn + k·sk] and bias (nil: zeros): a
// panel's rows copied whole where B's rows are (sn = 1), B's columns
// transposed eight at a time where they are contiguous (sk = 1), values
// one by one otherwise; the padding of a last partial panel zero.
func packF32(dst, src []float32, n, k, sn, sk int, bias []float32, dstBias []float32) {
	np := (n + 15) / 16
	dst = dst[:np*16*k]
	clear(dstBias[:np*16])
	if bias != nil {
		copy(dstBias, bias[:n])
	}
	k8 := k / 8
	for p := 0; p < np; p++ {
		cols, c0 := min(16, n-16*p), 16*p
		d := dst[p*16*k : (p+1)*16*k]
		switch {
		case sn == 1 && cols == 16:
			for kk := 0; kk < k; kk++ {
				copy(d[kk*16:kk*16+16], src[c0+kk*sk:])
			}
			continue
		case cols < 16:
			clear(d)
		}
		done := 0 // columns whose first 8·k8 values are in place
		if sk == 1 && k8 > 0 {
			for ; done+8 <= cols; done += 8 {
				_ = src[(c0+done+7)*sn+k-1]
				transpose8F32(&src[(c0+done)*sn], sn, k8, &d[done])
			}
		}
		for j := 0; j < cols; j++ {
			kk := 0
			if j < done {
				kk = 8 * k8
			}
			for ; kk < k; kk++ {
				d[kk*16+j] = src[(c0+j)*sn+kk*sk]
			}
		}
	}
}

// PackFCFloat packs float FullyConnected weights w [N,K] and the bias.
func PackFCFloat(p *kernels.FCFloatParams, w []float32) *PackedF32 {
	if p.K < 1 || p.N < 1 {
		return nil
	}
	np := (p.N + 15) / 16
	pk := &PackedF32{n: p.N, k: p.K, b: make([]float32, np*16*p.K), bias: make([]float32, np*16)}
	packF32(pk.b, w, p.N, p.K, p.K, 1, p.Bias, pk.bias)
	return pk
}

// runF32 computes rows [0, m) of A (stride lda floats) times w into out
// (stride ldo floats), clamped to [lo, hi].
func runF32(w *PackedF32, a []float32, lda, m int, out []float32, ldo int, lo, hi float32) {
	clip := [2]float32{lo, hi}
	full := w.n / 16
	var tile [mr * 16]float32
	rem := w.n - 16*full
	tail := 0 // rows whose last partial panel gemmF32T wrote
	if floatTail && rem > 0 && m >= 12 {
		tail = m / 12 * 12
		ap, b, bias, o := &a[0], &w.b[full*16*w.k], &w.bias[16*full], &out[16*full]
		if rem <= 8 && tailVL {
			gemmF32T(ap, 4*lda, m/12, w.k, b, bias, o, 4*ldo, rem, &clip)
		} else {
			gemmF32TZ(ap, 4*lda, m/12, w.k, b, bias, o, 4*ldo, rem, &clip)
		}
	}
	for m0 := 0; m0 < m; m0 += mr {
		rows := min(mr, m-m0)
		ap := &a[m0*lda]
		done := 0
		if floatWide && full >= 4 {
			done = full / 4 * 4
			gemmF32W(ap, 4*lda, rows, w.k, &w.b[0], full/4, &w.bias[0], &out[m0*ldo], 4*ldo, &clip)
		}
		if full > done {
			gemmF32(ap, 4*lda, rows, w.k, &w.b[done*16*w.k], full-done, &w.bias[16*done], &out[m0*ldo+16*done], 4*ldo, &clip)
		}
		if rem > 0 && m0 >= tail {
			gemmF32(ap, 4*lda, rows, w.k, &w.b[full*16*w.k], 1, &w.bias[16*full], &tile[0], 64, &clip)
			for r := 0; r < rows; r++ {
				copy(out[(m0+r)*ldo+16*full:(m0+r)*ldo+w.n], tile[16*r:])
			}
		}
	}
}

// FullyConnectedFloat is ref.FullyConnectedFloat with weights packed by
// PackFCFloat, within the tolerance above.
func FullyConnectedFloat(p *kernels.FCFloatParams, x []float32, w *PackedF32, out []float32) {
	if p.M == 0 {
		return
	}
	runF32(w, x[:p.M*p.K], p.K, p.M, out[:p.M*p.N], p.N, p.ActMin, p.ActMax)
}

// matMulF32 is the per-call buffer for float BatchMatMul's packed B.
const matMulF32 = 16 << 10

// MatMulFloat is ref.MatMulFloat (the quantization fields of p ignored)
// within the tolerance above: B is packed per call on the stack, a block
// of 16-column panels at a time. Transposed A (AdjX) and K over 1024 go
// to kernels/ref.
func MatMulFloat(p *kernels.MatMulParams, a, b, out []float32) {
	M, N, K := p.M, p.N, p.K
	if p.AdjX || K < 1 || 16*K > matMulF32 {
		ref.MatMulFloat(p, a, b, out)
		return
	}
	if M == 0 || N == 0 {
		return
	}
	lda, ldb, ldo := p.Strides()
	na, nb, no := p.Extents()
	a, b, out = a[:na], b[:nb], out[:no]
	var bbuf [matMulF32]float32
	var bias [matMulF32 / 16]float32
	perBlock := min(matMulF32/K, len(bias)) / 16 * 16 // the zero biases bound a block too
	inf := float32(math.Inf(1))
	for n0 := 0; n0 < N; n0 += perBlock {
		cols := min(perBlock, N-n0)
		np := (cols + 15) / 16
		w := PackedF32{n: cols, k: K, b: bbuf[:np*16*K], bias: bias[:np*16]}
		if p.AdjY {
			packF32(w.b, b[n0*ldb:], cols, K, ldb, 1, nil, w.bias)
		} else {
			packF32(w.b, b[n0:], cols, K, 1, ldb, nil, w.bias)
		}
		runF32(&w, a, lda, M, out[n0:], ldo, -inf, inf)
	}
}

// PackConvFloat packs float Conv2D weights w [Cout,KH,KW,Cin] (nil when
// K = KH·KW·Cin is over maxIm2colK, or for a grouped convolution, which
// stays with kernels/ref).
func PackConvFloat(p *kernels.ConvParams, w []float32) *PackedF32 {
	k := p.KH * p.KW * p.Cin
	if k > maxIm2colK || p.Groups > 1 {
		return nil
	}
	return PackFCFloat(&kernels.FCFloatParams{N: p.Cout, K: k, Bias: p.BiasF}, w)
}

// Conv2DFloat is ref.Conv2DFloat with weights packed by PackConvFloat,
// within the tolerance above, over im2col rows (kernels.Im2col).
func Conv2DFloat(p *kernels.ConvParams, x []float32, w *PackedF32, out []float32) {
	Cin, Cout, OW := p.Cin, p.Cout, p.OW
	if p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 &&
		p.OH == p.H && p.OW == p.W {
		lo, hi := p.RowLo*OW, p.RowHi*OW
		if hi > lo {
			runF32(w, x[lo*Cin:hi*Cin], Cin, hi-lo, out[lo*Cout:hi*Cout], Cout, p.ActMin, p.ActMax)
		}
		return
	}
	K := w.k
	var buf [im2colBuf / 4]float32
	px := max(1, min(len(buf)/K, 60))
	for r := p.RowLo; r < p.RowHi; r++ {
		for ow0 := 0; ow0 < OW; ow0 += px {
			cnt := min(px, OW-ow0)
			kernels.Im2col(p, x, r, ow0, cnt, buf[:cnt*K])
			o := (r*OW + ow0) * Cout
			runF32(w, buf[:cnt*K], K, cnt, out[o:o+cnt*Cout], Cout, p.ActMin, p.ActMax)
		}
	}
}
