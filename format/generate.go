package format

// The FlatBuffers code in internal/fb comes from schema/edgeinfer.fbs
// (flatc 2.0.8; schema/check-generated.sh checks it has not drifted), and
// FuzzRead's committed seeds come from the test models.
//
//go:generate flatc --go --go-namespace fb -o internal schema/edgeinfer.fbs
//go:generate go test . -run=^TestFuzzCorpus$ -update-corpus
