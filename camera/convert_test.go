package camera

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"
)

// frameOf renders a synthetic pattern in format pf.
func frameOf(t testing.TB, pattern string, w, h int, pf PixelFormat, col [3]uint8) *Frame {
	t.Helper()
	s, err := NewSynthetic(SyntheticConfig{Pattern: pattern, Format: Format{Width: w, Height: h, Pixel: pf}, Color: col})
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	if err := s.Next(context.Background(), &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

// rawFrame builds a frame from explicit plane bytes.
func rawFrame(fm Format, planes ...[]byte) *Frame {
	return &Frame{Format: fm.WithDefaults(), Planes: planes}
}

func convert(t testing.TB, f *Frame, tg *Target) []byte {
	t.Helper()
	dst := make([]byte, tg.Size())
	var s Scratch
	if err := Convert(dst, f, tg, &s); err != nil {
		t.Fatal(err)
	}
	return dst
}

func absDiff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

// TestBarsGolden: the centre square of a 320×240 bar chart holds bars 1..6
// (yellow, cyan, green, magenta, red, blue), 40 pixels each; sampled at 6×6
// every output column is one bar's exact colour.
func TestBarsGolden(t *testing.T) {
	tg := &Target{Width: 6, Height: 6}
	for _, tc := range []struct {
		pf  PixelFormat
		tol int
	}{
		{RGB24, 0}, {BGR24, 0}, {SRGGB8, 0}, {SBGGR8, 0}, {SGRBG8, 0}, {SGBRG8, 0},
		{SRGGB10, 0}, {SRGGB10P, 0}, {SBGGR10P, 0}, {SGRBG10, 0},
		{YUYV, 3}, {UYVY, 3}, {NV12, 3}, {NV21, 3}, {I420, 3}, {MJPEG, 6},
	} {
		t.Run(tc.pf.String(), func(t *testing.T) {
			got := convert(t, frameOf(t, PatternBars, 320, 240, tc.pf, [3]uint8{}), tg)
			for oy := 0; oy < 6; oy++ {
				for ox := 0; ox < 6; ox++ {
					want := BarColors[ox+1]
					for c := 0; c < 3; c++ {
						g := int(got[(oy*6+ox)*3+c])
						if absDiff(g, int(want[c])) > tc.tol {
							t.Fatalf("pixel (%d,%d) channel %d = %d, want %d±%d", ox, oy, c, g, want[c], tc.tol)
						}
					}
				}
			}
		})
	}
}

func TestYUVGolden(t *testing.T) {
	// Exact values of the documented integer BT.601 limited-range formula.
	for _, tc := range []struct {
		y, u, v uint8
		rgb     [3]uint8
	}{
		{235, 128, 128, [3]uint8{255, 255, 255}},
		{16, 128, 128, [3]uint8{0, 0, 0}},
		{126, 128, 128, [3]uint8{128, 128, 128}},
		{82, 90, 240, [3]uint8{255, 1, 0}},  // BT.601 red
		{41, 240, 110, [3]uint8{0, 0, 255}}, // BT.601 blue
	} {
		// 2×2 YUYV frame of one colour.
		row := []byte{tc.y, tc.u, tc.y, tc.v}
		f := rawFrame(Format{Width: 2, Height: 2, Pixel: YUYV}, append(append([]byte{}, row...), row...))
		got := convert(t, f, &Target{Width: 1, Height: 1})
		if !bytes.Equal(got, tc.rgb[:]) {
			t.Errorf("YUV(%d,%d,%d) -> %v, want %v", tc.y, tc.u, tc.v, got, tc.rgb)
		}
		// Same through NV12 and I420.
		nv := rawFrame(Format{Width: 2, Height: 2, Pixel: NV12}, []byte{tc.y, tc.y, tc.y, tc.y}, []byte{tc.u, tc.v})
		if got := convert(t, nv, &Target{Width: 1, Height: 1}); !bytes.Equal(got, tc.rgb[:]) {
			t.Errorf("NV12 YUV(%d,%d,%d) -> %v, want %v", tc.y, tc.u, tc.v, got, tc.rgb)
		}
		i4 := rawFrame(Format{Width: 2, Height: 2, Pixel: I420}, []byte{tc.y, tc.y, tc.y, tc.y}, []byte{tc.u}, []byte{tc.v})
		if got := convert(t, i4, &Target{Width: 1, Height: 1}); !bytes.Equal(got, tc.rgb[:]) {
			t.Errorf("I420 YUV(%d,%d,%d) -> %v, want %v", tc.y, tc.u, tc.v, got, tc.rgb)
		}
	}
}

func TestNormalizeFloat(t *testing.T) {
	col := [3]uint8{10, 128, 250}
	f := frameOf(t, PatternSolid, 16, 8, RGB24, col)
	mean := []float32{0.485, 0.456, 0.406}
	std := []float32{0.229, 0.224, 0.225}
	for _, color := range []ColorOrder{RGB, BGR} {
		tg := &Target{Width: 4, Height: 4, Color: color, DType: Float32, Scale: 1 / 255.0, Mean: mean, Std: std}
		got := convert(t, f, tg)
		for i := 0; i < 16; i++ {
			for k := 0; k < 3; k++ {
				src := k
				if color == BGR {
					src = 2 - k
				}
				want := (float64(col[src])/255 - float64(mean[k])) / float64(std[k])
				g := math.Float32frombits(binary.LittleEndian.Uint32(got[4*(3*i+k):]))
				if math.Abs(float64(g)-want) > 1e-5 {
					t.Fatalf("%v element %d channel %d = %v, want %v", color, i, k, g, want)
				}
			}
		}
	}
}

func TestQuantize(t *testing.T) {
	// MobileNet-style int8: x' = x/127.5 - 1, q = round(x'*128) clamped.
	grey := func(v uint8) *Frame {
		return rawFrame(Format{Width: 2, Height: 2, Pixel: GREY}, []byte{v, v, v, v})
	}
	tg := &Target{Width: 1, Height: 1, Color: Gray, DType: Int8, Scale: 1 / 127.5, Mean: []float32{1}, QScale: 1.0 / 128}
	for _, tc := range []struct {
		in   uint8
		want int8
	}{{0, -128}, {255, 127}, {10, -118}, {128, 1}, {127, -1}} {
		if got := int8(convert(t, grey(tc.in), tg)[0]); got != tc.want {
			t.Errorf("int8 of %d = %d, want %d", tc.in, got, tc.want)
		}
	}
	// uint8 with zero point: q = round(x/2) + 100, clamped to 0..255;
	// half rounds away from zero.
	tu := &Target{Width: 1, Height: 1, Color: Gray, QScale: 2, QZeroPoint: 100}
	for _, tc := range []struct{ in, want uint8 }{{0, 100}, {1, 101}, {3, 102}, {255, 228}} {
		if got := convert(t, grey(tc.in), tu)[0]; got != tc.want {
			t.Errorf("uint8 of %d = %d, want %d", tc.in, got, tc.want)
		}
	}
	tn := &Target{Width: 1, Height: 1, Color: Gray, Mean: []float32{200}, DType: Int8, QZeroPoint: -10}
	if got := int8(convert(t, grey(5), tn)[0]); got != -128 {
		t.Errorf("int8 clamp low = %d, want -128", got)
	}
	if q := quantize(-2.5, 0, -128, 127); q != -3 {
		t.Errorf("quantize(-2.5) = %d, want -3 (half away from zero)", q)
	}
	if q := quantize(float32(math.NaN()), 7, -128, 127); q != 7 {
		t.Errorf("quantize(NaN) = %d, want zero point", q)
	}
}

func TestLayoutNCHW(t *testing.T) {
	f := frameOf(t, PatternGradient, 64, 64, RGB24, [3]uint8{})
	nhwc := convert(t, f, &Target{Width: 8, Height: 8})
	nchw := convert(t, f, &Target{Width: 8, Height: 8, Layout: NCHW})
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			for c := 0; c < 3; c++ {
				if a, b := nhwc[(y*8+x)*3+c], nchw[c*64+y*8+x]; a != b {
					t.Fatalf("(%d,%d,%d): NHWC %d != NCHW %d", x, y, c, a, b)
				}
			}
		}
	}
	// The gradient grows along x in R and along y in G.
	if !(nhwc[0] < nhwc[7*3] && nhwc[1] < nhwc[7*8*3+1] && nhwc[2] == 128) {
		t.Errorf("gradient corners wrong: %v", nhwc[:3])
	}
}

