package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/edgeinfer/edgeinfer/format"
)

func init() {
	commands["convert"] = command{summary: "convert a foreign model (.tflite, .onnx) to .eim", run: cmdConvert}
}

// convertHooks let importers add flags to convert: each hook registers its
// flags and returns a function that, after parsing, either converts IN
// itself (handled = true) or leaves it to loadModel. The ONNX importer's
// --calibrate is one.
var convertHooks []func(fs *flag.FlagSet) func(in string) (*format.Model, bool, error)

func cmdConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgeinfer convert IN.(tflite|onnx) OUT.eim [flags]")
		fs.PrintDefaults()
	}
	var runs []func(in string) (*format.Model, bool, error)
	for _, h := range convertHooks {
		runs = append(runs, h(fs))
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want IN and OUT.eim, got %d arguments", len(pos))
	}
	in, out := pos[0], pos[1]
	var m *format.Model
	for _, run := range runs {
		got, handled, err := run(in)
		if err != nil {
			return err
		}
		if handled {
			m = got
			break
		}
	}
	if m == nil {
		if m, err = loadModel(in); err != nil {
			return err
		}
	}
	if err := format.WriteFile(out, m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s: %d ops, %d tensors)\n", out, m.Name, len(m.Ops), len(m.Tensors))
	return nil
}
