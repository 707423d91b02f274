package main

import (
	"flag"
	"fmt"

	"github.com/edgeinfer/edgeinfer/runtime"
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
