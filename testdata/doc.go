// Package testdata holds the small models and inputs edgeinfer's tests and
// README use, and ten real MNIST digits (digits/, with MNIST's attribution
// in digits/SOURCE.txt). Everything here except vits/ (written by
// tools/vitcorpus) is generated deterministically by
//
//	go generate ./testdata
//
// and committed; CI regenerates it and fails if anything changed.
package testdata

//go:generate go run ./gen