func TestBilinearHalfPixel(t *testing.T) {
	// Upscale 2 -> 4: samples at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
	f := rawFrame(Format{Width: 2, Height: 1, Pixel: GREY}, []byte{0, 100})
	got := convert(t, f, &Target{Width: 4, Height: 1, Color: Gray, Fit: Stretch})
	if want := []byte{0, 25, 75, 100}; !bytes.Equal(got, want) {
		t.Errorf("upscale = %v, want %v", got, want)
	}
	// Downscale 4 -> 2: samples at 0.5 and 2.5.
	f = rawFrame(Format{Width: 4, Height: 1, Pixel: GREY}, []byte{0, 10, 20, 31})
	got = convert(t, f, &Target{Width: 2, Height: 1, Color: Gray, Fit: Stretch})
	if want := []byte{5, 26}; !bytes.Equal(got, want) { // 25.5 rounds up
		t.Errorf("downscale = %v, want %v", got, want)
	}
	// Float output keeps the fraction.
	got = convert(t, f, &Target{Width: 2, Height: 1, Color: Gray, Fit: Stretch, DType: Float32})
	if v := math.Float32frombits(binary.LittleEndian.Uint32(got[4:])); v != 25.5 {
		t.Errorf("float downscale = %v, want 25.5", v)
	}
}

