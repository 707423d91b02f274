package runtime_test

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
	"github.com/edgeinfer/edgeinfer/runtime"
)

func pq(scale float32, zp int32) *format.Quantization {
	return &format.Quantization{Scale: []float32{scale}, ZeroPoint: []int32{zp}}
}

func asI8(b []byte) []int8 {
	o := make([]int8, len(b))
	for i, v := range b {
		o[i] = int8(v)
	}
	return o
}

// TestQuantizeRequantMatchesRef: an int8 or uint8 Quantize (a
// requantization, which Invoke runs as a table lookup) gives
// kernels/ref's bytes, ref.RequantizeXNNPACK's under XNNPACK rounding
// where it applies and ref.Requantize's otherwise, over every input byte
// and scale ratios across XNNPACK's range and beyond, with every kernel
// set, at 1 and 3 threads, without allocating.
func TestQuantizeRequantMatchesRef(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	const n = 5*256 + 13
	for trial := range 24 {
		inDT, outDT := format.Int8, format.Int8
		if trial%3 == 1 {
			inDT = format.UInt8
		}
		if trial%4 == 3 {
			outDT = format.UInt8
		}
		zp := func(dt format.DType) int32 {
			if dt == format.UInt8 {
				return int32(r.Intn(256))
			}
			return int32(r.Intn(256) - 128)
		}
		sIn := float32(0.001 + r.Float64()*0.1)
		ratio := []float64{1, 1.0 / 256, 128, 1.0 / 300, 200, 0.37, 3.3, 1.0 / 255.9}[trial%8]
		sOut := float32(float64(sIn) / ratio)
		rounding := []quant.Rounding{quant.RoundXNNPACK, quant.RoundXNNPACKUint8, quant.RoundSingle, quant.RoundDouble}[trial%4]
		inZP, outZP := zp(inDT), zp(outDT)
		b := format.NewBuilder("requant")
		x := b.Input("x", inDT, []int32{1, n}, pq(sIn, inZP))
		y := b.Activation("y", outDT, []int32{1, n}, pq(sOut, outZP))
		b.Op(format.OpQuantize, "q", nil, []int32{x}, y)
		b.Output(y)
		m, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		m.Rounding = rounding
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(i*7 + trial)
		}
		want := make([]byte, n)
		mult, ok := ref.NewRequantizeXNNPACK(sIn, sOut)
		if ok && rounding.XNNPACK() && inDT == format.Int8 && outDT == format.Int8 {
			w := make([]int8, n)
			ref.RequantizeXNNPACK(asI8(in), w, inZP, outZP, mult)
			for i := range w {
				want[i] = byte(w[i])
			}
		} else {
			qm, err := quant.NewMultiplier(float64(sIn) / float64(sOut))
			if err != nil {
				t.Fatal(err)
			}
			p := kernels.RequantizeParams{InZP: inZP, OutZP: outZP, Mult: qm, InUnsigned: inDT == format.UInt8,
				OutUnsigned: outDT == format.UInt8, Rounding: rounding}
			ref.Requantize(&p, in, want)
		}
		for _, set := range kernelSets(t) {
			for _, threads := range []int{1, 3} {
				what := fmt.Sprintf("trial %d (%v→%v, ratio %g, %v) %s %d threads", trial, inDT, outDT, ratio, rounding, set, threads)
				it := setInterp(t, m, set, threads, 0, nil)
				copy(it.Input(0).Bytes(), in)
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				got := it.Output(0).Bytes()
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s: byte %d (in %d): got %d, want %d", what, i, in[i], got[i], want[i])
					}
				}
				if a := invokeAllocs(it); a != 0 {
					t.Errorf("%s: %v allocations per Invoke", what, a)
				}
			}
		}
	}
}

