package format

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// tokenOpsModel uses every token operator once on a 2×2 grid with a class
// token (T = 5, D = 4).
func tokenOpsModel(t testing.TB) *Model {
	b := NewBuilder("seed")
	x := b.Input("x", Float32, []int32{5, 4}, nil)
	logits := b.Input("logits", Float32, []int32{4, 2}, nil)
	z := b.Input("z", Float32, []int32{5, 8}, nil)
	probs := b.Input("probs", Float32, []int32{1, 5, 5}, nil)
	f := func(name string, shape ...int32) int32 { return b.Activation(name, Float32, shape, nil) }
	pm := f("pm", 5, 4)
	b.Op(OpPoolMixer, "pm", &PoolMixerOptions{GridH: 2, GridW: 2, Prefix: 1}, []int32{x}, pm)
	tap := f("tap", 5, 4)
	b.Op(OpTokenAwareAvgPool, "tap", &TokenAwareAvgPoolOptions{GridH: 2, GridW: 2, Prefix: 1, Dilations: []int32{0, 1}}, []int32{x, logits}, tap)
	a := b.ConstFloat32("dirs", []int32{2, 8}, make([]float32, 16))
	w := b.ConstFloat32("fc2", []int32{4, 8}, make([]float32, 32))
	s := f("s", 5)
	b.Op(OpZOSensitivity, "zo", &ZOSensitivityOptions{Mode: ZOJVP}, []int32{z, a, w}, s)
	idx := b.Activation("idx", Int16, []int32{3}, nil)
	b.Op(OpDiverseSelect, "sads", &DiverseSelectOptions{Keep: 2, Prefix: 1}, []int32{x, s}, idx)
	xk := f("xk", 3, 4)
	b.Op(OpGatherTokens, "gather", nil, []int32{x, idx}, xk)
	pos := b.ConstInt16("pos", []int32{5}, []int16{-1, 0, 1, 2, 3})
	posk := b.Activation("posk", Int16, []int32{3}, nil)
	b.Op(OpGatherTokens, "gather_pos", nil, []int32{pos, idx}, posk)
	ap := f("ap", 2, 4)
	b.Op(OpAdaptiveTokenPool2D, "pool", &AdaptiveTokenPool2DOptions{GridH: 2, GridW: 2, OutH: 1, OutW: 1, Prefix: 1, KeepPrefix: true, Masked: true}, []int32{xk, posk}, ap)
	sw := f("sw", 5, 4)
	b.Op(OpSwiGLU, "swiglu", nil, []int32{x, x}, sw)
	gg := f("gg", 1, 4)
	b.Op(OpGGeMPool, "ggem", &GGeMPoolOptions{Groups: 2, Prefix: 1, Eps: 1e-6, P: []float32{3, 2}}, []int32{x}, gg)
	q := b.ConstFloat32("queries", []int32{2, 4}, make([]float32, 8))
	ep := f("ep", 1, 4)
	b.Op(OpEfficientProbe, "ep", &EfficientProbeOptions{Prefix: 1}, []int32{x, q, sw}, ep)
	ar := f("ar", 1, 5, 5)
	b.Op(OpAttentionSinkRedistribute, "var", &AttentionSinkOptions{SinkDims: []int32{1}, Tau: 2, Rho: 0.5, MinMass: 0.2, P: 0.6, Prefix: 1}, []int32{probs, x}, ar)
	b.Output(pm, tap, ap, gg, ep, ar)
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenOpsRoundTrip(t *testing.T) {
	m := tokenOpsModel(t)
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Ops {
		if !reflect.DeepEqual(m.Ops[i].Options, back.Ops[i].Options) || m.Ops[i].Code != back.Ops[i].Code {
			t.Errorf("op %d %v: options %+v read back as %+v", i, m.Ops[i].Code, m.Ops[i].Options, back.Ops[i].Options)
		}
	}
	// Top-k selection is version 2 and survives the trip.
	tk := tokenOpsModel(t)
	o := on(tk, "sads")
	o.Options.(*DiverseSelectOptions).TopK = true
	o.Version = MinVersion(o.Code, o.Options)
	if data, err = Marshal(tk); err != nil {
		t.Fatal(err)
	}
	if back, err := Read(data); err != nil || !on(back, "sads").Options.(*DiverseSelectOptions).TopK || on(back, "sads").Version != 2 {
		t.Errorf("top-k DiverseSelect read back as %+v (version %d), err %v", on(back, "sads").Options, on(back, "sads").Version, err)
	}
	// The additive score is version 3 and survives the trip.
	ad := tokenOpsModel(t)
	o = on(ad, "sads")
	o.Options.(*DiverseSelectOptions).AddWeight = 0.1
	o.Version = MinVersion(o.Code, o.Options)
	if data, err = Marshal(ad); err != nil {
		t.Fatal(err)
	}
	if back, err := Read(data); err != nil || on(back, "sads").Options.(*DiverseSelectOptions).AddWeight != 0.1 || on(back, "sads").Version != 3 {
		t.Errorf("additive DiverseSelect read back as %+v (version %d), err %v", on(back, "sads").Options, on(back, "sads").Version, err)
	}
	if got := back.Tensors[ti(back, "pos")].Int16s(); !reflect.DeepEqual(got, []int16{-1, 0, 1, 2, 3}) {
		t.Errorf("positions read back as %v", got)
	}
	for _, c := range []OpCode{OpAdaptiveTokenPool2D, OpZOSensitivity, OpAttentionSinkRedistribute} {
		if !c.Known() || strings.HasPrefix(c.String(), "op(") {
			t.Errorf("%d not known", c)
		}
	}
}

func TestTokenOpsValidate(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(m *Model)
		want   string
	}{
		{"grid size", func(m *Model) { on(m, "pm").Options = &PoolMixerOptions{GridH: 3, GridW: 2, Prefix: 1} },
			`PoolMixer "pm": input tensor 0 "x" has 5 tokens, want prefix 1 + grid 3×2 = 7`},
		{"masked needs positions", func(m *Model) { on(m, "pool").Inputs[1] = -1 }, `masked pooling needs the positions input`},
		{"ggem exponents", func(m *Model) { on(m, "ggem").Options.(*GGeMPoolOptions).P = []float32{3} }, `1 exponents, want one per group (2)`},
		{"ggem p", func(m *Model) { on(m, "ggem").Options.(*GGeMPoolOptions).P[1] = -1 }, `exponent of group 1 is -1`},
		{"keep too big", func(m *Model) { on(m, "sads").Options.(*DiverseSelectOptions).Keep = 5 }, `keep is 5, want 1…4`},
		{"select output", func(m *Model) { tn(m, "idx").DType = Int32 }, `is int32, want int16`},
		{"top-k needs version 2", func(m *Model) { on(m, "sads").Options.(*DiverseSelectOptions).TopK = true }, `top_k needs op version 2, the op is version 1`},
		{"select version 4", func(m *Model) { on(m, "sads").Version = 4 }, `version 4 is newer than the 3 this build supports`},
		{"add_weight needs version 3", func(m *Model) { on(m, "sads").Options.(*DiverseSelectOptions).AddWeight = 0.1 }, `add_weight needs op version 3, the op is version 1`},
		{"add_weight negative", func(m *Model) {
			on(m, "sads").Options.(*DiverseSelectOptions).AddWeight = -1
			on(m, "sads").Version = 3
		}, `add_weight is -1, want a finite value > 0`},
		{"add_weight with top_k", func(m *Model) {
			o := on(m, "sads").Options.(*DiverseSelectOptions)
			o.AddWeight, o.TopK = 0.5, true
			on(m, "sads").Version = 3
		}, `add_weight 0.5 with top_k`},
		{"zo mode", func(m *Model) { on(m, "zo").Options.(*ZOSensitivityOptions).Mode = 9 }, `unknown sensitivity mode 9`},
		{"zo fro_diag", func(m *Model) { on(m, "zo").Options.(*ZOSensitivityOptions).Mode = ZOFroDiag }, `mode fro_diag takes z, −1`},
		{"zo central", func(m *Model) { on(m, "zo").Options.(*ZOSensitivityOptions).Mode = ZOCentralDiff }, `mode central_diff takes x, u, w2, w1, b1`},
		{"tap logits", func(m *Model) { on(m, "tap").Options.(*TokenAwareAvgPoolOptions).Dilations = []int32{0, 1, 2} }, `logits tensor 1 "logits" has shape [4 2], want [4, 3]`},
		{"var rho", func(m *Model) { on(m, "var").Options.(*AttentionSinkOptions).Rho = 2 }, `rho is 2, want 0…1`},
		{"var sink dim", func(m *Model) { on(m, "var").Options.(*AttentionSinkOptions).SinkDims = []int32{4} }, `sink dimension is 4, want 0…3`},
		{"probe values", func(m *Model) {
			on(m, "ep").Inputs[2] = ti(m, "x")
			tn(m, "queries").Shape = []int32{3, 4}
			tn(m, "queries").Data = make([]byte, 48)
		},
			`want [5, a multiple of 3 queries]`},
		{"gather shape", func(m *Model) { tn(m, "xk").Shape = []int32{3, 5} }, `"xk" has shape [3 5], want [3 4]`},
		{"swiglu shapes", func(m *Model) { on(m, "swiglu").Inputs[1] = ti(m, "xk") }, `"xk" has shape [3 4], want [5 4] like the gate`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := tokenOpsModel(t)
			c.break_(m)
			err := m.Validate()
			if err == nil || !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, c.want)
			}
		})
	}
}
