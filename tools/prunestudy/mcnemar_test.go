package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMcNemarP(t *testing.T) {
	for _, c := range []struct {
		b, c int
		p    float64
	}{
		{0, 0, 1},
		{1, 0, 1},
		{3, 3, 1},
		{0, 5, 2.0 / 32},        // 2 · 2^-5
		{2, 8, 2 * 56.0 / 1024}, // 2 · (1 + 10 + 45) / 2^10
		{8, 2, 2 * 56.0 / 1024}, // symmetric
		{0, 20, 2 / 1048576.0},  // 2 · 2^-20
		{10, 11, 1},             // capped at 1
	} {
		if got := mcnemarP(c.b, c.c); math.Abs(got-c.p) > 1e-12 {
			t.Errorf("mcnemarP(%d, %d) = %v, want %v", c.b, c.c, got, c.p)
		}
	}
}

func TestPrintMcNemar(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pi.txt")
	lines := "m,int8,zoo,1,0.5,11010\nm,int8,uniform,1,0.5,10101\nm,int8,cls,1,0.5,00000\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printMcNemar(&out, path, "zoo", "uniform"); err != nil {
		t.Fatal(err)
	}
	// zoo right on images 0,1,3; uniform on 0,2,4: only zoo 1 and 3 (2), only uniform 2 and 4 (2).
	got := strings.Fields(strings.Split(out.String(), "\n")[1])
	want := []string{"m,int8,1,0.5", "3", "3", "2", "2", "1.000"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPrintKeptDiff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kept.txt")
	// Ten images: uniform always keeps patches 0 and 1; zoo keeps 1 and 3
	// except on image 9, where both keep the same set.
	var zoo, uni []string
	for i := 0; i < 10; i++ {
		zoo, uni = append(zoo, "1.3"), append(uni, "0.1")
	}
	zoo[9] = "0.1"
	lines := "m,int8,none,-1,1," + strings.Repeat(" ", 9) + "\n" +
		"m,int8,zoo,1,0.5," + strings.Join(zoo, " ") + "\n" +
		"m,int8,uniform,1,0.5," + strings.Join(uni, " ") + "\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printKeptDiff(&out, path, "zoo", "uniform"); err != nil {
		t.Fatal(err)
	}
	// Nine images swap patch 3 for 0: 0.9 swaps per image; patch 0 is kept
	// by uniform in all 10, by zoo in 1; patch 3 by zoo in 9, uniform in 0.
	got := strings.TrimSpace(strings.Split(out.String(), "\n")[1])
	want := "m,int8,1,0.5                             1   0.90  0 (zoo 10.0%, uniform 100.0%); 3 (zoo 90.0%, uniform 0.0%)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	os.WriteFile(path, []byte("m,int8,zoo,1,0.5,1.x\nm,int8,uniform,1,0.5,1.2\n"), 0o644)
	if err := printKeptDiff(&out, path, "zoo", "uniform"); err == nil || !strings.Contains(err.Error(), "image 0") {
		t.Errorf("damaged set: err = %v", err)
	}
}
