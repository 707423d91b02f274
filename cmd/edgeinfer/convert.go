package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
)

func init() {
	commands["convert"] = command{summary: "convert a foreign model (.tflite, .onnx) to .eim", run: cmdConvert}
}

// convertHooks let importers add flags to convert: each hook registers its
// flags and returns a function that, after parsing, either converts IN
// itself (handled = true) or leaves it to loadModel. The ONNX importer's
// --calibrate is one. A hook that converts IN passes its float model
// through rewrite (--outputs, then the float passes, below) before it
// quantizes or returns it, so that calibration sees the rewritten graph.
var convertHooks []func(fs *flag.FlagSet) func(in string, rewrite rewriteFunc) (*format.Model, bool, error)

// rewriteFunc is convert's graph rewriting: it returns the rewritten
// model and remap, the new index of each tensor of m (−1: dropped; nil:
// every index kept).
type rewriteFunc func(m *format.Model) (out *format.Model, remap []int32, err error)

// floatPass rewrites a float model before it is quantized or written. It
// returns applied = false (and no model) when its flags ask for nothing.
// It may add tensors but keeps the indices of m's (an importer's int8
// weights are named by index).
type floatPass func(m *format.Model) (out *format.Model, applied bool, err error)

// floatPasses let flags rewrite the float graph, whichever way IN is
// loaded: each registers its flags and returns its pass. They run in
// registration order between import and calibration (ONNX), or on the
// model loadModel returns (a float .eim, zoo:NAME:float). --prune is one.
// What a pass has to tell the user goes to stdout.
var floatPasses []func(fs *flag.FlagSet, stdout io.Writer) floatPass

func cmdConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgeinfer convert IN.(tflite|onnx|eim) OUT.eim [flags]")
		fs.PrintDefaults()
	}
	name := fs.String("name", "", "model name stored in OUT (default: the one IN gives, e.g. torch_jit for PyTorch exports)")
	taskName := taskFlag(fs, "store what the model is for in OUT, for run and serve to decode")
	outputs := fs.String("outputs", "", "keep only these graph outputs (names or positions, comma list) and drop what feeds no other; before pruning and calibration")
	var runs []func(in string, rewrite rewriteFunc) (*format.Model, bool, error)
	for _, h := range convertHooks {
		runs = append(runs, h(fs))
	}
	var passes []floatPass
	for _, p := range floatPasses {
		passes = append(passes, p(fs, stdout))
	}
	rewrite := func(m *format.Model) (*format.Model, []int32, error) {
		var remap []int32
		if *outputs != "" {
			var err error
			if m, remap, err = m.SelectOutputs(strings.Split(*outputs, ",")); err != nil {
				return nil, nil, usagef("--outputs: %v", err)
			}
		}
		for _, p := range passes {
			out, applied, err := p(m)
			if err != nil {
				return nil, nil, err
			}
			if applied {
				m = out
			}
		}
		return m, remap, nil
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
		got, handled, err := run(in, rewrite)
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
		if m, _, err = rewrite(m); err != nil {
			return err
		}
	}
	if *name != "" {
		m.Name = *name
	}
	if *taskName != "" {
		if m.Task, err = chooseTask(m, *taskName); err != nil {
			return err
		}
	}
	if err := format.WriteFile(out, m); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s: %d ops, %d tensors)\n", out, m.Name, len(m.Ops), len(m.Tensors))
	return nil
}
