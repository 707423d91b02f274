// Package x86 holds the int8 GEMM of FullyConnected and BatchMatMul in
// amd64 assembly, in two paths: AVX-512 VNNI (VPDPBUSD) and AVX2
// (VPMADDWD on int16-widened operands). Every result is bit for bit
// kernels/ref. The 3×3 depthwise convolution has one AVX2 kernel for
// both paths (PackDepthwise). Weights are packed once at load (PackFC);
// BatchMatMul packs its B operand per call on the stack. The Go twins of
// the micro-kernels (gemm_generic.go, depthwise_generic.go) run the same
// packed layouts on every other architecture and with -tags purego.
package x86

import (
	"math"
	"unsafe"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/quant"
)

//go:generate go run gen_asm.go -o gemm_amd64.s

// Path is one implementation of the int8 kernels.
type Path uint8

const (
	// AVX2 widens both operands to int16 and multiplies pairs with
	// VPMADDWD (exact: no int16 saturation, unlike VPMADDUBSW on int8×int8).
	AVX2 Path = iota + 1
	// AVX512VNNI multiplies unsigned by signed bytes with VPDPBUSD: the
	// weights are packed as w+128 and −128·Σ_k a[m,k] is added per row.
	AVX512VNNI
)

func (p Path) String() string {
	switch p {
	case AVX2:
		return "avx2"
	case AVX512VNNI:
		return "avx512vnni"
	}
	return "invalid"
}

// Paths lists every path, slowest first.
var Paths = []Path{AVX2, AVX512VNNI}

// Asm reports whether the kernels are amd64 assembly (false: the Go twins,
// on other architectures or with -tags purego).
func Asm() bool { return asm }

// Supported reports whether this CPU can run path p, and why.
func Supported(p Path) (bool, string) {
	if !asm {
		switch p {
		case AVX2, AVX512VNNI:
			return true, "Go twin of the " + p.String() + " kernels"
		}
		return false, "unknown path"
	}
	return cpuSupports(p)
}

// Best returns the fastest path this CPU supports and why, or false when
// it supports none (an amd64 CPU without AVX2).
func Best() (Path, string, bool) {
	ok, why := Supported(AVX512VNNI)
	if ok {
		return AVX512VNNI, why, true
	}
	if ok2, why2 := Supported(AVX2); ok2 {
		return AVX2, why2 + "; " + why, true
	}
	_, why2 := Supported(AVX2)
	return 0, why2, false
}

// mr is the rows of a micro-kernel tile.
const mr = 6

// layout describes one path's packed B. Columns come in units of 16; a
// panel holds units 16-column units (VNNI 4, AVX2 1). K is cut into groups
// of gk (VNNI 4 bytes, AVX2 2 int16); a group of a unit is 64 bytes.
//
// VNNI: group g covers k 4g…4g+3 for g < K/4; when 4 ∤ K a last group
// covers K−4…K−1 and its bytes for k < 4⌊K/4⌋ are zero, so no load leaves
// an A row. Byte (lane j, k) is at j·4 + k%4 and holds w+128 as uint8
// (zero for padding). AVX2: group g covers k 2g, 2g+1 (A is widened into
// a zero-padded buffer); int16 (lane j, k) is at (j/8)·32 + (j%8)·4 + (k%2)·2.
type layout struct {
	units, gk int
	vnni      bool
}

func layoutOf(p Path) layout {
	if p == AVX512VNNI {
		return layout{units: 4, gk: 4, vnni: true}
	}
	return layout{units: 1, gk: 2}
}

// groups returns the K groups and, for VNNI, the tail group's first k (0
// for none).
func (l layout) groups(k int) (g, kg, ktail int) {
	kg = k / l.gk
	if l.vnni {
		if k%4 != 0 {
			return kg + 1, kg, k - 4
		}
		return kg, kg, 0
	}
	return (k + 1) / 2, (k + 1) / 2, 0
}

// minK is the shortest reduction the micro-kernels take (VNNI reads whole
// groups of 4 bytes from A rows).
const minK = 4

