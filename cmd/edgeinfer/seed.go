package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// tokensFlag adds --tokens, the run-time token budget, to a command.
func tokensFlag(fs *flag.FlagSet) *int {
	return fs.Int("tokens", 0, "keep N patch tokens at each pruning op (0: as many as the model was built with)")
}

// applyTokens sets the token budget chosen with --tokens.
func applyTokens(it *runtime.Interpreter, n int) error {
	if n == 0 {
		return nil
	}
	if n < 0 {
		return usagef("--tokens %d: keep at least 1 token", n)
	}
	limit, err := tokenLimit(it, "--tokens")
	if err != nil {
		return err
	}
	if n > limit {
		return usagef("--tokens %d: more than the model's maximum of %d", n, limit)
	}
	if err := it.SetTokens(n); err != nil {
		return fmt.Errorf("--tokens %d: %w", n, err)
	}
	return nil
}

// macsNote compares the MACs of a zoo variant with its baseline model:
// " (−31.2% vs deit-tiny: 1.26G)", or "" for other models.
func macsNote(name string, macs int64) string {
	base := zoo.Baseline(name)
	if base == "" {
		return ""
	}
	b, err := zoo.MACs(base)
	if err != nil || b == 0 {
		return ""
	}
	return fmt.Sprintf(" (%+.1f%% vs %s: %d MACs)", 100*float64(macs-b)/float64(b), base, b)
}

// listZoo prints every zoo model with its MACs per inference and the
// change against its baseline (zoo --list).
func listZoo(w io.Writer) error {
	fmt.Fprintf(w, "%-22s %14s %9s  %s\n", "model", "MACs", "vs base", "description")
	for _, name := range zoo.Names() {
		macs, err := zoo.MACs(name)
		if err != nil {
			return err
		}
		vs := ""
		if base := zoo.Baseline(name); base != "" {
			if b, err := zoo.MACs(base); err == nil && b > 0 {
				vs = fmt.Sprintf("%+.1f%%", 100*float64(macs-b)/float64(b))
			}
		}
		fmt.Fprintf(w, "%-22s %14d %9s  %s\n", name, macs, vs, zoo.Describe(name))
	}
	return nil
}
