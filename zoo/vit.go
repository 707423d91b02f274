package zoo

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/edgeinfer/edgeinfer/format"
)

// graph wraps a Builder with seeded float tensors for the zoo's generators.
type graph struct {
	*format.Builder
	r *rand.Rand
}

// normal returns n values with standard deviation std around mean.
func (g *graph) normal(n int, mean, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(mean + std*g.r.NormFloat64())
	}
	return v
}

func (g *graph) weight(name string, shape []int32, fanIn int) int32 {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return g.ConstFloat32(name, shape, g.normal(n, 0, 1/math.Sqrt(float64(fanIn))))
}

func (g *graph) act(name string, shape ...int32) int32 {
	return g.Activation(name, format.Float32, shape, nil)
}

// fc adds a fully-connected layer x[rows, in] → [rows, out].
func (g *graph) fc(name string, x int32, rows, in, out int, act format.Activation) int32 {
	w := g.weight(name+"/w", []int32{int32(out), int32(in)}, in)
	b := g.ConstFloat32(name+"/b", []int32{int32(out)}, g.normal(out, 0, 0.02))
	y := g.act(name, int32(rows), int32(out))
	g.Op(format.OpFullyConnected, name, &format.FullyConnectedOptions{Activation: act}, []int32{x, w, b}, y)
	return y
}

func (g *graph) layerNorm(name string, x int32, rows, d int) int32 {
	gamma := g.ConstFloat32(name+"/gamma", []int32{int32(d)}, g.normal(d, 1, 0.1))
	beta := g.ConstFloat32(name+"/beta", []int32{int32(d)}, g.normal(d, 0, 0.1))
	y := g.act(name, int32(rows), int32(d))
	g.Op(format.OpLayerNorm, name, &format.LayerNormOptions{Epsilon: 1e-6}, []int32{x, gamma, beta}, y)
	return y
}

// BuildViT builds a float32 vision transformer with seeded weights:
// patch embedding (a stride = kernel convolution), a class token and
// position embeddings, pre-norm blocks of multi-head self-attention and a
// GELU MLP, a final LayerNorm and a linear head on the class token.
func BuildViT(name string, c ViTConfig, r *rand.Rand) (*format.Model, error) {
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
	T, D, H, Dh := int32(tokens), int32(d), int32(c.Heads), int32(dh)

	img := g.Input("image", format.Float32, []int32{1, int32(c.Image), int32(c.Image), 3}, nil)
	pw := g.weight("patch_embed/w", []int32{D, int32(c.Patch), int32(c.Patch), 3}, c.Patch*c.Patch*3)
	pb := g.ConstFloat32("patch_embed/b", []int32{D}, g.normal(d, 0, 0.02))
	pe := g.act("patch_embed", 1, int32(grid), int32(grid), D)
	s := int32(c.Patch)
	g.Op(format.OpConv2D, "patch_embed", &format.Conv2DOptions{StrideH: s, StrideW: s, DilationH: 1, DilationW: 1}, []int32{img, pw, pb}, pe)
	flat := g.act("patch_tokens", int32(grid*grid), D)
	g.Op(format.OpReshape, "patch_tokens", nil, []int32{pe}, flat)
	cls := g.ConstFloat32("cls_token", []int32{1, D}, g.normal(d, 0, 0.5))
	x := g.act("tokens", T, D)
	g.Op(format.OpConcat, "tokens", &format.ConcatOptions{Axis: 0}, []int32{cls, flat}, x)
	pos := g.ConstFloat32("pos_embed", []int32{T, D}, g.normal(tokens*d, 0, 0.5))
	x0 := g.act("embed", T, D)
	g.Op(format.OpAdd, "embed", &format.BinaryOptions{}, []int32{x, pos}, x0)
	x = x0

	for blk := 0; blk < c.Blocks; blk++ {
		p := fmt.Sprintf("block%d/", blk)
		h := g.layerNorm(p+"norm1", x, tokens, d)
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
	}
	xn := g.layerNorm("norm", x, tokens, d)
	clsOut := g.act("cls", 1, D)
	g.Op(format.OpSlice, "cls", &format.SliceOptions{Begin: []int32{0, 0}, Size: []int32{1, D}}, []int32{xn}, clsOut)
	logits := g.fc("head", clsOut, 1, d, c.Classes, format.ActNone)
	g.Output(logits)
	return g.Finish()
}

// buildCNNMicro builds a small float CNN in the MobileNet style.
func buildCNNMicro(r *rand.Rand) (*format.Model, error) {
	g := &graph{Builder: format.NewBuilder("cnn-micro"), r: r}
	m := g.Model()
	m.Preprocess = imagePreprocess(32)
	m.Labels = classLabels(10)
	img := g.Input("image", format.Float32, []int32{1, 32, 32, 3}, nil)
	conv := func(name string, x int32, cin, cout, k, stride, hw int32, dw bool) int32 {
		var w int32
		pad := (k - 1) / 2
		o := format.Conv2DOptions{StrideH: stride, StrideW: stride, DilationH: 1, DilationW: 1,
			PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad, Activation: format.ActReLU6}
		y := g.act(name, 1, hw, hw, cout)
		b := g.ConstFloat32(name+"/b", []int32{cout}, g.normal(int(cout), 0.1, 0.05))
		if dw {
			w = g.weight(name+"/w", []int32{1, k, k, cout}, int(k*k))
			g.Op(format.OpDepthwiseConv2D, name, &format.DepthwiseConv2DOptions{Conv2DOptions: o, DepthMultiplier: cout / cin}, []int32{x, w, b}, y)
		} else {
			w = g.weight(name+"/w", []int32{cout, k, k, cin}, int(k*k*cin))
			g.Op(format.OpConv2D, name, &o, []int32{x, w, b}, y)
		}
		return y
	}
	x := conv("conv1", img, 3, 16, 3, 2, 16, false)
	x = conv("dw2", x, 16, 16, 3, 1, 16, true)
	x = conv("pw2", x, 16, 32, 1, 1, 16, false)
	p := g.act("pool", 1, 8, 8, 32)
	g.Op(format.OpAveragePool2D, "pool", &format.Pool2DOptions{FilterH: 2, FilterW: 2, StrideH: 2, StrideW: 2}, []int32{x}, p)
	mean := g.act("mean", 1, 32)
	g.Op(format.OpMean, "mean", &format.MeanOptions{Axes: []int32{1, 2}}, []int32{p}, mean)
	logits := g.fc("head", mean, 1, 32, 10, format.ActNone)
	g.Output(logits)
	return g.Finish()
}