// maxAVX2K bounds K on the AVX2 path: a tile of A is widened into a stack
// buffer of mr·maxAVX2K int16.
const maxAVX2K = 2048

// Column data: 64 int32 words per 16 columns: bias[16], M[16], then
// M of the odd columns at the even words (VPMULDQ reads the low dword of
// each qword), then s−1 for the rounding shift by s = −Shift.
const cdWords = 64

// fastRequant reports whether m.Apply(x) equals (⌊x·M/2^31⌋ >> (s−1) + 1)
// >> 1 with s = −Shift ≥ 1 for every int32 x. With x·M = q·2^31 + r
// (0 ≤ r < 2^31), Apply is ⌊(x·M + 2^(30+s))/2^(31+s)⌋ = ⌊(q + 2^(s−1))/2^s⌋
// because r/2^(31+s) < 2^−s cannot carry past the next multiple of 2^−s;
// and ⌊(⌊q/2^(s−1)⌋ + 1)/2⌋ = ⌊(q/2^(s−1) + 1)/2⌋. Neither step overflows
// int32 (|q| < 2^31 − 1 for M < 2^31). A zero multiplier gives 0 both ways.
func fastRequant(m quant.Multiplier) bool { return m.Shift <= -1 || m.M == 0 }

// setColumn writes column j's bias and multiplier into the column data c
// of its 16-column unit.
func setColumn(c []int32, j int, bias int32, m quant.Multiplier) {
	c[j] = bias
	c[16+j] = m.M
	if j%2 == 1 {
		c[32+j-1] = m.M
	}
	s := int32(1)
	if m.Shift <= -1 {
		s = -m.Shift
	}
	c[48+j] = s - 1
}

// int8Epilogue reports whether the int8 epilogues (the GEMM
// micro-kernels', dwConv3x3's and requantTile's: a saturating pack to
// int16, VPADDSW of the zero point, a saturating pack to int8, then
// VPMINSB by ActMax and VPMAXSB by ActMin, ref's order) give
// OutputStage.Requantize's bytes for s: with ActMin and ActMax in int8
// and |OutZP| ≤ 32640 every saturated value lies beyond the clamp on the
// exact sum's side (the argument is gen_asm.go's requant). A clamp
// leaving int8 would make ref's int8(v) wrap what the packs saturate, a
// larger zero point would bring a value saturated at ±32767 back inside
// int8; such stages requantize int32 tiles in Go.
func int8Epilogue(s *kernels.OutputStage) bool {
	return in8(s.ActMin) && in8(s.ActMax) && s.OutZP >= -32640 && s.OutZP <= 32640
}

// in8 reports whether v is an int8 value.
func in8(v int32) bool { return v >= -128 && v <= 127 }

// epilogue holds the int8 output stage's constants in the vector forms
// the micro-kernels load.
type epilogue struct {
	zp     [16]int16
	one    [8]int32
	lo, hi [16]int8
}

func newEpilogue(os *kernels.OutputStage) epilogue {
	var e epilogue
	for i := range e.zp {
		e.zp[i] = int16(max(-32768, min(32767, os.OutZP)))
	}
	for i := range e.one {
		e.one[i] = 1
	}
	lo, hi := int8(max(-128, min(127, os.ActMin))), int8(max(-128, min(127, os.ActMax)))
	for i := range e.lo {
		e.lo[i], e.hi[i] = lo, hi
	}
	return e
}

// Packed is a B operand (weights) in a path's layout with the output stage
// folded in: column bias Bias[n] − InZP·Σ_k w[n,k] and the per-channel
// multipliers. Build it once at load with PackFC.
type Packed struct {
	path    Path
	n, k    int
	b       []int8
	cd      []int32
	fastReq bool  // every column's multiplier passes fastRequant
	wzp     int32 // weight zero point: a row bias −wzp·Σ_k x[m,k]
	// groups holds a grouped convolution's operands, one per group, whose
	// b and cd are consecutive sub-slices of b and cd (PackConv).
	groups []Packed
}

