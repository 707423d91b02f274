package tflite_test

import (
	"compress/gzip"
	"image"
	"os"
	"path/filepath"
	"testing"

	_ "golang.org/x/image/bmp"

	"github.com/edgeinfer/edgeinfer/format/tflite"
	"github.com/edgeinfer/edgeinfer/internal/testalloc"
	"github.com/edgeinfer/edgeinfer/internal/testshared"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
)

// TestDeepLabV3 runs Coral's DeepLab v3 (MobileNet v2, Pascal VOC, legacy
// uint8; RESIZE_BILINEAR with align_corners and ARG_MAX with an int64
// output, imported as int32) on Coral's 513×513 bird photo. Its class map
// must equal LiteRT 2.5.3's for every pixel (the reference, as uint8
// class indices, in testdata/litert, written by tools/litert), and its
// intersection over union with Coral's expected mask is reported per
// class.
func TestDeepLabV3(t *testing.T) {
	if testing.Short() {
		t.Skip("2.7 G multiply-adds on the reference kernels: minutes under emulation; runs without -short")
	}
	dir := testshared.Path(t, "models/coral-more")
	m, err := tflite.ImportFile(filepath.Join(dir, "deeplabv3_mnv2_pascal_quant.tflite"))
	if err != nil {
		t.Fatal(err)
	}
	photo := decodeBMP(t, filepath.Join(dir, "bird_segmentation.bmp"))
	it, err := runtime.New(m, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	in := it.Input(0).Bytes()
	b := photo.Bounds()
	if len(in) != 3*b.Dx()*b.Dy() {
		t.Fatalf("model input %v, photo %v", it.Input(0).Shape, b)
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := photo.At(b.Min.X+x, b.Min.Y+y).RGBA()
			p := 3 * (y*b.Dx() + x)
			in[p], in[p+1], in[p+2] = byte(r>>8), byte(g>>8), byte(bl>>8)
		}
	}
	if err := it.Invoke(); err != nil {
		t.Fatal(err)
	}
	got := it.Output(0).Int32()
	if a := testalloc.PerRun(4, func() { it.Invoke() }); a != 0 {
		t.Errorf("%g allocations per Invoke, want 0", a)
	}

	f, err := os.Open("testdata/litert/deeplabv3_mnv2_pascal_quant__bird_segmentation.npy.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.Read(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Data) != len(got) {
		t.Fatalf("%d pixels, LiteRT %d", len(got), len(want.Data))
	}
	diff := 0
	for i, v := range got {
		if v != int32(want.Data[i]) {
			diff++
		}
	}
	t.Logf("class map vs LiteRT: %d of %d pixels differ", diff, len(got))
	if diff != 0 {
		t.Errorf("%d of %d pixels differ from LiteRT's class map", diff, len(got))
	}

	mask, ok := decodeBMP(t, filepath.Join(dir, "bird_segmentation_mask.bmp")).(*image.Paletted)
	if !ok || mask.Bounds() != b {
		t.Fatalf("Coral's mask is not a %v paletted image", b)
	}
	inter, union := map[int32]int{}, map[int32]int{}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			c, e := got[y*b.Dx()+x], int32(mask.ColorIndexAt(x, y))
			union[c]++
			if c == e {
				inter[c]++
			} else {
				union[e]++
			}
		}
	}
	labels := []string{"background", "aeroplane", "bicycle", "bird"}
	for c := int32(0); c < 4; c++ {
		iou := float64(inter[c]) / float64(max(union[c], 1))
		t.Logf("IoU with Coral's mask, class %d (%s): %.4f", c, labels[c], iou)
	}
	// Coral's mask also marks 680 pixels aeroplane and 557 bicycle, which
	// neither LiteRT nor we find; background and bird must agree.
	for c, least := range map[int32]float64{0: 0.97, 3: 0.90} {
		if iou := float64(inter[c]) / float64(union[c]); iou < least {
			t.Errorf("class %d (%s): IoU %.4f with Coral's mask, want ≥ %.2f", c, labels[c], iou, least)
		}
	}
}

func decodeBMP(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
