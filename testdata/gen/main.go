// Command gen writes edgeinfer's generated test data into the current
// directory: the zoo's small models (int8 and float) and seeded inputs,
// and real MNIST digits as PNG files (digits/) from the MNIST test set in
// -mnist.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeinfer/edgeinfer/dataset"
	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/zoo"
)

func main() {
	mnist := flag.String("mnist", "../../shared/data/mnist", "MNIST test set (idx files) the digits come from")
	flag.Parse()
	// The zoo calibrates on its float graph, and accelerated float kernels
	// (AVX2+FMA, say) round differently from the reference in the last
	// bits, which moves activation ranges and so the int8 bytes. The
	// committed files must not depend on the machine that wrote them.
	os.Setenv("EDGEINFER_KERNELS", "ref")
	if err := generate(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := digits(*mnist, "digits"); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// firstDigit is the first MNIST test image the digits come from: images
// 0–4999 train the repo's own ViTs (tools/vitcorpus), so the digits are
// held out from them.
const firstDigit = 5000

// digits writes into dir, for each class 0–9, the first MNIST test image
// of that class from #firstDigit on, as LABEL.png (28×28 grey, white digit
// on black as MNIST stores it), and SOURCE.txt: which image each is and
// MNIST's attribution and licence.
func digits(mnist, dir string) error {
	set, err := dataset.Open(mnist)
	if err != nil {
		return fmt.Errorf("digits: %w", err)
	}
	if set.Kind != "mnist" || set.Len() < firstDigit {
		return fmt.Errorf("digits: %s is not the MNIST test set (%d %s images)", mnist, set.Len(), set.Kind)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var src strings.Builder
	src.WriteString(`Real handwritten digits for edgeinfer's README and tests, written by
"go generate ./testdata" (testdata/gen) from the MNIST test set
(t10k-images-idx3-ubyte, ../shared/data/mnist): for each digit, the first
test image of that class from #` + fmt.Sprint(firstDigit) + ` on, as 28x28 greyscale PNG, unchanged.

`)
	var first [10]int // first[label]: the image's index, 0 until found
	found := 0
	for i := firstDigit; i < set.Len() && found < 10; i++ {
		if l := set.Label(i); l < 10 && first[l] == 0 {
			first[l] = i
			found++
		}
	}
	if found != 10 {
		return fmt.Errorf("digits: only %d classes among MNIST test images from #%d", found, firstDigit)
	}
	for label, i := range first {
		img, err := set.Image(i)
		if err != nil {
			return err
		}
		if err := writePNG(filepath.Join(dir, fmt.Sprintf("%d.png", label)), img); err != nil {
			return err
		}
		fmt.Fprintf(&src, "%d.png is MNIST test image #%d (label %d)\n", label, i, label)
	}
	src.WriteString(`
MNIST: Yann LeCun, Corinna Cortes and Christopher J. C. Burges, "The MNIST
database of handwritten digits", http://yann.lecun.com/exdb/mnist/, made
available under the Creative Commons Attribution-Share Alike 3.0 licence
(CC BY-SA 3.0, https://creativecommons.org/licenses/by-sa/3.0/). These
images are a subset of it and are shared under the same licence.
`)
	return os.WriteFile(filepath.Join(dir, "SOURCE.txt"), []byte(src.String()), 0o644)
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
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
