// Package boards knows the boards edgeinfer runs on: their profiles
// (embedded data files), how to recognise them from the files Linux exposes,
// how to read their live telemetry (temperatures, CPU frequency, Raspberry Pi
// throttling flags, Jetson INA3221 rails), and a Governor that turns
// telemetry snapshots into a work Budget.
//
// Every hardware read goes through an fs.FS rooted at "/" (os.DirFS("/") in
// production), so tests and the CLI's --root flag can point the same code at
// a fixture tree such as testdata/rpi-4b. The CPU-feature source is an
// interface for the same reason: the host CPU is rarely the board under test.
//
// The package knows nothing of cameras or models; the runtime and the camera
// layer read a Profile's hints and obey a Budget.
package boards

//go:generate go run gen_fixtures.go
