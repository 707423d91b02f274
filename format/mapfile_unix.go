//go:build linux || darwin || freebsd

package format

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapFile maps f read-only. Pages are shared with the page cache, so a
// model's weights cost no heap and no second copy, and the kernel can drop
// them under memory pressure. The mapping is private: the file changing on
// disk later does not change the model (a file replaced by rename, as the
// service's updates do, keeps its old pages), but a file truncated in
// place while mapped faults on the missing pages.
func mapFile(f *os.File, size int64) ([]byte, error) {
	if size != int64(int(size)) {
		return nil, fmt.Errorf("%d bytes do not fit this platform's address space", size)
	}
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
}

func unmapFile(b []byte) { _ = unix.Munmap(b) }

// DropPages tells the OS that constant tensor i's bytes will not be read
// again soon, for a model from ReadFile: the runtime calls it for weights
// it has repacked, so they are not resident twice. The bytes stay valid
// (a later read faults them back in from the file). For a model read from
// memory, or a tensor outside the mapping, it does nothing.
func (m *Model) DropPages(i int) {
	if m.mapped == nil || i < 0 || i >= len(m.Tensors) || len(m.Tensors[i].Data) == 0 {
		return
	}
	d := m.Tensors[i].Data
	base := uintptr(unsafe.Pointer(&m.mapped[0]))
	start := uintptr(unsafe.Pointer(&d[0]))
	if start < base || start+uintptr(len(d)) > base+uintptr(len(m.mapped)) {
		return
	}
	page := uintptr(os.Getpagesize())
	lo := (start - base + page - 1) / page * page // whole pages inside d only
	hi := (start - base + uintptr(len(d))) / page * page
	if hi > lo {
		_ = unix.Madvise(m.mapped[lo:hi], unix.MADV_DONTNEED)
	}
}