func TestCenterCrop(t *testing.T) {
	// 6×4 frame whose pixel value is its column; the centred 4×4 square
	// starts at column 1.
	p := make([]byte, 24)
	for i := range p {
		p[i] = byte(i%6) * 10
	}
	f := rawFrame(Format{Width: 6, Height: 4, Pixel: GREY}, p)
	got := convert(t, f, &Target{Width: 4, Height: 4, Color: Gray})
	if want := []byte{10, 20, 30, 40}; !bytes.Equal(got[:4], want) {
		t.Errorf("crop row = %v, want %v", got[:4], want)
	}
	// 5 wide: offset floor(1/2) = 0.
	p5 := []byte{0, 10, 20, 30, 40, 0, 10, 20, 30, 40, 0, 10, 20, 30, 40, 0, 10, 20, 30, 40}
	got = convert(t, rawFrame(Format{Width: 5, Height: 4, Pixel: GREY}, p5), &Target{Width: 4, Height: 4, Color: Gray})
	if want := []byte{0, 10, 20, 30}; !bytes.Equal(got[:4], want) {
		t.Errorf("odd crop row = %v, want %v", got[:4], want)
	}
	// Non-square target 4×2 on a 4×4 frame: rows 1..2 kept.
	p4 := make([]byte, 16)
	for i := range p4 {
		p4[i] = byte(i/4) * 10
	}
	got = convert(t, rawFrame(Format{Width: 4, Height: 4, Pixel: GREY}, p4), &Target{Width: 4, Height: 2, Color: Gray})
	if want := []byte{10, 10, 10, 10, 20, 20, 20, 20}; !bytes.Equal(got, want) {
		t.Errorf("aspect crop = %v, want %v", got, want)
	}
	x0, y0, w, h := (&Target{Width: 224, Height: 224}).Window(640, 480)
	if x0 != 80 || y0 != 0 || w != 480 || h != 480 {
		t.Errorf("Window(640x480) = %d,%d %dx%d", x0, y0, w, h)
	}
}

func TestGrayAndStride(t *testing.T) {
	// Gray of R=G=B is exact; strides are honoured (padding bytes 0xEE).
	fm := Format{Width: 2, Height: 2, Pixel: RGB24, Stride: [3]int{8}}
	p := []byte{77, 77, 77, 77, 77, 77, 0xEE, 0xEE, 77, 77, 77, 77, 77, 77}
	got := convert(t, rawFrame(fm, p), &Target{Width: 2, Height: 2, Color: Gray})
	if want := []byte{77, 77, 77, 77}; !bytes.Equal(got, want) {
		t.Errorf("gray = %v, want %v", got, want)
	}
	if g := luma(255, 0, 0); g != 77 {
		t.Errorf("luma(red) = %d, want 77", g)
	}
	// Y16 keeps the high byte, Y14 bits 6..13.
	y16 := rawFrame(Format{Width: 1, Height: 1, Pixel: Y16}, []byte{0x34, 0x12})
	if got := convert(t, y16, &Target{Width: 1, Height: 1, Color: Gray}); got[0] != 0x12 {
		t.Errorf("Y16 = %#x, want 0x12", got[0])
	}
	y14 := rawFrame(Format{Width: 1, Height: 1, Pixel: Y14}, []byte{0x40, 0x1f}) // 0x1f40 = 8000
	if got := convert(t, y14, &Target{Width: 1, Height: 1, Color: Gray}); got[0] != 125 {
		t.Errorf("Y14 = %d, want 125", got[0])
	}
}

