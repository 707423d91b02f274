package format

import (
	"encoding/binary"
	"fmt"
)

// Token-adaptive and robust ViT operators (op codes 60–70). Token tensors
// are [T, D]: Prefix leading rows (the class token) and then the patch
// tokens of a GridH×GridW grid in row-major order. After pruning, a
// positions tensor (int16 [T], the grid index of each row, −1 for the
// prefix and for empty slots) says where each surviving row sits; it is
// carried through pruning by GatherTokens like any other token tensor.
const (
	// AdaptiveTokenPool2D: x [T, D], pos? int16 [T] → [P'+OutH·OutW, D]
	// where P' is Prefix with KeepPrefix, else 0. Output (i, j) averages
	// the grid tokens in PyTorch's adaptive windows
	// [⌊i·H/OutH⌋, ⌈(i+1)·H/OutH⌉) × (the same for columns). Masked: the
	// grid index of each row comes from pos and a window averages only
	// the rows present (an empty window gives 0). int8 keeps x's
	// quantization.
	OpAdaptiveTokenPool2D OpCode = 60
	// PoolMixer: x [T, D] → [T, D], PoolFormer's token mixer on the grid:
	// 3×3 average (stride 1, padding excluded from the count: 4 at
	// corners, 6 on edges, 9 inside) minus x. Prefix rows give 0, so that
	// the block's residual add leaves the class token unchanged.
	OpPoolMixer OpCode = 61
	// SwiGLU: gate, up (same shape) → SiLU(gate)·up. The three projections
	// of a SwiGLU MLP are ordinary FullyConnected ops around it.
	OpSwiGLU OpCode = 62
	// GGeMPool: x [T, D] → [1, D], generalized mean over the patch
	// tokens (rows Prefix…T−1) per channel, channels in Groups equal
	// groups with exponent P[g]: f = (mean max(x, Eps)^p)^(1/p). Negative
	// values are clamped to Eps (GeM's convention; the paper's own
	// treatment could not be verified).
	OpGGeMPool OpCode = 63
	// EfficientProbe: x [T, D], queries [M, D] (constant), v [T, Dv] →
	// [1, Dv]. Single-head attention of the M learned queries over the
	// tokens (no query/key projections, logits scaled by 1/√D; the prefix
	// rows are keys only with IncludePrefix); query m aggregates only value
	// channels m·Dv/M … (m+1)·Dv/M − 1. v is x·W_v from a FullyConnected.
	OpEfficientProbe OpCode = 64
	// ZOSensitivity: → s float32 [T], ZOO-Prune's zeroth-order token
	// sensitivity through an MLP P = fc2∘GELU∘fc1. Inputs by mode:
	//   jvp, lowrank_jvp: z [T, F] (fc1's output before GELU), a [M, F]
	//     (constant direction images a_j = W1·u_j), w [R, F] (constant: fc2's
	//     weights, or S_r·V_rᵀ of its rank-r SVD); s_i = mean_j ‖w·(GELU′(z_i) ⊙ a_j)‖.
	//   fro_diag: z, −1, w [F] (constant ‖W2[:,c]‖²·‖W1[c,:]‖²);
	//     s_i = sqrt(Σ_c GELU′(z_ic)²·w_c).
	//   central_diff (float only, for validation): x [T, DIn], u [M, DIn],
	//     w2 [R, F], w1 [F, DIn], b1 [F]; s_i = mean_j ‖P(x+h·u_j) − P(x−h·u_j)‖/(2h).
	// jvp is the exact limit h → 0 of central_diff. GELU is the exact
	// (erf) GELU; with ReLU set, GELU′ reads ReLU′ = 1[z > 0] and z may be
	// fc1's output with the ReLU fused. int8: z is fc1's int8 output (its
	// requantized accumulators), GELU′ comes from a 256-entry table.
	OpZOSensitivity OpCode = 65
	// DiverseSelect: feat [T, D], s float32 [T] → int16 [Prefix+Keep], the
	// rows to keep: 0…Prefix−1, then Keep rows chosen by SADS (seed: the
	// most sensitive; then argmax of min cosine distance to the kept set
	// times min–max-normalized sensitivity; ties to the lowest index) in
	// increasing order. A run-time budget below Keep leaves −1 in the tail.
	// Version 2 adds TopK: the Keep highest scores, no diversity (the
	// CLS-attention baseline when s is the class token's attention).
	// Version 3 adds AddWeight: distance + λ·sensitivity instead of the
	// product.
	OpDiverseSelect OpCode = 66
	// GatherTokens: x [T, ...], idx int16 [K] → [K, ...], row k = x[idx[k]];
	// an index outside [0, T) gives a row of real zeros (−1 for int16
	// positions). Keeps x's dtype and quantization.
	OpGatherTokens OpCode = 67
	// TokenAwareAvgPool: x [T, D], logits [GridH·GridW, K] (or
	// [1, GridH, GridW, K], the TAP predictor's output) → [T, D]. Per grid
	// token, softmax over the K logits mixes branches with Dilations[k]:
	// 0 is the token itself, d > 0 the sum of the 3×3 taps at distance d
	// with zero padding divided by 9. Prefix rows pass through. It feeds
	// only the attention's LayerNorm.
	OpTokenAwareAvgPool OpCode = 68
	// AttentionSinkRedistribute: probs [..., N] (post-softmax attention,
	// last axis over the N keys), h [N, D] (the block's input tokens) →
	// same as probs. VAR: sink tokens have D·h_d² > Tau²·Σ h² for a stored
	// sink dimension d; a row whose image (non-prefix) sink mass is ≤ Rho
	// of its image mass, and whose image mass is ≥ MinMass, scales its
	// sinks by P and gives the freed mass to the image non-sink keys in
	// proportion. Rows keep their sum. int8 keeps probs' quantization.
	OpAttentionSinkRedistribute OpCode = 69
	// ScatterTokens: x [K, ...], pos int16 [K] → [N, ...], the inverse of
	// GatherTokens: row pos[k] of the output is row k of x; rows no k
	// points at are real zeros, and a pos outside [0, N) drops its row.
	// It puts pruned tokens back in their places (pos: the original row
	// of each kept one, −1 for the dead rows of a run-time budget) for
	// what needs them there, such as a per-patch output. Keeps x's dtype
	// and quantization.
	OpScatterTokens OpCode = 70
)

