package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/edgeinfer/edgeinfer/dataset"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func init() {
	commands["eval"] = command{summary: "top-1/top-5 accuracy of a model on a labelled image set", run: cmdEval}
}

func cmdEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: edgeinfer eval --model M (--mnist DIR | --images DIR) [--output NAME|INDEX] [--offset N] [--limit N] [--keep R] [--json]")
		fs.PrintDefaults()
	}
	model := fs.String("model", defaultModel, "model: .eim file, foreign file (.onnx, .tflite) or zoo:NAME")
	mnist := fs.String("mnist", "", "MNIST directory (idx files, gzipped or not)")
	images := fs.String("images", "", "image folder with one sub-folder per class")
	offset := fs.Int("offset", 0, "first image")
	limit := fs.Int("limit", 0, "number of images (0: all from --offset)")
	output := fs.String("output", "", "graph output holding the class scores, by name or position (default: the only output with one value per class)")
	asJSON := fs.Bool("json", false, `print {"top1":…, "top5":…, "n":…, "output":…} (and "tokens", "max_tokens" for a model that prunes)`)
	threads := fs.Int("threads", 0, "worker threads (0: one per CPU)")
	var keep keepFlag
	fs.Var(&keep, "keep", "keep a ratio R in (0, 1] of the model's maximum token budget (round(R × maximum), at least 1), or a count > 1")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if (*mnist == "") == (*images == "") {
		return usagef("give exactly one of --mnist DIR and --images DIR")
	}
	if *offset < 0 || *limit < 0 {
		return usagef("--offset and --limit must not be negative")
	}
	var set *dataset.Set
	var err error
	if *mnist != "" {
		set, err = dataset.Open(*mnist)
		if err == nil && set.Kind != "mnist" {
			err = fmt.Errorf("%s holds no MNIST idx files", *mnist)
		}
	} else {
		set, err = dataset.OpenFolder(*images)
	}
	if err != nil {
		return err
	}
	m, err := loadModel(*model)
	if err != nil {
		return err
	}
	it, err := runtime.New(m, runtime.Options{Threads: *threads})
	if err != nil {
		return err
	}
	defer it.Close()
	maxTokens := it.MaxTokens()
	tokens := maxTokens
	if keep.set {
		if tokens, err = applyKeep(it, &keep); err != nil {
			return err
		}
	}
	var out int
	if *output != "" {
		out, err = m.OutputIndex(*output)
	} else {
		out, err = dataset.ClassOutput(m, len(set.Classes))
	}
	if err != nil {
		return usagef("%v (--output NAME|INDEX chooses)", err)
	}
	bar := newProgressBar(stderr, "evaluating")
	acc, err := dataset.EvaluateOutput(it, set, out, *offset, *limit, func(done, total int) {
		if done%50 == 0 || done == total {
			bar.update("", done, total)
		}
	})
	bar.done()
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(struct {
			dataset.Accuracy
			Tokens    int `json:"tokens,omitempty"`
			MaxTokens int `json:"max_tokens,omitempty"`
		}{acc, tokens, maxTokens})
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "%s on %d images (#%d–#%d of %s): top-1 %.2f%%  top-5 %.2f%%",
		m.Name, acc.N, *offset, *offset+acc.N-1, set.Kind, 100*acc.Top1, 100*acc.Top5)
	if it.NumOutputs() > 1 {
		fmt.Fprintf(stdout, "  output %q", acc.Output)
	}
	if maxTokens > 0 {
		fmt.Fprintf(stdout, "  keeping %d of %d patch tokens", tokens, maxTokens)
	}
	fmt.Fprintln(stdout)
	return nil
}
