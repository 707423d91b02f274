package format

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error from Read, Marshal and Validate wraps exactly
// one of them, so callers can tell a damaged file from a model that breaks
// a rule from a file written by a newer edgeinfer:
//
//	if errors.Is(err, format.ErrUnsupported) { /* upgrade */ }
var (
	// ErrMalformed: the bytes are not a well-formed .eim FlatBuffer
	// (truncated, bad offsets, wrong identifier, ...).
	ErrMalformed = errors.New("format: malformed file")
	// ErrInvalid: the model is well-formed but breaks a semantic rule
	// (shapes, indices, quantization, graph order, ...).
	ErrInvalid = errors.New("format: invalid model")
	// ErrUnsupported: the file needs a newer reader (schema version, op
	// version, op code, enum value or options type this build does not know).
	ErrUnsupported = errors.New("format: unsupported by this version of edgeinfer")
)

// formatError is an error of one of the sentinel kinds whose message names
// the offending thing. Its text does not repeat the sentinel's.
type formatError struct {
	kind error
	msg  string
}

func (e *formatError) Error() string { return e.msg }
func (e *formatError) Unwrap() error { return e.kind }

func errorf(kind error, f string, args ...any) error {
	return &formatError{kind: kind, msg: "format: " + fmt.Sprintf(f, args...)}
}

func malformed(f string, args ...any) error   { return errorf(ErrMalformed, f, args...) }
func invalid(f string, args ...any) error     { return errorf(ErrInvalid, f, args...) }
func unsupported(f string, args ...any) error { return errorf(ErrUnsupported, f, args...) }
