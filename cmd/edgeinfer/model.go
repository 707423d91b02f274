package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// defaultModel is what run, info and bench use without --model: the zoo's
// vit-micro, generated in memory (no file needed on a fresh machine).
const defaultModel = "zoo:vit-micro"

// importer converts a foreign model file (by extension) into our format.
// The files beside this one register theirs in init (".tflite", ".onnx").
type importer func(path string) (*format.Model, error)

var importers = map[string]importer{}

// loadModel opens a model by name: "zoo:NAME" builds a zoo model in
// memory, a file with a registered foreign extension is imported on the
// fly, anything else is read as an .eim file (and verified).
func loadModel(path string) (*format.Model, error) {
	if imp, ok := importers[strings.ToLower(filepath.Ext(path))]; ok {
		m, err := imp(path)
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", path, err)
		}
		return m, nil
	}
	if name, ok := strings.CutPrefix(path, "zoo:"); ok {
		float := false
		if n, ok := strings.CutSuffix(name, ":float"); ok {
			name, float = n, true
		}
		q, f, err := zoo.Build(name, zoo.Options{})
		if err != nil {
			return nil, err
		}
		if float {
			return f, nil
		}
		return q, nil
	}
	m, err := format.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	return m, nil
}
