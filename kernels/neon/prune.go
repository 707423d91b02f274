package neon

import (
	"math"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// The research ("seed") operators whose integer work is a GEMM in
// disguise run through the GEMM micro-kernels: ZOSensitivity's Jacobian
// products and DiverseSelect's cosine (Gram) matrix. Both keep
// kernels/ref's float arithmetic, in the same order, on exact integers,
// so the results are identical.

// zoMaxF bounds the hidden width F: a digit product sum Σ_c d·w over F
// columns (|d| ≤ 128, |w| ≤ 128) must fit int32.
const zoMaxF = (1<<31 - 1) / (128 * 128)

// ZOSensitivity is ZOSensitivityInt8 (modes ZOJVP and ZOLowRankJVP)
// prepared at load: the Jacobian-side matrix w [R,F] packed for a path,
// and the op's scratch.
//
// For token i and direction j, ref accumulates Σ_c t_c·w[o,c] in int64
// with t_c = GELU′(z_ic)·a_jc (Q14 × int8, |t| < 2^22). Here t is cut
// into three signed base-256 digits, t = d0 + 2^8·d1 + 2^16·d2 (each in
// [−128, 127]), the 3M digit rows of a token go through the int8 GEMM
// against w (int32 out, exact), and Σ t·w = S0 + 2^8·S1 + 2^16·S2 is
// rebuilt in int64: the same integer, then ref's float64 steps.
type ZOSensitivity struct {
	w       *Packed
	m, f, r int
	gz      []int16 // GELU′ of one token's F codes
	dig     []int8  // 3M rows of F: digit d of t for direction j at row 3j+d
	y       []int32 // 3M rows of R: the GEMM of dig with w
}

// PrepareZOSensitivity packs w8 [R,F] for path; nil when the GEMM path
// does not apply (mode ZOFroDiag, F < 16 or too large), and the op stays
// with kernels/ref.
func PrepareZOSensitivity(path Path, p *kernels.ZOSensitivityParams, w8 []int8) *ZOSensitivity {
	if p.Mode != kernels.ZOJVP && p.Mode != kernels.ZOLowRankJVP || p.F < 16 || p.F > zoMaxF || p.M < 1 || p.R < 1 {
		return nil
	}
	fc := kernels.FCParams{M: 3 * p.M, N: p.R, K: p.F, Out: kernels.OutputStage{Mult: []quant.Multiplier{{}}}}
	pk := PackFC(path, &fc, w8[:p.R*p.F])
	if pk == nil {
		return nil
	}
	return &ZOSensitivity{w: pk, m: p.M, f: p.F, r: p.R,
		gz: make([]int16, p.F), dig: make([]int8, 3*p.M*p.F), y: make([]int32, 3*p.M*p.R)}
}

// Bytes returns the memory the packed matrix and the scratch hold.
func (k *ZOSensitivity) Bytes() int {
	return k.w.Bytes() + 2*len(k.gz) + len(k.dig) + 4*len(k.y)
}

// Int8 is ref.ZOSensitivityInt8(p, z, a, w8, nil, t, s) for the w8 that k
// was prepared with: identical results. Not safe for concurrent use (the
// scratch is k's).
func (k *ZOSensitivity) Int8(p *kernels.ZOSensitivityParams, z, a []int8, s []float32) {
	F, M, R := k.f, k.m, k.r
	g := p.GradQ14
	gz, dig, y := k.gz[:F], k.dig[:3*M*F], k.y[:3*M*R]
	a = a[:M*F]
	ws, ds := p.WScale[:R], p.DirScale[:M]
	gemm := gemmArgs{w: k.w, b: k.w.b, cd: k.w.cd, unpaired: k.w.unpaired}
	for i := 0; i < p.Rows; i++ {
		for c, v := range z[i*F : (i+1)*F] {
			gz[c] = g[uint8(v)^0x80]
		}
		// t = d0 + 2^8·d1 + 2^16·d2 with d0 = int8(t), t1 = (t − d0)/2^8
		// = (t + 2^7) >> 8, d1 = int8(t1), d2 = (t1 + 2^7) >> 8.
		for j := 0; j < M; j++ {
			aj, dj := a[j*F:(j+1)*F], dig[3*j*F:3*(j+1)*F]
			zoDigits(&gz[0], &aj[0], F/16, &dj[0], F)
			if F%16 != 0 {
				// The last 16 columns again, overlapping: same values.
				zoDigits(&gz[F-16], &aj[F-16], 1, &dj[F-16], F)
			}
		}
		gemm.run(dig, F, 3*M, nil, y, R)
		var tot float64
		for j := 0; j < M; j++ {
			y0 := y[3*j*R : 3*j*R+R]
			y1 := y[3*j*R+R : 3*j*R+2*R]
			y2 := y[3*j*R+2*R : 3*j*R+3*R]
			var n2 float64
			for o, ws := range ws {
				acc := int64(y0[o]) + int64(y1[o])<<8 + int64(y2[o])<<16
				v := float64(float64(acc) * float64(ws))
				n2 += float64(v * v)
			}
			tot += float64(math.Sqrt(n2) * float64(ds[j]))
		}
		s[i] = float32(tot / float64(p.M) / (1 << 14))
	}
}

// gramMaxD bounds the feature width: a dot product of zero-point-corrected
// int8 rows (|x − z| ≤ 255) over D columns must fit int32.
const gramMaxD = (1<<31 - 1) / (255 * 255)

// DiverseSelect is DiverseSelectInt8 prepared at load for up to Rows
// tokens: the dot products of the candidate rows, Σ_k (x_ak − z)(x_bk − z),
// come from one int8 GEMM of the candidates with themselves (the Gram
// matrix; the zero point folds into column and row biases as in
// BatchMatMul), exact in int32, and the greedy selection is ref's.
type DiverseSelect struct {
	path    Path
	rows, d int
	b       []int8  // the candidate rows packed as a B operand
	cd      []int32 // their column data
	sums    []int32 // Σ_k of each candidate row
	gram    []int32 // n×n of the current call
	n, pre  int     // candidates and prefix of the current call
	dot     func(a, b int) float64
}

// PrepareDiverseSelect returns the prepared selection for p's planned
// Rows and D, or nil when the GEMM path does not apply (top-k, which reads
// no features; D < 16, or too large for exact int32 dot products).
func PrepareDiverseSelect(path Path, p *kernels.DiverseSelectParams) *DiverseSelect {
	if p.TopK || p.D < 16 || p.D > gramMaxD || p.Rows < 1 {
		return nil
	}
	l := layoutOf(path)
	nch, _ := geometry(p.D)
	np := (p.Rows + l.pw - 1) / l.pw
	k := &DiverseSelect{path: path, rows: p.Rows, d: p.D,
		b: make([]int8, np*nch*16*l.pw), cd: make([]int32, np*cdBytes(l.pw)/4),
		sums: make([]int32, p.Rows), gram: make([]int32, p.Rows*p.Rows)}
	k.dot = func(a, b int) float64 { return float64(k.gram[(a-k.pre)*k.n+b-k.pre]) }
	return k
}

// Bytes returns the memory k holds.
func (k *DiverseSelect) Bytes() int { return len(k.b) + 4*(len(k.cd)+len(k.sums)+len(k.gram)) }

// Int8 is ref.DiverseSelectInt8: identical results. Not safe for
// concurrent use.
func (k *DiverseSelect) Int8(p *kernels.DiverseSelectParams, feat []int8, s []float32, sc *ref.SelectScratch, idx []int16) {
	n, D := p.Rows-p.Prefix, p.D
	if p.TopK || n > k.rows || D != k.d {
		ref.DiverseSelectInt8(p, feat, s, sc, idx)
		return
	}
	if n > 0 {
		k.gramInt8(feat[p.Prefix*D:p.Rows*D], n, p.FeatZP)
		k.n, k.pre = n, p.Prefix
		for i := 0; i < n; i++ {
			sc.Norm[p.Prefix+i] = math.Sqrt(float64(k.gram[i*n+i]))
		}
	}
	ref.DiverseSelectDots(p, s, sc, k.dot, idx)
}

// gramInt8 fills k.gram[a·n+b] with Σ_k (x[a,k] − z)(x[b,k] − z) for the
// n rows of x (D bytes each).
func (k *DiverseSelect) gramInt8(x []int8, n int, z int32) {
	l := layoutOf(k.path)
	D := k.d
	nch, s1 := geometry(D)
	np := (n + l.pw - 1) / l.pw
	cdWords := cdBytes(l.pw) / 4
	w := Packed{path: k.path, n: n, k: D, nch: nch, s1: s1, np: np}
	w.b, w.cd = k.b[:np*nch*16*l.pw], k.cd[:np*cdWords]
	sums := k.sums[:n]
	w.unpaired = packRows(l, w.b, x, n, D, D, sums)
	// (a − z)·(b − z) summed: a·b − z·Σa (row bias, bzp) − z·Σb + D·z²
	// (column bias).
	kzz := int32(D) * z * z
	for p := 0; p < np; p++ {
		c := w.cd[p*cdWords : (p+1)*cdWords]
		for j := 0; j < l.pw; j++ {
			var bias int32
			if p*l.pw+j < n {
				bias = kzz - z*sums[p*l.pw+j]
			}
			c[j] = bias
			setRequant(c, l.pw, j, quant.Multiplier{})
		}
	}
	g := gemmArgs{w: &w, b: w.b, cd: w.cd, unpaired: w.unpaired, bzp: z}
	g.run(x, D, n, nil, k.gram[:n*n], n)
}
