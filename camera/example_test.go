package camera_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"log"
	"time"

	"github.com/edgeinfer/edgeinfer/camera"
)

// The capture loop of "edgeinfer run --camera": one Frame, one Scratch and
// one tensor buffer, reused for every frame.
func Example() {
	src, err := camera.Open("synthetic:bars?w=320&h=240&fmt=RGB24&frames=3")
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	// A uint8 NHWC 6×6 RGB input: raw pixels of the centre square.
	t := &camera.Target{Width: 6, Height: 6}
	input := make([]byte, t.Size()) // in a real run: the model's input tensor
	var f camera.Frame
	var s camera.Scratch
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := src.Next(ctx, &f)
		cancel()
		if err != nil {
			fmt.Println(err)
			break
		}
		if err := camera.Convert(input, &f, t, &s); err != nil {
			log.Fatal(err)
		}
		fmt.Println(f.Seq, f.Format, input[:3], input[15:18])
	}
	// Output:
	// 0 320x240 RGB24 [255 255 0] [0 0 255]
	// 1 320x240 RGB24 [255 255 0] [0 0 255]
	// 2 320x240 RGB24 [255 255 0] [0 0 255]
	// synthetic: after 3 frames: end of stream
}

// ConvertImage applies the same preprocessing to a decoded photo (the
// "--image" path); here an int8 NCHW tensor normalised to [-1, 1].
func ExampleConvertImage() {
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	for x := 0; x < 4; x++ {
		for y := 0; y < 2; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 85), 0, 255, 255})
		}
	}
	t := &camera.Target{
		Width: 2, Height: 2, Layout: camera.NCHW, DType: camera.Int8,
		Scale: 1 / 127.5, Mean: []float32{1}, // x' = x/127.5 - 1
		QScale: 1.0 / 128, QZeroPoint: 0, // q = round(x'*128)
	}
	dst := make([]byte, t.Size())
	var s camera.Scratch
	if err := camera.ConvertImage(dst, img, t, &s); err != nil {
		log.Fatal(err)
	}
	q := make([]int8, len(dst))
	for i, b := range dst {
		q[i] = int8(b)
	}
	fmt.Println("R", q[0:4], "G", q[4:8], "B", q[8:12])
	// Output:
	// R [-43 43 -43 43] G [-128 -128 -128 -128] B [127 127 127 127]
}
