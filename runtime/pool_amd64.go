package runtime

import "time"

// spinFor is how long a worker polls for its next task before it parks.
// On x86 (mains-powered boxes, and the machines that convert and
// evaluate) waking a parked worker costs more than most ops of a small
// ViT, so workers stay awake between the ops of one Invoke and park
// 100 µs after the last.
const spinFor = 100 * time.Microsecond
