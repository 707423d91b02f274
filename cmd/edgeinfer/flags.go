package main

import (
	"errors"
	"flag"
	"io"
)

// newFlagSet returns a flag set that reports errors instead of exiting, so
// that run can map them to exit status 2.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("edgeinfer "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and turns flag errors into usage errors. It returns
// errHelp (a nil-status outcome) when -h was asked for.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usagef("%v", err)
	}
	return nil
}

// errHelp is returned by parseFlags after printing help; commands return it
// unchanged and run treats it as success.
var errHelp = errors.New("help requested")

// parseInterspersed parses flags that may come before, between or after
// positional arguments (edgeinfer zoo NAME -o OUT) and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