// Bytes returns the memory the packed operand holds.
func (w *Packed) Bytes() int { return len(w.b) + 4*len(w.cd) }

// Path returns the path w was packed for.
func (w *Packed) Path() Path { return w.path }

// packedSize returns the bytes of packed B and the words of column data
// for n columns and reduction k.
func (l layout) packedSize(n, k int) (bytes, words int) {
	g, _, _ := l.groups(k)
	units := (n + 15) / 16
	return units * g * 64, units * cdWords
}

// packB packs B[n,k] = src[n·sn + k·sk] (n < N, k < K) into dst and
// stores Σ_k B[n,k] in colSum.
func (l layout) packB(dst []int8, src []int8, n, k, sn, sk int, colSum []int32) {
	g, kg, ktail := l.groups(k)
	units := (n + 15) / 16
	clear(dst)
	for col := 0; col < n; col++ {
		u, j := col/16, col%16
		p := u / l.units
		width := min(l.units, units-p*l.units)
		base := p*l.units*g*64 + (u%l.units)*64
		var sum int32
		if l.vnni {
			for gi := 0; gi < g; gi++ {
				k0 := 4 * gi
				if gi == kg {
					k0 = ktail
				}
				o := base + gi*width*64 + j*4
				for i := 0; i < 4; i++ {
					kk := k0 + i
					if gi == kg && kk < 4*kg {
						continue // counted by the last full group
					}
					v := src[col*sn+kk*sk]
					dst[o+i] = int8(uint8(v) ^ 0x80)
					sum += int32(v)
				}
			}
		} else {
			d := unsafe.Slice((*int16)(unsafe.Pointer(&dst[0])), len(dst)/2)
			for kk := 0; kk < k; kk++ {
				v := src[col*sn+kk*sk]
				o := base + (kk/2)*64 + (j/8)*32 + (j%8)*4 + (kk%2)*2
				d[o/2] = int16(v)
				sum += int32(v)
			}
		}
		colSum[col] = sum
	}
}

// PackFC packs FullyConnected weights w [N,K] for path, folding p's bias,
// input zero point and output stage. It returns nil when the micro-kernels
// do not apply (K < 4, K > 2048 on AVX2); callers then use kernels/ref. A
// weight zero point (legacy uint8 models) keeps the stored bytes: the
// column bias folds K·InZP·WZP and the kernels add −WZP·Σ_k x per row, as
// for BatchMatMul's B zero point. XNNPACK's float32 stage
// (OutputStage.Scale) requantizes the int32 tiles with requantTile, 8
// columns a step (a tile's last columns short of 8 in Go).
func PackFC(path Path, p *kernels.FCParams, w []int8) *Packed {
	if p.K < minK || p.N < 1 || (path == AVX2 && p.K > maxAVX2K) {
		return nil
	}
	kzz := int32(p.K) * p.InZP * p.WZP
	l := layoutOf(path)
	n, k := p.N, p.K
	nb, nw := l.packedSize(n, k)
	pk := &Packed{path: path, n: n, k: k, b: make([]int8, nb), cd: make([]int32, nw), fastReq: true, wzp: p.WZP}
	sums := make([]int32, n)
	l.packB(pk.b, w, n, k, k, 1, sums)
	for col := 0; col < n; col++ {
		var b int32
		if p.Bias != nil {
			b = p.Bias[col]
		}
		m := p.Out.Mult[0]
		if len(p.Out.Mult) > 1 {
			m = p.Out.Mult[col]
		}
		pk.fastReq = pk.fastReq && fastRequant(m)
		setColumn(pk.cd[(col/16)*cdWords:], col%16, b-p.InZP*sums[col]+kzz, m)
	}
	return pk
}

// gemm is one product over packed B: A rows (stride lda bytes) times w.
type gemm struct {
	path    Path
	n, k    int
	b       []int8
	cd      []int32
	fastReq bool
	os      *kernels.OutputStage
	// bzp adds −bzp·Σ_k a[m,k] to every output of row m (BatchMatMul's
	// zero point of B).
	bzp int32
}

