package main

import (
	"path/filepath"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/format/tflite"
)

func init() {
	importers[".tflite"] = importTFLite
}

// importTFLite imports a .tflite file on the fly. TFLite files of this
// vintage carry no labels, so a label file beside the model is attached
// when its line count matches the classes of output 0: NAME.labels.txt,
// labels.txt or imagenet_labels.txt, in that order.
func importTFLite(path string) (*format.Model, error) {
	m, err := tflite.ImportFile(path)
	if err != nil {
		return nil, err
	}
	if len(m.Labels) == 0 && len(m.Outputs) > 0 {
		out := m.Tensors[m.Outputs[0]].Shape
		if len(out) > 0 {
			classes := int(out[len(out)-1])
			dir, base := filepath.Dir(path), strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
			for _, name := range []string{base + ".labels.txt", "labels.txt", "imagenet_labels.txt"} {
				if labels, err := readLabels(filepath.Join(dir, name)); err == nil && len(labels) == classes {
					m.Labels = labels
					break
				}
			}
		}
	}
	return m, nil
}
