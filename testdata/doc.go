// Package testdata holds the small models and inputs edgeinfer's tests and
// README use. Everything here is generated deterministically by
//
//	go generate ./testdata
//
// and committed; CI regenerates it and fails if anything changed.
package testdata

//go:generate go run ./gen