func TestBayerPacking(t *testing.T) {
	// SRGGB10P: four 10-bit samples 0x3FF, 0x001, 0x200, 0x155 in 5 bytes.
	vals := []int32{0x3ff, 0x001, 0x200, 0x155}
	packed := []byte{0xff, 0x00, 0x80, 0x55, 0x3 | 0x1<<2 | 0x0<<4 | 0x1<<6}
	bi, _ := SRGGB10P.bayer()
	for i, v := range vals {
		if got := rawSample(packed, 5, bi, 0, i, 0); got != v {
			t.Errorf("packed sample %d = %#x, want %#x", i, got, v)
		}
	}
	// RG10 LSB- and MSB-aligned containers.
	bi, _ = SRGGB10.bayer()
	lsb := []byte{0x55, 0x01} // 0x155
	msb := []byte{0x40, 0x55} // 0x155 << 6
	if got := rawSample(lsb, 2, bi, 0, 0, 0); got != 0x155 {
		t.Errorf("LSB sample = %#x", got)
	}
	if got := rawSample(msb, 2, bi, 6, 0, 0); got != 0x155 {
		t.Errorf("MSB sample = %#x", got)
	}
	// A uniform colour demosaics to itself for every pattern and shift.
	col := [3]uint8{200, 100, 50}
	for _, shift := range []int{0, 6} {
		fm := Format{Width: 6, Height: 4, Pixel: SGBRG10, BayerShift: shift}.WithDefaults()
		var f Frame
		f.setupFormat(fm)
		rgb := bytes.Repeat(col[:], 24)
		EncodeRGB(&f, rgb)
		got := convert(t, &f, &Target{Width: 4, Height: 4})
		if !bytes.Equal(got, bytes.Repeat(col[:], 16)) {
			t.Errorf("shift %d: uniform colour demosaiced to %v", shift, got[:12])
		}
	}
	// Bilinear demosaic of a single bright red sample in RGGB: its
	// horizontal neighbours (G sites) get half of it from two R samples.
	fm := Format{Width: 4, Height: 4, Pixel: SRGGB8}.WithDefaults()
	p := make([]byte, 16)
	p[2*4+2] = 200 // R site at (2,2)
	f := rawFrame(fm, p)
	got := convert(t, f, &Target{Width: 4, Height: 4})
	if r := got[(2*4+2)*3]; r != 200 {
		t.Errorf("R at R site = %d, want 200", r)
	}
	if r := got[(2*4+3)*3]; r != 200 { // (3,2) mirrors to (2,2) on both sides
		t.Errorf("R at (3,2) = %d, want 200", r)
	}
	if r := got[(2*4+1)*3]; r != 100 { // mean of (0,2)=0 and (2,2)=200
		t.Errorf("R at (1,2) = %d, want 100", r)
	}
}