// run computes rows [0, m) of A into out8 (int8, stride ldo) or, when
// out8 is nil, out32 (int32, stride ldo).
func (g *gemm) run(a []int8, lda, m int, out8 []int8, out32 []int32, ldo int) {
	if g.path == AVX2 {
		var wbuf [mr * maxAVX2K]int16
		g.tiles(a, lda, m, out8, out32, ldo, wbuf[:])
		return
	}
	g.tiles(a, lda, m, out8, out32, ldo, nil)
}

// tiles is run with wbuf, the AVX2 path's buffer of widened A rows.
func (g *gemm) tiles(a []int8, lda, m int, out8 []int8, out32 []int32, ldo int, wbuf []int16) {
	l := layoutOf(g.path)
	G, kg, ktail := l.groups(g.k)
	units := (g.n + 15) / 16
	fullPanels := units / l.units
	lastUnits := units - fullPanels*l.units
	// Columns the kernels may store directly: whole panels of 16-column
	// units that lie inside N.
	direct := fullPanels
	if g.n%16 != 0 && lastUnits == 0 {
		direct-- // the last full panel ends in a partial unit
	}
	fast := out8 != nil && g.fastReq && g.os.Rounding == quant.RoundSingle && g.os.Scale == nil && int8Epilogue(g.os)
	var ep epilogue
	if fast {
		ep = newEpilogue(g.os)
	}
	// XNNPACK's float32 stage: requantTile on each tile's columns in
	// eights, the rest (and stages it cannot take) in Go.
	var one [8]float32
	step, scaled := 0, false
	if out8 != nil && g.os.Scale != nil {
		step, scaled = scaleTile(g.os, &one)
	}
	zp, lo, hi := int(g.os.OutZP), int(g.os.ActMin), int(g.os.ActMax)
	var tile [mr * 64]int32
	var rb [mr]int32
	for m0 := 0; m0 < m; m0 += mr {
		rows := min(mr, m-m0)
		ap := unsafe.Pointer(&a[m0*lda])
		alda := lda
		for r := 0; r < rows; r++ {
			row := a[(m0+r)*lda : (m0+r)*lda+g.k]
			if l.vnni {
				rb[r] = -(128 + g.bzp) * sumInt8(row)
			} else {
				s := widenRow(row, wbuf[r*maxAVX2K:])
				rb[r] = -g.bzp * s
			}
		}
		if !l.vnni {
			ap, alda = unsafe.Pointer(&wbuf[0]), 2*maxAVX2K
		}
		call := func(p0, np, nv int, out unsafe.Pointer, ldc int, int8o int) {
			off := p0 * l.units * G * 64
			kernel(l, nv, (*int8)(ap), alda, rows, kg, ktail, &g.b[off], np, &g.cd[p0*l.units*cdWords], &rb[0], out, ldc, int8o, &ep)
		}
		if fast {
			if direct > 0 {
				call(0, direct, l.units, unsafe.Pointer(&out8[m0*ldo]), ldo, 1)
			}
		} else if out8 == nil && direct > 0 {
			call(0, direct, l.units, unsafe.Pointer(&out32[m0*ldo]), 4*ldo, 0)
		} else {
			direct = 0
		}
		// The remaining panels go through a tile: int8 from the kernel's
		// epilogue where it applies, else int32 requantized here.
		for p := direct; p*l.units < units; p++ {
			nv := min(l.units, units-p*l.units)
			c0 := p * l.units * 16
			cols := min(g.n-c0, nv*16)
			if fast {
				var t8 [mr * 64]int8
				call(p, 1, nv, unsafe.Pointer(&t8[0]), 64, 1)
				for r := 0; r < rows; r++ {
					copy(out8[(m0+r)*ldo+c0:(m0+r)*ldo+c0+cols], t8[r*64:])
				}
				continue
			}
			call(p, 1, nv, unsafe.Pointer(&tile[0]), 4*64, 0)
			done := 0
			if scaled && cols >= 8 {
				done = cols &^ 7
				sc := &one[0]
				if step != 0 {
					_ = g.os.Scale[c0+done-1] // columns c0 … c0+done−1
					sc = &g.os.Scale[c0]
				}
				_ = out8[(m0+rows-1)*ldo+c0+done-1]
				requantTile(&tile[0], 4*64, rows, done/8, sc, step, &out8[m0*ldo+c0], ldo, zp, lo, hi)
			}
			for r := 0; r < rows; r++ {
				t := tile[r*64 : r*64+cols]
				if out8 == nil {
					copy(out32[(m0+r)*ldo+c0:], t)
					continue
				}
				o := out8[(m0+r)*ldo+c0 : (m0+r)*ldo+c0+cols]
				for j := done; j < cols; j++ {
					o[j] = g.os.Requantize(t[j], c0+j)
				}
			}
		}
	}
}

