package main

import (
	"flag"
	"image"
	"image/color"
	"math"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/live"
)

// taskFlag registers --task.
func taskFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("task", "", what+": classify (top classes), pose (keypoints of an output [1,1,K,3] of y, x, score) or segment (a class map, or class scores per pixel)")
}

// chooseTask returns the task run decodes: --task when given, else the
// model's own, else classification. A bad name or a task no output of m
// fits is a usage error saying what is wrong.
func chooseTask(m *format.Model, flagValue string) (format.Task, error) {
	task := m.Task
	if flagValue != "" {
		var err error
		if task, err = format.ParseTask(flagValue); err != nil {
			return 0, usagef("--task: %v", err)
		}
	}
	task = task.Or(format.TaskClassify)
	if _, err := m.TaskOutput(task); err != nil {
		return 0, usagef("--task %v: %v", task, err)
	}
	return task, nil
}

// Overlay colours: limbs, keypoints.
var (
	overlayLimb  = color.RGBA{R: 0, G: 230, B: 64, A: 255}
	overlayJoint = color.RGBA{R: 255, G: 40, B: 200, A: 255}
)

// drawPose draws a skeleton over img: the keypoints whose score is at
// least live.PoseMinScore as discs, and, for 17 COCO keypoints, the limbs
// between two such keypoints as lines. Keypoint coordinates are fractions
// of img's size.
func drawPose(img *image.RGBA, kps []live.Keypoint) {
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	th := max(1, math.Min(w, h)/112) // line width: 2 pixels on a 224 overlay
	at := func(k live.Keypoint) (float64, float64) { return float64(k.X) * w, float64(k.Y) * h }
	if len(kps) == len(live.COCOKeypoints) {
		for _, l := range live.COCOLimbs {
			a, c := kps[l[0]], kps[l[1]]
			if a.Score < live.PoseMinScore || c.Score < live.PoseMinScore {
				continue
			}
			ax, ay := at(a)
			cx, cy := at(c)
			drawLine(img, ax, ay, cx, cy, th/2, overlayLimb)
		}
	}
	for _, k := range kps {
		if k.Score >= live.PoseMinScore {
			x, y := at(k)
			drawLine(img, x, y, x, y, 1.5*th, overlayJoint)
		}
	}
}

// drawLine paints the pixels whose centres lie within r of the segment
// from (x0, y0) to (x1, y1) (a disc when the ends coincide).
func drawLine(img *image.RGBA, x0, y0, x1, y1, r float64, c color.RGBA) {
	b := img.Bounds()
	lo := image.Pt(int(math.Floor(min(x0, x1)-r)), int(math.Floor(min(y0, y1)-r)))
	hi := image.Pt(int(math.Ceil(max(x0, x1)+r))+1, int(math.Ceil(max(y0, y1)+r))+1)
	area := image.Rectangle{Min: lo, Max: hi}.Intersect(b)
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := 0.0
			if l2 > 0 {
				t = max(0, min(1, ((px-x0)*dx+(py-y0)*dy)/l2))
			}
			ex, ey := px-(x0+t*dx), py-(y0+t*dy)
			if ex*ex+ey*ey <= r*r {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

// drawMask tints img with a class map of h×w cells stretched over it
// (nearest cell): each pixel whose class is not 0 (Pascal VOC's
// background) becomes (photo·(255 − α) + colour·α) / 255, rounded, with
// live.MaskColor's colour and α; class 0 leaves the photo as it is.
func drawMask(img *image.RGBA, classes []int32, h, w int) {
	b := img.Bounds()
	ow, oh := b.Dx(), b.Dy()
	for y := 0; y < oh; y++ {
		row := classes[(y*h/oh)*w:]
		for x := 0; x < ow; x++ {
			c := row[x*w/ow]
			if c == 0 {
				continue
			}
			k := live.MaskColor(c)
			p := img.RGBAAt(b.Min.X+x, b.Min.Y+y)
			mix := func(a, b uint8) uint8 { return uint8((int(a)*(255-int(k.A)) + int(b)*int(k.A) + 127) / 255) }
			img.SetRGBA(b.Min.X+x, b.Min.Y+y, color.RGBA{R: mix(p.R, k.R), G: mix(p.G, k.G), B: mix(p.B, k.B), A: 255})
		}
	}
}