func TestConvertImageMatchesFrame(t *testing.T) {
	f := frameOf(t, PatternGradient, 40, 30, RGB24, [3]uint8{})
	tg := &Target{Width: 16, Height: 16, Color: BGR}
	want := convert(t, f, tg)
	rgba := image.NewRGBA(image.Rect(5, 7, 45, 37)) // non-zero origin
	nrgba := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			i := 3 * (y*40 + x)
			c := color.RGBA{f.Planes[0][i], f.Planes[0][i+1], f.Planes[0][i+2], 255}
			rgba.SetRGBA(x+5, y+7, c)
			nrgba.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, 255})
		}
	}
	for _, img := range []image.Image{rgba, nrgba} {
		dst := make([]byte, tg.Size())
		var s Scratch
		if err := ConvertImage(dst, img, tg, &s); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dst, want) {
			t.Errorf("%T differs from the frame conversion", img)
		}
	}
	// Gray images replicate into RGB; a transparent NRGBA pixel is black.
	g := image.NewGray(image.Rect(0, 0, 2, 2))
	for i := range g.Pix {
		g.Pix[i] = 99
	}
	dst := make([]byte, 3)
	var s Scratch
	if err := ConvertImage(dst, g, &Target{Width: 1, Height: 1}, &s); err != nil || !bytes.Equal(dst, []byte{99, 99, 99}) {
		t.Errorf("gray image -> %v, %v", dst, err)
	}
	tr := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	tr.SetNRGBA(0, 0, color.NRGBA{255, 255, 255, 0})
	if err := ConvertImage(dst, tr, &Target{Width: 1, Height: 1}, &s); err != nil || !bytes.Equal(dst, []byte{0, 0, 0}) {
		t.Errorf("transparent -> %v, %v", dst, err)
	}
	// Paletted goes through the generic path.
	pi := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.RGBA{1, 2, 3, 255}})
	if err := ConvertImage(dst, pi, &Target{Width: 1, Height: 1}, &s); err != nil || !bytes.Equal(dst, []byte{1, 2, 3}) {
		t.Errorf("paletted -> %v, %v", dst, err)
	}
}

func TestConvertErrors(t *testing.T) {
	f := frameOf(t, PatternBars, 32, 16, YUYV, [3]uint8{})
	tg := &Target{Width: 8, Height: 8}
	var s Scratch
	if err := Convert(make([]byte, 10), f, tg, &s); !errors.Is(err, ErrShortFrame) {
		t.Errorf("short dst: %v", err)
	}
	short := *f
	short.Planes = [][]byte{f.Planes[0][:100]}
	if err := Convert(make([]byte, tg.Size()), &short, tg, &s); !errors.Is(err, ErrShortFrame) {
		t.Errorf("short frame: %v", err)
	}
	nv := frameOf(t, PatternBars, 32, 16, NV12, [3]uint8{})
	nv.Planes = nv.Planes[:1]
	if err := Convert(make([]byte, tg.Size()), nv, tg, &s); !errors.Is(err, ErrShortFrame) {
		t.Errorf("missing plane: %v", err)
	}
	for _, bad := range []*Target{
		{Width: 0, Height: 8}, {Width: 8, Height: 8, Std: []float32{0}},
		{Width: 8, Height: 8, Mean: []float32{1, 2}}, {Width: 8, Height: 8, DType: 9},
		{Width: 8, Height: 8, QScale: -1},
	} {
		if err := Convert(make([]byte, 1<<10), f, bad, &s); !errors.Is(err, ErrUnsupportedFormat) {
			t.Errorf("target %+v: %v", bad, err)
		}
	}
	mj := rawFrame(Format{Width: 8, Height: 8, Pixel: MJPEG}, []byte{0xff, 0xd8, 0x00})
	if err := Convert(make([]byte, tg.Size()), mj, tg, &s); err == nil {
		t.Error("corrupt MJPEG accepted")
	}
}

