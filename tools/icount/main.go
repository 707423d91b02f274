// Command icount drives edgeinfer's int8 kernels for instruction counting
// under qemu-aarch64 with the qemu-icount plugin (see tools/icount.sh and
// ../shared/tools/qemu-icount beside the repo). Each measured region is bracketed with
// the plugin's marker syscall on a locked OS thread, single-threaded, after
// a warm-up run, so that counts are exact and repeatable.
//
//	icount -write deit-tiny.eim [-zoo name] [-float] build a zoo model (run natively)
//	icount -gemm int32|int8 -kernels v80    one M=197 K=192 N=768 GEMM
//	icount -bmm qk|av -kernels v80          one attention BatchMatMul, 3 heads
//	icount -gconv -kernels v80              one grouped 3×3 Conv2D (RegNet-Y-400MF)
//	icount -model deit-tiny.eim -kernels v80 [-ops]
//
// It prints "macs <n>" and, for a model, "op <i> <code> <macs> <region>"
// lines and an output hash; the plugin prints "region <id>: <n> insns".
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	goruntime "runtime"
	"syscall"

	"github.com/edgeinfer/edgeinfer/format"
	"github.com/edgeinfer/edgeinfer/kernels"
	"github.com/edgeinfer/edgeinfer/kernels/neon"
	"github.com/edgeinfer/edgeinfer/kernels/ref"
	"github.com/edgeinfer/edgeinfer/quant"
	"github.com/edgeinfer/edgeinfer/runtime"
	"github.com/edgeinfer/edgeinfer/zoo"
)

const mark = 4095 // the plugin's marker syscall

func start(id int) { syscall.RawSyscall(mark, 1, uintptr(id), 0) }
func stop(id int)  { syscall.RawSyscall(mark, 0, uintptr(id), 0) }

func main() {
	write := flag.String("write", "", "build the zoo model -zoo and write it to this .eim file, then exit")
	zooName := flag.String("zoo", "deit-tiny", "with -write, the zoo model to build (int8, seed 7)")
	float := flag.Bool("float", false, "with -write, write the zoo model's float32 graph instead of the int8 one")
	gemm := flag.String("gemm", "", "count one GEMM M=197 K=192 N=768 with int32 or int8 output")
	model := flag.String("model", "", "count one Invoke of this .eim model")
	ks := flag.String("kernels", "", "kernel set / path: ref, v80, dotprod")
	ops := flag.Bool("ops", false, "with -model, also count every op separately")
	add := flag.Bool("add", false, "count one int8 Add of two 197×192 tensors (a DeiT-tiny residual)")
	gconv := flag.Bool("gconv", false, "count one grouped 3×3 Conv2D: RegNet-Y-400MF's widest, 440 channels in 55 groups of 8 on 7×7")
	bmm := flag.String("bmm", "", "count one DeiT-tiny attention BatchMatMul of 3 heads: qk (Q·Kᵀ, K=64) or av (A·V, K=197)")
	flag.Parse()
	goruntime.LockOSThread()
	switch {
	case *write != "":
		q, f, err := zoo.Build(*zooName, zoo.Options{Seed: 7})
		if err != nil {
			log.Fatal(err)
		}
		if *float {
			q = f
		}
		if err := format.WriteFile(*write, q); err != nil {
			log.Fatal(err)
		}
	case *gemm != "":
		countGEMM(*gemm, *ks)
	case *add:
		countAdd(*ks)
	case *bmm != "":
		countBMM(*bmm, *ks)
	case *gconv:
		countGroupedConv(*ks)
	case *model != "":
		countModel(*model, *ks, *ops)
	default:
		flag.Usage()
	}
}