// TestBinaryTables: an int8 Add, Sub, Mul or SquaredDifference whose one
// operand spans the last dimension only (a constant scalar or vector
// against an operand of the output's shape, or a vector, constant or not,
// against an operand spanning the outer dimensions: an outer product),
// which Invoke runs as table lookups, gives the bytes of the same op with
// the vector fed as an input and the other operand materialized at the
// output's shape (kernels/ref's broadcasting), under TFLite's and
// XNNPACK's arithmetic, with every set, at 1 and 3 threads, without
// allocating.
func TestBinaryTables(t *testing.T) {
	r := rand.New(rand.NewSource(33))
	codes := []format.OpCode{format.OpAdd, format.OpSub, format.OpMul, format.OpSquaredDifference}
	for trial := range 60 {
		code := codes[trial%4]
		k := []int{1, 3, 16, 17, 5}[trial%5]
		outer := trial >= 40 && k > 1 // x spans the outer dimensions
		vConst := !outer || trial%3 != 0
		outShape := []int32{2, 5, 7, int32(k)}
		xShape := outShape
		if outer {
			xShape = []int32{2, 5, 7, 1}
		}
		var cShape []int32
		switch {
		case k == 1 && trial%2 == 0:
			cShape = []int32{}
		case k == 1:
			cShape = []int32{1}
		case trial%3 == 0:
			cShape = []int32{int32(k)}
		default:
			cShape = []int32{1, 1, 1, int32(k)}
		}
		if trial == 39 { // a scalar with a vector-shaped output
			cShape = []int32{1, 1}
		}
		constFirst := trial%7 == 3
		sx := float32(0.01 + r.Float64()*0.2)
		sc := []float32{sx * float32(0.1+r.Float64()*3), 1e-6, sx}[trial%3]
		so := float32(0.02 + r.Float64()*0.3)
		rounding := []quant.Rounding{quant.RoundXNNPACK, quant.RoundSingle, quant.RoundXNNPACKUint8, quant.RoundDouble}[(trial/4)%4]
		cvals := make([]int8, max(1, k))
		if len(cShape) == 0 || cShape[len(cShape)-1] == 1 {
			cvals = cvals[:1]
		}
		for i := range cvals {
			cvals[i] = int8(r.Intn(256) - 128)
		}
		xzp, czp, ozp := int32(r.Intn(256)-128), int32(r.Intn(256)-128), int32(r.Intn(256)-128)
		build := func(xs []int32, constant bool) *format.Model {
			b := format.NewBuilder("tables")
			x := b.Input("x", format.Int8, xs, pq(sx, xzp))
			var cv int32
			if constant {
				cv = b.ConstInt8("c", cShape, cvals, pq(sc, czp))
			} else {
				cv = b.Input("c", format.Int8, cShape, pq(sc, czp))
			}
			y := b.Activation("y", format.Int8, outShape, pq(so, ozp))
			ins := []int32{x, cv}
			if constFirst {
				ins = []int32{cv, x}
			}
			b.Op(code, "op", &format.BinaryOptions{Activation: []format.Activation{format.ActNone, format.ActReLU}[trial%2]}, ins, y)
			b.Output(y)
			m, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			m.Rounding = rounding
			return m
		}
		in := make([]byte, 2*5*7)
		if !outer {
			in = make([]byte, 2*5*7*k)
		}
		r.Read(in)
		full := in // x at the output's shape
		if outer {
			full = make([]byte, 0, len(in)*k)
			for _, v := range in {
				for range k {
					full = append(full, v)
				}
			}
		}
		ri := setInterp(t, build(outShape, false), "ref", 1, 0, nil)
		copy(ri.Input(0).Bytes(), full)
		for i, v := range cvals {
			ri.Input(1).Bytes()[i] = byte(v)
		}
		if err := ri.Invoke(); err != nil {
			t.Fatal(err)
		}
		want := ri.Output(0).Bytes()
		m := build(xShape, vConst)
		for _, set := range kernelSets(t) {
			for _, threads := range []int{1, 3} {
				what := fmt.Sprintf("trial %d (%v, x %v, c %v (const %v) of %v, c first %v, %v) %s %d threads",
					trial, code, xShape, cShape, vConst, outShape, constFirst, rounding, set, threads)
				it := setInterp(t, m, set, threads, 0, nil)
				copy(it.Input(0).Bytes(), in)
				if !vConst {
					for i, v := range cvals {
						it.Input(1).Bytes()[i] = byte(v)
					}
				}
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				got := it.Output(0).Bytes()
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s: element %d: got %d, want %d", what, i, int8(got[i]), int8(want[i]))
					}
				}
				if a := invokeAllocs(it); a != 0 {
					t.Errorf("%s: %v allocations per Invoke", what, a)
				}
			}
		}
	}
}

// TestElementwiseXNNPACKSets: same-shape int8 Add, Sub and Mul in
// XNNPACK's arithmetic (the kernel sets' AddInt8, SubInt8 and MulInt8)
// give the ref set's bytes with every set, at 1, 2 and 3 threads (blocks
// with tails), without allocating.
func TestElementwiseXNNPACKSets(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	shape := []int32{3, 1031}
	for trial := range 6 {
		b := format.NewBuilder("xnnpack elementwise")
		q := func() *format.Quantization {
			return pq(float32(0.005+r.Float64()*0.2), int32(r.Intn(256)-128))
		}
		x := b.Input("x", format.Int8, shape, q())
		y := b.Input("y", format.Int8, shape, q())
		add, sub, mul := b.Activation("add", format.Int8, shape, q()), b.Activation("sub", format.Int8, shape, q()),
			b.Activation("mul", format.Int8, shape, q())
		act := []format.Activation{format.ActNone, format.ActReLU, format.ActReLU6}[trial%3]
		b.Op(format.OpAdd, "add", &format.BinaryOptions{Activation: act}, []int32{x, y}, add)
		b.Op(format.OpSub, "sub", &format.BinaryOptions{Activation: act}, []int32{add, y}, sub)
		b.Op(format.OpMul, "mul", nil, []int32{sub, x}, mul)
		b.Output(mul)
		m, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		m.Rounding = []quant.Rounding{quant.RoundXNNPACK, quant.RoundXNNPACKUint8}[trial%2]
		run := func(set string, threads int) [][]byte {
			var it *runtime.Interpreter
			var outs [][]byte
			it = setInterp(t, m, set, threads, 0, func(op int) {
				outs = append(outs, append([]byte(nil), it.Tensor(int(m.Ops[op].Outputs[0])).Bytes()...))
			})
			rs := rand.New(rand.NewSource(int64(trial)))
			rs.Read(it.Input(0).Bytes())
			rs.Read(it.Input(1).Bytes())
			if err := it.Invoke(); err != nil {
				t.Fatal(err)
			}
			return outs
		}
		want := run("ref", 1)
		for _, set := range kernelSets(t) {
			for _, threads := range []int{1, 2, 3} {
				sameOps(t, m, fmt.Sprintf("trial %d %s %d threads", trial, set, threads), run(set, threads), want)
			}
			it := setInterp(t, m, set, 2, 0, nil)
			if a := invokeAllocs(it); a != 0 {
				t.Errorf("trial %d %s: %v allocations per Invoke", trial, set, a)
			}
		}
	}
}

