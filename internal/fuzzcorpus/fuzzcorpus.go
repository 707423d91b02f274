// Package fuzzcorpus keeps a fuzz target's committed seed corpus equal to
// what its test generates, the one convention for every fuzz target in
// the repository:
//
//   - a function in the package's tests returns the seeds by name, made
//     from the package's own test models (never hand-written bytes);
//   - the fuzz target f.Adds them, and TestFuzzCorpus calls Check, which
//     fails when testdata/fuzz/<Target>/seed-<name> differs from them, is
//     missing, or names a seed no longer generated;
//   - go test -run=^TestFuzzCorpus$ -update-corpus (each package's go
//     generate step) rewrites them.
//
// Other files in the folder are inputs the fuzzer itself saved on a
// failure (named by their hash): regression inputs, kept as they are.
package fuzzcorpus

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update-corpus", false, "rewrite the committed fuzz seed corpora (testdata/fuzz/<Target>/seed-*) from their generators")

// Prefix starts the name of every generated seed file.
const Prefix = "seed-"

// File returns the contents of a corpus file holding the []byte input data
// (Go's "go test fuzz v1" encoding).
func File(data []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data)
}

// Check compares the committed seeds of fuzz target target (the folder
// testdata/fuzz/<target> of the package under test) with seeds, by name
// without Prefix; with -update-corpus it rewrites them instead and removes
// generated seeds no longer in seeds.
func Check(t testing.TB, target string, seeds map[string][]byte) {
	t.Helper()
	if len(seeds) == 0 {
		t.Fatalf("%s: no seeds generated", target)
		return
	}
	dir := filepath.Join("testdata", "fuzz", target)
	entries, err := os.ReadDir(dir)
	if err != nil && !(os.IsNotExist(err) && *update) {
		t.Fatalf("%v (run go generate in this package)", err)
		return
	}
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), Prefix)
		if _, generated := seeds[name]; !ok || generated {
			continue
		}
		if *update {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is no longer generated (run go generate in this package)", filepath.Join(dir, e.Name()))
	}
	names := make([]string, 0, len(seeds))
	for name := range seeds {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := filepath.Join(dir, Prefix+name)
		want := File(seeds[name])
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go generate in this package)", err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s is stale (run go generate in this package)", path)
		}
	}
}
