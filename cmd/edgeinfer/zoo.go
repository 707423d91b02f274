package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/zoo"
)

func init() {
	commands["zoo"] = command{summary: "write a generated model (deit-tiny, vit-micro, cnn-micro) as .eim", run: cmdZoo}
}

func cmdZoo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("zoo", stderr)
	out := fs.String("o", "", "output .eim file for the int8 model (required)")
	float := fs.String("float", "", "also write the float32 model it was calibrated from")
	seed := fs.Int64("seed", 0, "weight and calibration seed")
	calib := fs.Int("calibration", 8, "number of seeded sample images used for calibration")
	list := fs.Bool("list", false, "list the models with their MACs per inference and the change against their baseline")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: edgeinfer zoo NAME -o OUT.eim [--float OUT_f32.eim]\nmodels: %s\n", strings.Join(zoo.Names(), ", "))
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *list {
		return listZoo(stdout)
	}
	if len(pos) != 1 {
		return usagef("want one model name (%s), got %d arguments", strings.Join(zoo.Names(), ", "), len(pos))
	}
	if *out == "" {
		return usagef("-o OUT.eim is required")
	}
	if *calib < 1 {
		return usagef("--calibration must be ≥ 1")
	}
	q, f, err := zoo.Build(pos[0], zoo.Options{Seed: *seed, Calibration: *calib})
	if err != nil {
		return err
	}
	if err := format.WriteFile(*out, q); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, int8)\n", *out, q.Name)
	if *float != "" {
		if err := format.WriteFile(*float, f); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (%s, float32)\n", *float, f.Name)
	}
	return nil
}

// vsBaseline compares the MACs of a zoo variant with its baseline model's:
// the baseline's name and MACs, ok = false for other models.
func vsBaseline(name string, macs int64) (base string, baseMACs int64, change float64, ok bool) {
	base = zoo.Baseline(name)
	if base == "" {
		return "", 0, 0, false
	}
	b, err := zoo.MACs(base)
	if err != nil || b == 0 {
		return "", 0, 0, false
	}
	return base, b, 100 * float64(macs-b) / float64(b), true
}

// macsNote is bench's " (−31.2% vs deit-tiny: 1260000000 MACs)", or "" for
// a model that is no zoo variant.
func macsNote(name string, macs int64) string {
	base, b, change, ok := vsBaseline(name, macs)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" (%+.1f%% vs %s: %d MACs)", change, base, b)
}

// listZoo prints every zoo model with its MACs per inference and the
// change against its baseline (zoo --list).
func listZoo(w io.Writer) error {
	fmt.Fprintf(w, "%-22s %14s %9s  %s\n", "model", "MACs", "vs base", "description")
	for _, name := range zoo.Names() {
		macs, err := zoo.MACs(name)
		if err != nil {
			return err
		}
		vs := ""
		if _, _, change, ok := vsBaseline(name, macs); ok {
			vs = fmt.Sprintf("%+.1f%%", change)
		}
		fmt.Fprintf(w, "%-22s %14d %9s  %s\n", name, macs, vs, zoo.Describe(name))
	}
	return nil
}
