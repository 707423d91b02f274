package main

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/runtime"
)

// applyKeep sets the run-time token budget that run's and eval's --keep
// ask for (a ratio of the model's maximum, or a count) and returns it.
func applyKeep(it *runtime.Interpreter, k *keepFlag) (int, error) {
	limit, err := tokenLimit(it, "--keep")
	if err != nil {
		return 0, err
	}
	n, err := k.tokens(limit)
	if err != nil {
		return 0, usagef("--keep: %v", err)
	}
	if err := it.SetTokens(n); err != nil {
		return 0, fmt.Errorf("--keep: %w", err)
	}
	return n, nil
}

// tokenLimit returns the model's maximum token budget, or a usage error
// for flag saying why the model has none.
func tokenLimit(it *runtime.Interpreter, flag string) (int, error) {
	limit, reason := it.TokenBudget()
	if reason == nil {
		return limit, nil
	}
	if reason == runtime.ErrNoTokenBudget {
		return 0, usagef("%s: model %q has no token budget (no pruning op; convert it with --prune)", flag, it.Model().Name)
	}
	return 0, usagef("%s: model %q has no run-time token budget: %v", flag, it.Model().Name, reason)
}