func init() {
	for c, n := range map[OpCode]string{
		OpAdaptiveTokenPool2D: "AdaptiveTokenPool2D", OpPoolMixer: "PoolMixer", OpSwiGLU: "SwiGLU",
		OpGGeMPool: "GGeMPool", OpEfficientProbe: "EfficientProbe", OpZOSensitivity: "ZOSensitivity",
		OpDiverseSelect: "DiverseSelect", OpGatherTokens: "GatherTokens",
		OpTokenAwareAvgPool: "TokenAwareAvgPool", OpAttentionSinkRedistribute: "AttentionSinkRedistribute",
		OpScatterTokens: "ScatterTokens",
	} {
		opNames[c] = n
	}
	for c, a := range map[OpCode]arity{
		OpAdaptiveTokenPool2D: {1, 2, 1}, OpPoolMixer: {1, 1, -1}, OpSwiGLU: {2, 2, -1},
		OpGGeMPool: {1, 1, -1}, OpEfficientProbe: {3, 3, -1}, OpZOSensitivity: {3, 5, 1},
		OpDiverseSelect: {2, 2, -1}, OpGatherTokens: {2, 2, -1},
		OpTokenAwareAvgPool: {2, 2, -1}, OpAttentionSinkRedistribute: {2, 2, -1},
		OpScatterTokens: {2, 2, -1},
	} {
		opArity[c] = a
	}
}

