package main

import (
	"flag"
	"path/filepath"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

func init() {
	convertHooks = append(convertHooks, pruneConvertFlags)
}

// pruneConvertFlags adds ZOO-Prune to convert: --prune inserts it into a
// float ViT (.eim or zoo:NAME:float) after --prune-after-block, keeping
// --keep patch tokens (0: all at load, chosen per run with --tokens).
func pruneConvertFlags(fs *flag.FlagSet) func(in string) (*format.Model, bool, error) {
	mode := fs.String("prune", "", "insert ZOO-Prune into a float ViT: zoo (= jvp), jvp, lowrank_jvp, fro_diag or uniform (diversity only)")
	after := fs.Int("prune-after-block", 0, "with --prune: the 0-based block after which tokens are pruned")
	keep := fs.Int("keep", 0, "with --prune: patch tokens kept (0: all; pick per run with --tokens)")
	dirs := fs.Int("directions", 8, "with --prune: number of directions m of the jvp sensitivity")
	return func(in string) (*format.Model, bool, error) {
		if *mode == "" {
			return nil, false, nil
		}
		if strings.ToLower(filepath.Ext(in)) == ".onnx" {
			return nil, false, usagef("--prune: convert the ONNX model to a float .eim first (--float), then prune that")
		}
		m, err := loadModel(in)
		if err != nil {
			return nil, false, err
		}
		md := *mode
		switch md {
		case "zoo":
			md = "jvp"
		case "cls":
			return nil, false, usagef("--prune cls is not implemented; use zoo, jvp, lowrank_jvp, fro_diag or uniform")
		}
		pm, err := zoo.InsertPruning(m, zoo.PruneOptions{AfterBlock: *after, Mode: md, Directions: *dirs})
		if err != nil {
			return nil, false, err
		}
		if *keep > 0 {
			if pm, err = runtime.FixTokens(pm, *keep); err != nil {
				return nil, false, err
			}
		}
		return pm, true, nil
	}
}
