// Command gen writes edgeinfer's generated test data into the current
// directory: the zoo's small models (int8 and float) and seeded inputs.
package main

import (
	"fmt"
	"math"
	"math/rand"
	"os"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/zoo"
)

func main() {
	if err := generate(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func generate() error {
	for _, name := range []string{"vit-micro", "cnn-micro"} {
		q, f, err := zoo.Build(name, zoo.Options{Seed: 0, Threads: 1})
		if err != nil {
			return err
		}
		if err := format.WriteFile(name+".eim", q); err != nil {
			return err
		}
		if err := format.WriteFile(name+"_f32.eim", f); err != nil {
			return err
		}
		// One seeded sample image, as float32 (preprocessed) and as the
		// int8 model's quantized input.
		x := zoo.SampleInput(f, rand.New(rand.NewSource(42)))
		shape := []int{1, int(f.Preprocess.Height), int(f.Preprocess.Width), 3}
		fl := make([]byte, 4*len(x))
		q8 := make([]byte, len(x))
		p := q.Tensors[q.Inputs[0]].Quant.PerTensor()
		for i, v := range x {
			b := math.Float32bits(v)
			fl[4*i], fl[4*i+1], fl[4*i+2], fl[4*i+3] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
			q8[i] = byte(int8(p.Quantize(v, -128, 127)))
		}
		if err := npy.WriteFile(name+"-input_f32.npy", &npy.Array{Descr: "<f4", Shape: shape, Data: fl}); err != nil {
			return err
		}
		if err := npy.WriteFile(name+"-input.npy", &npy.Array{Descr: "|i1", Shape: shape, Data: q8}); err != nil {
			return err
		}
	}
	return nil
}
