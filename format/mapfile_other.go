//go:build !(linux || darwin || freebsd)

package format

import (
	"io"
	"os"
)

// mapFile reads f where there is no mmap.
func mapFile(f *os.File, size int64) ([]byte, error) {
	b := make([]byte, size)
	_, err := io.ReadFull(f, b)
	return b, err
}

func unmapFile([]byte) {}

// DropPages does nothing where ReadFile does not map files.
func (m *Model) DropPages(i int) {}
