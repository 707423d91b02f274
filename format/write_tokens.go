package format

import (
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgeinfer/edgeinfer/format/internal/fb"
)

// buildTokenOptions encodes the options of the token operators (op codes
// 60–70); anything else has no options table.
func buildTokenOptions(b *flatbuffers.Builder, o Options) (fb.OpOptions, flatbuffers.UOffsetT) {
	switch o := o.(type) {
	case *AdaptiveTokenPool2DOptions:
		fb.AdaptiveTokenPool2DOptionsStart(b)
		fb.AdaptiveTokenPool2DOptionsAddGridH(b, o.GridH)
		fb.AdaptiveTokenPool2DOptionsAddGridW(b, o.GridW)
		fb.AdaptiveTokenPool2DOptionsAddOutH(b, o.OutH)
		fb.AdaptiveTokenPool2DOptionsAddOutW(b, o.OutW)
		fb.AdaptiveTokenPool2DOptionsAddPrefix(b, o.Prefix)
		fb.AdaptiveTokenPool2DOptionsAddKeepPrefix(b, o.KeepPrefix)
		fb.AdaptiveTokenPool2DOptionsAddMasked(b, o.Masked)
		return fb.OpOptionsAdaptiveTokenPool2DOptions, fb.AdaptiveTokenPool2DOptionsEnd(b)
	case *PoolMixerOptions:
		fb.PoolMixerOptionsStart(b)
		fb.PoolMixerOptionsAddGridH(b, o.GridH)
		fb.PoolMixerOptionsAddGridW(b, o.GridW)
		fb.PoolMixerOptionsAddPrefix(b, o.Prefix)
		return fb.OpOptionsPoolMixerOptions, fb.PoolMixerOptionsEnd(b)
	case *GGeMPoolOptions:
		p := float32Vector(b, o.P)
		fb.GGeMPoolOptionsStart(b)
		fb.GGeMPoolOptionsAddGroups(b, o.Groups)
		fb.GGeMPoolOptionsAddPrefix(b, o.Prefix)
		fb.GGeMPoolOptionsAddEps(b, o.Eps)
		if p != 0 {
			fb.GGeMPoolOptionsAddP(b, p)
		}
		return fb.OpOptionsGGeMPoolOptions, fb.GGeMPoolOptionsEnd(b)
	case *EfficientProbeOptions:
		fb.EfficientProbeOptionsStart(b)
		fb.EfficientProbeOptionsAddPrefix(b, o.Prefix)
		fb.EfficientProbeOptionsAddIncludePrefix(b, o.IncludePrefix)
		return fb.OpOptionsEfficientProbeOptions, fb.EfficientProbeOptionsEnd(b)
	case *ZOSensitivityOptions:
		fb.ZOSensitivityOptionsStart(b)
		fb.ZOSensitivityOptionsAddMode(b, byte(o.Mode))
		fb.ZOSensitivityOptionsAddStep(b, o.Step)
		fb.ZOSensitivityOptionsAddRelu(b, o.ReLU)
		return fb.OpOptionsZOSensitivityOptions, fb.ZOSensitivityOptionsEnd(b)
	case *DiverseSelectOptions:
		fb.DiverseSelectOptionsStart(b)
		fb.DiverseSelectOptionsAddKeep(b, o.Keep)
		fb.DiverseSelectOptionsAddPrefix(b, o.Prefix)
		fb.DiverseSelectOptionsAddTopK(b, o.TopK)
		fb.DiverseSelectOptionsAddAddWeight(b, o.AddWeight)
		return fb.OpOptionsDiverseSelectOptions, fb.DiverseSelectOptionsEnd(b)
	case *TokenAwareAvgPoolOptions:
		d := int32Vector(b, o.Dilations)
		fb.TokenAwareAvgPoolOptionsStart(b)
		fb.TokenAwareAvgPoolOptionsAddGridH(b, o.GridH)
		fb.TokenAwareAvgPoolOptionsAddGridW(b, o.GridW)
		fb.TokenAwareAvgPoolOptionsAddPrefix(b, o.Prefix)
		if d != 0 {
			fb.TokenAwareAvgPoolOptionsAddDilations(b, d)
		}
		return fb.OpOptionsTokenAwareAvgPoolOptions, fb.TokenAwareAvgPoolOptionsEnd(b)
	case *AttentionSinkOptions:
		d := int32Vector(b, o.SinkDims)
		fb.AttentionSinkOptionsStart(b)
		if d != 0 {
			fb.AttentionSinkOptionsAddSinkDims(b, d)
		}
		fb.AttentionSinkOptionsAddTau(b, o.Tau)
		fb.AttentionSinkOptionsAddRho(b, o.Rho)
		fb.AttentionSinkOptionsAddMinMass(b, o.MinMass)
		fb.AttentionSinkOptionsAddP(b, o.P)
		fb.AttentionSinkOptionsAddPrefix(b, o.Prefix)
		return fb.OpOptionsAttentionSinkOptions, fb.AttentionSinkOptionsEnd(b)
	}
	return fb.OpOptionsNONE, 0
}

