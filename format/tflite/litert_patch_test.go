package tflite

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeinfer/edgeinfer/internal/testshared"
)

var writeLiteRTModels = flag.String("write-litert-models", "", "write copies of the shared models that LiteRT accepts into this directory")

// liteRTCompatible returns a copy of a TFLite file that LiteRT's own
// checks accept: converters store the filter's quantized_dimension (3) on
// per-channel bias vectors, which LiteRT rejects ("quantized_dimension
// must be in range [0, 1)"); this reader takes the only dimension a vector
// has. The copy sets those fields to 0 in place and changes nothing else.
func liteRTCompatible(b []byte) ([]byte, int) {
	out := append([]byte(nil), b...)
	root := table{b: out, pos: uint64(out[0]) | uint64(out[1])<<8 | uint64(out[2])<<16 | uint64(out[3])<<24}
	fixed := 0
	for _, sg := range root.tables(2) {
		for _, t := range sg.tables(0) {
			q := t.sub(4)
			if !q.valid() || len(t.int32s(0)) != 1 || len(q.float32s(2)) < 2 {
				continue
			}
			if p := q.slot(6, 4); p != 0 && q.i32(6, 0) != 0 {
				out[p], out[p+1], out[p+2], out[p+3] = 0, 0, 0, 0
				fixed++
			}
		}
	}
	return out, fixed
}

func TestLiteRTCompatible(t *testing.T) {
	b, err := os.ReadFile(testshared.Path(t, "models/person_detect.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	fixedB, n := liteRTCompatible(b)
	if n == 0 {
		t.Fatal("person_detect.tflite: no bias quantized_dimension to fix")
	}
	f1, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := Read(fixedB)
	if err != nil {
		t.Fatal(err)
	}
	if len(f1.Tensors) != len(f2.Tensors) {
		t.Fatal("patched copy lost tensors")
	}
	if *writeLiteRTModels != "" {
		if err := os.WriteFile(filepath.Join(*writeLiteRTModels, "person_detect.tflite"), fixedB, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
