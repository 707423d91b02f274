package boards_test

import (
	"fmt"
	"os"
	"time"

	"github.com/edgeinfer/edgeinfer/boards"
)

// Detect a board from a recorded tree. On a device, pass os.DirFS("/") and
// boards.HostCPU().
func ExampleDetect() {
	root := os.DirFS("testdata/rpi-5")
	d, err := boards.Detect(root, boards.CPUInfoCPU(root))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Profile.ID, "by", d.MatchedBy, "trusted:", d.Trusted())
	fmt.Println("kernels may use:", d.Expected)
	fmt.Println("camera:", d.Profile.Camera.Sources[0])
	// Output:
	// rpi-5 by compatible trusted: true
	// kernels may use: asimd+dotprod
	// camera: pipe:rpicam
}

// Read telemetry into a Snapshot reused on every tick and let the governor
// choose the budget. Here the second reading is made hot by hand.
func ExampleGovernor() {
	p, _ := boards.Lookup("rpi-4b")
	r, err := boards.NewReader(os.DirFS("testdata/rpi-4b"), p)
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := boards.NewGovernor(boards.ConfigFor(p, 4))
	if err != nil {
		fmt.Println(err)
		return
	}
	r.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	var snap boards.Snapshot
	if err := r.Read(&snap); err != nil {
		fmt.Println(err)
		return
	}
	d := g.Step(&snap)
	fmt.Printf("%.1f°C: %s, %s\n", snap.Temps[0].C, d.Budget, d.Level)

	snap.Time = snap.Time.Add(time.Second)
	snap.Temps[0].C = 77
	d = g.Step(&snap)
	fmt.Printf("%.1f°C: %s, %s (step %d)\n", snap.Temps[0].C, d.Budget, d.Level, d.Step)
	// Output:
	// 52.1°C: 15 fps × 4 threads × 1 tokens, nominal
	// 77.0°C: 9.6 fps × 4 threads × 1 tokens, warm (step 2)
}
