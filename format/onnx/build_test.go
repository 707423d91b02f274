package onnx_test

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// A tiny ONNX writer for tests: enough of onnx.proto to build graphs by
// hand. Field numbers follow onnx.proto (ModelProto.graph = 7, …).

type pbuf []byte

func (b pbuf) str(num protowire.Number, s string) pbuf {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func (b pbuf) msg(num protowire.Number, m pbuf) pbuf {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func (b pbuf) varint(num protowire.Number, v int64) pbuf {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func (b pbuf) f32(num protowire.Number, v float32) pbuf {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(v))
}

func (b pbuf) packedInts(num protowire.Number, vs []int64) pbuf {
	var p []byte
	for _, v := range vs {
		p = protowire.AppendVarint(p, uint64(v))
	}
	return b.msg(num, p)
}

// tensor kinds
const (
	tFloat = 1
	tInt8  = 3
	tInt64 = 7
)

// floatTensor encodes a float TensorProto with raw_data.
func floatTensor(name string, dims []int64, v []float32) pbuf {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return pbuf(nil).packedInts(1, dims).varint(2, tFloat).str(8, name).msg(9, raw)
}

// floatTensorFields encodes a float TensorProto with float_data.
func floatTensorFields(name string, dims []int64, v []float32) pbuf {
	b := pbuf(nil).packedInts(1, dims).varint(2, tFloat).str(8, name)
	var p []byte
	for _, x := range v {
		p = protowire.AppendFixed32(p, math.Float32bits(x))
	}
	return b.msg(4, p)
}

func int64Tensor(name string, dims []int64, v []int64) pbuf {
	return pbuf(nil).packedInts(1, dims).varint(2, tInt64).str(8, name).packedInts(7, v)
}

func int8Tensor(name string, dims []int64, v []int8) pbuf {
	raw := make([]byte, len(v))
	for i, x := range v {
		raw[i] = byte(x)
	}
	return pbuf(nil).packedInts(1, dims).varint(2, tInt8).str(8, name).msg(9, raw)
}

// externalTensor encodes a float tensor whose bytes are in file loc.
func externalTensor(name string, dims []int64, loc string, offset, length string) pbuf {
	b := pbuf(nil).packedInts(1, dims).varint(2, tFloat).str(8, name)
	b = b.msg(13, pbuf(nil).str(1, "location").str(2, loc))
	if offset != "" {
		b = b.msg(13, pbuf(nil).str(1, "offset").str(2, offset))
	}
	if length != "" {
		b = b.msg(13, pbuf(nil).str(1, "length").str(2, length))
	}
	return b.varint(14, 1)
}

type attrFn func() pbuf

func aInt(name string, v int64) attrFn {
	return func() pbuf { return pbuf(nil).str(1, name).varint(20, 2).varint(3, v) }
}

func aFloat(name string, v float32) attrFn {
	return func() pbuf { return pbuf(nil).str(1, name).varint(20, 1).f32(2, v) }
}

func aInts(name string, v ...int64) attrFn {
	return func() pbuf { return pbuf(nil).str(1, name).varint(20, 7).packedInts(8, v) }
}

func aString(name, v string) attrFn {
	return func() pbuf { return pbuf(nil).str(1, name).varint(20, 3).msg(4, []byte(v)) }
}

func aTensor(name string, t pbuf) attrFn {
	return func() pbuf { return pbuf(nil).str(1, name).varint(20, 4).msg(5, t) }
}

func node(op, name string, ins, outs []string, attrs ...attrFn) pbuf {
	b := pbuf(nil)
	for _, i := range ins {
		b = b.str(1, i)
	}
	for _, o := range outs {
		b = b.str(2, o)
	}
	b = b.str(3, name).str(4, op)
	for _, a := range attrs {
		b = b.msg(5, a())
	}
	return b
}

// valueInfo encodes a float tensor ValueInfoProto; a dim < 0 is symbolic "N".
func valueInfo(name string, dims ...int64) pbuf {
	shape := pbuf(nil)
	for _, d := range dims {
		if d < 0 {
			shape = shape.msg(1, pbuf(nil).str(2, "N"))
		} else {
			shape = shape.msg(1, pbuf(nil).varint(1, d))
		}
	}
	tt := pbuf(nil).varint(1, tFloat).msg(2, shape)
	return pbuf(nil).str(1, name).msg(2, pbuf(nil).msg(1, tt))
}

type graphSpec struct {
	nodes   []pbuf
	inits   []pbuf
	inputs  []pbuf
	outputs []pbuf
	opset   int64
}

func (g graphSpec) encode() []byte {
	gb := pbuf(nil)
	for _, n := range g.nodes {
		gb = gb.msg(1, n)
	}
	gb = gb.str(2, "test")
	for _, t := range g.inits {
		gb = gb.msg(5, t)
	}
	for _, i := range g.inputs {
		gb = gb.msg(11, i)
	}
	for _, o := range g.outputs {
		gb = gb.msg(12, o)
	}
	opset := g.opset
	if opset == 0 {
		opset = 17
	}
	m := pbuf(nil).varint(1, 8).str(2, "edgeinfer-test")
	m = m.msg(7, gb)
	m = m.msg(8, pbuf(nil).str(1, "").varint(2, opset))
	return m
}
