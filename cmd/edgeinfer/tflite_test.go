package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeinfer/edgeinfer/internal/testshared"
)

// TestTFLiteCommands: convert writes an .eim; info, run --image and bench
// take the .tflite directly (labels come from imagenet_labels.txt beside it).
func TestTFLiteCommands(t *testing.T) {
	model := testshared.Path(t, "models/mobilenet_v1_0.25_128_quant.tflite")
	cat := testshared.Path(t, "models/cat.bmp")
	eim := filepath.Join(t.TempDir(), "m.eim")
	if st, out, errOut := edgeinfer("convert", model, eim); st != 0 || !strings.Contains(out, "wrote") {
		t.Fatalf("convert: status %d: %s%s", st, out, errOut)
	}
	st, out, errOut := edgeinfer("info", "--model", model)
	if st != 0 || !strings.Contains(out, "uint8") || !strings.Contains(out, "xnnpack-uint8") {
		t.Fatalf("info: status %d: %s%s", st, out, errOut)
	}
	for _, m := range []string{model, eim} {
		st, out, errOut = edgeinfer("run", "--model", m, "--image", cat)
		if st != 0 || !strings.Contains(out, "1. 286    Egyptian cat") {
			t.Fatalf("run %s: status %d: %s%s", m, st, out, errOut)
		}
	}
	if st, out, errOut = edgeinfer("bench", "--model", model, "--runs", "2", "--warmup", "1"); st != 0 {
		t.Fatalf("bench: status %d: %s%s", st, out, errOut)
	}
}

// TestTFLiteErrors: a file that is not TFLite fails the import clearly.
func TestTFLiteErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.tflite")
	if err := os.WriteFile(bad, []byte("not a flatbuffer at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _, errOut := edgeinfer("info", "--model", bad)
	if st == 0 || !strings.Contains(errOut, "not a TFLite file") {
		t.Fatalf("status %d: %s", st, errOut)
	}
}
