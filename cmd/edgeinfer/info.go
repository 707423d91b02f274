package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func init() {
	commands["info"] = command{summary: "describe a model: tensors, ops, MACs, weight and arena bytes", run: cmdInfo}
}

type tensorInfo struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	DType string `json:"dtype"`
	// Quant is absent for float32 tensors.
	Quant *quantInfo `json:"quantization,omitempty"`
}

// quantInfo is a graph input's or output's real = scale·(q − zero_point).
type quantInfo struct {
	Scale     float32 `json:"scale"`
	ZeroPoint int32   `json:"zero_point"`
}

type modelInfo struct {
	Name                 string             `json:"name"`
	Description          string             `json:"description,omitempty"`
	Inputs               []tensorInfo       `json:"inputs"`
	Outputs              []tensorInfo       `json:"outputs"`
	Ops                  int                `json:"ops"`
	OpCounts             map[string]int     `json:"op_counts"`
	Tensors              int                `json:"tensors"`
	MACs                 int64              `json:"macs"`
	WeightBytes          int64              `json:"weight_bytes"`
	PackedBytes          int64              `json:"packed_bytes"`
	ArenaBytes           int64              `json:"arena_bytes"`
	ArenaLowerBoundBytes int64              `json:"arena_lower_bound_bytes"`
	Rounding             string             `json:"rounding"`
	Kernels              string             `json:"kernels"`
	Labels               int                `json:"labels"`
	Task                 string             `json:"task,omitempty"`
	Preprocess           *format.Preprocess `json:"preprocess,omitempty"`
}

func describe(it *runtime.Interpreter) modelInfo {
	m := it.Model()
	info := modelInfo{
		Name: m.Name, Description: m.Description, Ops: len(m.Ops), Tensors: len(m.Tensors),
		OpCounts: map[string]int{}, MACs: it.MACs(), WeightBytes: runtime.WeightBytes(m), PackedBytes: it.PackedBytes(),
		ArenaBytes: it.Plan().ArenaBytes, ArenaLowerBoundBytes: it.Plan().LowerBound,
		Rounding: m.Rounding.String(), Kernels: it.Kernels().Name + " (" + it.Kernels().Why + ")",
		Labels: len(m.Labels), Preprocess: m.Preprocess, Task: m.Task.String(),
	}
	for _, op := range m.Ops {
		info.OpCounts[op.Code.String()]++
	}
	for i := 0; i < it.NumInputs(); i++ {
		info.Inputs = append(info.Inputs, tensorSummary(i, it.Input(i)))
	}
	for i := 0; i < it.NumOutputs(); i++ {
		info.Outputs = append(info.Outputs, tensorSummary(i, it.Output(i)))
	}
	return info
}

func tensorSummary(index int, t *runtime.Tensor) tensorInfo {
	ti := tensorInfo{Index: index, Name: t.Name, Shape: t.Shape, DType: t.DType.String()}
	if t.DType != format.Float32 && t.Params.Scale != 0 {
		ti.Quant = &quantInfo{Scale: t.Params.Scale, ZeroPoint: t.Params.ZeroPoint}
	}
	return ti
}

func cmdInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("info", stderr)
	model := fs.String("model", defaultModel, "model file (.eim) or zoo:NAME")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	m, err := loadModel(*model)
	if err != nil {
		return err
	}
	it, err := runtime.New(m, runtime.Options{Threads: 1})
	if err != nil {
		return err
	}
	defer it.Close()
	info := describe(it)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(stdout, "model      %s\n", info.Name)
	if info.Description != "" {
		fmt.Fprintf(stdout, "about      %s\n", info.Description)
	}
	for _, t := range info.Inputs {
		fmt.Fprintf(stdout, "input %-4d %s %v %s%s\n", t.Index, t.Name, t.Shape, t.DType, quantText(t))
	}
	for _, t := range info.Outputs {
		fmt.Fprintf(stdout, "output %-3d %s %v %s%s\n", t.Index, t.Name, t.Shape, t.DType, quantText(t))
	}
	fmt.Fprintf(stdout, "ops        %d (", info.Ops)
	names := make([]string, 0, len(info.OpCounts))
	for n := range info.OpCounts {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i > 0 {
			fmt.Fprint(stdout, ", ")
		}
		fmt.Fprintf(stdout, "%s %d", n, info.OpCounts[n])
	}
	fmt.Fprintln(stdout, ")")
	fmt.Fprintf(stdout, "tensors    %d\n", info.Tensors)
	fmt.Fprintf(stdout, "MACs       %d (%.3f G)\n", info.MACs, float64(info.MACs)/1e9)
	fmt.Fprintf(stdout, "weights    %d bytes\n", info.WeightBytes)
	if info.PackedBytes > 0 {
		fmt.Fprintf(stdout, "packed     %d bytes (weights repacked at load for the kernels)\n", info.PackedBytes)
	}
	fmt.Fprintf(stdout, "arena      %d bytes (lower bound %d, %.2f×)\n", info.ArenaBytes, info.ArenaLowerBoundBytes,
		float64(info.ArenaBytes)/float64(max(info.ArenaLowerBoundBytes, 1)))
	if info.Task != "" {
		fmt.Fprintf(stdout, "task       %s\n", info.Task)
	}
	fmt.Fprintf(stdout, "rounding   %s\n", info.Rounding)
	fmt.Fprintf(stdout, "kernels    %s\n", info.Kernels)
	return nil
}

func quantText(t tensorInfo) string {
	if t.Quant == nil {
		return ""
	}
	return fmt.Sprintf(" (scale %g, zero point %d)", t.Quant.Scale, t.Quant.ZeroPoint)
}
