package a64

import "testing"

// knownFloat lists the float forms' encodings as llvm-mc -triple=aarch64
// -show-encoding prints them.
var knownFloat = []struct {
	text string
	want uint32
}{
	{"fmla v8.4s, v4.4s, v0.s[0]", 0x4f801088},
	{"fmla v31.4s, v6.4s, v3.s[3]", 0x4fa318df},
	{"fmla v17.4s, v5.4s, v2.s[1]", 0x4fa210b1},
	{"fmla v9.4s, v20.4s, v29.s[2]", 0x4f9d1a89},
	{"fmul v1.4s, v2.4s, v3.s[1]", 0x4fa39041},
	{"fmax v1.4s, v2.4s, v3.4s", 0x4e23f441},
	{"fmin v29.4s, v30.4s, v31.4s", 0x4ebff7dd},
	{"fdiv v1.4s, v2.4s, v3.4s", 0x6e23fc41},
	{"faddp v1.4s, v2.4s, v3.4s", 0x6e23d441},
	{"faddp s1, v2.2s", 0x7e30d841},
	{"fmaxp v1.4s, v2.4s, v3.4s", 0x6e23f441},
	{"fmaxv s1, v2.4s", 0x6e30f841},
	{"fabs v1.4s, v2.4s", 0x4ea0f841},
	{"fneg v1.4s, v2.4s", 0x6ea0f841},
	{"frintn v1.4s, v2.4s", 0x4e218841},
	{"fcvtns v1.4s, v2.4s", 0x4e21a841},
	{"fcmgt v1.4s, v2.4s, v3.4s", 0x6ea3e441},
	{"frecpe v1.4s, v2.4s", 0x4ea1d841},
	{"frecps v1.4s, v2.4s, v3.4s", 0x4e23fc41},
	{"fcvtl v4.2d, v0.2s", 0x0e617804},
	{"fcvtl2 v5.2d, v0.4s", 0x4e617805},
	{"fcvtl v10.2d, v3.2s", 0x0e61786a},
	{"fcvtl2 v11.2d, v3.4s", 0x4e61786b},
	{"fadd v16.2d, v16.2d, v4.2d", 0x4e64d610},
	{"fsub v4.2d, v4.2d, v20.2d", 0x4ef4d484},
	{"faddp d0, v16.2d", 0x7e70da00},
	{"fdiv v4.2d, v4.2d, v16.2d", 0x6e70fc84},
	{"fdiv v11.2d, v29.2d, v16.2d", 0x6e70ffab},
	{"fcvtas v4.2d, v4.2d", 0x4e61c884},
	{"fcvtas v11.2d, v7.2d", 0x4e61c8eb},
}

func TestEncodeFloatMatchesAssembler(t *testing.T) {
	for _, k := range knownFloat {
		got, err := Encode(k.text)
		if err != nil {
			t.Errorf("%s: %v", k.text, err)
			continue
		}
		if got != k.want {
			t.Errorf("%s: encoded %#08x, want %#08x", k.text, got, k.want)
		}
	}
	for _, s := range []string{
		"fmla v1.4s, v2.4s, v3.s[4]", // index out of range
		"fmla v1.4s, v2.4s, v3.s",    // by element without an index
	} {
		if w, err := Encode(s); err == nil {
			t.Errorf("%s: encoded as %#08x, want an error", s, w)
		}
	}
}
