package tflite

// FuzzRead's committed seeds (testdata/fuzz/FuzzRead/seed-*) come from the
// test models in fuzz_test.go and ops_test.go; TestFuzzCorpus checks they
// have not drifted.
//
//go:generate go test . -run=^TestFuzzCorpus$ -update-corpus
