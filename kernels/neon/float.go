package neon

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
)

//go:generate go run gen_float.go -o float_arm64.s

// The float32 GEMM (FMLA by element, Armv8.0 Advanced SIMD): an 8×12
// tile, A packed 8 rows at a time per K block (packA8), B packed at load
// into 12-column panels. Each output is the product of k = 0, then one
// fused multiply-add per k in increasing k, then + bias, then the clamp:
// the order of kernels/x86's FMA kernel (which starts from +0, so a zero
// sum with a −0 bias is the one case whose sign can differ).
//
// Tolerance against kernels/ref, which rounds every product and every sum:
// each output differs from ref's by at most K·2^−23·(|Bias| + Σ_k |x·w|)
// (both are within the textbook γ_K bound of the exact sum; tested). Each
// output depends only on its row and column, never on the tile or the K
// block it is in (a later K block continues from the stored float32 sum,
// which is the accumulator), so any split of rows over threads gives the
// same bits.

const (
	mrF = 8   // tile rows
	nrF = 12  // panel columns
	kcF = 256 // K block: packed A on the stack is mrF·kcF floats
)

// PackedF32 is a float B operand in the micro-kernel's layout: full
// panels of 12 columns, each K rows of 12 floats ldb apart, panels pstride
// apart (packed: 12 and 12·K; a row-major B read in place: its row stride
// and 12); the last partial panel packed in tail (12 floats a row, zero
// padded); 12 biases per panel.
type PackedF32 struct {
	n, k         int
	b            []float32
	pstride, ldb int
	tail         []float32
	bias         []float32
}

// Bytes returns the memory the packed operand holds.
func (w *PackedF32) Bytes() int { return 4 * (len(w.b) + len(w.bias)) }

// packF32 packs B[n,k] = src[n·sn + k·sk] and bias (nil: zeros) into dst
// and dstBias, zero-padding the last panel: 12 rows at a time by packB12
// where B's rows are contiguous (sk = 1).
func packF32(dst, src []float32, n, k, sn, sk int, bias, dstBias []float32) {
	np := (n + nrF - 1) / nrF
	dst = dst[:np*nrF*k]
	dstBias = dstBias[:np*nrF]
	for p := 0; p < np; p++ {
		d := dst[p*nrF*k : (p+1)*nrF*k]
		cols := min(nrF, n-p*nrF)
		if cols < nrF {
			clear(d)
		}
		if sn == 1 { // a row of B is contiguous: copy it
			for kk := 0; kk < k; kk++ {
				copy(d[kk*nrF:kk*nrF+cols], src[p*nrF+kk*sk:])
			}
			continue
		}
		k0 := 0
		if sk == 1 && cols == nrF && k >= 4 {
			k0 = k &^ 3
			s := src[p*nrF*sn:]
			_ = s[(nrF-1)*sn+k0-1]
			packB12(&s[0], 4*sn, k0/4, &d[0])
		}
		for j := 0; j < cols; j++ {
			s := src[(p*nrF+j)*sn:]
			for kk := k0; kk < k; kk++ {
				d[kk*nrF+j] = s[kk*sk]
			}
		}
	}
	clear(dstBias)
	copy(dstBias, bias)
}

// PackFCFloat packs float FullyConnected weights w [N,K] and the bias.
func PackFCFloat(p *kernels.FCFloatParams, w []float32) *PackedF32 {
	if p.K < 1 || p.N < 1 {
		return nil
	}
	np := (p.N + nrF - 1) / nrF
	pk := &PackedF32{n: p.N, k: p.K, b: make([]float32, np*nrF*p.K), bias: make([]float32, np*nrF)}
	packF32(pk.b, w, p.N, p.K, p.K, 1, p.Bias, pk.bias)
	pk.pstride, pk.ldb = nrF*p.K, nrF
	if p.N%nrF != 0 {
		pk.tail = pk.b[(np-1)*nrF*p.K:]
	}
	return pk
}

