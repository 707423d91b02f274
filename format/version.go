package format

// SchemaVersion is the schema_version this build writes and the newest it
// reads (see schema/EVOLUTION.md).
const SchemaVersion = 1

// FileIdentifier is the FlatBuffers file identifier of .eim files, bytes
// 4 to 8 of every file.
const FileIdentifier = "EIM1"

// MaxVersion returns the newest version of op c this build implements, or
// 0 for an op it does not know. Op versions start at 1 and grow when an
// op's semantics grow; Validate rejects versions above MaxVersion.
func (c OpCode) MaxVersion() uint16 {
	switch {
	case !c.Known():
		return 0
	case c == OpDiverseSelect:
		return 3 // 2: TopK; 3: AddWeight
	case c == OpConv2D:
		return 2 // 2: Groups
	}
	return 1
}

// MinVersion returns the oldest version of op c that can carry options o:
// 1; for a DiverseSelect 2 in top-k mode and 3 with an additive weight;
// 2 for a Conv2D with more than one group. Writers use it so that files
// without the newer semantics stay readable by older builds.
func MinVersion(c OpCode, o Options) uint16 {
	if d, ok := o.(*DiverseSelectOptions); ok && c == OpDiverseSelect {
		switch {
		case d.AddWeight != 0:
			return 3
		case d.TopK:
			return 2
		}
	}
	if v, ok := o.(*Conv2DOptions); ok && c == OpConv2D && v.Groups > 1 {
		return 2
	}
	return 1
}
