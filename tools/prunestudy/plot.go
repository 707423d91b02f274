package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotRows draws top-1 against the keep ratio: one panel per dtype, one
// line per method and prune layer (ZOO-Prune solid, CLS baseline dashed,
// diversity only dotted; darker for later layers), every line starting from the unpruned model
// at ratio 1.
func plotRows(path string, rows []row) error {
	var dtypes []string
	base := map[string]row{}
	for _, r := range rows {
		if r.Method == "none" {
			base[r.DType] = r
			dtypes = append(dtypes, r.DType)
		}
	}
	if len(dtypes) == 0 {
		return fmt.Errorf("plot: no unpruned rows to anchor the lines")
	}
	lo := 100.0
	for _, r := range rows {
		lo = min(lo, r.top1())
	}
	plots := make([][]*plot.Plot, 1)
	for _, dt := range dtypes {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("researchase MNIST ViT, %s, %d test images", dt, base[dt].N)
		p.X.Label.Text = "patch tokens kept (ratio of 49)"
		p.Y.Label.Text = "top-1 (%)"
		p.X.Min, p.X.Max = 0.3, 1.02
		p.Y.Min, p.Y.Max = float64(int(lo))-1, 100
		p.Legend.Top, p.Legend.Left = false, false
		p.Legend.YOffs = vg.Points(10)
		p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
			var t []plot.Tick
			for v := math.Ceil(lo/2.5) * 2.5; v <= hi; v += 2.5 {
				label := ""
				if math.Mod(v, 5) == 0 {
					label = strconv.FormatFloat(v, 'f', 0, 64)
				}
				t = append(t, plot.Tick{Value: v, Label: label})
			}
			return t
		})
		p.Add(plotter.NewGrid())
		type key struct {
			m string
			l int
		}
		lines := map[key]plotter.XYs{}
		var keys []key
		for _, r := range rows {
			if r.DType != dt || r.Method == "none" {
				continue
			}
			k := key{r.Method, r.Layer}
			if _, ok := lines[k]; !ok {
				keys = append(keys, k)
				lines[k] = plotter.XYs{{X: 1, Y: base[dt].top1()}}
			}
			lines[k] = append(lines[k], plotter.XY{X: r.Ratio, Y: r.top1()})
		}
		for _, k := range keys {
			xy := lines[k]
			sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
			l, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return err
			}
			// One hue per method, darker for later layers.
			shade := min(max(k.l, 1), 3) - 1
			c := [3]color.RGBA{{110, 160, 255, 255}, {30, 80, 220, 255}, {10, 20, 110, 255}}[shade]
			pts.Shape = draw.CircleGlyph{}
			switch k.m {
			case "cls":
				c = [3]color.RGBA{{255, 170, 60, 255}, {235, 60, 30, 255}, {130, 10, 10, 255}}[shade]
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
				pts.Shape = draw.TriangleGlyph{}
			case "uniform":
				c = [3]color.RGBA{{90, 200, 90, 255}, {20, 140, 20, 255}, {0, 70, 0, 255}}[shade]
				l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
				pts.Shape = draw.SquareGlyph{}
			}
			l.Color, pts.Color = c, c
			l.Width = vg.Points(1.5)
			name := map[string]string{"zoo": "ZOO-Prune", "cls": "CLS top-k", "uniform": "diversity only"}[k.m]
			if name == "" {
				name = k.m
			}
			p.Add(l, pts)
			p.Legend.Add(fmt.Sprintf("%s after layer %d", name, k.l), l, pts)
		}
		plots[0] = append(plots[0], p)
	}
	const w, h = 6 * vg.Inch, 4.5 * vg.Inch
	img := vgimg.New(w*vg.Length(len(plots[0])), h)
	dc := draw.New(img)
	t := draw.Tiles{Rows: 1, Cols: len(plots[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, t, dc)
	for i, p := range plots[0] {
		p.Draw(canvases[0][i])
	}
	png := vgimg.PngCanvas{Canvas: img}
	f, err := createFile(path)
	if err != nil {
		return err
	}
	if _, err := png.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot: %w", err)
	}
	return f.Close()
}

func createFile(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	return f, nil
}
