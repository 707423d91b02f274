package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sampleRows() []row {
	var rows []row
	for _, dt := range []string{"float", "int8"} {
		rows = append(rows, row{DType: dt, Method: "none", Ratio: 1, Kept: 49, Correct: 970, N: 1000, MACs: 32e6})
		for _, m := range []string{"zoo", "cls"} {
			for l := 1; l <= 3; l++ {
				for k, r := range []float64{0.75, 0.5, 0.33} {
					rows = append(rows, row{DType: dt, Method: m, Layer: l, Ratio: r, Kept: []int{37, 25, 16}[k],
						Correct: 960 - 10*k*l, N: 1000, MACs: int64(30e6 - 4e6*k)})
				}
			}
		}
	}
	return rows
}

// TestCSVRoundTrip: rows written to the CSV read back equal, and a damaged
// line is an error naming it.
func TestCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.csv")
	var b strings.Builder
	b.WriteString(strings.Join(header, ",") + "\n")
	rows := sampleRows()
	for _, r := range rows {
		b.WriteString(strings.Join(r.record(), ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := readCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rows) {
		t.Fatalf("%d rows back, wrote %d", len(back), len(rows))
	}
	for i := range rows {
		if back[i] != rows[i] {
			t.Errorf("row %d: %+v read back as %+v", i, rows[i], back[i])
		}
	}
	os.WriteFile(path, []byte(b.String()+"int8,zoo,1,0.5,25,x,1000,1,1\n"), 0o644)
	if _, err := readCSV(path); err == nil || !strings.Contains(err.Error(), "line 40") {
		t.Errorf("damaged line: err = %v", err)
	}
}

func TestTableAndPlot(t *testing.T) {
	rows := sampleRows()
	var b strings.Builder
	printTable(&b, rows)
	out := b.String()
	for _, want := range []string{"| int8 | cls | 3 | 97.00% | 96.00% (37) | 93.00% (25) | 90.00% (16) |",
		"| float | zoo | 1 | 97.00% | 96.00% (37) | 95.00% (25) | 94.00% (16) |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	path := filepath.Join(t.TempDir(), "s.png")
	if err := plotRows(path, rows); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() <= b.Dy() || b.Dy() < 300 {
		t.Errorf("plot is %v, want two panels side by side", b)
	}
	if err := plotRows(path, rows[1:10]); err == nil {
		t.Error("rows without an unpruned model plotted")
	}
}
