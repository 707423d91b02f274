package ref_test

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
)

// A residual add of a [2,3] tensor and a [3] bias-like row, in int8.
// Parameters are built once at load; the kernel runs per Invoke.
func ExampleAddInt8() {
	a := quant.Params{Scale: 0.5, ZeroPoint: 0}
	b := quant.Params{Scale: 0.25, ZeroPoint: 4}
	out := quant.Params{Scale: 0.5, ZeroPoint: -10}
	p, err := ref.NewAddParams(a, b, out, false)
	if err != nil {
		panic(err)
	}
	if p.Broadcast, err = ref.NewBroadcast([]int{2, 3}, []int{3}, nil); err != nil {
		panic(err)
	}
	x := []int8{2, 4, 6, -2, -4, -6} // 1, 2, 3, −1, −2, −3
	y := []int8{8, 0, 4}             // 1, −1, 0
	z := make([]int8, 6)
	ref.AddInt8(&p, x, y, z)
	for _, q := range z {
		fmt.Print(out.Dequantize(int32(q)), " ")
	}
	fmt.Println()
	// Output: 2 1 3 0 -3 -3
}

// Softmax over two rows of three int8 logits; the output is pinned to
// scale 1/256, zero point −128.
func ExampleSoftmaxInt8() {
	in := quant.Params{Scale: 0.1, ZeroPoint: 0}
	exp := ref.NewSoftmaxTable(1, in.Scale)
	x := []int8{10, 0, -10, 5, 5, 5} // logits 1, 0, −1 and three equal ones
	out := make([]int8, 6)
	ref.SoftmaxInt8(&kernels.SoftmaxParams{Rows: 2, D: 3, Exp: exp}, x, out)
	for _, q := range out {
		fmt.Printf("%.3f ", quant.SoftmaxOutput.Dequantize(int32(q)))
	}
	fmt.Println()
	// Output: 0.664 0.246 0.090 0.332 0.332 0.332
}
