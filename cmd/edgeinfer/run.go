package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/live"
	"github.com/edgeinfer/edgeinfer/npy"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

func init() {
	commands["run"] = command{summary: "run a model on .npy inputs, a photo or a camera and print the top classes, a pose's keypoints or a segmentation's classes", run: cmdRun}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type outputJSON struct {
	Name  string       `json:"name"`
	Shape []int        `json:"shape"`
	DType string       `json:"dtype"`
	Top   []live.Score `json:"top,omitempty"` // classify
}

type runJSON struct {
	Model     string       `json:"model"`
	Input     string       `json:"input"`
	LatencyMS float64      `json:"latency_ms"`
	Outputs   []outputJSON `json:"outputs"`
	// Task is what the outputs were read as: classify (each output's
	// top), pose (Keypoints: x and y as fractions of the image the model
	// saw) or segment (Classes, of a MapSize[0]×MapSize[1] class map).
	Task      string            `json:"task"`
	Keypoints []live.Keypoint   `json:"keypoints,omitempty"`
	Classes   []live.ClassShare `json:"classes,omitempty"`
	MapSize   []int             `json:"map_size,omitempty"`
	// Overlay and Kept (for a model that prunes tokens: the grid indices,
	// row-major, of the patch tokens that survived) come with --overlay.
	Overlay string `json:"overlay,omitempty"`
	Kept    []int  `json:"kept_patches,omitempty"`
}

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	model := fs.String("model", defaultModel, "model file (.eim) or zoo:NAME")
	var inputs multiFlag
	fs.Var(&inputs, "input", "input .npy file, one per graph input in order (repeatable); default: a seeded sample image")
	output := fs.String("output", "", "write output 0 to this .npy file (further outputs get _1, _2 … suffixes)")
	top := fs.Int("top", 5, "print the K highest scores of each output")
	labelsPath := fs.String("labels", "", "text file with one class label per line (default: the model's labels)")
	threads := fs.Int("threads", 0, "worker threads (0: one per CPU)")
	seed := fs.Int64("seed", 1, "seed of the sample image used when no --input is given")
	asJSON := fs.Bool("json", false, "print one JSON object per inference")
	tokens := tokensFlag(fs)
	var keep keepFlag
	fs.Var(&keep, "keep", "keep a ratio R in (0, 1] of the model's maximum token budget (round(R × maximum), at least 1), or a count > 1 (excludes --tokens)")
	overlay := fs.String("overlay", "", "write this PNG: the input image scaled up with the pose's skeleton, the segmentation's class mask, or (classify) the patch tokens kept by the model's pruning framed and the pruned ones dimmed")
	taskName := taskFlag(fs, "what the model is for (default: the model's own task, else classify)")
	var lf liveFlags
	fs.StringVar(&lf.image, "image", "", "photo (jpg, png, bmp) converted into input 0 with the model's preprocessing")
	fs.StringVar(&lf.camera, "camera", "", "camera URI (v4l2:, pipe:, spi:, replay:, synthetic:, file:, dir:) to run live")
	fs.IntVar(&lf.frames, "frames", 0, "with --camera: stop after N frames (0: until the source ends or Ctrl-C)")
	fs.Float64Var(&lf.fps, "fps", 0, "with --camera: cap the frame rate (0: as fast as frames come)")
	fs.BoolVar(&lf.governor, "governor", false, "with --camera: pace fps and threads from the board's temperature and power")
	fs.Float64Var(&lf.maxTemp, "max-temp", 0, "with --governor: temperature target in °C (default: the board profile's)")
	fs.Float64Var(&lf.maxPower, "max-power", 0, "with --governor: input power budget in W (default: the board profile's)")
	fs.StringVar(&lf.root, "root", "/", "with --governor: root of the file system to read telemetry from")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sources := 0
	for _, set := range []bool{len(inputs) > 0, lf.image != "", lf.camera != ""} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return usagef("give only one of --input, --image and --camera")
	}
	if keep.set && *tokens != 0 {
		return usagef("give only one of --keep and --tokens")
	}
	if *overlay != "" && lf.camera != "" {
		return usagef("--overlay draws one inference: give --image or --input, not --camera")
	}
	if lf.camera == "" && (lf.frames != 0 || lf.fps != 0 || lf.governor) {
		return usagef("--frames, --fps and --governor need --camera")
	}
	if lf.frames < 0 || lf.fps < 0 || lf.maxTemp < 0 || lf.maxPower < 0 {
		return usagef("--frames, --fps, --max-temp and --max-power must be ≥ 0")
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *top < 0 {
		return usagef("--top must be ≥ 0, got %d", *top)
	}
	m, err := loadModel(*model)
	if err != nil {
		return err
	}
	task, err := chooseTask(m, *taskName)
	if err != nil {
		return err
	}
	labels := m.Labels
	if *labelsPath != "" {
		if labels, err = readLabels(*labelsPath); err != nil {
			return err
		}
	}
	it, err := runtime.New(m, runtime.Options{Threads: *threads})
	if err != nil {
		return err
	}
	defer it.Close()
	var watch *tokenWatch
	if *overlay != "" && task == format.TaskClassify {
		if watch, err = newTokenWatch(it); err != nil {
			return err
		}
	}
	var dec *live.Decoder
	if task != format.TaskClassify {
		if dec, err = live.NewDecoder(it, task, labels); err != nil {
			return err
		}
	}
	if err := applyTokens(it, *tokens); err != nil {
		return err
	}
	if keep.set {
		if _, err := applyKeep(it, &keep); err != nil {
			return err
		}
	}
	if lf.camera != "" {
		return runCamera(it, labels, *top, task, &lf, *asJSON, stdout, stderr)
	}
	inputDesc := fmt.Sprintf("sample image (seed %d)", *seed)
	var photo image.Image
	if lf.image != "" {
		if photo, err = fillImage(it, lf.image); err != nil {
			return err
		}
		inputDesc = lf.image
	} else if len(inputs) > 0 {
		if len(inputs) != it.NumInputs() {
			return usagef("model %q has %d inputs, got %d --input files", m.Name, it.NumInputs(), len(inputs))
		}
		for i, path := range inputs {
			a, err := npy.ReadFile(path)
			if err != nil {
				return err
			}
			if err := fillInput(it.Input(i), a); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		inputDesc = strings.Join(inputs, ",")
	} else {
		for i := 0; i < it.NumInputs(); i++ {
			if err := fillSample(it.Input(i), m, rand.New(rand.NewSource(*seed+int64(i)))); err != nil {
				return err
			}
		}
	}
	var pic *overlayImage
	if *overlay != "" {
		if pic, err = overlaySource(it, photo); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := it.Invoke(); err != nil {
		return err
	}
	latency := time.Since(start)
	res := runJSON{Model: m.Name, Input: inputDesc, LatencyMS: float64(latency.Microseconds()) / 1000, Task: task.String()}
	for i := 0; i < it.NumOutputs(); i++ {
		t := it.Output(i)
		o := outputJSON{Name: t.Name, Shape: t.Shape, DType: t.DType.String()}
		if task == format.TaskClassify {
			o.Top = topK(t, *top, labels)
		}
		res.Outputs = append(res.Outputs, o)
		if *output != "" {
			path := *output
			if i > 0 {
				path = strings.TrimSuffix(path, ".npy") + fmt.Sprintf("_%d.npy", i)
			}
			if err := npy.WriteFile(path, &npy.Array{Descr: descrOf(t.DType), Shape: t.Shape, Data: t.Bytes()}); err != nil {
				return err
			}
		}
	}
	var classMap []int32
	if dec != nil {
		dec.Decode()
		switch task {
		case format.TaskPose:
			res.Keypoints = dec.Keypoints()
		case format.TaskSegment:
			var h, w int
			classMap, h, w = dec.ClassMap()
			res.Classes, res.MapSize = dec.Classes(), []int{h, w}
		}
	}
	if *overlay != "" {
		img := pic.base()
		switch task {
		case format.TaskPose:
			drawPose(img, res.Keypoints)
		case format.TaskSegment:
			drawMask(img, classMap, res.MapSize[0], res.MapSize[1])
		default:
			res.Kept = watch.kept()
			drawTokens(img, watch, res.Kept)
		}
		res.Overlay = *overlay
		if err := writePNG(*overlay, img); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s on %s: %.2f ms\n", res.Model, res.Input, res.LatencyMS)
	for _, o := range res.Outputs {
		fmt.Fprintf(stdout, "%s %v %s\n", o.Name, o.Shape, o.DType)
		for r, s := range o.Top {
			label := s.Label
			if label == "" {
				label = "-"
			}
			fmt.Fprintf(stdout, "  %d. %-6d %-30s %.4f\n", r+1, s.Index, label, s.Score)
		}
	}
	if len(res.Keypoints) > 0 {
		fmt.Fprintf(stdout, "pose: %d keypoints (x, y as fractions of the image the model saw)\n", len(res.Keypoints))
		for _, k := range res.Keypoints {
			fmt.Fprintf(stdout, "  %-16s x %.3f  y %.3f  score %.3f\n", k.Name, k.X, k.Y, k.Score)
		}
	}
	if res.MapSize != nil {
		fmt.Fprintf(stdout, "segmentation: %d×%d class map, %d classes\n", res.MapSize[0], res.MapSize[1], len(res.Classes))
		for _, c := range res.Classes {
			label := c.Label
			if label == "" {
				label = "-"
			}
			fmt.Fprintf(stdout, "  %-4d %-20s %6.2f%%  %d pixels\n", c.Index, label, 100*c.Share, c.Pixels)
		}
	}
	switch {
	case watch != nil:
		fmt.Fprintf(stdout, "overlay %s: %d of %d patch tokens kept (grid %d×%d)\n", res.Overlay, len(res.Kept), watch.gh*watch.gw, watch.gh, watch.gw)
	case res.Overlay != "":
		fmt.Fprintf(stdout, "overlay %s\n", res.Overlay)
	}
	return nil
}

// descrs maps dtypes to NumPy dtype strings.
var descrs = map[format.DType]string{
	format.UInt8: "|u1", format.Int8: "|i1", format.Int16: "<i2", format.Int32: "<i4", format.Float32: "<f4",
}

func descrOf(d format.DType) string { return descrs[d] }

// fillInput copies an .npy array into an input tensor. The shape must match;
// the dtype must match too, except that float32 data is quantized into an
// integer input with the tensor's parameters.
func fillInput(t *runtime.Tensor, a *npy.Array) error {
	if !slices.Equal(a.Shape, t.Shape) {
		return fmt.Errorf("array shape %v does not match input %q shape %v", a.Shape, t.Name, t.Shape)
	}
	if a.Descr == descrOf(t.DType) {
		copy(t.Bytes(), a.Data)
		return nil
	}
	if a.Descr == "<f4" && (t.DType == format.Int8 || t.DType == format.UInt8) {
		v := make([]float32, t.NumElements())
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(a.Data[4*i:]))
		}
		return t.SetReal(v)
	}
	return fmt.Errorf("array dtype %s does not fit input %q of dtype %v", a.Descr, t.Name, t.DType)
}

// fillSample writes a seeded synthetic image into an image input,
// preprocessed and quantized as the model's metadata says.
func fillSample(t *runtime.Tensor, m *format.Model, r *rand.Rand) error {
	pp := m.Preprocess
	if pp == nil || len(t.Shape) != 4 || pp.Layout != format.NHWC || t.Shape[3] != 3 {
		return fmt.Errorf("model %q has no RGB NHWC image input with preprocessing metadata; give --input", m.Name)
	}
	if err := t.SetReal(zoo.SampleInput(m, r)); err != nil {
		return fmt.Errorf("sample image: %w; give --input", err)
	}
	return nil
}

// topK returns the k highest values of t (dequantized), with labels.
func topK(t *runtime.Tensor, k int, labels []string) []live.Score {
	n := t.NumElements()
	return live.TopK(t.Dequantized(make([]float32, n)), labels, make([]live.Score, min(k, n)))
}

func readLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	defer f.Close()
	var labels []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		labels = append(labels, strings.TrimSpace(s.Text()))
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("labels %s: %w", path, err)
	}
	return labels, nil
}
