package testshared

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records Skip and Fatal instead of ending
// the goroutine, so Path's outcomes can be checked.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = f }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = f }
func (r *recorder) Fatal(a ...any)            { r.failed = "fatal" }

func TestPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "models", "m.tflite"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(DirEnv, dir)

	t.Setenv(ExpectEnv, "1")
	r := &recorder{TB: t}
	if p := Path(r, "models/m.tflite"); p != filepath.Join(dir, "models", "m.tflite") || r.skipped != "" || r.failed != "" {
		t.Errorf("present file: got %q, skipped %q, failed %q", p, r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	Path(r, "models/absent.onnx")
	if r.failed == "" || r.skipped != "" {
		t.Errorf("missing file with %s=1: skipped %q, failed %q; want a failure", ExpectEnv, r.skipped, r.failed)
	}

	t.Setenv(ExpectEnv, "")
	r = &recorder{TB: t}
	Path(r, "models/absent.onnx")
	if r.skipped == "" || r.failed != "" {
		t.Errorf("missing file without %s: skipped %q, failed %q; want a skip", ExpectEnv, r.skipped, r.failed)
	}
}

// TestDirBesideModuleRoot: without $EDGEINFER_SHARED the folder is
// shared beside the module root, two levels above this package.
func TestDirBesideModuleRoot(t *testing.T) {
	t.Setenv(DirEnv, "")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if d, want := Dir(t), filepath.Join(wd, "..", "..", "..", "shared"); d != want {
		t.Fatalf("Dir = %s, want %s", d, want)
	}
}