// TestQuantizeFloatSets: a float32 Quantize to int8 or uint8 gives
// ref.QuantizeFloat's bytes with every set, at 1 and 3 threads, on values
// with ties, ±Inf, NaN and values beyond the output range, without
// allocating.
func TestQuantizeFloatSets(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	const n = 3*1024 + 11
	for trial := range 4 {
		outDT, zp := format.Int8, int32(r.Intn(256)-128)
		if trial%2 == 1 {
			outDT, zp = format.UInt8, int32(r.Intn(256))
		}
		scale := float32(0.001 + r.Float64())
		b := format.NewBuilder("quantize")
		x := b.Input("x", format.Float32, []int32{1, n}, nil)
		y := b.Activation("y", outDT, []int32{1, n}, pq(scale, zp))
		b.Op(format.OpQuantize, "q", nil, []int32{x}, y)
		b.Output(y)
		m, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		m.Rounding = []quant.Rounding{quant.RoundXNNPACK, quant.RoundSingle}[trial/2]
		in := make([]float32, n)
		for i := range in {
			switch i % 9 {
			case 0:
				in[i] = (float32(r.Intn(600)-300) + 0.5) * scale
			case 1:
				in[i] = []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e30, -1e30}[r.Intn(5)]
			default:
				in[i] = float32(r.Float64()*300-150) * scale
			}
		}
		want := make([]byte, n)
		ref.QuantizeFloat(in, want, quant.Params{Scale: scale, ZeroPoint: zp}, outDT == format.UInt8)
		for _, set := range kernelSets(t) {
			for _, threads := range []int{1, 3} {
				it := setInterp(t, m, set, threads, 0, nil)
				copy(it.Input(0).Float32(), in)
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				got := it.Output(0).Bytes()
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("trial %d %s %d threads: x[%d] = %g: got %d, want %d", trial, set, threads, i, in[i], got[i], want[i])
					}
				}
				if a := invokeAllocs(it); a != 0 {
					t.Errorf("trial %d %s: %v allocations per Invoke", trial, set, a)
				}
			}
		}
	}
}

// TestDequantizeMatchesRef: Dequantize (a float32 table lookup) gives
// ref.DequantizeInt8's and ref.DequantizeUint8's bits over every input
// byte, with scales from subnormal products to overflow to +Inf, with
// every kernel set, at 1 and 3 threads, without allocating.
func TestDequantizeMatchesRef(t *testing.T) {
	r := rand.New(rand.NewSource(33))
	const n = 5*256 + 13
	for trial := range 8 {
		dt, zp := format.Int8, int32(r.Intn(256)-128)
		if trial%2 == 1 {
			dt, zp = format.UInt8, int32(r.Intn(256))
		}
		scale := []float32{1, 0.00390625, 14.999096, float32(0.001 + r.Float64()), 1e-44, 3e36, 0.1, 1e-3}[trial]
		if trial == 0 {
			zp = 0 // MoveNet's uint8 image input
		}
		b := format.NewBuilder("dequantize")
		x := b.Input("x", dt, []int32{1, n}, pq(scale, zp))
		y := b.Activation("y", format.Float32, []int32{1, n}, nil)
		b.Op(format.OpDequantize, "dq", nil, []int32{x}, y)
		b.Output(y)
		m, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(i*5 + trial)
		}
		want := make([]float32, n)
		p := quant.Params{Scale: scale, ZeroPoint: zp}
		if dt == format.Int8 {
			ref.DequantizeInt8(asI8(in), want, p)
		} else {
			ref.DequantizeUint8(in, want, p)
		}
		for _, set := range kernelSets(t) {
			for _, threads := range []int{1, 3} {
				it := setInterp(t, m, set, threads, 0, nil)
				copy(it.Input(0).Bytes(), in)
				if err := it.Invoke(); err != nil {
					t.Fatal(err)
				}
				got := it.Output(0).Float32()
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("trial %d (%v, scale %g, zp %d) %s %d threads: x[%d] = %d: got %g, want %g",
							trial, dt, scale, zp, set, threads, i, in[i], got[i], want[i])
					}
				}
				if a := invokeAllocs(it); a != 0 {
					t.Errorf("trial %d %s: %v allocations per Invoke", trial, set, a)
				}
			}
		}
	}
}
