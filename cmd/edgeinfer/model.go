package main

import (
	"fmt"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/zoo"
)

// defaultModel is what run, info and bench use without --model: the zoo's
// vit-micro, generated in memory (no file needed on a fresh machine).
const defaultModel = "zoo:vit-micro"

// loadModel opens a model by name: "zoo:NAME" builds a zoo model in
// memory, anything else is read as an .eim file (and verified).
func loadModel(path string) (*format.Model, error) {
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