// runF32 computes rows [0, m) of A (stride lda floats) times w into out
// (stride ldo floats), clamped to [lo, hi].
func runF32(w *PackedF32, a []float32, lda, m int, out []float32, ldo int, lo, hi float32) {
	clip := [2]float32{lo, hi}
	clamp := 0
	if !math.IsInf(float64(lo), -1) || !math.IsInf(float64(hi), 1) {
		clamp = 4
	}
	K := w.k
	full := w.n / nrF
	rem := w.n - nrF*full
	var ap [mrF * kcF]float32
	var tile [mrF * nrF]float32
	for m0 := 0; m0 < m; m0 += mrF {
		rows := min(mrF, m-m0)
		for k0 := 0; k0 < K; k0 += kcF {
			kc := min(kcF, K-k0)
			packA(ap[:mrF*kc], a[m0*lda+k0:], lda, rows, kc)
			mode := 0
			if k0 > 0 {
				mode |= 1
			}
			if k0+kc == K {
				mode |= 2 | clamp
			}
			if full > 0 {
				b, o := &w.b[w.ldb*k0], &out[m0*ldo]
				switch { // a last block of few rows: fewer accumulators (direct calls: a func value would let clip escape)
				case rows <= 4:
					gemmF32m4(&ap[0], kc, b, 4*w.ldb, 4*w.pstride, full, o, 4*ldo, rows, mode, &w.bias[0], &clip)
				case rows <= 6:
					gemmF32m6(&ap[0], kc, b, 4*w.ldb, 4*w.pstride, full, o, 4*ldo, rows, mode, &w.bias[0], &clip)
				default:
					gemmF32(&ap[0], kc, b, 4*w.ldb, 4*w.pstride, full, o, 4*ldo, rows, mode, &w.bias[0], &clip)
				}
			}
			switch { // the last partial panel: the narrowest kernel that covers it
			case rem > 8:
				gemmF32(&ap[0], kc, &w.tail[nrF*k0], 4*nrF, 0, 1, &tile[0], 4*nrF, rows, mode, &w.bias[nrF*full], &clip)
			case rem > 4:
				gemmF32n8(&ap[0], kc, &w.tail[nrF*k0], 4*nrF, 0, 1, &tile[0], 4*nrF, rows, mode, &w.bias[nrF*full], &clip)
			case rem > 0:
				gemmF32n4(&ap[0], kc, &w.tail[nrF*k0], 4*nrF, 0, 1, &tile[0], 4*nrF, rows, mode, &w.bias[nrF*full], &clip)
			}
		}
		if rem > 0 {
			for r := 0; r < rows; r++ {
				o := (m0+r)*ldo + nrF*full
				copy(out[o:o+rem], tile[nrF*r:])
			}
		}
	}
}

// packA packs rows [0, rows) × kc columns of a (stride lda) into k-major
// steps of mrF floats, rows past rows zero.
func packA(dst, a []float32, lda, rows, kc int) {
	k4 := kc / 4
	if rows == mrF && k4 > 0 {
		_ = a[(mrF-1)*lda+4*k4-1]
		packA8(&a[0], 4*lda, k4, &dst[0])
	} else {
		k4 = 0
	}
	for kk := 4 * k4; kk < kc; kk++ {
		d := dst[mrF*kk : mrF*kk+mrF]
		for r := range d {
			if r < rows {
				d[r] = a[r*lda+kk]
			} else {
				d[r] = 0
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
// within the tolerance above. A row-major B (not AdjY) is read in place,
// but for its last partial panel; a transposed one is packed per call on
// the stack, a block of 12-column panels at a time. Transposed A (AdjX)
// and K over 1024 go to kernels/ref.
func MatMulFloat(p *kernels.MatMulParams, a, b, out []float32) {
	M, N, K := p.M, p.N, p.K
	if p.AdjX || K < 1 || nrF*K > matMulF32 {
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
	var bias [matMulF32 / nrF]float32
	inf := float32(math.Inf(1))
	if !p.AdjY {
		// Blocks of columns whose zero biases fit the buffer; only the last
		// block's partial panel is packed.
		const block = matMulF32 / nrF / nrF * nrF
		for n0 := 0; n0 < N; n0 += block {
			cols := min(block, N-n0)
			full := cols / nrF
			w := PackedF32{n: cols, k: K, b: b[n0:], pstride: nrF, ldb: ldb, bias: bias[:]}
			if rem := cols - nrF*full; rem > 0 {
				w.tail = bbuf[:nrF*K]
				packF32(w.tail, b[n0+nrF*full:], rem, K, 1, ldb, nil, bias[:nrF])
			}
			if full > 0 {
				_ = b[(K-1)*ldb+n0+nrF*full-1]
			}
			runF32(&w, a, lda, M, out[n0:], ldo, -inf, inf)
		}
		return
	}
	perBlock := min(matMulF32/K, len(bias)) / nrF * nrF
	for n0 := 0; n0 < N; n0 += perBlock {
		cols := min(perBlock, N-n0)
		np := (cols + nrF - 1) / nrF
		w := PackedF32{n: cols, k: K, b: bbuf[:np*nrF*K], pstride: nrF * K, ldb: nrF, bias: bias[:np*nrF]}
		packF32(w.b, b[n0*ldb:], cols, K, ldb, 1, nil, w.bias)
		if cols%nrF != 0 {
			w.tail = w.b[(np-1)*nrF*K:]
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
// within the tolerance above, over im2col rows (kernels.Im2col) built a
// multiple of 8 pixels at a time where K allows, across output rows.
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
	px := max(1, min(len(buf)/K, 64))
	if px > mrF {
		px &^= mrF - 1
	}
	// Batches of px output pixels in order, across output rows, so that
	// every GEMM but the last has whole 8-row tiles.
	for p0, end := p.RowLo*OW, p.RowHi*OW; p0 < end; p0 += px {
		cnt := min(px, end-p0)
		for i := 0; i < cnt; {
			r, ow := (p0+i)/OW, (p0+i)%OW
			n := min(OW-ow, cnt-i)
			kernels.Im2col(p, x, r, ow, n, buf[i*K:(i+n)*K])
			i += n
		}
		runF32(w, buf[:cnt*K], K, cnt, out[p0*Cout:(p0+cnt)*Cout], Cout, p.ActMin, p.ActMax)
	}
}
