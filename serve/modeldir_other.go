//go:build !linux

package serve

import (
	"context"
	"errors"
)

func (s *Service) watchModelDir(ctx context.Context, dir string) error {
	return errors.New("--model-dir needs Linux (inotify)")
}
