// Package onnx reads ONNX models and translates them into edgeinfer's
// graph (package format).
//
// The reader decodes the protobuf wire format directly with protowire,
// following the field numbers of onnx.proto; there is no generated code.
// Decoding never trusts a length: every count and size is checked against
// the bytes that are actually there, and a hostile file yields an error
// naming the message and field, never a panic or a huge allocation.
// Initializers may be inline (raw_data or the typed fields, packed or not)
// or in external data files beside the model.
//
// Import translates default-domain opsets 13–20 with static shapes
// (symbolic dimensions take Options.Batch) into a float32 model:
//
//   - Constants and everything computed only from them — Shape, Gather,
//     Unsqueeze, Squeeze, Concat, Reshape, Flatten, Transpose, Slice,
//     Split, Expand, Tile, Cast, ConstantOfShape, Range, Equal, Where,
//     arithmetic, Sqrt, Erf — are folded at import.
//   - MatMul with a constant 2-D right side and Gemm become
//     FullyConnected with the weight transposed to [N, K]; a following
//     Add of a bias vector and a Relu/Clip(0,6) fold into it. Other MatMuls
//     become BatchMatMul.
//   - Conv (groups 1 or depthwise) and MaxPool/AveragePool run NHWC
//     between transposes that are shared and pruned; GlobalAveragePool
//     is a Mean.
//   - LayerNormalization, Softmax (last axis; a scalar Mul or Div just
//     before it becomes its Beta), ReduceMean, Relu, Gelu, Sigmoid, Tanh,
//     HardSwish, Add, Sub, Mul, Div by a constant, Pow by 2, Identity,
//     Dropout and DequantizeLinear of constant int8 weights (kept as
//     Result.Int8Weights).
//   - The LayerNorm decomposition (ReduceMean, Sub, Pow, ReduceMean, Add,
//     Sqrt, Div, optional Mul and Add) and the erf form of GELU are
//     rewritten into one op each (see findPatterns).
//
// Anything else fails with ErrUnsupported, naming the node and op.
package onnx

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is wrapped by every error about bytes that are not a valid
// ONNX protobuf.
var ErrMalformed = errors.New("malformed ONNX protobuf")

// DataType is TensorProto.DataType.
type DataType int32

// The element types this package knows by name.
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Uint16    DataType = 4
	Int16     DataType = 5
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Bool      DataType = 9
	Float16   DataType = 10
	Double    DataType = 11
	Uint32    DataType = 12
	Uint64    DataType = 13
)

var dataTypeNames = map[DataType]string{
	Float: "float", Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Int32: "int32", Int64: "int64", String: "string", Bool: "bool", Float16: "float16",
	Double: "double", Uint32: "uint32", Uint64: "uint64",
}

func (d DataType) String() string {
	if n, ok := dataTypeNames[d]; ok {
		return n
	}
	return fmt.Sprintf("datatype(%d)", int32(d))
}

// size is the byte size of one element in raw_data (0 if not fixed).
func (d DataType) size() int {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16:
		return 2
	case Float, Int32, Uint32:
		return 4
	case Int64, Double, Uint64:
		return 8
	}
	return 0
}

// Model is a decoded ModelProto (the parts an importer needs).
type Model struct {
	IRVersion       int64
	Opsets          []OpsetID
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	Graph           *Graph
	Metadata        []StringPair
}

// OpsetID is one OperatorSetIdProto: the opset version used for a domain
// ("" and "ai.onnx" are the default domain).
type OpsetID struct {
	Domain  string
	Version int64
}

// StringPair is a StringStringEntryProto.
type StringPair struct{ Key, Value string }

// Graph is a decoded GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []*Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
	ValueInfo    []ValueInfo
	// Sparse counts sparse initializers, which this reader does not support.
	Sparse int
}

// Node is a decoded NodeProto.
type Node struct {
	Name       string
	OpType     string
	Domain     string
	Inputs     []string
	Outputs    []string
	Attributes []Attribute
}

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// Attribute types.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
	AttrTensors   AttrType = 9
	AttrGraphs    AttrType = 10
)

// Attribute is a decoded AttributeProto. Graph-valued attributes (the
// bodies of If, Loop, Scan) are recorded as present but not decoded.
type Attribute struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       []byte
	T       *Tensor
	Floats  []float32
	Ints    []int64
	Strings [][]byte
	Tensors []*Tensor
	// Graphs counts graph-valued fields (g, graphs).
	Graphs int
	// RefAttrName is set inside function bodies.
	RefAttrName string
}

// ValueInfo is a decoded ValueInfoProto for a tensor type.
type ValueInfo struct {
	Name     string
	ElemType DataType
	// Dims is nil when the shape is unknown; a symbolic dimension has
	// Value −1 and its name in Param.
	Dims []Dim
}

