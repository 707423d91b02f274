package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/edgeinfer/edgeinfer/format"
)

// pickONNX writes an ONNX model: input [N,1,4,4] → Flatten → Gemm that
// scores class c (0..9) by pixel c.
func pickONNX(t *testing.T, dir string) string {
	t.Helper()
	return pickONNXOutputs(t, dir, "pick.onnx", false)
}

// pickONNXOutputs writes pickONNX's model to dir/name; with flatOut the
// flattened image "f" ([N,16]) is graph output 0 and the scores "y"
// output 1.
func pickONNXOutputs(t *testing.T, dir, name string, flatOut bool) string {
	t.Helper()
	tag := func(b []byte, num protowire.Number, typ protowire.Type) []byte {
		return protowire.AppendTag(b, num, typ)
	}
	str := func(b []byte, num protowire.Number, s string) []byte {
		return protowire.AppendString(tag(b, num, protowire.BytesType), s)
	}
	msg := func(b []byte, num protowire.Number, m []byte) []byte {
		return protowire.AppendBytes(tag(b, num, protowire.BytesType), m)
	}
	vint := func(b []byte, num protowire.Number, v int64) []byte {
		return protowire.AppendVarint(tag(b, num, protowire.VarintType), uint64(v))
	}
	w := make([]byte, 4*10*16)
	for c := 0; c < 10; c++ {
		binary.LittleEndian.PutUint32(w[4*(c*16+c):], math.Float32bits(1))
	}
	var dims []byte
	dims = protowire.AppendVarint(dims, 10)
	dims = protowire.AppendVarint(dims, 16)
	wt := msg(nil, 1, dims)
	wt = vint(wt, 2, 1)
	wt = str(wt, 8, "w")
	wt = msg(wt, 9, w)
	flat := str(str(str(str(nil, 1, "x"), 2, "f"), 3, "flat"), 4, "Flatten")
	gemm := str(str(str(str(str(nil, 1, "f"), 1, "w"), 2, "y"), 3, "head"), 4, "Gemm")
	gemm = msg(gemm, 5, vint(vint(str(nil, 1, "transB"), 20, 2), 3, 1))
	vi := func(name string, d ...int64) []byte {
		var shape []byte
		for _, x := range d {
			if x < 0 {
				shape = msg(shape, 1, str(nil, 2, "N"))
			} else {
				shape = msg(shape, 1, vint(nil, 1, x))
			}
		}
		tt := msg(vint(nil, 1, 1), 2, shape)
		return msg(str(nil, 1, name), 2, msg(nil, 1, tt))
	}
	g := msg(nil, 1, flat)
	g = msg(g, 1, gemm)
	g = str(g, 2, "pick")
	g = msg(g, 5, wt)
	g = msg(g, 11, vi("x", -1, 1, 4, 4))
	if flatOut {
		g = msg(g, 12, vi("f", -1, 16))
	}
	g = msg(g, 12, vi("y", -1, 10))
	m := vint(nil, 1, 8)
	m = msg(m, 7, g)
	m = msg(m, 8, vint(str(nil, 1, ""), 2, 17))
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, m, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyMNIST writes n gzipped 4×4 MNIST-style images, label l marked by
// pixel l at 255.
func tinyMNIST(t *testing.T, dir string, n int) {
	t.Helper()
	write := func(name string, dims []int, data []byte) {
		var b bytes.Buffer
		b.Write([]byte{0, 0, 8, byte(len(dims))})
		for _, d := range dims {
			binary.Write(&b, binary.BigEndian, uint32(d))
		}
		b.Write(data)
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b.Bytes())
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, name), z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pix := make([]byte, 16*n)
	lab := make([]byte, n)
	for i := range lab {
		lab[i] = byte(i * 3 % 10)
		pix[16*i+int(lab[i])] = 255
		pix[16*i+15] = byte(i * 13) // noise outside the scored pixels
	}
	write("t10k-images-idx3-ubyte.gz", []int{n, 4, 4}, pix)
	write("t10k-labels-idx1-ubyte.gz", []int{n}, lab)
}

