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

// methodColor gives ZOO-Prune, diversity only and the CLS baseline fixed
// colours; other methods (variants) greys.
func methodColor(m string, i int) color.Color {
	switch m {
	case "zoo":
		return color.RGBA{30, 80, 220, 255}
	case "uniform":
		return color.RGBA{20, 140, 20, 255}
	case "cls":
		return color.RGBA{235, 60, 30, 255}
	}
	g := uint8(60 + 40*(i%4))
	return color.RGBA{g, g, g, 255}
}

// plotRows draws, for the keep ratio closest to 0.5, one panel per model:
// a group of bars per dtype and prune block (one bar per method) and the
// unpruned model's top-1 as a black line across each group.
func plotRows(path string, rows []row) error {
	ratio, found := 0.0, false
	for _, r := range rows {
		if r.Method != "none" && (!found || math.Abs(r.Ratio-0.5) < math.Abs(ratio-0.5)) {
			ratio, found = r.Ratio, true
		}
	}
	if !found {
		return fmt.Errorf("plot: no pruned rows")
	}
	var models, methods []string
	type group struct {
		dt    string
		block int
	}
	base := map[[2]string]row{}
	for _, r := range rows {
		if !contains(models, r.Model) {
			models = append(models, r.Model)
		}
		if r.Method == "none" {
			base[[2]string{r.Model, r.DType}] = r
		} else if r.Ratio == ratio && !contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	sort.SliceStable(methods, func(i, j int) bool { return rankOf(methods[i]) < rankOf(methods[j]) })
	lo := 100.0
	for _, r := range rows {
		if r.Method == "none" || r.Ratio == ratio {
			lo = min(lo, r.top1())
		}
	}
	lo = math.Floor(lo) - 1
	var panels []*plot.Plot
	for _, model := range models {
		var groups []group
		vals := map[group]map[string]row{}
		for _, r := range rows {
			if r.Model != model || r.Method == "none" || r.Ratio != ratio {
				continue
			}
			g := group{r.DType, r.Block}
			if vals[g] == nil {
				vals[g] = map[string]row{}
				groups = append(groups, g)
			}
			vals[g][r.Method] = r
		}
		if len(groups) == 0 {
			continue
		}
		sort.Slice(groups, func(i, j int) bool {
			if groups[i].dt != groups[j].dt {
				return groups[i].dt > groups[j].dt // int8 first
			}
			return groups[i].block < groups[j].block
		})
		for _, g := range groups {
			if _, ok := base[[2]string{model, g.dt}]; !ok {
				return fmt.Errorf("plot: model %s %s has no unpruned row", model, g.dt)
			}
		}
		p := plot.New()
		kept := 0
		for _, v := range vals[groups[0]] {
			kept = v.Kept
		}
		p.Title.Text = fmt.Sprintf("%s: %d patch tokens kept, %d test images", model, kept, base[[2]string{model, groups[0].dt}].N)
		p.Y.Label.Text = "top-1 (%)"
		p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
			var t []plot.Tick
			step := 1.0
			if hi-lo > 12 {
				step = 2.5
			}
			for v := math.Ceil(lo/step) * step; v <= hi; v += step {
				t = append(t, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
			return t
		})
		p.Add(plotter.NewGrid())
		width := vg.Points(14)
		var names []string
		for _, g := range groups {
			names = append(names, fmt.Sprintf("%s, after block %d", g.dt, g.block))
		}
		// An empty slot on the right holds the legend.
		p.NominalX(append(names, "")...)
		for j, m := range methods {
			v := make(plotter.Values, len(groups))
			for i, g := range groups {
				if r, ok := vals[g][m]; ok {
					v[i] = r.top1()
				}
			}
			b, err := plotter.NewBarChart(v, width)
			if err != nil {
				return err
			}
			b.Offset = vg.Length(float64(j)-float64(len(methods)-1)/2) * width
			b.Color = methodColor(m, j)
			b.LineStyle.Width = 0
			p.Add(b)
			name := map[string]string{"zoo": "ZOO-Prune", "cls": "CLS top-k", "uniform": "diversity only", "jvp": "jvp, paper's product"}[m]
			if name == "" {
				name = m
			}
			p.Legend.Add(name, b)
		}
		for i, g := range groups {
			y := base[[2]string{model, g.dt}].top1()
			l, err := plotter.NewLine(plotter.XYs{{X: float64(i) - 0.4, Y: y}, {X: float64(i) + 0.4, Y: y}})
			if err != nil {
				return err
			}
			l.Width = vg.Points(1.5)
			p.Add(l)
			if i == 0 {
				p.Legend.Add("unpruned", l)
			}
		}
		// Bars start at 0; the interesting part is near the top.
		p.Y.Min, p.Y.Max = lo, 100
		p.X.Max = float64(len(groups)) + 0.5 // the legend's empty slot, which no bar reaches
		p.Legend.Top, p.Legend.Left = true, false
		p.Legend.TextStyle.Font.Size = vg.Points(9)
		panels = append(panels, p)
	}
	cols := min(len(panels), 3)
	nrows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, nrows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		for j := range grid[i] {
			grid[i][j] = plot.New()
			grid[i][j].HideAxes()
		}
	}
	for i, p := range panels {
		grid[i/cols][i%cols] = p
	}
	const w, h = 7 * vg.Inch, 4 * vg.Inch
	img := vgimg.New(w*vg.Length(cols), h*vg.Length(nrows))
	dc := draw.New(img)
	t := draw.Tiles{Rows: nrows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, t, dc)
	for i, p := range panels {
		p.Draw(canvases[i/cols][i%cols])
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
