package format

import "github.com/edgeinfer/edgeinfer/format/internal/fbverify"

// The structural verifier checks the raw bytes of a .eim file against the
// schema before any generated accessor touches them (see
// internal/fbverify): after it succeeds, every table, vtable, field, vector
// and string the accessors can reach lies inside the buffer, so decoding
// cannot index out of range. The schema is described by hand below
// (TestSchemaSpecMatchesGenerated keeps it in step with the generated
// code); a union type this reader does not know is checked as a bare
// table, and decoding reports it as unsupported.

const (
	// minFileSize is the root offset, the identifier and the smallest
	// possible table with its vtable.
	minFileSize = 16
)

// limits bound the walk: the schema nests 3 tables deep (Model, Tensor,
// Quantization); an honest file shares no objects, so what they add up to
// stays below the file's size.
func limits(buf []byte) fbverify.Limits {
	return fbverify.Limits{MaxDepth: 8, MaxTables: 1 << 24, MaxBytes: uint64(len(buf))}
}

var (
	schemaQuantization = &fbverify.TableSpec{Name: "Quantization", Fields: []fbverify.Field{
		fbverify.Vec("scale", 4), fbverify.Vec("zero_point", 4), fbverify.Sc("axis", 4),
	}}
	schemaTensor = &fbverify.TableSpec{Name: "Tensor", Fields: []fbverify.Field{
		fbverify.Str("name"), fbverify.Vec("shape", 4), fbverify.Sc("type", 1), fbverify.Tbl("quantization", schemaQuantization), fbverify.Sc("buffer", 4),
	}}
	schemaBuffer = &fbverify.TableSpec{Name: "Buffer", Fields: []fbverify.Field{
		{Name: "data", Kind: fbverify.Vector, Size: 1, Align: DataAlign}, fbverify.Sc("offset", 8), fbverify.Sc("size", 8),
	}}
	convFields = []fbverify.Field{
		fbverify.Sc("stride_h", 4), fbverify.Sc("stride_w", 4), fbverify.Sc("dilation_h", 4), fbverify.Sc("dilation_w", 4),
		fbverify.Sc("pad_top", 4), fbverify.Sc("pad_bottom", 4), fbverify.Sc("pad_left", 4), fbverify.Sc("pad_right", 4),
		fbverify.Sc("activation", 1),
	}
	schemaOptions = []*fbverify.TableSpec{
		{Name: "Conv2DOptions", Fields: append(append([]fbverify.Field(nil), convFields...), fbverify.Sc("groups", 4))},
		{Name: "DepthwiseConv2DOptions", Fields: append(append([]fbverify.Field(nil), convFields...), fbverify.Sc("depth_multiplier", 4))},
		{Name: "FullyConnectedOptions", Fields: []fbverify.Field{fbverify.Sc("activation", 1)}},
		{Name: "BatchMatMulOptions", Fields: []fbverify.Field{fbverify.Sc("adj_x", 1), fbverify.Sc("adj_y", 1)}},
		{Name: "Pool2DOptions", Fields: []fbverify.Field{
			fbverify.Sc("filter_h", 4), fbverify.Sc("filter_w", 4), fbverify.Sc("stride_h", 4), fbverify.Sc("stride_w", 4),
			fbverify.Sc("pad_top", 4), fbverify.Sc("pad_bottom", 4), fbverify.Sc("pad_left", 4), fbverify.Sc("pad_right", 4),
			fbverify.Sc("activation", 1),
		}},
		{Name: "BinaryOptions", Fields: []fbverify.Field{fbverify.Sc("activation", 1)}},
		{Name: "LayerNormOptions", Fields: []fbverify.Field{fbverify.Sc("epsilon", 4)}},
		{Name: "SoftmaxOptions", Fields: []fbverify.Field{fbverify.Sc("beta", 4)}},
		{Name: "MeanOptions", Fields: []fbverify.Field{fbverify.Vec("axes", 4), fbverify.Sc("keep_dims", 1)}},
		{Name: "GELUOptions", Fields: []fbverify.Field{fbverify.Sc("approximate", 1)}},
		{Name: "TransposeOptions", Fields: []fbverify.Field{fbverify.Vec("perm", 4)}},
		{Name: "ConcatOptions", Fields: []fbverify.Field{fbverify.Sc("axis", 4)}},
		{Name: "GatherOptions", Fields: []fbverify.Field{fbverify.Sc("axis", 4)}},
		{Name: "SliceOptions", Fields: []fbverify.Field{fbverify.Vec("begin", 4), fbverify.Vec("size", 4)}},
		{Name: "AdaptiveTokenPool2DOptions", Fields: []fbverify.Field{fbverify.Sc("grid_h", 4), fbverify.Sc("grid_w", 4),
			fbverify.Sc("out_h", 4), fbverify.Sc("out_w", 4), fbverify.Sc("prefix", 4), fbverify.Sc("keep_prefix", 1), fbverify.Sc("masked", 1)}},
		{Name: "PoolMixerOptions", Fields: []fbverify.Field{fbverify.Sc("grid_h", 4), fbverify.Sc("grid_w", 4), fbverify.Sc("prefix", 4)}},
		{Name: "GGeMPoolOptions", Fields: []fbverify.Field{fbverify.Sc("groups", 4), fbverify.Sc("prefix", 4), fbverify.Sc("eps", 4), fbverify.Vec("p", 4)}},
		{Name: "EfficientProbeOptions", Fields: []fbverify.Field{fbverify.Sc("prefix", 4), fbverify.Sc("include_prefix", 1)}},
		{Name: "ZOSensitivityOptions", Fields: []fbverify.Field{fbverify.Sc("mode", 1), fbverify.Sc("step", 4), fbverify.Sc("relu", 1)}},
		{Name: "DiverseSelectOptions", Fields: []fbverify.Field{fbverify.Sc("keep", 4), fbverify.Sc("prefix", 4), fbverify.Sc("top_k", 1), fbverify.Sc("add_weight", 4)}},
		{Name: "TokenAwareAvgPoolOptions", Fields: []fbverify.Field{fbverify.Sc("grid_h", 4), fbverify.Sc("grid_w", 4), fbverify.Sc("prefix", 4), fbverify.Vec("dilations", 4)}},
		{Name: "AttentionSinkOptions", Fields: []fbverify.Field{fbverify.Vec("sink_dims", 4), fbverify.Sc("tau", 4), fbverify.Sc("rho", 4),
			fbverify.Sc("min_mass", 4), fbverify.Sc("p", 4), fbverify.Sc("prefix", 4)}},
		{Name: "HardSigmoidOptions", Fields: []fbverify.Field{fbverify.Sc("alpha", 4), fbverify.Sc("beta", 4)}},
		{Name: "ArgMaxOptions", Fields: []fbverify.Field{fbverify.Sc("axis", 4)}},
		{Name: "ResizeBilinearOptions", Fields: []fbverify.Field{fbverify.Sc("align_corners", 1), fbverify.Sc("half_pixel_centers", 1)}},
	}
	schemaOperator = &fbverify.TableSpec{Name: "Operator", Fields: []fbverify.Field{
		fbverify.Sc("opcode", 2), fbverify.Sc("version", 2), fbverify.Str("name"), fbverify.Vec("inputs", 4), fbverify.Vec("outputs", 4),
		fbverify.Sc("options_type", 1), fbverify.Un("options", append([]*fbverify.TableSpec{nil}, schemaOptions...)),
	}}
	schemaPreprocess = &fbverify.TableSpec{Name: "Preprocess", Fields: []fbverify.Field{
		fbverify.Sc("width", 4), fbverify.Sc("height", 4), fbverify.Sc("layout", 1), fbverify.Sc("color", 1), fbverify.Sc("scale", 4),
		fbverify.Vec("mean", 4), fbverify.Vec("std", 4),
	}}
	schemaMemoryPlan = &fbverify.TableSpec{Name: "MemoryPlan", Fields: []fbverify.Field{
		fbverify.Sc("arena_bytes", 8), fbverify.Vec("offsets", 8),
	}}
	schemaModel = &fbverify.TableSpec{Name: "Model", Fields: []fbverify.Field{
		fbverify.Sc("schema_version", 4), fbverify.Str("name"), fbverify.Str("description"),
		fbverify.TVec("tensors", schemaTensor), fbverify.TVec("operators", schemaOperator),
		fbverify.Vec("inputs", 4), fbverify.Vec("outputs", 4), fbverify.TVec("buffers", schemaBuffer),
		fbverify.SVec("labels"),
		fbverify.Tbl("preprocess", schemaPreprocess), fbverify.Sc("rounding", 1), fbverify.Tbl("memory_plan", schemaMemoryPlan),
		fbverify.Sc("task", 1),
	}}
)

