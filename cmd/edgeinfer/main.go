// Command edgeinfer loads, inspects, benchmarks and runs int8 vision models
// on ARM boards. Run "edgeinfer help" for the list of subcommands.
//
// Exit status: 0 on success, 1 for a model, input or runtime error (one line
// on stderr), 2 for a usage error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand. run receives the arguments after the
// subcommand name; it returns a usageError for bad flags or arguments.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// commands is filled by init functions in the files beside this one, one
// file per subcommand.
var commands = map[string]command{}

// usageError marks an error caused by how the command was invoked (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one edgeinfer invocation and returns its exit status. It
// never lets a panic escape as a Go trace: a panic is reported as an
// internal error with exit status 1.
func run(args []string, stdout, stderr io.Writer) (status int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "edgeinfer: internal error: %v\n", r)
			status = 1
		}
	}()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "edgeinfer: unknown command %q (run 'edgeinfer help')\n", args[0])
		return 2
	}
	err := cmd.run(args[1:], stdout, stderr)
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "edgeinfer %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(stderr, "edgeinfer %s: %v\n", args[0], err)
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: edgeinfer COMMAND [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'edgeinfer COMMAND -h' for the flags of one command.")
}
