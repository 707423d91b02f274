package tflite

import (
	"fmt"
	"sort"
	"strings"
)

// BuiltinOperator codes (schema values) of the operators the importer
// translates, and a few it names in errors.
const (
	opAdd               = 0
	opAveragePool2D     = 1
	opConcatenation     = 2
	opConv2D            = 3
	opDepthwiseConv2D   = 4
	opDequantize        = 6
	opFullyConnected    = 9
	opLogistic          = 14
	opMaxPool2D         = 17
	opMul               = 18
	opReLU              = 19
	opReLU6             = 21
	opReshape           = 22
	opResizeBilinear    = 23
	opSoftmax           = 25
	opTanh              = 28
	opCustom            = 32
	opPad               = 34
	opTranspose         = 39
	opMean              = 40
	opSub               = 41
	opDiv               = 42
	opSqueeze           = 43
	opCast              = 53
	opArgMax            = 56
	opSqrt              = 75
	opRsqrt             = 76
	opPack              = 83
	opUnpack            = 88
	opFloorDiv          = 90
	opSquaredDifference = 99
	opGatherND          = 107
	opQuantize          = 114
	opHardSwish         = 117
	opBatchMatMul       = 126
	opGelu              = 150
)

// builtinNames names every operator of the schema up to GELU, for errors.
var builtinNames = [...]string{
	"ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
	"DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
	"L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC",
	"LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE",
	"RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS",
	"SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN",
	"GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV",
	"SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
	"EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST",
	"PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL",
	"LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE",
	"EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN",
	"FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND",
	"LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE",
	"FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
	"MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS",
	"WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG",
	"ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
	"SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
	"PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
	"IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
	"HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
	"ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM",
	"MULTINOMIAL", "GELU",
}

// BuiltinName returns the schema name of a builtin operator code.
func BuiltinName(code int32) string {
	if code >= 0 && int(code) < len(builtinNames) {
		return builtinNames[code]
	}
	return fmt.Sprintf("BUILTIN_%d", code)
}

// SupportedOps returns the names of the TFLite operators Import translates.
func SupportedOps() []string {
	var names []string
	for code := range translators {
		names = append(names, BuiltinName(code))
	}
	sort.Strings(names)
	return names
}

func supportedList() string { return strings.Join(SupportedOps(), ", ") }