// Dim is one TensorShapeProto.Dimension.
type Dim struct {
	Value int64
	Param string
}

// Tensor is a decoded TensorProto. Exactly one of the data fields holds
// the values, or External says where they are.
type Tensor struct {
	Name       string
	Dims       []int64
	DataType   DataType
	RawData    []byte
	FloatData  []float32
	Int32Data  []int32
	Int64Data  []int64
	DoubleData []float64
	Uint64Data []uint64
	StringData [][]byte
	// External holds the external_data entries (location, offset, length,
	// checksum) when DataLocation is 1.
	External     []StringPair
	DataLocation int32
	Segmented    bool
}

// IsExternal reports whether the tensor's bytes live in another file.
func (t *Tensor) IsExternal() bool { return t.DataLocation == 1 }

// Decode parses a serialized ModelProto.
func Decode(b []byte) (*Model, error) {
	m := &Model{}
	err := fields(b, "ModelProto", func(num protowire.Number, typ protowire.Type, v value) error {
		var err error
		switch num {
		case 1:
			m.IRVersion, err = v.int64(typ)
		case 2:
			m.ProducerName, err = v.string(typ)
		case 3:
			m.ProducerVersion, err = v.string(typ)
		case 4:
			m.Domain, err = v.string(typ)
		case 5:
			m.ModelVersion, err = v.int64(typ)
		case 6:
			m.DocString, err = v.string(typ)
		case 7:
			var raw []byte
			if raw, err = v.bytes(typ); err == nil {
				m.Graph, err = decodeGraph(raw)
			}
		case 8:
			var raw []byte
			if raw, err = v.bytes(typ); err == nil {
				var o OpsetID
				o, err = decodeOpset(raw)
				m.Opsets = append(m.Opsets, o)
			}
		case 14:
			var raw []byte
			if raw, err = v.bytes(typ); err == nil {
				var p StringPair
				p, err = decodePair(raw)
				m.Metadata = append(m.Metadata, p)
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: ModelProto has no graph", ErrMalformed)
	}
	return m, nil
}

func decodeOpset(b []byte) (OpsetID, error) {
	var o OpsetID
	err := fields(b, "OperatorSetIdProto", func(num protowire.Number, typ protowire.Type, v value) error {
		var err error
		switch num {
		case 1:
			o.Domain, err = v.string(typ)
		case 2:
			o.Version, err = v.int64(typ)
		}
		return err
	})
	return o, err
}

func decodePair(b []byte) (StringPair, error) {
	var p StringPair
	err := fields(b, "StringStringEntryProto", func(num protowire.Number, typ protowire.Type, v value) error {
		var err error
		switch num {
		case 1:
			p.Key, err = v.string(typ)
		case 2:
			p.Value, err = v.string(typ)
		}
		return err
	})
	return p, err
}

func decodeGraph(b []byte) (*Graph, error) {
	g := &Graph{}
	err := fields(b, "GraphProto", func(num protowire.Number, typ protowire.Type, v value) error {
		if num == 2 {
			var err error
			g.Name, err = v.string(typ)
			return err
		}
		if num != 1 && num != 5 && num != 11 && num != 12 && num != 13 && num != 15 {
			return nil
		}
		raw, err := v.bytes(typ)
		if err != nil {
			return err
		}
		switch num {
		case 1:
			n, err := decodeNode(raw)
			if err != nil {
				return fmt.Errorf("node %d: %w", len(g.Nodes), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 5:
			t, err := decodeTensor(raw)
			if err != nil {
				return fmt.Errorf("initializer %d: %w", len(g.Initializers), err)
			}
			g.Initializers = append(g.Initializers, t)
		case 11, 12, 13:
			vi, err := decodeValueInfo(raw)
			if err != nil {
				return err
			}
			switch num {
			case 11:
				g.Inputs = append(g.Inputs, vi)
			case 12:
				g.Outputs = append(g.Outputs, vi)
			default:
				g.ValueInfo = append(g.ValueInfo, vi)
			}
		case 15:
			g.Sparse++
		}
		return nil
	})
	return g, err
}

func decodeNode(b []byte) (Node, error) {
	var n Node
	err := fields(b, "NodeProto", func(num protowire.Number, typ protowire.Type, v value) error {
		var err error
		var s string
		switch num {
		case 1:
			if s, err = v.string(typ); err == nil {
				n.Inputs = append(n.Inputs, s)
			}
		case 2:
			if s, err = v.string(typ); err == nil {
				n.Outputs = append(n.Outputs, s)
			}
		case 3:
			n.Name, err = v.string(typ)
		case 4:
			n.OpType, err = v.string(typ)
		case 7:
			n.Domain, err = v.string(typ)
		case 5:
			var raw []byte
			if raw, err = v.bytes(typ); err == nil {
				var a Attribute
				if a, err = decodeAttribute(raw); err == nil {
					n.Attributes = append(n.Attributes, a)
				}
			}
		}
		return err
	})
	return n, err
}

func decodeAttribute(b []byte) (Attribute, error) {
	var a Attribute
	err := fields(b, "AttributeProto", func(num protowire.Number, typ protowire.Type, v value) error {
		var err error
		switch num {
		case 1:
			a.Name, err = v.string(typ)
		case 20:
			var t int64
			t, err = v.int64(typ)
			a.Type = AttrType(t)
		case 2:
			a.F, err = v.float32(typ)
		case 3:
			a.I, err = v.int64(typ)
		case 4:
			a.S, err = v.bytes(typ)
		case 5:
			var raw []byte
			if raw, err = v.bytes(typ); err == nil {
				a.T, err = decodeTensor(raw)
			}
		case 6, 11:
			_, err = v.bytes(typ)
			a.Graphs++
		case 7:
			a.Floats, err = v.float32s(typ, a.Floats)
		case 8:
			a.Ints, err = v.int64s(typ, a.Ints)
		case 9:
			var s []byte
			if s, err = v.bytes(typ); err == nil {
				a.Strings = append(a.Strings, s)
			}
		case 10:
			var raw []byte
			if raw, err = v.bytes(typ); err == nil {
				var t *Tensor
				if t, err = decodeTensor(raw); err == nil {
					a.Tensors = append(a.Tensors, t)
				}
			}
		case 21:
			a.RefAttrName, err = v.string(typ)
		}
		return err
	})
	if err != nil && a.Name != "" {
		err = fmt.Errorf("attribute %q: %w", a.Name, err)
	}
	return a, err
}

func decodeValueInfo(b []byte) (ValueInfo, error) {
	var vi ValueInfo
	err := fields(b, "ValueInfoProto", func(num protowire.Number, typ protowire.Type, v value) error {
		switch num {
		case 1:
			var err error
			vi.Name, err = v.string(typ)
			return err
		case 2:
			raw, err := v.bytes(typ)
			if err != nil {
				return err
			}
			return decodeTypeProto(raw, &vi)
		}
		return nil
	})
	if err != nil {
		return vi, fmt.Errorf("value info %q: %w", vi.Name, err)
	}
	return vi, nil
}

func decodeTypeProto(b []byte, vi *ValueInfo) error {
	return fields(b, "TypeProto", func(num protowire.Number, typ protowire.Type, v value) error {
		if num != 1 {
			return nil
		}
		raw, err := v.bytes(typ)
		if err != nil {
			return err
		}
		return fields(raw, "TypeProto.Tensor", func(num protowire.Number, typ protowire.Type, v value) error {
			switch num {
			case 1:
				t, err := v.int64(typ)
				vi.ElemType = DataType(t)
				return err
			case 2:
				raw, err := v.bytes(typ)
				if err != nil {
					return err
				}
				vi.Dims = []Dim{}
				return fields(raw, "TensorShapeProto", func(num protowire.Number, typ protowire.Type, v value) error {
					if num != 1 {
						return nil
					}
					raw, err := v.bytes(typ)
					if err != nil {
						return err
					}
					d := Dim{Value: -1}
					err = fields(raw, "TensorShapeProto.Dimension", func(num protowire.Number, typ protowire.Type, v value) error {
						var err error
						switch num {
						case 1:
							d.Value, err = v.int64(typ)
						case 2:
							d.Param, err = v.string(typ)
						}
						return err
					})
					vi.Dims = append(vi.Dims, d)
					return err
				})
			}
			return nil
		})
	})
}

func decodeTensor(b []byte) (*Tensor, error) {
	t := &Tensor{}
	err := fields(b, "TensorProto", func(num protowire.Number, typ protowire.Type, v value) error {
		var err error
		switch num {
		case 1:
			t.Dims, err = v.int64s(typ, t.Dims)
		case 2:
			var d int64
			d, err = v.int64(typ)
			t.DataType = DataType(d)
		case 3:
			_, err = v.bytes(typ)
			t.Segmented = true
		case 4:
			t.FloatData, err = v.float32s(typ, t.FloatData)
		case 5:
			var xs []int64
			xs, err = v.int64s(typ, nil)
			for _, x := range xs {
				t.Int32Data = append(t.Int32Data, int32(x))
			}
		case 6:
			var s []byte
			if s, err = v.bytes(typ); err == nil {
				t.StringData = append(t.StringData, s)
			}
		case 7:
			t.Int64Data, err = v.int64s(typ, t.Int64Data)
		case 8:
			t.Name, err = v.string(typ)
		case 9:
			t.RawData, err = v.bytes(typ)
		case 10:
			t.DoubleData, err = v.float64s(typ, t.DoubleData)
		case 11:
			var xs []int64
			xs, err = v.int64s(typ, nil)
			for _, x := range xs {
				t.Uint64Data = append(t.Uint64Data, uint64(x))
			}
		case 13:
			var raw []byte
			if raw, err = v.bytes(typ); err == nil {
				var p StringPair
				p, err = decodePair(raw)
				t.External = append(t.External, p)
			}
		case 14:
			var d int64
			d, err = v.int64(typ)
			t.DataLocation = int32(d)
		}
		return err
	})
	if err != nil && t.Name != "" {
		err = fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	return t, err
}

// value is the undecoded payload of one field.
type value struct {
	msg string
	num protowire.Number
	b   []byte // the bytes after the tag
	n   int    // consumed by the value
}

func (v value) errf(format string, args ...any) error {
	return fmt.Errorf("%w: %s field %d: %s", ErrMalformed, v.msg, v.num, fmt.Sprintf(format, args...))
}

func (v value) wrongType(typ protowire.Type) error {
	return v.errf("unexpected wire type %d", typ)
}

func (v value) int64(typ protowire.Type) (int64, error) {
	if typ != protowire.VarintType {
		return 0, v.wrongType(typ)
	}
	x, _ := protowire.ConsumeVarint(v.b)
	return int64(x), nil
}

func (v value) float32(typ protowire.Type) (float32, error) {
	if typ != protowire.Fixed32Type {
		return 0, v.wrongType(typ)
	}
	x, _ := protowire.ConsumeFixed32(v.b)
	return math.Float32frombits(x), nil
}

func (v value) bytes(typ protowire.Type) ([]byte, error) {
	if typ != protowire.BytesType {
		return nil, v.wrongType(typ)
	}
	x, _ := protowire.ConsumeBytes(v.b)
	return x, nil
}

func (v value) string(typ protowire.Type) (string, error) {
	b, err := v.bytes(typ)
	return string(b), err
}

// int64s appends a repeated varint field, packed or not.
func (v value) int64s(typ protowire.Type, dst []int64) ([]int64, error) {
	switch typ {
	case protowire.VarintType:
		x, _ := protowire.ConsumeVarint(v.b)
		return append(dst, int64(x)), nil
	case protowire.BytesType:
		b, _ := protowire.ConsumeBytes(v.b)
		for len(b) > 0 {
			x, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, v.errf("packed varint: %v", protowire.ParseError(n))
			}
			dst = append(dst, int64(x))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, v.wrongType(typ)
}

// float32s appends a repeated float field, packed or not.
func (v value) float32s(typ protowire.Type, dst []float32) ([]float32, error) {
	switch typ {
	case protowire.Fixed32Type:
		x, _ := protowire.ConsumeFixed32(v.b)
		return append(dst, math.Float32frombits(x)), nil
	case protowire.BytesType:
		b, _ := protowire.ConsumeBytes(v.b)
		if len(b)%4 != 0 {
			return nil, v.errf("packed floats: %d bytes is not a multiple of 4", len(b))
		}
		for i := 0; i < len(b); i += 4 {
			x, _ := protowire.ConsumeFixed32(b[i:])
			dst = append(dst, math.Float32frombits(x))
		}
		return dst, nil
	}
	return nil, v.wrongType(typ)
}

// float64s appends a repeated double field, packed or not.
func (v value) float64s(typ protowire.Type, dst []float64) ([]float64, error) {
	switch typ {
	case protowire.Fixed64Type:
		x, _ := protowire.ConsumeFixed64(v.b)
		return append(dst, math.Float64frombits(x)), nil
	case protowire.BytesType:
		b, _ := protowire.ConsumeBytes(v.b)
		if len(b)%8 != 0 {
			return nil, v.errf("packed doubles: %d bytes is not a multiple of 8", len(b))
		}
		for i := 0; i < len(b); i += 8 {
			x, _ := protowire.ConsumeFixed64(b[i:])
			dst = append(dst, math.Float64frombits(x))
		}
		return dst, nil
	}
	return nil, v.wrongType(typ)
}

// fields walks the fields of one message, calling f for each. Values are
// validated (a truncated varint or length is an error) before f sees them.
func fields(b []byte, msg string, f func(num protowire.Number, typ protowire.Type, v value) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %s: bad tag: %v", ErrMalformed, msg, protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("%w: %s field %d: %v", ErrMalformed, msg, num, protowire.ParseError(m))
		}
		if typ == protowire.StartGroupType {
			// Groups do not occur in onnx.proto; skipping is all we do.
			b = b[m:]
			continue
		}
		if err := f(num, typ, value{msg: msg, num: num, b: b[:m], n: m}); err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}
