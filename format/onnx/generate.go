package onnx

// FuzzImport's committed seeds (testdata/fuzz/FuzzImport/seed-*) come from
// the test models in fuzz_test.go; TestFuzzCorpus checks they have not
// drifted.
//
//go:generate go test . -run=^TestFuzzCorpus$ -update-corpus
