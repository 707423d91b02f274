package fuzzcorpus

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that collects Errorf and Fatalf messages
// instead of failing (Fatalf does not stop Check here; Check returns).
type recorder struct {
	testing.TB
	msgs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, a ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...) }
func (r *recorder) Fatal(a ...any)            { r.msgs = append(r.msgs, fmt.Sprint(a...)) }

func check(t *testing.T, seeds map[string][]byte, upd bool) []string {
	t.Helper()
	old := *update
	*update = upd
	defer func() { *update = old }()
	r := &recorder{TB: t}
	Check(r, "FuzzX", seeds)
	return r.msgs
}

func TestCheck(t *testing.T) {
	t.Chdir(t.TempDir())
	seeds := map[string][]byte{"a": []byte("alpha"), "empty": {}}
	if msgs := check(t, seeds, false); len(msgs) != 1 || !strings.Contains(msgs[0], "go generate") {
		t.Fatalf("no corpus yet: %q, want one error asking for go generate", msgs)
	}
	if msgs := check(t, seeds, true); len(msgs) != 0 {
		t.Fatalf("-update-corpus: %q", msgs)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzX")
	if b, err := os.ReadFile(filepath.Join(dir, "seed-a")); err != nil || string(b) != "go test fuzz v1\n[]byte(\"alpha\")\n" {
		t.Fatalf("seed-a = %q, %v", b, err)
	}
	if msgs := check(t, seeds, false); len(msgs) != 0 {
		t.Fatalf("fresh corpus: %q", msgs)
	}
	// A fuzzer-found input is left alone; a changed seed, a missing one
	// and one no longer generated are each reported.
	if err := os.WriteFile(filepath.Join(dir, "4619239f2a84d9f3"), File([]byte("crash")), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := map[string][]byte{"a": []byte("alpha2"), "b": []byte("beta")}
	msgs := check(t, changed, false)
	want := []string{"seed-empty is no longer generated", "seed-a is stale", "seed-b: no such file"}
	if len(msgs) != len(want) {
		t.Fatalf("got %q, want %d errors", msgs, len(want))
	}
	for i, w := range want {
		if !strings.Contains(msgs[i], w) {
			t.Errorf("error %d = %q, want it to mention %q", i, msgs[i], w)
		}
	}
	if msgs := check(t, changed, true); len(msgs) != 0 {
		t.Fatalf("-update-corpus: %q", msgs)
	}
	left, _ := os.ReadDir(dir)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "4619239f2a84d9f3 seed-a seed-b" {
		t.Errorf("after -update-corpus the folder holds %v", names)
	}
}
