package neon

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/edgeinfer/edgeinfer/kernels/neon/internal/a64"
)

var wordLine = regexp.MustCompile(`^\s*WORD\s+\$0x([0-9a-fA-F]{8})\s*//\s*(.+?)\s*$`)

// TestWordEncodings re-encodes the comment of every WORD in the package's
// assembly and checks it against the emitted constant, so no WORD can say
// one instruction and be another. Package a64's own test checks the encoder
// against an independent assembler.
func TestWordEncodings(t *testing.T) {
	files, err := filepath.Glob("*.s")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no assembly files found")
	}
	words := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			m := wordLine.FindStringSubmatch(sc.Text())
			if m == nil {
				if regexp.MustCompile(`^\s*WORD\b`).MatchString(sc.Text()) {
					t.Errorf("%s:%d: WORD without the `WORD $0x… // instruction` form: %q", name, line, sc.Text())
				}
				continue
			}
			words++
			v, _ := strconv.ParseUint(m[1], 16, 32)
			want, err := a64.Encode(m[2])
			if err != nil {
				t.Errorf("%s:%d: %v", name, line, err)
				continue
			}
			if uint32(v) != want {
				t.Errorf("%s:%d: WORD $0x%08x but %q encodes as $0x%08x", name, line, v, m[2], want)
			}
		}
		f.Close()
	}
	if words < 100 {
		t.Errorf("only %d WORD lines checked; the kernels have hundreds", words)
	}
	t.Logf("%d WORD encodings checked", words)
}
