package a64

// The float32 kernels' forms (Arm ARM C7.2), kept apart from the integer
// ones above: the multiply-add by element of the GEMM micro-kernel, and
// the vector arithmetic, compares and conversions of the elementwise float
// kernels. The vector FMLA/FMLS the Go assembler has (VFMLA, VFMLS).
func init() {
	for mn, fs := range map[string][]form{
		// FMLA / FMUL (by element), single precision: 0 Q 0 01111 1 0 L M Rm o 0 0 1 H 0 Rn Rd
		// (o = 0: FMLA, 1001: FMUL); the index is H:L, the register M:Rm.
		"fmla": {{arrs: []string{"4s", "4s", "s"}, base: 0x4f801000, elem: true}},
		"fmul": {{arrs: []string{"4s", "4s", "s"}, base: 0x4f809000, elem: true}},
		// FMAX / FMIN (vector), NaN-propagating: 0 Q 0 01110 o 0 1 Rm 1111 01 Rn Rd.
		"fmax": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4e20f400}},
		"fmin": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4ea0f400}},
		// FDIV (vector): 0 Q 1 01110 0 0 1 Rm 1111 11 Rn Rd.
		"fdiv": {{arrs: []string{"4s", "4s", "4s"}, base: 0x6e20fc00}, {arrs: []string{"2d", "2d", "2d"}, base: 0x6e60fc00}},
		// FCVTAS (vector, double precision): 0 Q 0 01110 0 1 10000 11100 10 Rn Rd.
		"fcvtas": {{arrs: []string{"2d", "2d"}, base: 0x4e61c800}},
		// FADDP / FMAXP (vector): 0 Q 1 01110 0 0 1 Rm 11x1 01 Rn Rd; FADDP
		// (scalar, pair of singles): 0111 1110 0 0 11000 01101 10 Rn Rd.
		"faddp": {{arrs: []string{"4s", "4s", "4s"}, base: 0x6e20d400}, {arrs: []string{"s", "2s"}, base: 0x7e30d800}, {arrs: []string{"d", "2d"}, base: 0x7e70d800}},
		"fmaxp": {{arrs: []string{"4s", "4s", "4s"}, base: 0x6e20f400}},
		// FMAXV: 0 1 1 01110 0 0 11000 01111 10 Rn Rd.
		"fmaxv": {{arrs: []string{"s", "4s"}, base: 0x6e30f800}},
		// FABS / FNEG (vector): 0 Q U 01110 1 0 10000 01111 10 Rn Rd.
		"fabs": {{arrs: []string{"4s", "4s"}, base: 0x4ea0f800}},
		"fneg": {{arrs: []string{"4s", "4s"}, base: 0x6ea0f800}},
		// FRINTN / FCVTNS (vector): 0 Q 0 01110 0 0 10000 11x00 10 Rn Rd.
		"frintn": {{arrs: []string{"4s", "4s"}, base: 0x4e218800}},
		"fcvtns": {{arrs: []string{"4s", "4s"}, base: 0x4e21a800}},
		// FCMGT (vector): 0 Q 1 01110 1 0 1 Rm 1110 01 Rn Rd.
		"fcmgt": {{arrs: []string{"4s", "4s", "4s"}, base: 0x6ea0e400}},
		// FRECPE: 0 Q 0 01110 1 0 10000 11101 10 Rn Rd; FRECPS: 0 Q 0 01110 0 0 1 Rm 1111 11 Rn Rd.
		"frecpe": {{arrs: []string{"4s", "4s"}, base: 0x4ea1d800}},
		"frecps": {{arrs: []string{"4s", "4s", "4s"}, base: 0x4e20fc00}},
		// The double-precision row statistics of LayerNorm: FCVTL/FCVTL2
		// (0 Q 0 01110 0 1 10000 10111 10 Rn Rd), FADD/FSUB (vector, 2d:
		// 0 1 0 01110 o 1 1 Rm 11010 1 Rn Rd), FADDP (scalar, pair of
		// doubles: 0111 1110 0 1 11000 01101 10 Rn Rd).
		"fcvtl":  {{arrs: []string{"2d", "2s"}, base: 0x0e617800}},
		"fcvtl2": {{arrs: []string{"2d", "4s"}, base: 0x4e617800}},
		"fadd":   {{arrs: []string{"2d", "2d", "2d"}, base: 0x4e60d400}},
		"fsub":   {{arrs: []string{"2d", "2d", "2d"}, base: 0x4ee0d400}},
	} {
		forms[mn] = append(forms[mn], fs...)
	}
}
