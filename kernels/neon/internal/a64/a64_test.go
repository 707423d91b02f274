package a64

import "testing"

// known lists encodings printed by an independent assembler (LLVM's
// llvm-mc -triple=aarch64 -mattr=+dotprod,+i8mm -show-encoding), which
// follows the Arm Architecture Reference Manual's encoding tables. Each
// form Encode knows appears with low, high and mixed register numbers and,
// for the by-element dot product, every index.
var known = []struct {
	text string
	want uint32
}{
	{"sdot v16.4s, v24.16b, v0.4b[2]", 0x4f80eb10},
	{"smaxv b0, v1.16b", 0x4e30a820},
	{"cmhi v3.16b, v10.16b, v0.16b", 0x6e203543},
	{"uadalp v12.4s, v4.8h", 0x6e60688c},
	{"ucvtf v5.4s, v4.4s", 0x6e21d885},
	{"fmul v5.4s, v5.4s, v12.4s", 0x6e2cdca5},
	{"fcvtzu v5.4s, v5.4s", 0x6ea1b8a5},
	{"mls v4.4s, v5.4s, v13.4s", 0x6ead94a4},
	{"cmge v6.4s, v4.4s, v13.4s", 0x4ead3c86},
	{"cmgt v7.4s, v14.4s, v4.4s", 0x4ea435c7},
	{"uqxtn v6.8b, v4.8h", 0x2e214886},
	{"uqrshrn v0.8b, v8.8h, #1", 0x2f0f9d00},
	{"uqrshrn2 v0.16b, v9.8h, #1", 0x6f0f9d20},
	{"uqrshrn v31.8b, v3.8h, #8", 0x2f089c7f},
	{"uqrshrn2 v5.16b, v30.8h, #3", 0x6f0d9fc5},
	{"uqxtn2 v6.16b, v5.8h", 0x6e2148a6},
	{"uqxtn v4.4h, v0.4s", 0x2e614804},
	{"sqadd v5.8h, v5.8h, v12.8h", 0x4e6c0ca5},
	{"sqadd v30.8h, v17.8h, v3.8h", 0x4e630e3e},
	{"uqxtn2 v4.8h, v1.4s", 0x6e614824},
	{"uqxtn2 v29.8h, v17.4s", 0x6e614a3d},
	{"umull v4.2d, v0.2s, v12.2s", 0x2eacc004},
	{"umull2 v5.2d, v31.4s, v12.4s", 0x6eacc3e5},
	{"umull v17.2d, v3.2s, v9.2s", 0x2ea9c071},
	{"ushl v0.4s, v0.4s, v13.4s", 0x6ead4400},
	{"ushl v21.4s, v30.4s, v2.4s", 0x6ea247d5},
	{"urshl v4.8h, v4.8h, v13.8h", 0x6e6d5484}, // llvm-mc
	{"sshl v2.8h, v2.8h, v27.8h", 0x4e7b4442},
	{"uadalp v12.8h, v2.16b", 0x6e20684c},
	{"uadalp v14.8h, v4.16b", 0x6e20688e},
	{"urshl v5.8h, v5.8h, v13.8h", 0x6e6d54a5},
	{"urshl v0.4s, v0.4s, v13.4s", 0x6ead5400},
	{"urshl v3.4s, v3.4s, v13.4s", 0x6ead5463},
	{"scvtf v3.4s, v4.4s", 0x4e21d883},
	{"fsub v3.4s, v3.4s, v15.4s", 0x4eafd463},
	{"fadd v3.4s, v3.4s, v11.4s", 0x4e2bd463},
	{"fmaxnm v3.4s, v3.4s, v17.4s", 0x4e31c463},
	{"fminnm v3.4s, v3.4s, v18.4s", 0x4eb2c463},
	{"fcvtas v3.4s, v3.4s", 0x4e21c863},
	{"sdot v31.4s, v7.16b, v19.4b[3]", 0x4fb3e8ff},
	{"sdot v20.4s, v5.16b, v1.4b[1]", 0x4fa1e0b4},
	{"sdot v0.4s, v5.16b, v0.16b", 0x4e8094a0},
	{"sdot v29.4s, v3.16b, v30.16b", 0x4e9e947d},
	{"smull v0.8h, v1.8b, v2.8b", 0x0e22c020},
	{"smull v12.4s, v13.4h, v29.4h", 0x0e7dc1ac},
	{"smull v3.2d, v16.2s, v0.2s", 0x0ea0c203},
	{"smull2 v4.2d, v16.4s, v0.4s", 0x4ea0c204},
	{"smull2 v11.8h, v31.16b, v9.16b", 0x4e29c3eb},
	{"smull2 v1.4s, v2.8h, v3.8h", 0x4e63c041},
	{"smlal v10.8h, v0.8b, v2.8b", 0x0e22800a},
	{"smlal2 v10.8h, v0.16b, v2.16b", 0x4e22800a},
	{"smlal2 v27.8h, v14.16b, v8.16b", 0x4e2881db},
	{"sadalp v16.4s, v10.8h", 0x4e606950},
	{"sadalp v3.8h, v30.16b", 0x4e206bc3},
	{"saddlp v16.4s, v10.8h", 0x4e602950},
	{"saddlp v9.8h, v1.16b", 0x4e202829},
	{"sqrshl v3.2d, v3.2d, v1.2d", 0x4ee15c63},
	{"sqrshl v25.2d, v17.2d, v30.2d", 0x4efe5e39},
	{"sqxtn v6.4h, v16.4s", 0x0e614a06},
	{"sqxtn2 v6.8h, v17.4s", 0x4e614a26},
	{"sqxtn v6.8b, v6.8h", 0x0e2148c6},
	{"sqxtn2 v6.16b, v7.8h", 0x4e2148e6},
	{"sqxtun v6.8b, v4.8h", 0x2e212886},
	{"sqxtun2 v6.16b, v5.8h", 0x6e2128a6},
	{"sqxtun v26.8b, v14.8h", 0x2e2129da},
	{"sqxtun2 v6.16b, v25.8h", 0x6e212b26},
	{"sqxtn v16.2s, v3.2d", 0x0ea14870},
	{"sqxtn2 v16.4s, v4.2d", 0x4ea14890},
	{"smax v6.16b, v6.16b, v3.16b", 0x4e2364c6},
	{"smin v6.16b, v6.16b, v4.16b", 0x4e246cc6},
	{"smax v1.4s, v2.4s, v3.4s", 0x4ea36441},
	{"smin v21.4s, v22.4s, v23.4s", 0x4eb76ed5},
	{"smmla v0.4s, v1.16b, v2.16b", 0x4e82a420},
	{"smmla v28.4s, v19.16b, v7.16b", 0x4e87a67c},
	{"sdot v1.4s, v2.16b, v3.4b[0]", 0x4f83e041},
	{"saddw v21.4s, v21.4s, v27.4h", 0x0e7b12b5},
	{"sminv b0, v0.16b", 0x4e31a800},
	{"sqdmulh v16.4s, v16.4s, v0.4s", 0x4ea0b610},
	{"sqdmulh v29.4s, v17.4s, v4.4s", 0x4ea4b63d},
	{"srshl v16.4s, v16.4s, v3.4s", 0x4ea35610},
	{"srshl v25.4s, v30.4s, v6.4s", 0x4ea657d9},
	{"ssubl v2.8h, v0.8b, v20.8b", 0x0e342002},
	{"ssubl2 v3.8h, v0.16b, v20.16b", 0x4e342003},
	{"sxtl v4.4s, v2.4h", 0x0f10a444},  // llvm-mc prints sshll v4.4s, v2.4h, #0
	{"sxtl2 v5.4s, v2.8h", 0x4f10a445}, // sshll2 v5.4s, v2.8h, #0
	{"sqadd v4.4s, v4.4s, v25.4s", 0x4eb90c84},
	{"sminv b3, v17.16b", 0x4e31aa23},
	{"saddw2 v22.4s, v22.4s, v27.8h", 0x4e7b12d6},
	{"saddw v3.4s, v30.4s, v1.4h", 0x0e6113c3},
	{"mla v16.4s, v4.4s, v20.4s", 0x4eb49490},
	{"mla v31.4s, v7.4s, v29.4s", 0x4ebd94ff},
	{"mul v6.4s, v6.4s, v16.4s", 0x4eb09cc6},
	{"mul v31.4s, v1.4s, v29.4s", 0x4ebd9c3f},
	{"saddl v8.8h, v0.8b, v1.8b", 0x0e210008},
	{"saddl v30.8h, v17.8b, v3.8b", 0x0e23023e},
	{"saddl2 v9.8h, v0.16b, v1.16b", 0x4e210009},
	{"saddw v8.8h, v8.8h, v2.8b", 0x0e221108},
	{"saddw2 v9.8h, v9.8h, v2.16b", 0x4e221129},
	{"saddw2 v21.8h, v13.8h, v30.16b", 0x4e3e11b5},
	{"sxtl v1.8h, v0.8b", 0x0f08a401},    // sshll v1.8h, v0.8b, #0
	{"sxtl2 v2.8h, v0.16b", 0x4f08a402},  // sshll2 v2.8h, v0.16b, #0
	{"sxtl2 v29.8h, v3.16b", 0x4f08a47d}, // sshll2 v29.8h, v3.16b, #0
	{"saddw2 v31.4s, v0.4s, v17.8h", 0x4e71101f},
	{"smlal v18.4s, v30.4h, v0.4h", 0x0e6083d2},
	{"smlal v3.4s, v17.4h, v29.4h", 0x0e7d8223},
	{"smlal2 v19.4s, v30.8h, v0.8h", 0x4e6083d3},
	{"smlal2 v21.4s, v29.8h, v17.8h", 0x4e7183b5},
	{"fcvtns v18.4s, v18.4s", 0x4e21aa52},
	{"fcvtns v5.4s, v27.4s", 0x4e21ab65},
	{"fcvtns v31.4s, v0.4s", 0x4e21a81f},
	{"sxtl v30.8h, v29.8b", 0x0f08a7be},   // sshll v30.8h, v29.8b, #0
	{"sxtl2 v29.8h, v29.16b", 0x4f08a7bd}, // sshll2 v29.8h, v29.16b, #0
	{"sqxtn v29.4h, v18.4s", 0x0e614a5d},
}

