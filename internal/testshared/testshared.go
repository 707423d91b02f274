// Package testshared finds, for tests, the project's shared data: the real
// models, datasets and photos that live beside the repository, in the
// folder shared next to the module root, not in it.
//
// A test that cannot find a shared file skips, saying which file and
// where it looked, so that a checkout without the folder still tests what
// it can. Where the data must be there (CI sets EDGEINFER_EXPECT_SHARED=1),
// a missing file fails the test instead: a skip there would hide that the
// test ran nothing.
package testshared

import (
	"os"
	"path/filepath"
	"testing"
)

// Environment variables read by Path.
const (
	// ExpectEnv set to 1 turns a missing shared file into a test failure.
	ExpectEnv = "EDGEINFER_EXPECT_SHARED"
	// DirEnv, when set, is the shared folder to use instead of the one
	// beside the module root.
	DirEnv = "EDGEINFER_SHARED"
)

// Dir returns the shared folder: $EDGEINFER_SHARED, or shared beside the
// module root (the directory above the test's that holds go.mod). It does
// not check that the folder exists.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above %s: cannot place the shared folder", dir)
		}
		dir = parent
	}
}

// Path returns the path of rel (slash-separated, relative to the shared
// folder) when it exists. Otherwise it skips the test, or fails it when
// $EDGEINFER_EXPECT_SHARED is 1.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Dir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		if os.Getenv(ExpectEnv) == "1" {
			t.Fatalf("shared file %s is missing and %s=1: %v", rel, ExpectEnv, err)
			return ""
		}
		t.Skipf("shared file %s is missing (%v); %s names another shared folder, %s=1 makes this a failure", rel, err, DirEnv, ExpectEnv)
	}
	return p
}
