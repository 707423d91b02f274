package zoo

import (
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
	return BuildViTVariant(name, c, Variant{}, r)
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
