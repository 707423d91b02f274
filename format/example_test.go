package format_test

import (
	"errors"
	"fmt"

	"github.com/edgeinfer/edgeinfer/format"
)

// A model goes to bytes with Marshal and comes back, verified, with Read.
// Constant data in the result aliases the bytes.
func Example() {
	b := format.NewBuilder("tiny")
	x := b.Input("x", format.Float32, []int32{1, 4}, nil)
	w := b.ConstFloat32("w", []int32{2, 4}, []float32{1, 0, 0, 0, 0, 1, 0, 0})
	y := b.Activation("y", format.Float32, []int32{1, 2}, nil)
	b.Op(format.OpFullyConnected, "fc", &format.FullyConnectedOptions{Activation: format.ActReLU}, []int32{x, w, -1}, y)
	b.Output(y)
	m, err := b.Finish()
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := format.Marshal(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", data[4:8])
	m2, err := format.Read(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m2.Name, len(m2.Tensors), "tensors,", m2.Ops[0].Code, m2.Tensors[w].Shape)
	// Output:
	// "EIM1"
	// tiny 3 tensors, FullyConnected [2 4]
}

// Errors name the op and tensor at fault and wrap a sentinel.
func ExampleModel_Validate() {
	b := format.NewBuilder("bad")
	x := b.Input("x", format.Float32, []int32{1, 4}, nil)
	w := b.ConstFloat32("w", []int32{2, 5}, make([]float32, 10))
	y := b.Activation("y", format.Float32, []int32{1, 2}, nil)
	b.Op(format.OpFullyConnected, "fc", nil, []int32{x, w}, y)
	b.Output(y)
	err := b.Model().Validate()
	fmt.Println(err)
	fmt.Println(errors.Is(err, format.ErrInvalid))
	// Output:
	// format: op 0 FullyConnected "fc": weight tensor 1 "w" has shape [2 5], want [2 4]
	// true
}

// Read reports files from a newer edgeinfer as ErrUnsupported, damaged
// ones as ErrMalformed.
func ExampleRead_errors() {
	_, err := format.Read([]byte("definitely not a model"))
	fmt.Println(errors.Is(err, format.ErrMalformed), err)
	// Output:
	// true format: file identifier "nite", want "EIM1" (not an edgeinfer model)
}
