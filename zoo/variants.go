package zoo

import (
	"fmt"
	"math"
	"math/rand"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// Variant adds the token-adaptive and robust operators to a ViT (see
// BuildViTVariant). The zero Variant is the plain ViT of BuildViT.
type Variant struct {
	// TAPBlocks puts TokenAwareAvgPool (dilations 0–3, predictor
	// conv3×3 → folded BN → conv3×3) in front of the attention of blocks
	// 0…TAPBlocks−1.
	TAPBlocks int
	// PruneAfter ≥ 0 with Keep > 0 prunes the patch tokens to Keep after
	// block PruneAfter with ZOSensitivity (through that block's MLP) and
	// DiverseSelect; positions travel with the tokens.
	PruneAfter int
	Keep       int
	ZOMode     format.ZOMode
	Directions int // m (default 8)
	Rank       int // lowrank_jvp rank (default 32)
	// VAR applies AttentionSinkRedistribute (rho 0.5, min mass 0.2,
	// p 0.6) to the attention of blocks 2…Blocks−2 (VAR's layer range;
	// every block of a ViT with fewer than 4 blocks), with SinkDims and
	// SinkTau (default 20).
	VAR      bool
	SinkDims []int32
	SinkTau  float32
	// PoolTo n > 0 pools the final tokens to n×n with AdaptiveTokenPool2D
	// (CLS dropped; masked after pruning) and runs a SwiGLU MLP on them.
	PoolTo int
	// Head is "cls" (default: LayerNorm, class token, linear), "ggem"
	// (GGeMPool over the patch tokens, one group per head, p = 3) or "ep"
	// (EfficientProbe with Queries learned queries).
	Head    string
	Queries int
}

func (g *graph) fcW(name string, x int32, rows, in, out int, bias bool) (y, w int32) {
	w = g.weight(name+"/w", []int32{int32(out), int32(in)}, in)
	b := int32(-1)
	if bias {
		b = g.ConstFloat32(name+"/b", []int32{int32(out)}, g.normal(out, 0, 0.02))
	}
	y = g.act(name, int32(rows), int32(out))
	g.Op(format.OpFullyConnected, name, &format.FullyConnectedOptions{}, []int32{x, w, b}, y)
	return y, w
}

// BuildViTVariant builds the float ViT of BuildViT with the operators v
// asks for. With the zero Variant it draws the same weights as BuildViT.
func BuildViTVariant(name string, c ViTConfig, v Variant, r *rand.Rand) (*format.Model, error) {
	if c.Image%c.Patch != 0 || c.Dim%c.Heads != 0 {
		return nil, fmt.Errorf("vit %q: image %d not a multiple of patch %d, or dim %d not a multiple of heads %d", name, c.Image, c.Patch, c.Dim, c.Heads)
	}
	g := &graph{Builder: format.NewBuilder(name), r: r}
	m := g.Model()
	m.Preprocess = imagePreprocess(c.Image)
	m.Labels = classLabels(c.Classes)
	grid := c.Image / c.Patch
	tokens := grid*grid + 1
	d, dh := c.Dim, c.Dim/c.Heads
	D, H, Dh := int32(d), int32(c.Heads), int32(dh)

	img := g.Input("image", format.Float32, []int32{1, int32(c.Image), int32(c.Image), 3}, nil)
	pw := g.weight("patch_embed/w", []int32{D, int32(c.Patch), int32(c.Patch), 3}, c.Patch*c.Patch*3)
	pb := g.ConstFloat32("patch_embed/b", []int32{D}, g.normal(d, 0, 0.02))
	pe := g.act("patch_embed", 1, int32(grid), int32(grid), D)
	s := int32(c.Patch)
	g.Op(format.OpConv2D, "patch_embed", &format.Conv2DOptions{StrideH: s, StrideW: s, DilationH: 1, DilationW: 1}, []int32{img, pw, pb}, pe)
	flat := g.act("patch_tokens", int32(grid*grid), D)
	g.Op(format.OpReshape, "patch_tokens", nil, []int32{pe}, flat)
	cls := g.ConstFloat32("cls_token", []int32{1, D}, g.normal(d, 0, 0.5))
	x := g.act("tokens", int32(tokens), D)
	g.Op(format.OpConcat, "tokens", &format.ConcatOptions{Axis: 0}, []int32{cls, flat}, x)
	pos := g.ConstFloat32("pos_embed", []int32{int32(tokens), D}, g.normal(tokens*d, 0, 0.5))
	x0 := g.act("embed", int32(tokens), D)
	g.Op(format.OpAdd, "embed", &format.BinaryOptions{}, []int32{x, pos}, x0)
	x = x0
	positions := int32(-1) // int16 grid positions once pruned
	pruned := false

	for blk := 0; blk < c.Blocks; blk++ {
		p := fmt.Sprintf("block%d/", blk)
		T := int32(tokens)
		attnIn := x
		if blk < v.TAPBlocks && !pruned {
			attnIn = g.tap(p+"tap/", x, grid, d)
		}
		h := g.layerNorm(p+"norm1", attnIn, tokens, d)
		qkv := g.fc(p+"attn/qkv", h, tokens, d, 3*d, format.ActNone)
		qkv4 := g.act(p+"attn/qkv_split", T, 3, H, Dh)
		g.Op(format.OpReshape, p+"attn/qkv_split", nil, []int32{qkv}, qkv4)
		heads := g.act(p+"attn/heads", 3, H, T, Dh)
		g.Op(format.OpTranspose, p+"attn/heads", &format.TransposeOptions{Perm: []int32{1, 2, 0, 3}}, []int32{qkv4}, heads)
		var qkvT [3]int32
		for i, n := range []string{"q", "k", "v"} {
			qkvT[i] = g.act(p+"attn/"+n, 1, H, T, Dh)
			g.Op(format.OpSlice, p+"attn/"+n, &format.SliceOptions{Begin: []int32{int32(i), 0, 0, 0}, Size: []int32{1, H, T, Dh}}, []int32{heads}, qkvT[i])
		}
		scores := g.act(p+"attn/scores", 1, H, T, T)
		g.Op(format.OpBatchMatMul, p+"attn/scores", &format.BatchMatMulOptions{AdjY: true}, []int32{qkvT[0], qkvT[1]}, scores)
		probs := g.act(p+"attn/probs", 1, H, T, T)
		g.Op(format.OpSoftmax, p+"attn/probs", &format.SoftmaxOptions{Beta: float32(1 / math.Sqrt(float64(dh)))}, []int32{scores}, probs)
		if v.VAR && (c.Blocks < 4 || blk >= 2 && blk < c.Blocks-1) {
			tau := v.SinkTau
			if tau == 0 {
				tau = 20
			}
			red := g.act(p+"attn/var", 1, H, T, T)
			g.Op(format.OpAttentionSinkRedistribute, p+"attn/var", &format.AttentionSinkOptions{
				SinkDims: v.SinkDims, Tau: tau, Rho: 0.5, MinMass: 0.2, P: 0.6, Prefix: 1}, []int32{probs, x}, red)
			probs = red
		}
		ctx := g.act(p+"attn/context", 1, H, T, Dh)
		g.Op(format.OpBatchMatMul, p+"attn/context", &format.BatchMatMulOptions{}, []int32{probs, qkvT[2]}, ctx)
		ctxT := g.act(p+"attn/merge", 1, T, H, Dh)
		g.Op(format.OpTranspose, p+"attn/merge", &format.TransposeOptions{Perm: []int32{0, 2, 1, 3}}, []int32{ctx}, ctxT)
		merged := g.act(p+"attn/merged", T, D)
		g.Op(format.OpReshape, p+"attn/merged", nil, []int32{ctxT}, merged)
		proj := g.fc(p+"attn/proj", merged, tokens, d, d, format.ActNone)
		x1 := g.act(p+"residual1", T, D)
		g.Op(format.OpAdd, p+"residual1", &format.BinaryOptions{}, []int32{x, proj}, x1)
		h2 := g.layerNorm(p+"norm2", x1, tokens, d)
		f1 := g.fc(p+"mlp/fc1", h2, tokens, d, c.MLP, format.ActNone)
		ge := g.act(p+"mlp/gelu", T, int32(c.MLP))
		g.Op(format.OpGELU, p+"mlp/gelu", &format.GELUOptions{}, []int32{f1}, ge)
		f2 := g.fc(p+"mlp/fc2", ge, tokens, c.MLP, d, format.ActNone)
		x2 := g.act(p+"residual2", T, D)
		g.Op(format.OpAdd, p+"residual2", &format.BinaryOptions{}, []int32{x1, f2}, x2)
		x = x2
		if v.Keep > 0 && blk == v.PruneAfter && !pruned {
			x, positions = g.prune(p+"prune/", x, f1, tokens, d, c.MLP, v)
			tokens = 1 + v.Keep
			pruned = true
		}
	}
	xn := g.layerNorm("norm", x, tokens, d)
	feat, rows, prefix := xn, tokens, 1
	if v.PoolTo > 0 {
		n := v.PoolTo
		o := &format.AdaptiveTokenPool2DOptions{GridH: int32(grid), GridW: int32(grid), OutH: int32(n), OutW: int32(n), Prefix: 1, Masked: pruned}
		ins := []int32{xn}
		if pruned {
			ins = append(ins, positions)
		}
		pooled := g.act("pool", int32(n*n), D)
		g.Op(format.OpAdaptiveTokenPool2D, "pool", o, ins, pooled)
		hidden := 2 * d
		gate := g.fc("projector/gate", pooled, n*n, d, hidden, format.ActNone)
		up := g.fc("projector/up", pooled, n*n, d, hidden, format.ActNone)
		sw := g.act("projector/swiglu", int32(n*n), int32(hidden))
		g.Op(format.OpSwiGLU, "projector/swiglu", nil, []int32{gate, up}, sw)
		feat = g.fc("projector/down", sw, n*n, hidden, d, format.ActNone)
		rows, prefix = n*n, 0
	}
	var pooledFeat int32
	switch v.Head {
	case "", "cls":
		if v.PoolTo > 0 {
			return nil, fmt.Errorf("vit %q: a pooled variant needs a ggem or ep head", name)
		}
		pooledFeat = g.act("cls", 1, D)
		g.Op(format.OpSlice, "cls", &format.SliceOptions{Begin: []int32{0, 0}, Size: []int32{1, D}}, []int32{xn}, pooledFeat)
	case "ggem":
		pv := make([]float32, c.Heads)
		for i := range pv {
			pv[i] = 3
		}
		pooledFeat = g.act("ggem", 1, D)
		g.Op(format.OpGGeMPool, "ggem", &format.GGeMPoolOptions{Groups: int32(c.Heads), Prefix: int32(prefix), Eps: 1e-6, P: pv}, []int32{feat}, pooledFeat)
	case "ep":
		mq := v.Queries
		if mq <= 0 {
			mq = 8
		}
		q := g.ConstFloat32("probe/queries", []int32{int32(mq), D}, g.normal(mq*d, 0, 1))
		val, _ := g.fcW("probe/values", feat, rows, d, d, false)
		pooledFeat = g.act("probe", 1, D)
		g.Op(format.OpEfficientProbe, "probe", &format.EfficientProbeOptions{Prefix: int32(prefix)}, []int32{feat, q, val}, pooledFeat)
	default:
		return nil, fmt.Errorf("vit %q: unknown head %q (cls, ggem, ep)", name, v.Head)
	}
	logits := g.fc("head", pooledFeat, 1, d, c.Classes, format.ActNone)
	g.Output(logits)
	return g.Finish()
}

// tap adds TokenAwareAvgPool on x [1+grid², d]: the predictor runs on the
// patch grid (conv3×3 d→4 with batch norm folded into its weights and
// bias, conv3×3 4→4) and gives per-token logits for dilations 0…3.
func (g *graph) tap(p string, x int32, grid, d int) int32 {
	const k = 4
	G, D := int32(grid), int32(d)
	patches := g.act(p+"patches", G*G, D)
	g.Op(format.OpSlice, p+"patches", &format.SliceOptions{Begin: []int32{1, 0}, Size: []int32{G * G, D}}, []int32{x}, patches)
	img := g.act(p+"grid", 1, G, G, D)
	g.Op(format.OpReshape, p+"grid", nil, []int32{patches}, img)
	// Folded BN: γ/σ scales conv1's output channels, β − μγ/σ is its bias.
	w1 := g.normal(k*9*d, 0, 1/math.Sqrt(float64(9*d)))
	gamma := g.normal(k, 1, 0.1)
	for o := 0; o < k; o++ {
		for i := 0; i < 9*d; i++ {
			w1[o*9*d+i] *= gamma[o]
		}
	}
	cw1 := g.ConstFloat32(p+"pred1/w", []int32{k, 3, 3, D}, w1)
	cb1 := g.ConstFloat32(p+"pred1/b", []int32{k}, g.normal(k, 0, 0.1))
	pad := format.Conv2DOptions{StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, PadTop: 1, PadBottom: 1, PadLeft: 1, PadRight: 1}
	m1 := g.act(p+"pred1", 1, G, G, k)
	g.Op(format.OpConv2D, p+"pred1", &pad, []int32{img, cw1, cb1}, m1)
	cw2 := g.weight(p+"pred2/w", []int32{k, 3, 3, k}, 9*k)
	logits := g.act(p+"pred2", 1, G, G, k)
	o2 := pad
	g.Op(format.OpConv2D, p+"pred2", &o2, []int32{m1, cw2, -1}, logits)
	out := g.act(p+"mix", 1+G*G, D)
	g.Op(format.OpTokenAwareAvgPool, p+"mix", &format.TokenAwareAvgPoolOptions{GridH: G, GridW: G, Prefix: 1, Dilations: []int32{0, 1, 2, 3}},
		[]int32{x, logits}, out)
	return out
}

// prune adds ZOSensitivity through the MLP whose fc1 output is f1, SADS on
// the block output x and the gathers of x and of the positions.
func (g *graph) prune(p string, x, f1 int32, tokens, d, hidden int, v Variant) (int32, int32) {
	m := g.Model()
	// The MLP's weights are the last fc1 and fc2 constants before f1.
	w1 := f1 - 2
	w2 := m.Ops[len(m.Ops)-2].Inputs[1] // fc2 (the op before residual2)
	W1, W2 := m.Tensors[w1].Float32s(), m.Tensors[w2].Float32s()
	dirs := v.Directions
	if dirs <= 0 {
		dirs = 8
	}
	T := int32(tokens)
	s := g.act(p+"sensitivity", T)
	o := &format.ZOSensitivityOptions{Mode: v.ZOMode, Step: 1e-3}
	switch v.ZOMode {
	case format.ZOFroDiag:
		diag := make([]float32, hidden)
		for c := 0; c < hidden; c++ {
			var a, b float64
			for i := 0; i < d; i++ {
				a += float64(W2[i*hidden+c]) * float64(W2[i*hidden+c])
				b += float64(W1[c*d+i]) * float64(W1[c*d+i])
			}
			diag[c] = float32(a * b)
		}
		wd := g.ConstFloat32(p+"diag", []int32{int32(hidden)}, diag)
		g.Op(format.OpZOSensitivity, p+"sensitivity", o, []int32{f1, -1, wd}, s)
	default:
		a := make([]float32, dirs*hidden)
		for j := 0; j < dirs; j++ {
			u := g.normal(d, 0, 1)
			var n2 float64
			for _, e := range u {
				n2 += float64(e) * float64(e)
			}
			for c := 0; c < hidden; c++ {
				var acc float64
				for i, e := range u {
					acc += float64(W1[c*d+i]) * float64(e)
				}
				a[j*hidden+c] = float32(acc / (math.Sqrt(n2) + 1e-12))
			}
		}
		ca := g.ConstFloat32(p+"directions", []int32{int32(dirs), int32(hidden)}, a)
		wj := w2
		if v.ZOMode == format.ZOLowRankJVP {
			rank := v.Rank
			if rank <= 0 {
				rank = 32
			}
			wj = g.ConstFloat32(p+"lowrank", []int32{int32(rank), int32(hidden)}, LowRankRows(W2, d, hidden, rank))
		}
		g.Op(format.OpZOSensitivity, p+"sensitivity", o, []int32{f1, ca, wj}, s)
	}
	idx := g.Activation(p+"keep", format.Int16, []int32{int32(1 + v.Keep)}, nil)
	g.Op(format.OpDiverseSelect, p+"select", &format.DiverseSelectOptions{Keep: int32(v.Keep), Prefix: 1}, []int32{x, s}, idx)
	xk := g.act(p+"tokens", int32(1+v.Keep), int32(d))
	g.Op(format.OpGatherTokens, p+"tokens", nil, []int32{x, idx}, xk)
	pv := make([]int16, tokens)
	for i := range pv {
		pv[i] = int16(i - 1)
	}
	pos := g.ConstInt16(p+"grid_positions", []int32{T}, pv)
	pk := g.Activation(p+"positions", format.Int16, []int32{int32(1 + v.Keep)}, nil)
	g.Op(format.OpGatherTokens, p+"positions", nil, []int32{pos, idx}, pk)
	return xk, pk
}

// LowRankRows returns S_r·V_rᵀ [r, cols] of the rank-r SVD of w [rows,
// cols] (rows ≤ cols), so that ‖S_r·V_rᵀ·z‖ = ‖U_r·S_r·V_rᵀ·z‖: it
// diagonalizes w·wᵀ by cyclic Jacobi rotations (rows×rows) and returns
// U_rᵀ·w for the r largest eigenvalues.
func LowRankRows(w []float32, rows, cols, r int) []float32 {
	n := rows
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			var s float64
			for k := 0; k < cols; k++ {
				s += float64(w[i*cols+k]) * float64(w[j*cols+k])
			}
			a[i*n+j], a[j*n+i] = s, s
		}
	}
	vec := make([]float64, n*n)
	for i := 0; i < n; i++ {
		vec[i*n+i] = 1
	}
	for sweep := 0; sweep < 50; sweep++ {
		off := 0.0
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				off += a[p*n+q] * a[p*n+q]
			}
		}
		if off < 1e-22 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				apq := a[p*n+q]
				if math.Abs(apq) < 1e-300 {
					continue
				}
				theta := (a[q*n+q] - a[p*n+p]) / (2 * apq)
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ {
					akp, akq := a[k*n+p], a[k*n+q]
					a[k*n+p], a[k*n+q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := 0; k < n; k++ {
					apk, aqk := a[p*n+k], a[q*n+k]
					a[p*n+k], a[q*n+k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := vec[k*n+p], vec[k*n+q]
					vec[k*n+p], vec[k*n+q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	for i := 1; i < n; i++ { // insertion sort by eigenvalue, descending
		for j := i; j > 0 && a[order[j]*n+order[j]] > a[order[j-1]*n+order[j-1]]; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	r = min(r, n)
	out := make([]float32, r*cols)
	for k := 0; k < r; k++ {
		e := order[k]
		for c := 0; c < cols; c++ {
			var s float64
			for i := 0; i < n; i++ {
				s += vec[i*n+e] * float64(w[i*cols+c])
			}
			out[k*cols+c] = float32(s)
		}
	}
	return out
}

func init() {
	vit := func(name string, c ViTConfig, v Variant, desc string) {
		specs[name] = Spec{Name: name, Image: c.Image, Description: desc,
			build: func(r *rand.Rand) (*format.Model, error) { return BuildViTVariant(name, c, v, r) }}
	}
	vit("deit-tiny-tap", DeiTTiny, Variant{TAPBlocks: 4}, "DeiT-tiny with TokenAwareAvgPool (dilations 0-3) before the attention of blocks 0-3")
	vit("deit-tiny-zoo", DeiTTiny, Variant{PruneAfter: 3, Keep: 98},
		"DeiT-tiny with ZOO-Prune after block 3 (jvp sensitivity, m = 8, SADS) keeping 98 of 196 patch tokens")
	vit("deit-tiny-zoo-lowrank", DeiTTiny, Variant{PruneAfter: 3, Keep: 98, ZOMode: format.ZOLowRankJVP, Rank: 32},
		"DeiT-tiny with ZOO-Prune after block 3 (lowrank_jvp sensitivity, rank 32) keeping 98 of 196")
	vit("deit-tiny-zoo-diag", DeiTTiny, Variant{PruneAfter: 3, Keep: 98, ZOMode: format.ZOFroDiag},
		"DeiT-tiny with ZOO-Prune after block 3 (fro_diag sensitivity) keeping 98 of 196")
	vit("deit-tiny-pool64", DeiTTiny, Variant{PoolTo: 8, Head: "ggem"},
		"DeiT-tiny whose final tokens are pooled to 8×8 = 64 (adaptive average), SwiGLU projector, GGeM head")
	vit("deit-tiny-pool144", DeiTTiny, Variant{PoolTo: 12, Head: "ep", Queries: 32},
		"DeiT-tiny whose final tokens are pooled to 12×12 = 144, SwiGLU projector, Efficient Probing head (32 queries)")
	vit("deit-tiny-ggem", DeiTTiny, Variant{Head: "ggem"}, "DeiT-tiny with a GGeM head (3 groups, p = 3) over the patch tokens")
	vit("deit-tiny-ep", DeiTTiny, Variant{Head: "ep", Queries: 32}, "DeiT-tiny with an Efficient Probing head (32 queries)")
	vit("deit-tiny-var", DeiTTiny, Variant{VAR: true, SinkDims: []int32{0, 1}},
		"DeiT-tiny with VAR attention-sink redistribution (sink dims 0, 1; tau 20, rho 0.5, p 0.6) in blocks 2-10")
	vit("deit-tiny-seed", DeiTTiny, Variant{TAPBlocks: 4, PruneAfter: 3, Keep: 98, PoolTo: 8, Head: "ggem"},
		"DeiT-tiny with TAP in blocks 0-3, ZOO-Prune after block 3 keeping 98, masked pooling to 64, SwiGLU and GGeM head")
	vit("vit-micro-seed", ViTMicro, Variant{TAPBlocks: 1, PruneAfter: 0, Keep: 8, PoolTo: 2, Head: "ggem"},
		"vit-micro with TAP in block 0, ZOO-Prune after block 0 keeping 8 of 16, masked pooling to 2×2, SwiGLU, GGeM head")
	vit("vit-micro-ep", ViTMicro, Variant{PruneAfter: 0, Keep: 10, ZOMode: format.ZOFroDiag, Head: "ep", Queries: 4, VAR: true, SinkDims: []int32{0, 1}, SinkTau: 2},
		"vit-micro with ZOO-Prune (fro_diag) after block 0 keeping 10, VAR and an Efficient Probing head")
}

// Baseline returns the zoo model a variant is compared with (deit-tiny
// for deit-tiny-*, vit-micro for vit-micro-*), or "" for base models.
func Baseline(name string) string {
	for _, b := range []string{"deit-tiny", "vit-micro"} {
		if strings.HasPrefix(name, b+"-") {
			return b
		}
	}
	return ""
}

// MACs returns the multiply-accumulates of one inference of zoo model
// name (the float and int8 models run the same ops).
func MACs(name string) (int64, error) {
	s, ok := specs[name]
	if !ok {
		return 0, fmt.Errorf("zoo: no model %q (have %v)", name, Names())
	}
	f, err := s.build(rand.New(rand.NewSource(0)))
	if err != nil {
		return 0, fmt.Errorf("zoo: %s: %w", name, err)
	}
	it, err := runtime.New(f, runtime.Options{Threads: 1})
	if err != nil {
		return 0, fmt.Errorf("zoo: %s: %w", name, err)
	}
	defer it.Close()
	return it.MACs(), nil
}

// Describe returns the description of zoo model name ("" if unknown).
func Describe(name string) string { return specs[name].Description }
