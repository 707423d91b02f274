package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConvertPruneCorpus: every ViT structure of the corpus (testdata/vits,
// exported from PyTorch by tools/vitcorpus) converts with
// `--prune zoo --prune-after-block 1 --keep 0.5`, to int8 (calibrated on
// three images) and float, and `run --keep 0.5 --overlay` runs it on the
// corpus input,
// keeping half of the maximum; `--prune cls` converts where there is a
// class token and is a usage error on a model without one. With -short
// (the emulated arm lanes) zoo converts to int8 only and cls to float
// only.
func TestConvertPruneCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "vits")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("ViT corpus: %v", err)
	}
	var doc struct {
		Models []struct {
			Name        string `json:"name"`
			File        string `json:"file"`
			Head        string `json:"head"`
			PatchTokens int    `json:"patch_tokens"`
			Input       struct {
				File string `json:"file"`
			} `json:"input"`
		} `json:"models"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Models) == 0 {
		t.Fatalf("ViT corpus manifest: %v, %d models", err, len(doc.Models))
	}
	tmp := t.TempDir()
	calib := filepath.Join(tmp, "calib", "0")
	if err := os.MkdirAll(calib, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 3; i++ {
		img := image.NewGray(image.Rect(0, 0, 42, 28))
		for p := range img.Pix {
			img.Pix[p] = uint8(r.Intn(256))
		}
		img.Set(0, 0, color.Gray{255})
		f, err := os.Create(filepath.Join(calib, strconv.Itoa(i)+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for _, cm := range doc.Models {
		src := filepath.Join(dir, cm.File)
		max := int(math.Round(0.5 * float64(cm.PatchTokens)))
		want := int(math.Round(0.5 * float64(max)))
		for _, mode := range []string{"zoo", "cls"} {
			for _, dtype := range []string{"int8", "float"} {
				if testing.Short() && (dtype == "int8") != (mode == "zoo") {
					continue
				}
				out := filepath.Join(tmp, cm.Name+"_"+mode+"_"+dtype+".eim")
				args := []string{"convert", src, out, "--prune", mode, "--prune-after-block", "1", "--keep", "0.5"}
				if dtype == "float" {
					args = append(args, "--float")
				} else {
					args = append(args, "--calibrate", filepath.Join(tmp, "calib"), "--calib-count", "3")
				}
				st, _, e := edgeinfer(args...)
				if mode == "cls" && cm.Head == "gap" {
					if st != 2 || !strings.Contains(e, "no class token") {
						t.Errorf("%s: convert --prune cls on a GAP model: status %d, %q; want 2 and no class token", cm.Name, st, e)
					}
					continue
				}
				if st != 0 {
					t.Errorf("%s: %v: status %d: %s", cm.Name, args, st, e)
					continue
				}
				png := filepath.Join(tmp, cm.Name+"_"+mode+"_"+dtype+".png")
				st, o, e := edgeinfer("run", "--model", out, "--input", filepath.Join(dir, cm.Input.File), "--keep", "0.5", "--overlay", png, "--json")
				var res runJSON
				if st != 0 || json.Unmarshal([]byte(o), &res) != nil {
					t.Errorf("%s %s %s: run --keep 0.5: status %d, %q %s", cm.Name, mode, dtype, st, o, e)
					continue
				}
				if len(res.Kept) != want {
					t.Errorf("%s %s %s: run --keep 0.5 kept %v, want %d patches", cm.Name, mode, dtype, res.Kept, want)
				}
			}
		}
	}
}