func TestConvertONNXAndEval(t *testing.T) {
	dir := t.TempDir()
	src := pickONNX(t, dir)
	data := filepath.Join(dir, "mnist")
	os.Mkdir(data, 0o755)
	tinyMNIST(t, data, 30)
	pre := []string{"--scale", "0.00392156862745098", "--mean", "0.1307", "--std", "0.3081"}

	f32 := filepath.Join(dir, "pick_f32.eim")
	if st, _, e := edgeinfer(append([]string{"convert", src, f32, "--float"}, pre...)...); st != 0 {
		t.Fatalf("convert --float: status %d: %s", st, e)
	}
	fm, err := format.ReadFile(f32)
	if err != nil {
		t.Fatal(err)
	}
	pp := fm.Preprocess
	if pp == nil || pp.Layout != format.NCHW || pp.Color != format.Gray || pp.Mean[0] != 0.1307 || pp.Std[0] != 0.3081 || math.Abs(float64(pp.Scale)-1.0/255) > 1e-9 {
		t.Fatalf("preprocess %+v", pp)
	}

	for _, method := range []string{"minmax", "percentile", "mse"} {
		q := filepath.Join(dir, "pick_"+method+".eim")
		st, out, e := edgeinfer(append([]string{"convert", src, q, "--calibrate", data, "--calib-offset", "5", "--calib-count", "20", "--method", method}, pre...)...)
		if st != 0 {
			t.Fatalf("convert --method %s: status %d: %s", method, st, e)
		}
		if !strings.Contains(out, "wrote") || e != "" {
			t.Errorf("convert output %q, stderr %q (no progress bar off a terminal)", out, e)
		}
		qm, err := format.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		if in := qm.Tensors[qm.Inputs[0]]; in.DType != format.Int8 || !strings.Contains(qm.Description, method) {
			t.Errorf("%s: input %v, description %q", method, in.DType, qm.Description)
		}
		st, out, e = edgeinfer("eval", "--model", q, "--mnist", data, "--json")
		if st != 0 {
			t.Fatalf("eval: status %d: %s", st, e)
		}
		var acc struct {
			Top1, Top5 float64
			N          int
		}
		if err := json.Unmarshal([]byte(out), &acc); err != nil {
			t.Fatalf("eval --json: %v: %q", err, out)
		}
		if acc.N != 30 || acc.Top1 != 1 || acc.Top5 != 1 {
			t.Errorf("%s: eval %+v, want all 30 right", method, acc)
		}
	}

	// Text output with --offset/--limit, and the ONNX file evaluated directly
	// (its default preprocessing is identity, which still ranks pixel c first).
	st, out, e := edgeinfer("eval", "--model", src, "--mnist", data, "--offset", "10", "--limit", "5")
	if st != 0 || !strings.Contains(out, "5 images (#10–#14") || !strings.Contains(out, "top-1 100.00%") {
		t.Errorf("eval text: status %d, %q %s", st, out, e)
	}
	// A float island kept by name.
	q := filepath.Join(dir, "pick_island.eim")
	if st, _, e := edgeinfer(append([]string{"convert", src, q, "--calibrate", data, "--calib-count", "10", "--float-ops", "FullyConnected"}, pre...)...); st != 0 {
		t.Fatalf("--float-ops: status %d: %s", st, e)
	}
	qm, _ := format.ReadFile(q)
	found := false
	for _, op := range qm.Ops {
		if op.Code == format.OpFullyConnected && qm.Tensors[op.Inputs[1]].DType == format.Float32 {
			found = true
		}
	}
	if !found {
		t.Error("--float-ops FullyConnected left no float FullyConnected")
	}
}

func TestConvertONNXUsageErrors(t *testing.T) {
	dir := t.TempDir()
	src := pickONNX(t, dir)
	out := filepath.Join(dir, "o.eim")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"convert", src, out}, "--calibrate"},
		{[]string{"convert", src, out, "--float", "--calibrate", dir}, "exclude"},
		{[]string{"convert", src, out, "--calibrate", dir, "--method", "kl"}, "kl"},
		{[]string{"convert", src, out, "--float", "--mean", "x"}, "--mean"},
		{[]string{"convert", src, out, "--float", "--std", "1,2"}, "standard deviations"},
		{[]string{"convert", src, out, "--float", "--layout", "CHW"}, "--layout"},
		{[]string{"convert", src, out, "--float", "--color", "cmyk"}, "--color"},
		{[]string{"eval", "--model", src}, "--mnist"},
		{[]string{"eval", "--model", src, "--mnist", dir, "--images", dir}, "exactly one"},
	} {
		st, _, e := edgeinfer(c.args...)
		if st != 2 || !strings.Contains(e, c.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 and %q", c.args[1:], st, e, c.want)
		}
	}
	// A calibration directory that is not a dataset is a plain error.
	if st, _, e := edgeinfer("convert", src, out, "--calibrate", t.TempDir()); st != 1 || !strings.Contains(e, "neither MNIST") {
		t.Errorf("empty calibration dir: status %d, %q", st, e)
	}
}

func TestInfoImportsONNX(t *testing.T) {
	src := pickONNX(t, t.TempDir())
	st, out, e := edgeinfer("info", "--model", src)
	if st != 0 || !strings.Contains(out, "FullyConnected") {
		t.Errorf("info on .onnx: status %d, %q %s", st, out, e)
	}
}
