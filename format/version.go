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
	if !c.Known() {
		return 0
	}
	return 1
}
