package neon

import (
	"math"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

//go:generate go run gen_asm.go -o gemm_arm64.s

// Path is one implementation of the int8 kernels.
type Path uint8

const (
	// V80 is the Armv8.0 Advanced SIMD path (SMULL/SMLAL2/SADALP): every
	// arm64 CPU, the only one on Cortex-A53/A72 (Raspberry Pi 3, 4, Zero 2 W).
	V80 Path = iota + 1
	// DotProd is the FEAT_DotProd path (SDOT): Cortex-A76/A78 and later
	// (Raspberry Pi 5, Jetson Orin).
	DotProd
)

func (p Path) String() string {
	switch p {
	case V80:
		return "v80"
	case DotProd:
		return "dotprod"
	}
	return "invalid"
}

// Asm reports whether the kernels are arm64 assembly (false: the Go twins,
// on other architectures or with -tags purego).
func Asm() bool { return asm }

// Supported reports whether this CPU can run path p, and why.
func Supported(p Path) (bool, string) {
	switch p {
	case V80:
		if asm {
			return true, "Armv8.0 Advanced SIMD (every arm64 CPU)"
		}
		return true, "Go twin of the Armv8.0 kernels"
	case DotProd:
		if !asm {
			return true, "Go twin of the dot-product kernels"
		}
		if hasDotProd() {
			return true, "cpu.ARM64.HasASIMDDP=true"
		}
		return false, "cpu.ARM64.HasASIMDDP=false"
	}
	return false, "unknown path"
}

// Best returns the fastest path this CPU supports and why.
func Best() (Path, string) {
	if ok, why := Supported(DotProd); ok {
		return DotProd, why
	}
	_, why := Supported(V80)
	return V80, why + "; cpu.ARM64.HasASIMDDP=false"
}

// layout describes one micro-kernel's tile and packed-B format.
//
// K is cut into nch = ⌈K/16⌉ chunks of 16. Chunk 0 covers k 0…15; chunk
// c ≥ 1 covers K−16·(nch−c) … +15, so the last chunk ends exactly at K and
// no load ever reads past an A row. Chunk 1 may overlap chunk 0 (when K is
// not a multiple of 16): its packed B bytes for k < 16 are zero, so the
// overlap counts once. This needs K ≥ 16; shorter reductions use kernels/ref.
//
// For each panel of pw columns, packed B holds nch chunks of 16·pw bytes,
// then the panel's column data (cdBytes(pw) bytes: pw int32 biases, then
// per 4 columns the requantization group of setRequant) lives in a
// separate array.
type layout struct {
	mr, pw int
	// dot: within a chunk, k-group q (4 k) holds pw columns × 4 bytes.
	// v80: within a chunk, column j holds its 16 bytes.
	dot bool
}

var (
	dotLayout = layout{mr: 4, pw: 16, dot: true}
	v80Layout = layout{mr: 2, pw: 8}
)

func layoutOf(p Path) layout {
	if p == DotProd {
		return dotLayout
	}
	return v80Layout
}

// offset returns the byte of a packed panel holding column j, byte i of
// chunk c.
func (l layout) offset(c, j, i int) int {
	if l.dot {
		return c*16*l.pw + (i/4)*4*l.pw + j*4 + i%4
	}
	return c*16*l.pw + j*16 + i
}

// cdBytes is the size of one panel's column data: pw int32 biases, then
// per 4 columns a 64-byte requantization group (setRequant).
func cdBytes(pw int) int { return 20 * pw }

// setRequant stores column j's multiplier in panel column data c: in its
// group of 4 columns, word j%4 holds M, words 4+2·(j%4) and 5+2·(j%4) the
// int64 SQRSHL amount Shift−31 (exact path), word 12+j%4 the int32 SRSHL
// amount Shift (fast path). It reports whether the fast path is exact for
// this multiplier (see fastRequant).
func setRequant(c []int32, pw, j int, m quant.Multiplier) bool {
	g := c[pw+16*(j/4):]
	g[j%4] = m.M
	sh := int64(m.Shift) - 31
	g[4+2*(j%4)] = int32(sh)
	g[5+2*(j%4)] = int32(sh >> 32)
	g[12+j%4] = m.Shift
	return fastRequant(m)
}

// fastRequant reports whether m.Apply(x) equals SRSHL(SQDMULH(x, M), Shift)
// for every int32 x, so that two instructions do the exact requantization
// of four outputs. With s = −Shift ≥ 1 and x·M = q·2^31 + r (0 ≤ r < 2^31),
// SQDMULH gives q, and ⌊(x·M + 2^(30+s))/2^(31+s)⌋ = ⌊(q + 2^(s−1))/2^s⌋
// because r/2^(31+s) < 2^−s cannot carry past the next multiple of 2^−s:
// Apply's single rounding is SRSHL's rounding of q. A zero multiplier gives
// 0 both ways.
func fastRequant(m quant.Multiplier) bool { return m.Shift <= -1 || m.M == 0 }

// chunkStart returns the first k of chunk c.
func chunkStart(c, s1 int) int {
	if c == 0 {
		return 0
	}
	return s1 + 16*(c-1)
}

// geometry returns nch and s1 for a reduction of length k ≥ 16.
func geometry(k int) (nch, s1 int) {
	nch = (k + 15) / 16
	return nch, k - 16*(nch-1)
}

// Mode bits of the micro-kernels.
const (
	modeInt8     = 1  // requantize to int8, else int32 out
	modeRowBias  = 2  // add a per-row bias
	modeUnpaired = 4  // v80: one product per int16 lane (an operand holds −128)
	modeFastReq  = 8  // requantize with SQDMULH + SRSHL (every fastRequant)
	modeNoClamp  = 16 // dotprod, fast path: the clamp is [−128, 127], skip it
)

// Packed is a B operand (weights) in a micro-kernel's layout, with the
// output stage folded in: column bias Bias[n] − InZP·Σ_k w[n,k] +
// K·InZP·WZP, and the per-channel multipliers and shifts. A weight zero
// point WZP ≠ 0 (legacy uint8 models) keeps the stored int8 weights (w −
// WZP may not fit int8): the kernels add −WZP·Σ_k x[m,k] per row, as
// BatchMatMul does for its B zero point. Build it once at load with PackFC
// or PackConv.
type Packed struct {
	path     Path
	n, k     int
	nch, s1  int
	np       int // panels
	b        []int8
	cd       []int32
	unpaired bool
	fastReq  bool // every column's multiplier passes fastRequant
	rounding quant.Rounding
	wzp      int32 // weight zero point: a row bias −wzp·Σ_k x[m,k]
	// groups holds a grouped convolution's operands, one per group, whose
	// b and cd are consecutive sub-slices of b and cd (PackConv).
	groups []Packed
}

// Bytes returns the memory the packed operand holds.
func (w *Packed) Bytes() int { return len(w.b) + 4*len(w.cd) }

// Path returns the path w was packed for.
func (w *Packed) Path() Path { return w.path }

// packB packs B[n,k] = src[n·sn + k·sk] (n < N, k < K) into dst in layout
// l, and returns Σ_k B[n,k] per column and whether any byte is −128.
func packB(l layout, dst []int8, src []int8, n, k, sn, sk int, colSum []int32) (hasMin bool) {
	nch, s1 := geometry(k)
	pw := l.pw
	np := (n + pw - 1) / pw
	dst = dst[:np*nch*16*pw]
	clear(dst)
	for p := 0; p < np; p++ {
		panel := dst[p*nch*16*pw:]
		for j := 0; j < pw; j++ {
			col := p*pw + j
			if col >= n {
				break
			}
			var sum int32
			for c := 0; c < nch; c++ {
				st := chunkStart(c, s1)
				i0 := 0
				if c == 1 {
					i0 = 16 - st // k < 16 belongs to chunk 0
				}
				for i := i0; i < 16; i++ {
					v := src[col*sn+(st+i)*sk]
					panel[l.offset(c, j, i)] = v
					sum += int32(v)
					hasMin = hasMin || v == -128
				}
			}
			if colSum != nil {
				colSum[col] = sum
			}
		}
	}
	return hasMin
}

// fillColumnData writes the column data of every panel: bias[n] (0 beyond
// N) and the requantization of column n, mult(n).
func fillColumnData(l layout, cd []int32, n int, bias func(n int) int32, mult func(n int) quant.Multiplier) (fast bool) {
	fast = true
	pw := l.pw
	words := cdBytes(pw) / 4
	np := len(cd) / words
	for p := 0; p < np; p++ {
		c := cd[p*words : (p+1)*words]
		for j := 0; j < pw; j++ {
			col := p*pw + j
			var m quant.Multiplier
			if col < n {
				c[j] = bias(col)
				m = mult(col)
			} else {
				c[j] = 0
			}
			if !setRequant(c, pw, j, m) {
				fast = false
			}
		}
	}
	return fast
}

// PackFC packs FullyConnected weights w [N,K] for path, folding p's bias,
// input and weight zero points and output stage. It returns nil when the
// micro-kernels do not apply (K < 16); callers then use kernels/ref.
func PackFC(path Path, p *kernels.FCParams, w []int8) *Packed {
	return pack(path, p.N, p.K, w, p.InZP, p.WZP, p.Bias, &p.Out)
}

// pack packs w [n,k] with the column bias bias[c] − zp·Σ_k w[c,k] +
// k·zp·wzp; the row bias −wzp·Σ_k x[m,k] is the kernels' (gemmArgs.bzp).
// All in wrapping int32, as ref's accumulator: equal modulo 2^32.
func pack(path Path, n, k int, w []int8, zp, wzp int32, bias []int32, out *kernels.OutputStage) *Packed {
	if k < 16 || n < 1 {
		return nil
	}
	l := layoutOf(path)
	nch, s1 := geometry(k)
	np := (n + l.pw - 1) / l.pw
	pk := &Packed{path: path, n: n, k: k, nch: nch, s1: s1, np: np,
		b: make([]int8, np*nch*16*l.pw), cd: make([]int32, np*cdBytes(l.pw)/4), rounding: out.Rounding, wzp: wzp}
	sums := make([]int32, n)
	pk.unpaired = packB(l, pk.b, w, n, k, k, 1, sums)
	pk.fastReq = fillColumnData(l, pk.cd, n, func(c int) int32 {
		var b int32
		if bias != nil {
			b = bias[c]
		}
		return b - zp*sums[c] + int32(k)*zp*wzp
	}, func(c int) quant.Multiplier {
		if len(out.Mult) > 1 {
			return out.Mult[c]
		}
		return out.Mult[0]
	})
	return pk
}

// kernel runs the micro-kernel of l.
func kernel(l layout, a *int8, lda, rows, nch, s1 int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, mode, zp, lo, hi int) {
	if l.dot {
		gemmDot(a, lda, rows, nch, s1, b, np, cd, rb, out, ldc, mode, zp, lo, hi)
	} else {
		gemmV80(a, lda, rows, nch, s1, b, np, cd, rb, out, ldc, mode, zp, lo, hi)
	}
}

// gemm computes rows × N outputs from A rows a (stride lda bytes) and the
// packed w: int8 through out8 with the output stage os, or int32 through
// out32 (when out8 is nil). rb, when not nil, holds a bias per row.
type gemmArgs struct {
	w        *Packed
	b        []int8  // packed B (w.b, or a per-call buffer)
	cd       []int32 // column data
	unpaired bool
	fastReq  bool
	os       *kernels.OutputStage
	// bzp, when not zero, adds −bzp·Σ_k a[m,k] to every output of row m
	// (BatchMatMul's zero point of B).
	bzp int32
	// mask clears chunk 1's bytes below k = 16 (chunk1Mask), for rowBias.
	mask [16]int8
}

// chunk1Mask returns the mask that keeps chunk 1's bytes at k ≥ 16: 0 for
// the first 16 − s1 bytes, −1 (all bits) for the others.
func chunk1Mask(s1 int) (m [16]int8) {
	for i := 16 - s1; i < 16; i++ {
		m[i] = -1
	}
	return m
}

// rowBias fills rb with −bzp·Σ_k a[m,k] for the rows of one tile (rows
// past the tile repeat its last row).
func (g *gemmArgs) rowBias(rb *[4]int32, a []int8, lda, m0, rows int) {
	rowSums(&a[m0*lda], lda, rows, g.w.nch, g.w.s1, &g.mask, int(g.bzp), rb)
}

// run computes rows [0, m) of A (a, stride lda) into out8 (int8, stride
// ldo) or out32 (int32, stride ldo).
func (g *gemmArgs) run(a []int8, lda, m int, out8 []int8, out32 []int32, ldo int) {
	w := g.w
	l := layoutOf(w.path)
	pw, mr := l.pw, l.mr
	full := w.n / pw
	rem := w.n - full*pw
	mode := 0
	var zp, lo, hi int
	int8Out := out8 != nil
	if int8Out {
		if g.os.Rounding == quant.RoundDouble || g.os.Scale != nil || !int8Epilogue(g.os) {
			g.runDouble(a, lda, m, out8, ldo)
			return
		}
		mode |= modeInt8
		if g.fastReq {
			mode |= modeFastReq
		}
		zp, lo, hi = int(g.os.OutZP), int(g.os.ActMin), int(g.os.ActMax)
		if lo <= -128 && hi >= 127 {
			mode |= modeNoClamp
		}
	}
	if g.unpaired {
		mode |= modeUnpaired
	}
	var rb0 [4]int32
	if g.bzp != 0 {
		g.mask = chunk1Mask(w.s1)
	}
	panelBytes := w.nch * 16 * pw
	cdWords := cdBytes(pw) / 4
	for m0 := 0; m0 < m; m0 += mr {
		rows := min(mr, m-m0)
		ap := &a[m0*lda]
		tmode := mode
		rbp := &rb0[0]
		if g.bzp != 0 {
			g.rowBias(&rb0, a, lda, m0, rows)
			tmode |= modeRowBias
		}
		if full > 0 {
			var op unsafe.Pointer
			ldc := ldo
			if int8Out {
				op = unsafe.Pointer(&out8[m0*ldo])
			} else {
				op = unsafe.Pointer(&out32[m0*ldo])
				ldc *= 4
			}
			kernel(l, ap, lda, rows, w.nch, w.s1, &g.b[0], full, &g.cd[0], rbp, op, ldc, tmode, zp, lo, hi)
		}
		if rem > 0 {
			// The last, partial panel goes through a tile buffer.
			var t8 [4 * 16]int8
			var t32 [4 * 16]int32
			bp, cp := &g.b[full*panelBytes], &g.cd[full*cdWords]
			if int8Out {
				kernel(l, ap, lda, rows, w.nch, w.s1, bp, 1, cp, rbp, unsafe.Pointer(&t8[0]), pw, tmode, zp, lo, hi)
				for r := 0; r < rows; r++ {
					copy(out8[(m0+r)*ldo+full*pw:(m0+r)*ldo+w.n], t8[r*pw:])
				}
			} else {
				kernel(l, ap, lda, rows, w.nch, w.s1, bp, 1, cp, rbp, unsafe.Pointer(&t32[0]), 4*pw, tmode, zp, lo, hi)
				for r := 0; r < rows; r++ {
					copy(out32[(m0+r)*ldo+full*pw:(m0+r)*ldo+w.n], t32[r*pw:])
				}
			}
		}
	}
}

// runDouble is run for RoundDouble output stages and XNNPACK's float32
// ones (OutputStage.Scale): the micro-kernel produces int32 tiles, Go
// requantizes them with OutputStage.Requantize, ref's own function.
func (g *gemmArgs) runDouble(a []int8, lda, m int, out8 []int8, ldo int) {
	w := g.w
	l := layoutOf(w.path)
	pw, mr := l.pw, l.mr
	mode := 0
	if g.unpaired {
		mode |= modeUnpaired
	}
	var rb0 [4]int32
	var t32 [4 * 16]int32
	if g.bzp != 0 {
		g.mask = chunk1Mask(w.s1)
	}
	panelBytes := w.nch * 16 * pw
	cdWords := cdBytes(pw) / 4
	// A float32 stage whose clamp is within int8 and zero point within
	// ±32640 runs requantTile on each tile's columns in eights (see
	// scaleStageFits).
	st := g.os
	tile := scaleStageFits(st)
	var one [8]float32 // a per-tensor scale, repeated (scale step 0)
	step := 32
	if tile && len(st.Scale) == 1 {
		for i := range one {
			one[i] = st.Scale[0]
		}
		step = 0
	}
	for m0 := 0; m0 < m; m0 += mr {
		rows := min(mr, m-m0)
		tmode := mode
		if g.bzp != 0 {
			g.rowBias(&rb0, a, lda, m0, rows)
			tmode |= modeRowBias
		}
		for p := 0; p < w.np; p++ {
			kernel(l, &a[m0*lda], lda, rows, w.nch, w.s1, &g.b[p*panelBytes], 1, &g.cd[p*cdWords], &rb0[0], unsafe.Pointer(&t32[0]), 4*pw, tmode, 0, 0, 0)
			cols := min(pw, w.n-p*pw)
			done := 0
			if tile && cols >= 8 {
				done = cols &^ 7
				sc := &one[0]
				if step != 0 {
					sc = &st.Scale[p*pw]
				}
				requantTile(&t32[0], 4*pw, rows, done/8, sc, step, &out8[m0*ldo+p*pw], ldo, int(st.OutZP), int(st.ActMin), int(st.ActMax))
			}
			for r := 0; r < rows && done < cols; r++ {
				o := out8[(m0+r)*ldo+p*pw+done : (m0+r)*ldo+p*pw+cols]
				if st.Scale != nil {
					requantScale(st, t32[r*pw+done:r*pw+cols], p*pw+done, o)
					continue
				}
				for j := range o {
					o[j] = st.Requantize(t32[r*pw+done+j], p*pw+done+j)
				}
			}
		}
	}
}

// scaleStageFits reports whether the NEON float32 stage (scaleStage in
// gen_asm.go) gives OutputStage.Requantize's bytes for s: a float32 stage
// that int8Epilogue accepts.
func scaleStageFits(s *kernels.OutputStage) bool {
	return s.Scale != nil && int8Epilogue(s)
}

// int8Epilogue reports whether the int8 epilogues (the GEMM
// micro-kernels' and dwConv3x3's: requant4 or requant4Fast, then SQXTN to
// int16 — in the fast path SQADD of the zero point there — SQXTN to int8,
// SMIN by ActMax and SMAX by ActMin, ref's order; scaleStage's, for
// dwConv3x3Scale and requantTile) give OutputStage.Requantize's bytes for
// s: ActMin and ActMax within int8 and |OutZP| ≤ 32640, so that every
// saturated value lies beyond the clamp on the exact sum's side. A clamp
// leaving int8 would make ref's int8(v) wrap what the narrowing
// saturates (and the byte clamp would truncate it); a larger zero point
// would bring a value saturated at ±32767 back inside int8. Other stages
// requantize int32 tiles in Go (runDouble) or stay with kernels/ref.
func int8Epilogue(s *kernels.OutputStage) bool {
	return in8(s.ActMin) && in8(s.ActMax) && s.OutZP >= -32640 && s.OutZP <= 32640
}

// binaryEpilogue is int8Epilogue for Add, Sub and Mul (addInt8*,
// addFixed, mulScale), which also need ActMin ≤ ActMax: ref's finish is
// a step there (ActMin below it, ActMax above), which no byte clamp
// gives.
func binaryEpilogue(p *kernels.BinaryParams) bool {
	return in8(p.ActMin) && in8(p.ActMax) && p.ActMin <= p.ActMax && p.OutZP >= -32640 && p.OutZP <= 32640
}

// in8 reports whether v is an int8 value.
func in8(v int32) bool { return v >= -128 && v <= 127 }

// requantScale is OutputStage.Requantize for XNNPACK's float32 stage over
// the accumulators of columns n0 … n0+len(acc)−1 of one row, written to
// out: the same expression, its loop-invariant parts hoisted.
func requantScale(s *kernels.OutputStage, acc []int32, n0 int, out []int8) {
	zp, lo, hi := int64(s.OutZP), int64(s.ActMin), int64(s.ActMax)
	out = out[:len(acc)]
	if len(s.Scale) == 1 {
		sc := s.Scale[0]
		for j, a := range acc {
			f := float32(float32(a) * sc)
			r := int64(math.RoundToEven(float64(max(-1<<30, min(1<<30, f)))))
			out[j] = int8(max(lo, min(hi, zp+r)))
		}
		return
	}
	scale := s.Scale[n0 : n0+len(acc)]
	for j, a := range acc {
		f := float32(float32(a) * scale[j])
		r := int64(math.RoundToEven(float64(max(-1<<30, min(1<<30, f)))))
		out[j] = int8(max(lo, min(hi, zp+r)))
	}
}

// FullyConnectedInt8 is ref.FullyConnectedInt8 with weights packed by
// PackFC(…, p, w): identical results.
func FullyConnectedInt8(p *kernels.FCParams, x []int8, w *Packed, out []int8) {
	g := gemmArgs{w: w, b: w.b, cd: w.cd, unpaired: w.unpaired, fastReq: w.fastReq, os: &p.Out, bzp: w.wzp}
	g.run(x[:p.M*p.K], p.K, p.M, out[:p.M*p.N], nil, p.N)
}

// GemmInt32 computes out[m,n] = Bias[n] + Σ_k (x[m,k] − InZP)·(w[n,k] −
// WZP) in int32 (no requantization) with weights packed by PackFC(…, p, w).
func GemmInt32(p *kernels.FCParams, x []int8, w *Packed, out []int32) {
	g := gemmArgs{w: w, b: w.b, cd: w.cd, unpaired: w.unpaired, os: &p.Out, bzp: w.wzp}
	g.run(x[:p.M*p.K], p.K, p.M, nil, out[:p.M*p.N], p.N)
}