func TestEncodeMatchesAssembler(t *testing.T) {
	for _, k := range known {
		got, err := Encode(k.text)
		if err != nil {
			t.Errorf("%s: %v", k.text, err)
			continue
		}
		if got != k.want {
			t.Errorf("%s: encoded %#08x, want %#08x", k.text, got, k.want)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, s := range []string{
		"sdot v1.4s, v2.16b, v3.4b[4]", // index out of range
		"sdot v1.4s, v2.16b, v3.4b",    // by-element form without an index
		"sdot v1.4s, v2.16b, v3.16b[1]",
		"smull v1.8h, v2.16b, v3.16b", // that is smull2
		"sadalp v1.2d, v2.4s",         // form not in the table
		"smull v32.8h, v2.8b, v3.8b",  // no such register
		"fmla v1.4s, v2.4s, v3.4s",    // unknown mnemonic
		"sqxtn x1, v2.8h",
		"smax",
		"sminv b32, v1.16b",
		"sminv h1, v1.16b",
		"uqrshrn v0.8b, v8.8h, #9", // shift beyond the narrow size
		"uqrshrn v0.8b, v8.8h, #0",
		"uqrshrn v0.8b, v8.8h",   // no shift
		"uqxtn v6.8b, v4.8h, #1", // a shift where none is taken
		"uqrshrn v0.8b, v8.8h, #x",
	} {
		if w, err := Encode(s); err == nil {
			t.Errorf("%s: encoded as %#08x, want an error", s, w)
		}
	}
}

func TestWord(t *testing.T) {
	if got, want := Word("sdot v0.4s, v5.16b, v0.16b"), "WORD $0x4e8094a0 // sdot v0.4s, v5.16b, v0.16b"; got != want {
		t.Errorf("Word = %q, want %q", got, want)
	}
}