// TestConvertNoAllocs asserts the steady-state conversion allocates
// nothing for each raw format.
func TestConvertNoAllocs(t *testing.T) {
	for _, pf := range []PixelFormat{YUYV, NV12, I420, RGB24, GREY, SRGGB10, SRGGB10P} {
		f := frameOf(t, PatternBars, 640, 480, pf, [3]uint8{})
		for _, tg := range []*Target{
			{Width: 224, Height: 224, DType: Int8, Scale: 1 / 127.5, Mean: []float32{1}, QScale: 1.0 / 128},
			{Width: 96, Height: 96, Layout: NCHW, DType: Float32, Scale: 1 / 255.0, Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}},
		} {
			dst := make([]byte, tg.Size())
			var s Scratch
			if err := Convert(dst, f, tg, &s); err != nil {
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(3, func() {
				if err := Convert(dst, f, tg, &s); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v -> %dx%d %v: %v allocs per Convert, want 0", pf, tg.Width, tg.Height, tg.DType, allocs)
			}
		}
	}
	// ConvertImage on a decoded-JPEG-like YCbCr image.
	img := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	tg := &Target{Width: 128, Height: 128}
	dst := make([]byte, tg.Size())
	var s Scratch
	if a := testing.AllocsPerRun(3, func() { _ = ConvertImage(dst, img, tg, &s) }); a != 0 {
		t.Errorf("ConvertImage(YCbCr): %v allocs, want 0", a)
	}
}

func benchConvert(b *testing.B, pf PixelFormat, tg *Target) {
	f := frameOf(b, PatternBars, 640, 480, pf, [3]uint8{})
	dst := make([]byte, tg.Size())
	var s Scratch
	if err := Convert(dst, f, tg, &s); err != nil { // grow the scratch
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(f.Format.FrameSize()))
	for b.Loop() {
		if err := Convert(dst, f, tg, &s); err != nil {
			b.Fatal(err)
		}
	}
}

var benchTarget = &Target{Width: 224, Height: 224, DType: Int8, Scale: 1 / 127.5, Mean: []float32{1}, QScale: 1.0 / 128}

func BenchmarkConvertYUYV(b *testing.B)     { benchConvert(b, YUYV, benchTarget) }
func BenchmarkConvertNV12(b *testing.B)     { benchConvert(b, NV12, benchTarget) }
func BenchmarkConvertRGB24(b *testing.B)    { benchConvert(b, RGB24, benchTarget) }
func BenchmarkConvertSRGGB10P(b *testing.B) { benchConvert(b, SRGGB10P, benchTarget) }
func BenchmarkConvertYUYVFloat(b *testing.B) {
	benchConvert(b, YUYV, &Target{Width: 224, Height: 224, Layout: NCHW, DType: Float32, Scale: 1 / 255.0})
}

// demosaicRef is the direct definition of the bilinear demosaic: the mean
// of the same-colour samples in the mirrored 3×3 neighbourhood. The fast
// demosaic must match it exactly.
func demosaicRef(dst []uint8, f *Frame, bi bayerInfo, x0, y0, w, h int, gray bool) {
	fm := f.Format
	p, s := f.Planes[0], fm.Stride[0]
	W, H := fm.Width, fm.Height
	i := 0
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			var sum, cnt [3]int32
			for dy := -1; dy <= 1; dy++ {
				yy := mirror(y+dy, H)
				for dx := -1; dx <= 1; dx++ {
					xx := mirror(x+dx, W)
					c := bi.pattern[(yy&1)*2+(xx&1)]
					sum[c] += rawSample(p, s, bi, fm.BayerShift, xx, yy)
					cnt[c]++
				}
			}
			// The pixel's own colour is its sample, not the mean.
			own := bi.pattern[(y&1)*2+(x&1)]
			sum[own], cnt[own] = rawSample(p, s, bi, fm.BayerShift, x, y), 1
			var rgb [3]uint8
			for c := 0; c < 3; c++ {
				v := (sum[c] + cnt[c]/2) / cnt[c]
				rgb[c] = uint8(min((v+2)>>2, 255))
			}
			put(dst, i, gray, rgb[0], rgb[1], rgb[2])
			i++
		}
	}
}

func TestDemosaicMatchesReference(t *testing.T) {
	rng := uint32(1)
	for _, pf := range []PixelFormat{SRGGB8, SBGGR8, SGBRG8, SGRBG8, SRGGB10, SGBRG10, SRGGB10P, SGRBG10P, SBGGR10P} {
		for _, sz := range [][2]int{{2, 2}, {5, 3}, {8, 6}, {13, 9}} {
			fm := Format{Width: sz[0], Height: sz[1], Pixel: pf, BayerShift: 3}.WithDefaults()
			if b, _ := pf.bayer(); b.bits != 10 || b.packed {
				fm.BayerShift = 0
			}
			var f Frame
			f.setupFormat(fm)
			for i := range f.Planes[0] {
				rng = rng*1664525 + 1013904223
				f.Planes[0][i] = byte(rng >> 24)
			}
			bi, _ := pf.bayer()
			for _, win := range [][4]int{{0, 0, sz[0], sz[1]}, {1, 1, sz[0] - 1, sz[1] - 1}, {1, 0, 1, 2}} {
				x0, y0, w, h := win[0], win[1], win[2], win[3]
				for _, gray := range []bool{false, true} {
					n := w * h * 3
					want, got := make([]uint8, n), make([]uint8, n)
					demosaicRef(want, &f, bi, x0, y0, w, h, gray)
					var s Scratch
					demosaic(got, &f, bi, x0, y0, w, h, gray, &s)
					if !bytes.Equal(got, want) {
						t.Fatalf("%v %dx%d window %v gray=%v:\n got %v\nwant %v", pf, sz[0], sz[1], win, gray, got, want)
					}
				}
			}
		}
	}
}