// AdaptiveTokenPool2DOptions are the attributes of AdaptiveTokenPool2D.
type AdaptiveTokenPool2DOptions struct {
	GridH, GridW int32
	OutH, OutW   int32
	Prefix       int32
	KeepPrefix   bool
	Masked       bool
}

// PoolMixerOptions are the attributes of PoolMixer.
type PoolMixerOptions struct{ GridH, GridW, Prefix int32 }

// GGeMPoolOptions are the attributes of GGeMPool.
type GGeMPoolOptions struct {
	Groups, Prefix int32
	Eps            float32
	P              []float32 // one exponent per group, > 0
}

// EfficientProbeOptions are the attributes of EfficientProbe.
type EfficientProbeOptions struct {
	Prefix        int32
	IncludePrefix bool
}

// ZOMode selects how ZOSensitivity computes the sensitivity.
type ZOMode uint8

// ZOSensitivity modes.
const (
	ZOJVP         ZOMode = 0
	ZOLowRankJVP  ZOMode = 1
	ZOFroDiag     ZOMode = 2
	ZOCentralDiff ZOMode = 3
)

func (m ZOMode) String() string {
	switch m {
	case ZOJVP:
		return "jvp"
	case ZOLowRankJVP:
		return "lowrank_jvp"
	case ZOFroDiag:
		return "fro_diag"
	case ZOCentralDiff:
		return "central_diff"
	}
	return fmt.Sprintf("zomode(%d)", uint8(m))
}

// ZOSensitivityOptions are the attributes of ZOSensitivity.
type ZOSensitivityOptions struct {
	Mode ZOMode
	Step float32 // central_diff only
	// ReLU: the MLP's activation is ReLU, and z may be fc1's output with
	// the ReLU fused (its derivative 1[z > 0] reads the same from either);
	// otherwise it is the exact (erf) GELU.
	ReLU bool
}

// DiverseSelectOptions are the attributes of DiverseSelect.
type DiverseSelectOptions struct {
	Keep, Prefix int32
	// TopK keeps the Keep candidates with the highest scores (ties to the
	// lowest index, still listed in increasing order) instead of running
	// SADS; the features are not read. It needs op version 2.
	TopK bool
	// AddWeight λ > 0 makes SADS add the sensitivity instead of
	// multiplying by it: a candidate's score is its cosine distance to the
	// nearest kept token plus λ times its min–max-normalized sensitivity
	// (ZOO-Prune's default; see zoo.PruneOptions). It needs op version 3;
	// 0 is the paper's product.
	AddWeight float32
}

// TokenAwareAvgPoolOptions are the attributes of TokenAwareAvgPool.
type TokenAwareAvgPoolOptions struct {
	GridH, GridW, Prefix int32
	Dilations            []int32
}

// AttentionSinkOptions are the attributes of AttentionSinkRedistribute.
type AttentionSinkOptions struct {
	SinkDims             []int32
	Tau, Rho, MinMass, P float32
	Prefix               int32
}

func (*AdaptiveTokenPool2DOptions) isOptions() {}
func (*PoolMixerOptions) isOptions()           {}
func (*GGeMPoolOptions) isOptions()            {}
func (*EfficientProbeOptions) isOptions()      {}
func (*ZOSensitivityOptions) isOptions()       {}
func (*DiverseSelectOptions) isOptions()       {}
func (*TokenAwareAvgPoolOptions) isOptions()   {}
func (*AttentionSinkOptions) isOptions()       {}

// ConstInt16 adds an int16 constant (token positions).
func (b *Builder) ConstInt16(name string, shape []int32, v []int16) int32 {
	data := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(x))
	}
	return b.AddTensor(Tensor{Name: name, DType: Int16, Shape: append([]int32(nil), shape...), Data: data})
}

// Int16s decodes an int16 constant's data.
func (t *Tensor) Int16s() []int16 {
	out := make([]int16, len(t.Data)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(t.Data[2*i:]))
	}
	return out
}
