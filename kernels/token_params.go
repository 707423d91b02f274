package kernels

import "github.com/edgeinfer/edgeinfer/quant"

// Parameters of the token-adaptive and robust ViT operators (the "seed"
// operators of issue 6). Token tensors are [T, D]: Prefix leading tokens
// (the class token) followed by the patch tokens of a GridH×GridW grid in
// row-major order, unless a positions tensor says where each row sits.

// Window is the half-open input range [Lo, Hi) of one adaptive-pool output
// index along one axis.
type Window struct{ Lo, Hi int }

// AdaptiveTokenPoolParams describes AdaptiveTokenPool2D: the patch grid
// GridH×GridW (D channels) averaged into OutH×OutW tokens with PyTorch's
// adaptive-average windows (RowWin, ColWin). Rows is the number of live
// input rows (≤ the planned maximum); Prefix leading input rows are the
// class token(s), copied first to the output when KeepPrefix. Masked: the
// grid index of each input row comes from a positions tensor (−1: not a
// grid token) and each window averages only the rows present; otherwise
// input row Prefix+i is grid index i.
type AdaptiveTokenPoolParams struct {
	GridH, GridW, OutH, OutW, D int
	Rows, Prefix                int
	KeepPrefix, Masked          bool
	RowWin, ColWin              []Window
	// float only: nothing; int8 keeps the input's quantization.
	ZP int32 // int8: the zero point an empty window produces
}

// PoolMixerParams describes PoolMixer (PoolFormer's token mixer):
// out = avg3×3(x) − x over the grid, padding excluded from the count,
// and 0 for the Prefix rows. int8: Mult[n] = s_in/(n·s_out) for a window
// of n valid taps (n = 1…9).
type PoolMixerParams struct {
	GridH, GridW, D, Prefix int
	InZP, OutZP             int32
	Mult                    [10]quant.Multiplier
	Rounding                quant.Rounding
}

// SwiGLUParams describes int8 SwiGLU out = SiLU(gate)·up over N elements:
// Act[q+128] = round(SiLU(s_g·(q − z_g))/s_a) in int16 (s_a chosen at
// load so the largest entry is 32767), the product Act[g]·(u − UpZP) is an
// exact int32 and Mult = s_a·s_u/s_out brings it to the output.
type SwiGLUParams struct {
	Act      *[256]int16
	UpZP     int32
	OutZP    int32
	Mult     quant.Multiplier
	Rounding quant.Rounding
}

// GGeMParams describes GGeMPool: generalized mean over the Rows−Prefix
// patch tokens of each channel, D channels in Groups equal groups, group
// g with exponent P[g]: f_d = (mean_i max(x_id, Eps)^p)^(1/p). int8:
// Pow[g][q+128] = max(s_in·(q − z_in), Eps)^P[g] (float64, built at load).
type GGeMParams struct {
	Rows, Prefix, D, Groups int
	P                       []float32
	Eps                     float32
	Pow                     [][256]float64 // int8 only
	Out                     quant.Params   // int8 only
}

// EfficientProbeParams describes EfficientProbe: M learned queries attend
// (single head, no query/key projections, logits scaled by Scale =
// 1/√D) over the keys x[First:Rows]; query m aggregates only its own
// chunk of C = Dv/M value channels. int8: logits are exact int32
// dot products (x − XZP)·(q − QZP), turned into softmax weights in float64
// and rounded to Q16; the output is Mult·Σ w·(v − VZP) + OutZP with
// Mult = s_v/(2^16·s_out) and LogitScale = s_x·s_q·Scale.
type EfficientProbeParams struct {
	M, D, Dv, C int
	First, Rows int
	Scale       float32
	// int8 only:
	XZP, QZP, VZP, OutZP int32
	LogitScale           float64
	Mult                 quant.Multiplier
	Rounding             quant.Rounding
}

// ZO sensitivity modes (format.ZOSensitivityOptions.Mode has the same values).
const (
	ZOJVP         = 0 // s_i = mean_j ‖W·(GELU′(z_i) ⊙ a_j)‖
	ZOLowRankJVP  = 1 // the same with W = S_r·V_rᵀ (rank r)
	ZOFroDiag     = 2 // s_i = sqrt(Σ_c GELU′(z_ic)²·w_c)
	ZOCentralDiff = 3 // float only: mean_j ‖P(x+h·u_j) − P(x−h·u_j)‖/(2h)
)

// ZOSensitivityParams describes ZOSensitivity over Rows tokens. F is the
// MLP hidden width, M the number of directions, R the rows of the
// Jacobian-side matrix (fc2's D_out, or the rank r), DIn the MLP input
// width (central difference only).
type ZOSensitivityParams struct {
	Mode       int
	Rows, F, M int
	R, DIn     int
	H          float32 // central difference step
	ReLU       bool    // the MLP's activation is ReLU instead of erf GELU
	// int8 only: GELU′ table of the fc1 output codes in Q14, the
	// per-direction scales of a_j, the per-row scales of W.
	GradQ14  *[256]int16
	DirScale []float32
	WScale   []float32
}

// DiverseSelectParams describes SADS: from the candidate rows
// Prefix…Rows−1 keep Keep, seeded by the most sensitive and then greedily
// maximizing (min cosine distance to the kept set) × (min–max normalized
// sensitivity), ties to the lowest index; the output lists the prefix rows
// then the kept rows in increasing order. int8: features are
// zero-point-corrected exact integers (FeatZP). TopK keeps the Keep
// highest scores instead (ties to the lowest index; features unread).
// AddWeight λ > 0 replaces the product by distance + λ × sensitivity.
type DiverseSelectParams struct {
	Rows, D, Prefix, Keep int
	FeatZP                int32
	TopK                  bool
	AddWeight             float64
}

// TAPParams describes TokenAwareAvgPool on a GridH×GridW grid of D
// channels after Prefix pass-through rows: K branches with dilations
// Dilations (0: identity; d: 3×3 taps at distance d, zero padding, sum/9),
// mixed per token by softmax weights of K logits per grid cell. int8:
// Exp is the softmax table of the logits (ref.NewSoftmaxTable), weights
// are Q15, Mult = s_x/(9·2^15·s_out), PassMult = s_x/s_out.
type TAPParams struct {
	GridH, GridW, D, Prefix int
	Dilations               []int
	// int8 only:
	Exp            *[256]uint32
	InZP, OutZP    int32
	Mult, PassMult quant.Multiplier
	Rounding       quant.Rounding
}

// SinkParams describes AttentionSinkRedistribute (VAR) on attention
// probabilities [Rows, N] whose keys are the N tokens of h [N, D]. Keys
// before Prefix are not image tokens. A token t is a sink when
// D·h[t,d]² > Tau²·Σ_c h[t,c]² for some d in SinkDims (int8: on h − HZP).
// A row is redistributed when its image-sink mass ≤ Rho·image mass and
// its image mass ≥ MinMass: sink entries are scaled by P and the freed
// mass is shared among the image non-sink keys in proportion to their
// attention. int8 keeps the probabilities' quantization (ProbZP is the
// zero point; PQ15 = round(P·2^15)).
type SinkParams struct {
	Rows, N, D, Prefix int
	SinkDims           []int
	Tau, Rho, MinMass  float32
	P                  float32
	HZP, ProbZP        int32
	PQ15               int32
}