// FuzzConvert: any frame geometry, stride, plane length and target either
// converts or returns an error; it never panics.
func FuzzConvert(f *testing.F) {
	f.Add(uint8(0), uint16(7), uint16(5), uint8(3), uint16(0), uint16(4), uint16(3), uint8(0), []byte{1, 2, 3})
	f.Add(uint8(12), uint16(6), uint16(2), uint8(0), uint16(0), uint16(3), uint16(3), uint8(0x2a), []byte{0xff})
	f.Add(uint8(21), uint16(5), uint16(3), uint8(1), uint16(7), uint16(9), uint16(1), uint8(0x51), []byte{9, 9})
	f.Fuzz(func(t *testing.T, pfi uint8, w, h uint16, pad uint8, cut uint16, tw, th uint16, opts uint8, data []byte) {
		pf := formatNames[int(pfi)%len(formatNames)].pf
		if pf.Compressed() || w > 64 || h > 64 || tw > 64 || th > 64 {
			return
		}
		fm := Format{Width: int(w), Height: int(h), Pixel: pf, BayerShift: int(opts % 8)}
		fm.Stride[0] = pf.minStride(int(w)) + int(pad%16)
		fm = fm.WithDefaults()
		var fr Frame
		fr.Format = fm
		sizes := fm.planeSizes()
		for i := 0; i < pf.planes(); i++ {
			n := sizes[i]
			if i == 0 && int(cut) < n {
				n -= int(cut)
			}
			p := make([]byte, max(n, 0))
			for j := range p {
				if len(data) > 0 {
					p[j] = data[j%len(data)]
				}
			}
			fr.Planes = append(fr.Planes, p)
		}
		tg := &Target{Width: int(tw), Height: int(th), Layout: Layout(opts & 1), Color: ColorOrder(opts >> 1 % 3),
			DType: DType(opts >> 3 % 3), Fit: Fit(opts >> 5 & 1)}
		dst := make([]byte, max(tg.Size(), 0))
		var s Scratch
		_ = Convert(dst, &fr, tg, &s)
	})
}

func TestMJPEGWithoutHuffmanTables(t *testing.T) {
	f := frameOf(t, PatternBars, 64, 48, MJPEG, [3]uint8{})
	full := f.Planes[0]
	// Strip every DHT segment, as UVC cameras do.
	var stripped []byte
	stripped = append(stripped, full[:2]...)
	end := forSegments(full, func(m byte, seg []byte) bool {
		if m != 0xC4 {
			stripped = append(stripped, seg...)
		}
		return m != 0xDA
	})
	if end < 0 || full[end+1] != 0xDA {
		t.Fatal("no SOS in the encoder's output")
	}
	sosLen := int(full[end+2])<<8 | int(full[end+3])
	stripped = append(stripped, full[end+2+sosLen:]...)
	if bytes.Contains(stripped[:len(stripped)-len(full)+end+2+sosLen], []byte{0xFF, 0xC4}) {
		t.Fatal("DHT still present")
	}
	if _, err := jpeg.Decode(bytes.NewReader(stripped)); err == nil {
		t.Fatal("image/jpeg decoded a frame without Huffman tables; the test is moot")
	}
	want := convert(t, f, &Target{Width: 8, Height: 8})
	g := rawFrame(Format{Width: 64, Height: 48, Pixel: MJPEG}, stripped)
	got := convert(t, g, &Target{Width: 8, Height: 8})
	if !bytes.Equal(got, want) {
		t.Errorf("DHT-less MJPEG decodes to %v, want %v", got[:6], want[:6])
	}
	// Frames that have tables are passed through untouched.
	var buf []byte
	if out := withHuffmanTables(full, &buf); &out[0] != &full[0] {
		t.Error("a frame with DHT was copied")
	}
}