func countGEMM(out, ks string) {
	const M, K, N = 197, 192, 768
	r := rand.New(rand.NewPCG(1, 2))
	x, w := make([]int8, M*K), make([]int8, N*K)
	for i := range x {
		x[i] = int8(r.IntN(256) - 128)
	}
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	p := kernels.FCParams{M: M, N: N, K: K, InZP: 3, Bias: make([]int32, N)}
	p.Out = kernels.OutputStage{OutZP: -5, ActMin: -128, ActMax: 127}
	for n := 0; n < N; n++ {
		p.Bias[n] = int32(r.IntN(2001) - 1000)
		p.Out.Mult = append(p.Out.Mult, quant.MustMultiplier(0.0005*(1+r.Float64())))
	}
	o8, o32 := make([]int8, M*N), make([]int32, M*N)
	var run func()
	switch ks {
	case "ref":
		run = func() { ref.FullyConnectedInt8(&p, x, w, o8) }
	case "v80", "dotprod":
		path := neon.V80
		if ks == "dotprod" {
			path = neon.DotProd
		}
		if ok, why := neon.Supported(path); !ok {
			log.Fatalf("%v: %s", path, why)
		}
		pk := neon.PackFC(path, &p, w)
		if out == "int32" {
			run = func() { neon.GemmInt32(&p, x, pk, o32) }
		} else {
			run = func() { neon.FullyConnectedInt8(&p, x, pk, o8) }
		}
	default:
		log.Fatalf("unknown kernels %q", ks)
	}
	run() // warm up: page faults, stack growth
	start(1)
	run()
	stop(1)
	want := make([]int8, M*N)
	ref.FullyConnectedInt8(&p, x, w, want)
	if out == "int8" || ks == "ref" {
		for i := range want {
			if o8[i] != want[i] {
				log.Fatalf("output %d = %d, ref %d", i, o8[i], want[i])
			}
		}
	}
	fmt.Printf("macs %d\n", M*N*K)
}

// countBMM counts one BatchMatMul of a DeiT-tiny attention block, 3 heads
// of T=197 tokens and head size 64, as the runtime runs it on one thread
// (one call per head): qk is Q·Kᵀ (AdjY, K=64), av is A·V (K=197).
func countBMM(which, ks string) {
	const H, T, Dh = 3, 197, 64
	p := kernels.MatMulParams{M: T, N: T, K: Dh, AdjY: true, AZP: 5, BZP: -3}
	switch which {
	case "qk":
	case "av":
		p = kernels.MatMulParams{M: T, N: Dh, K: T, AZP: -128, BZP: 2}
	default:
		log.Fatalf("unknown -bmm %q (qk or av)", which)
	}
	p.Out = kernels.OutputStage{Mult: []quant.Multiplier{quant.MustMultiplier(0.0037)}, OutZP: -7, ActMin: -128, ActMax: 127}
	r := rand.New(rand.NewPCG(7, 8))
	na, nb, no := p.Extents()
	a, b := make([]int8, H*na), make([]int8, H*nb)
	for i := range a {
		a[i] = int8(r.IntN(256) - 128)
	}
	for i := range b {
		b[i] = int8(r.IntN(255) - 127) // −128 would select v80's unpaired loop; activations rarely hold it
	}
	out, want := make([]int8, H*no), make([]int8, H*no)
	mm := func(p *kernels.MatMulParams, a, b, out []int8) { ref.MatMulInt8(p, a, b, out) }
	switch ks {
	case "ref":
	case "v80", "dotprod":
		path := neon.V80
		if ks == "dotprod" {
			path = neon.DotProd
		}
		if ok, why := neon.Supported(path); !ok {
			log.Fatalf("%v: %s", path, why)
		}
		mm = func(p *kernels.MatMulParams, a, b, out []int8) { neon.MatMulInt8(path, p, a, b, out) }
	default:
		log.Fatalf("unknown kernels %q", ks)
	}
	run := func() {
		for h := 0; h < H; h++ {
			mm(&p, a[h*na:(h+1)*na], b[h*nb:(h+1)*nb], out[h*no:(h+1)*no])
		}
	}
	run()
	start(1)
	run()
	stop(1)
	for h := 0; h < H; h++ {
		ref.MatMulInt8(&p, a[h*na:(h+1)*na], b[h*nb:(h+1)*nb], want[h*no:(h+1)*no])
	}
	for i := range want {
		if out[i] != want[i] {
			log.Fatalf("output %d = %d, ref %d", i, out[i], want[i])
		}
	}
	fmt.Printf("macs %d\n", H*p.M*p.N*p.K)
}

