package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/onnx"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// mnistNorm is x' = (x/255 − 0.1307)/0.3081, the training normalization
// of every model in the study.
var mnistNorm = format.Preprocess{Scale: 1.0 / 255, Mean: []float32{0.1307}, Std: []float32{0.3081}}

// spec is one model of the study: a name for the table and its ONNX file.
type spec struct {
	Name, Path string
	Pre        format.Preprocess
}

// manifest is the part of testdata/vits/manifest.json the study reads.
type manifest struct {
	Models []struct {
		Name          string `json:"name"`
		File          string `json:"file"`
		Trained       bool   `json:"trained"`
		Preprocessing *struct {
			Scale float32   `json:"scale"`
			Mean  []float32 `json:"mean"`
			Std   []float32 `json:"std"`
		} `json:"preprocessing"`
	} `json:"models"`
}

// resolveModels turns -models into specs: "researchase" (the shared
// MNIST ViT), "trained" (every trained model of the corpus manifest, in
// its order), the name of a manifest model, or a path to an .onnx file
// (MNIST normalization).
func resolveModels(list, researchase, manifestPath string) ([]spec, error) {
	var man *manifest
	loadManifest := func() error {
		if man != nil {
			return nil
		}
		b, err := os.ReadFile(manifestPath)
		if err != nil {
			return fmt.Errorf("-manifest: %w", err)
		}
		man = new(manifest)
		if err := json.Unmarshal(b, man); err != nil {
			return fmt.Errorf("-manifest %s: %w", manifestPath, err)
		}
		return nil
	}
	fromManifest := func(i int) spec {
		e := man.Models[i]
		s := spec{Name: e.Name, Path: filepath.Join(filepath.Dir(manifestPath), e.File), Pre: mnistNorm}
		if p := e.Preprocessing; p != nil {
			s.Pre = format.Preprocess{Scale: p.Scale, Mean: p.Mean, Std: p.Std}
		}
		return s
	}
	var out []spec
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "researchase":
			out = append(out, spec{Name: name, Path: researchase, Pre: mnistNorm})
		case strings.HasSuffix(name, ".onnx"):
			out = append(out, spec{Name: strings.TrimSuffix(filepath.Base(name), ".onnx"), Path: name, Pre: mnistNorm})
		default:
			if err := loadManifest(); err != nil {
				return nil, err
			}
			n := len(out)
			for i, e := range man.Models {
				if name == "trained" && e.Trained || name == e.Name {
					out = append(out, fromManifest(i))
				}
			}
			if len(out) == n {
				return nil, fmt.Errorf("-models: %q is not researchase, trained, an .onnx path or a model of %s", name, manifestPath)
			}
		}
	}
	return out, nil
}

// loadSpec imports the model in float with its preprocessing.
func loadSpec(s spec) (*format.Model, error) {
	r, err := onnx.ImportFile(s.Path, onnx.Options{})
	if err != nil {
		return nil, err
	}
	m := r.Model
	if m.Preprocess == nil {
		return nil, fmt.Errorf("%s: the import has no preprocessing to complete", s.Path)
	}
	m.Preprocess.Scale, m.Preprocess.Mean, m.Preprocess.Std = s.Pre.Scale, s.Pre.Mean, s.Pre.Std
	return m, nil
}

// parseMethod reads one -methods entry: "none", "cls", "uniform", "zoo"
// (ZOO-Prune's default, zoo.PruneOptions{Mode: "zoo"}) or a sensitivity
// mode of zoo.PruneOptions (jvp, lowrank_jvp, fro_diag), followed by
// ":key=value" settings of the method: m (directions), rank, seed, feat
// (block or mlp diversity features), add (λ of the additive score; 0: the
// paper's product).
func parseMethod(s string) (zoo.PruneOptions, error) {
	parts := strings.Split(s, ":")
	o := zoo.PruneOptions{Mode: parts[0]}
	switch o.Mode {
	case "none", "cls", "uniform", "zoo", "jvp", "lowrank_jvp", "fro_diag":
	default:
		return o, fmt.Errorf("method %q: unknown (none, zoo, uniform, cls, jvp, lowrank_jvp, fro_diag)", s)
	}
	for _, kv := range parts[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return o, fmt.Errorf("method %q: %q is not key=value", s, kv)
		}
		var err error
		num := func(p *int) {
			var n int
			if n, err = strconv.Atoi(v); err == nil && n < 1 {
				err = fmt.Errorf("%d < 1", n)
			}
			*p = n
		}
		switch k {
		case "m":
			num(&o.Directions)
		case "rank":
			num(&o.Rank)
		case "seed":
			o.Seed, err = strconv.ParseInt(v, 10, 64)
		case "feat":
			o.Features = v
		case "add":
			if o.AddWeight, err = strconv.ParseFloat(v, 64); err == nil && !(o.AddWeight >= 0) {
				err = fmt.Errorf("%g < 0", o.AddWeight)
			}
		default:
			err = fmt.Errorf("unknown key (m, rank, seed, feat, add)")
		}
		if err != nil {
			return o, fmt.Errorf("method %q: %s: %v", s, kv, err)
		}
	}
	return o, nil
}
