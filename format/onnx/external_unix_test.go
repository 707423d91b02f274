//go:build unix

package onnx_test

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/edgeinfer/edgeinfer/format/onnx"
)

// TestExternalDataStaysInFolder: external data that reaches a file outside
// the model's folder — through a symbolic link, a symlinked parent folder or
// a literal ".." — is refused, although the file outside holds valid weights
// (without the guard the import would succeed). Links that stay inside the
// folder still work; a FIFO is refused instead of blocking.
func TestExternalDataStaysInFolder(t *testing.T) {
	top := t.TempDir()
	dir, outside := filepath.Join(top, "model"), filepath.Join(top, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	raw := make([]byte, 16)
	for i, v := range []float32{1, 2, 3, 4} {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	for _, p := range []string{filepath.Join(dir, "w.bin"), filepath.Join(outside, "secret.bin")} {
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"inside.bin": "w.bin",                                      // stays in the folder
		"link.bin":   filepath.Join("..", "outside", "secret.bin"), // relative, leads out
		"abs.bin":    filepath.Join(outside, "secret.bin"),         // absolute, leads out
		"sub":        outside,                                      // a symlinked folder
		"subrel":     filepath.Join("..", "outside"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	fifo := filepath.Join(dir, "fifo.bin")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	model := func(loc string) string { return externalMatMul(t, dir, loc, "0", "16") }
	for _, loc := range []string{"w.bin", "inside.bin"} {
		r, err := onnx.ImportFile(model(loc), onnx.Options{})
		if err != nil {
			t.Fatalf("location %q: %v", loc, err)
		}
		assertClose(t, loc, runModel(t, r.Model, []float32{1, 1})[0], []float32{4, 6}, 1e-6)
	}
	for _, c := range []struct{ loc, want string }{
		{"link.bin", "link.bin"},
		{"abs.bin", "abs.bin"},
		{"sub/secret.bin", "sub/secret.bin"},
		{"subrel/secret.bin", "subrel/secret.bin"},
		{"sub/../w.bin", "sub/../w.bin"}, // sub/.. is outside's parent, not dir
		{"../outside/secret.bin", "not a path inside"},
		{"sub/../../outside/secret.bin", "not a path inside"},
		{"fifo.bin", "not a regular file"},
	} {
		_, err := onnx.ImportFile(model(c.loc), onnx.Options{})
		if err == nil || !errors.Is(err, onnx.ErrExternal) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("location %q: error %v, want ErrExternal mentioning %q", c.loc, err, c.want)
		}
	}
}
