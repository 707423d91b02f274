package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

func init() {
	floatPasses = append(floatPasses, pruneConvertFlags)
}

// pruneConvertFlags adds ZOO-Prune to convert: --prune inserts it into a
// float ViT (an .onnx file before calibration, a float .eim or
// zoo:NAME:float) after --prune-after-block. The converted model keeps
// at most --keep patch tokens (default all); runs pick fewer with --keep
// or --tokens. It reports the MACs per inference at that budget next to
// the unpruned model's, and says so when the sensitivity costs more than
// the pruned tokens save (on small ViTs it does: see the README).
func pruneConvertFlags(fs *flag.FlagSet, stdout io.Writer) floatPass {
	mode := fs.String("prune", "", "insert ZOO-Prune into a float ViT: zoo (jvp sensitivity, distance + 0.1 × sensitivity: the tuned default), jvp, lowrank_jvp, fro_diag (the paper's distance × sensitivity), uniform (diversity only) or cls (top-k by CLS attention, the baseline)")
	after := fs.Int("prune-after-block", 0, "with --prune: the 0-based block after which tokens are pruned")
	var keep keepFlag
	fs.Var(&keep, "keep", "with --prune: the most patch tokens kept, a ratio R in (0, 1] (round(R × patch tokens), at least 1) or a count > 1 (default: all; runs pick fewer with --keep or --tokens)")
	dirs := fs.Int("directions", 8, "with --prune: number of directions m of the jvp sensitivity")
	return func(m *format.Model) (*format.Model, bool, error) {
		if *mode == "" {
			if keep.set {
				return nil, false, usagef("--keep needs --prune (runs choose their budget with run --keep)")
			}
			return nil, false, nil
		}
		if len(m.Inputs) == 0 || m.Tensors[m.Inputs[0]].DType != format.Float32 {
			return nil, false, usagef("--prune needs a float model: an .onnx file, a float .eim or zoo:NAME:float")
		}
		pm, err := zoo.InsertPruning(m, zoo.PruneOptions{AfterBlock: *after, Mode: *mode, Directions: *dirs})
		if errors.Is(err, zoo.ErrNoClassToken) {
			return nil, false, usagef("--prune cls: model %q has no class token (its head reads no special row by index, as a global-average-pool head does): use zoo, jvp, lowrank_jvp, fro_diag or uniform", m.Name)
		}
		if err != nil {
			return nil, false, err
		}
		patches, err := runtime.AnalyzeTokens(pm).Budget()
		if err != nil {
			return nil, false, err
		}
		kept := patches
		if keep.set {
			if kept, err = keep.tokens(patches); err != nil {
				return nil, false, usagef("--keep: %v", err)
			}
			if pm, err = runtime.FixTokens(pm, kept); err != nil {
				return nil, false, err
			}
		}
		pm.Description = fmt.Sprintf("%s; %s pruning after block %d, keeping at most %d of %d patch tokens", pm.Description, *mode, *after, kept, patches)
		before, err := macs(m)
		if err != nil {
			return nil, false, err
		}
		pruned, err := macs(pm)
		if err != nil {
			return nil, false, err
		}
		fmt.Fprintf(stdout, "--prune %s after block %d: %.2f M MACs per inference at %d of %d patch tokens, %.2f M unpruned\n",
			*mode, *after, float64(pruned)/1e6, kept, patches, float64(before)/1e6)
		if keep.set && pruned >= before {
			fmt.Fprintf(stdout, "note: on this model the sensitivity (--directions %d) costs more MACs than the pruned tokens save; fewer --directions or --prune uniform (diversity only) cost less\n", *dirs)
		}
		return pm, true, nil
	}
}

// macs counts one inference of m at its largest token budget.
func macs(m *format.Model) (int64, error) {
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	return it.MACs(), nil
}

// keepFlag is --keep: a ratio R in (0, 1] of the patch tokens, or a count
// of them when greater than 1. 1 is the ratio (all tokens).
type keepFlag struct {
	v   float64
	set bool
}

func (k *keepFlag) String() string {
	if k == nil || !k.set {
		return ""
	}
	return strconv.FormatFloat(k.v, 'g', -1, 64)
}

func (k *keepFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("want a ratio in (0, 1] or a count > 1")
	case v <= 0:
		return fmt.Errorf("%v keeps no token: want a ratio in (0, 1] or a count > 1", v)
	case v > 1 && v != math.Trunc(v):
		return fmt.Errorf("%v is neither a ratio in (0, 1] nor a whole count", v)
	}
	k.v, k.set = v, true
	return nil
}

// tokens returns how many of max patch tokens --keep asks for: a ratio R
// keeps math.Round(R·max) (halves away from zero: 0.5 of 49 is 25), at
// least 1; a count must not exceed max.
func (k *keepFlag) tokens(limit int) (int, error) {
	if k.v <= 1 {
		return int(math.Max(1, math.Round(k.v*float64(limit)))), nil
	}
	if n := int(k.v); n <= limit {
		return n, nil
	}
	return 0, fmt.Errorf("%d patch tokens is more than the model's maximum of %d", int(k.v), limit)
}