// scaleTile reports whether requantTile reproduces s, a float32 stage:
// every scale finite (a NaN or infinite one could make a NaN product,
// which Go and VCVTPS2DQ convert differently) and int8Epilogue. It
// returns the scale step: 32 for per-channel scales, 0 for a per-tensor
// scale, which it repeats in one.
func scaleTile(s *kernels.OutputStage, one *[8]float32) (step int, ok bool) {
	if !int8Epilogue(s) {
		return 0, false
	}
	for _, v := range s.Scale {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, false
		}
	}
	if len(s.Scale) > 1 {
		return 32, true
	}
	for i := range one {
		one[i] = s.Scale[0]
	}
	return 0, true
}

// widenRow widens row into dst (int16), zero-padding to an even length,
// and returns Σ row.
func widenRow(row []int8, dst []int16) int32 {
	n16 := len(row) / 16
	if n16 > 0 {
		widen(&row[0], &dst[0], n16)
	}
	for i := 16 * n16; i < len(row); i++ {
		dst[i] = int16(row[i])
	}
	if len(row)%2 == 1 {
		dst[len(row)] = 0
	}
	return sumInt8(row)
}

// sumInt8 returns Σ v.
func sumInt8(v []int8) int32 {
	var s int32
	if n32 := len(v) / 32; n32 > 0 {
		s = sumBytes(&v[0], n32)
		v = v[32*n32:]
	}
	for _, x := range v {
		s += int32(x)
	}
	return s
}

// kernel runs the micro-kernel of l with nv units per panel.
func kernel(l layout, nv int, a *int8, lda, rows, kg, ktail int, b *int8, np int, cd, rb *int32, out unsafe.Pointer, ldc, int8o int, q *epilogue) {
	if !l.vnni {
		gemmAVX2(a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
		return
	}
	switch nv {
	case 4:
		gemmVNNI4(a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
	case 3:
		gemmVNNI3(a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
	case 2:
		gemmVNNI2(a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
	default:
		gemmVNNI1(a, lda, rows, kg, ktail, b, np, cd, rb, out, ldc, int8o, q)
	}
}

// FullyConnectedInt8 is ref.FullyConnectedInt8 with weights packed by
// PackFC(…, p, w): identical results.
func FullyConnectedInt8(p *kernels.FCParams, x []int8, w *Packed, out []int8) {
	if p.M == 0 {
		return
	}
	g := gemm{path: w.path, n: w.n, k: w.k, b: w.b, cd: w.cd, fastReq: w.fastReq, os: &p.Out, bzp: w.wzp}
	g.run(x[:p.M*p.K], p.K, p.M, out[:p.M*p.N], nil, p.N)
}

// GemmInt32 computes out[m,n] = Bias[n] + Σ_k (x[m,k] − InZP)·(w[n,k] −
// WZP) in int32 (no requantization) with weights packed by PackFC(…, p, w).
func GemmInt32(p *kernels.FCParams, x []int8, w *Packed, out []int32) {
	if p.M == 0 {
		return
	}
	g := gemm{path: w.path, n: w.n, k: w.k, b: w.b, cd: w.cd, os: &p.Out, bzp: w.wzp}
	g.run(x[:p.M*p.K], p.K, p.M, nil, out[:p.M*p.N], p.N)
}