// decodeTokenOptions decodes the options tables of the token operators;
// any other member is unknownOptions.
func decodeTokenOptions(typ fb.OpOptions, t flatbuffers.Table) Options {
	switch typ {
	case fb.OpOptionsAdaptiveTokenPool2DOptions:
		var x fb.AdaptiveTokenPool2DOptions
		x.Init(t.Bytes, t.Pos)
		return &AdaptiveTokenPool2DOptions{GridH: x.GridH(), GridW: x.GridW(), OutH: x.OutH(), OutW: x.OutW(),
			Prefix: x.Prefix(), KeepPrefix: x.KeepPrefix(), Masked: x.Masked()}
	case fb.OpOptionsPoolMixerOptions:
		var x fb.PoolMixerOptions
		x.Init(t.Bytes, t.Pos)
		return &PoolMixerOptions{GridH: x.GridH(), GridW: x.GridW(), Prefix: x.Prefix()}
	case fb.OpOptionsGGeMPoolOptions:
		var x fb.GGeMPoolOptions
		x.Init(t.Bytes, t.Pos)
		return &GGeMPoolOptions{Groups: x.Groups(), Prefix: x.Prefix(), Eps: x.Eps(),
			P: float32s(x.PLength(), x.P, x.Table(), 10)}
	case fb.OpOptionsEfficientProbeOptions:
		var x fb.EfficientProbeOptions
		x.Init(t.Bytes, t.Pos)
		return &EfficientProbeOptions{Prefix: x.Prefix(), IncludePrefix: x.IncludePrefix()}
	case fb.OpOptionsZOSensitivityOptions:
		var x fb.ZOSensitivityOptions
		x.Init(t.Bytes, t.Pos)
		return &ZOSensitivityOptions{Mode: ZOMode(x.Mode()), Step: x.Step(), ReLU: x.Relu()}
	case fb.OpOptionsDiverseSelectOptions:
		var x fb.DiverseSelectOptions
		x.Init(t.Bytes, t.Pos)
		return &DiverseSelectOptions{Keep: x.Keep(), Prefix: x.Prefix(), TopK: x.TopK(), AddWeight: x.AddWeight()}
	case fb.OpOptionsTokenAwareAvgPoolOptions:
		var x fb.TokenAwareAvgPoolOptions
		x.Init(t.Bytes, t.Pos)
		return &TokenAwareAvgPoolOptions{GridH: x.GridH(), GridW: x.GridW(), Prefix: x.Prefix(),
			Dilations: int32s(x.DilationsLength(), x.Dilations, x.Table(), 10)}
	case fb.OpOptionsAttentionSinkOptions:
		var x fb.AttentionSinkOptions
		x.Init(t.Bytes, t.Pos)
		return &AttentionSinkOptions{SinkDims: int32s(x.SinkDimsLength(), x.SinkDims, x.Table(), 4),
			Tau: x.Tau(), Rho: x.Rho(), MinMass: x.MinMass(), P: x.P(), Prefix: x.Prefix()}
	}
	return &unknownOptions{typ: uint8(typ)}
}