// verifyStructure checks the whole file: size, identifier, root table,
// schema version (newer ones are ErrUnsupported, checked before anything
// else) and every object reachable from the root. It returns the root
// table's position.
func verifyStructure(data []byte) (uint64, error) {
	if len(data) < minFileSize {
		return 0, malformed("file of %d bytes is too short for a model (at least %d)", len(data), minFileSize)
	}
	if string(data[4:8]) != FileIdentifier {
		return 0, malformed("file identifier %q, want %q (not an edgeinfer model)", data[4:8], FileIdentifier)
	}
	buf := data // the FlatBuffer part; external data may follow
	if len(buf) > fbverify.MaxBuffer {
		buf = buf[:fbverify.MaxBuffer]
	}
	// The schema version first, so that a newer file is reported as such
	// rather than as malformed.
	version, present, err := fbverify.RootScalar(buf, 0, 4)
	if err != nil {
		return 0, malformed("%v", err)
	}
	if !present {
		version = 1 // the schema default
	}
	if version > SchemaVersion {
		return 0, unsupported("schema version %d is newer than this reader's %d", version, SchemaVersion)
	}
	if version == 0 {
		return 0, malformed("schema version 0")
	}
	if err := fbverify.Verify(buf, schemaModel, limits(buf)); err != nil {
		return 0, malformed("%v", err)
	}
	return uint64(buf[0]) | uint64(buf[1])<<8 | uint64(buf[2])<<16 | uint64(buf[3])<<24, nil
}
