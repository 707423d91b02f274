package zoo_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// TestPruningPrefixTrainedViTs checks, on every trained ViT of the corpus
// (mnist_deit has a class and a distillation token), that the selection
// keeps exactly the manifest's special tokens as its prefix and chooses
// among the patches only, after block 0 and after block 1, for every mode.
func TestPruningPrefixTrainedViTs(t *testing.T) {
	raw, err := os.ReadFile("../testdata/vits/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		Models []struct {
			Name     string `json:"name"`
			File     string `json:"file"`
			Patches  int    `json:"patch_tokens"`
			Specials int    `json:"special_token_count"`
			Trained  any    `json:"trained"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mnist_cls_attn", "mnist_reg4", "mnist_deit", "mnist_gap"} {
		seen := false
		for _, e := range man.Models {
			if e.Name != name {
				continue
			}
			seen = true
			r, err := onnx.ImportFile(filepath.Join("../testdata/vits", e.File), onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{"zoo", "uniform", "cls"} {
				if mode == "cls" && name == "mnist_gap" {
					continue
				}
				for block := 0; block < 2; block++ {
					pm, err := zoo.InsertPruning(r.Model, zoo.PruneOptions{AfterBlock: block, Mode: mode})
					if err != nil {
						t.Fatalf("%s %s block %d: %v", name, mode, block, err)
					}
					found := false
					for _, op := range pm.Ops {
						if op.Code != format.OpDiverseSelect {
							continue
						}
						found = true
						o := op.Options.(*format.DiverseSelectOptions)
						if int(o.Prefix) != e.Specials || int(o.Keep) != e.Patches {
							t.Errorf("%s %s block %d: prefix %d keep %d, want %d special rows and %d patches", name, mode, block, o.Prefix, o.Keep, e.Specials, e.Patches)
						}
					}
					if !found {
						t.Errorf("%s %s block %d: no selection", name, mode, block)
					}
				}
			}
		}
		if !seen {
			t.Errorf("%s: not in the manifest", name)
		}
	}
}
