//go:build !amd64

package runtime

import "time"

// spinFor is 0 off x86: workers park as soon as their task is done, so a
// battery-powered board burns nothing between ops and extra threads add no
// instructions (see pool).
const spinFor time.Duration = 0