func countAdd(ks string) {
	shape := []int{197, 192}
	p, err := ref.NewAddParams(quant.Params{Scale: 0.05, ZeroPoint: 3}, quant.Params{Scale: 0.02, ZeroPoint: -7},
		quant.Params{Scale: 0.06, ZeroPoint: 1}, false)
	if err != nil {
		log.Fatal(err)
	}
	if p.Broadcast, err = ref.NewBroadcast(shape, shape, shape); err != nil {
		log.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	a, b, out, want := make([]int8, p.N), make([]int8, p.N), make([]int8, p.N), make([]int8, p.N)
	for i := range a {
		a[i], b[i] = int8(r.IntN(256)-128), int8(r.IntN(256)-128)
	}
	run := func() { ref.AddInt8(&p, a, b, out) }
	if ks != "ref" {
		run = func() { neon.AddInt8(&p, a, b, out) }
	}
	run()
	start(1)
	run()
	stop(1)
	ref.AddInt8(&p, a, b, want)
	for i := range want {
		if out[i] != want[i] {
			log.Fatalf("output %d = %d, ref %d", i, out[i], want[i])
		}
	}
	fmt.Printf("elements %d\n", p.N)
}

func countModel(path, ks string, ops bool) {
	m, err := format.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	perOp := false
	var it *runtime.Interpreter
	it, err = runtime.New(m, runtime.Options{Threads: 1, Kernels: ks, AfterOp: func(i int) {
		if perOp {
			stop(1000 + i)
			if i+1 < len(m.Ops) {
				start(1000 + i + 1)
			}
		}
	}})
	if err != nil {
		log.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	if in := it.Input(0); in.DType == format.Float32 {
		v := in.Float32()
		for i := range v {
			v[i] = float32(r.Float64()*2 - 1)
		}
	} else {
		b := in.Bytes()
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
	}
	if err := it.Invoke(); err != nil { // warm up
		log.Fatal(err)
	}
	start(1)
	it.Invoke()
	stop(1)
	if ops {
		perOp = true
		start(1000)
		it.Invoke()
		perOp = false
		for i, s := range it.Profile() {
			fmt.Printf("op %d %v %d %d\n", i, s.Code, s.MACs, 1000+i)
		}
	}
	h := sha256.Sum256(it.Output(0).Bytes())
	fmt.Printf("kernels %s (%s)\n", it.Kernels().Name, it.Kernels().Why)
	fmt.Printf("packed %d\n", it.PackedBytes())
	fmt.Printf("output %x\n", h[:8])
	fmt.Printf("macs %d\n", it.MACs())
}

// countGroupedConv counts the widest grouped convolution of RegNet-Y-400MF
// (stage 4: 440 channels in 55 groups of 8, 3×3, stride 1, padding 1, on
// 7×7) with per-channel multipliers, as the runtime runs it on one thread.
func countGroupedConv(ks string) {
	const C, G, HW = 440, 55, 7
	p := kernels.ConvParams{N: 1, H: HW, W: HW, Cin: C, KH: 3, KW: 3, Cout: C, OH: HW, OW: HW,
		StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1, PadTop: 1, PadLeft: 1, Groups: G,
		RowLo: 0, RowHi: HW, InZP: -9, Bias: make([]int32, C)}
	p.Out = kernels.OutputStage{OutZP: -4, ActMin: -128, ActMax: 127}
	r := rand.New(rand.NewPCG(3, 4))
	k := 9 * C / G
	x, w := make([]int8, HW*HW*C), make([]int8, C*k)
	for i := range x {
		x[i] = int8(r.IntN(256) - 128)
	}
	for i := range w {
		w[i] = int8(r.IntN(255) - 127)
	}
	for n := 0; n < C; n++ {
		p.Bias[n] = int32(r.IntN(2001) - 1000)
		p.Out.Mult = append(p.Out.Mult, quant.MustMultiplier(0.002*(1+r.Float64())))
	}
	out, want := make([]int8, HW*HW*C), make([]int8, HW*HW*C)
	var run func()
	switch ks {
	case "ref":
		run = func() { ref.Conv2DInt8(&p, x, w, out) }
	case "v80", "dotprod":
		path := neon.V80
		if ks == "dotprod" {
			path = neon.DotProd
		}
		if ok, why := neon.Supported(path); !ok {
			log.Fatalf("%v: %s", path, why)
		}
		pk := neon.PackConv(path, &p, w)
		if pk == nil {
			log.Fatal("PackConv declined the grouped convolution")
		}
		run = func() { neon.Conv2DInt8(&p, x, pk, out) }
	default:
		log.Fatalf("unknown kernels %q", ks)
	}
	run()
	start(1)
	run()
	stop(1)
	ref.Conv2DInt8(&p, x, w, want)
	for i := range want {
		if out[i] != want[i] {
			log.Fatalf("output %d = %d, ref %d", i, out[i], want[i])
		}
	}
	fmt.Printf("macs %d\n", HW*HW*C*k)
}
