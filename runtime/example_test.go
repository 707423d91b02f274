package runtime_test

import (
	"fmt"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// The README's library use: read a model (verified before anything is
// decoded), plan an interpreter once, then per frame copy the input into
// the arena, Invoke (no allocation) and read the scores in place.
func Example() {
	m, err := format.ReadFile("../testdata/vit-micro.eim") // verifies first
	if err != nil {
		fmt.Println(err)
		return
	}
	it, err := runtime.New(m, runtime.Options{Threads: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer it.Close()
	frame, err := npy.ReadFile("../testdata/vit-micro-input.npy") // an int8 frame the repo carries
	if err != nil {
		fmt.Println(err)
		return
	}
	if frame.Descr != "|i1" || len(frame.Data) != len(it.Input(0).Int8()) {
		fmt.Println("the frame does not fit the model's int8 input")
		return
	}
	copy(it.Input(0).Bytes(), frame.Data) // inputs and outputs are views into the arena
	if err := it.Invoke(); err != nil {
		fmt.Println(err)
		return
	}
	scores := it.Output(0).Int8()
	best := 0
	for i, s := range scores {
		if s > scores[best] {
			best = i
		}
	}
	fmt.Println(it.Output(0).Shape, "class", best, "score", scores[best])
	// Output: [1 10] class 4 score 120
}
