#!/usr/bin/env bash
# boards-qemu.sh: cross-compile edgeinfer for arm64 and armv7, run
# "edgeinfer boards detect" on every fixture tree under qemu-user, and check
# what it prints; then run the boards package tests under the same emulated
# cores. Exits non-zero on the first mismatch, printing the output that
# failed.
#
# Needs: go, qemu-aarch64-static, qemu-arm-static (Debian: qemu-user-static).
# Run from anywhere; it works from the repository root. Set
# BOARDS_QEMU_SKIP_TESTS=1 to run only the binary checks.
set -euo pipefail

cd "$(dirname "$0")/.."
fixtures=boards/testdata
out=$(mktemp -d /tmp/edgeinfer-boards-qemu.XXXXXX)
trap 'rm -rf "$out"' EXIT

for tool in qemu-aarch64-static qemu-arm-static; do
	command -v "$tool" >/dev/null || { echo "boards-qemu: $tool not found" >&2; exit 1; }
done

echo "boards-qemu: fixture trees match boards/gen_fixtures.go"
(cd boards && go run gen_fixtures.go -check)

echo "boards-qemu: building linux/arm64 and linux/arm (GOARM=7)"
GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -o "$out/edgeinfer-arm64" ./cmd/edgeinfer
GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 go build -o "$out/edgeinfer-armv7" ./cmd/edgeinfer

fail() {
	echo "boards-qemu: FAIL: $1" >&2
	if [[ -n "${2:-}" ]]; then printf '%s\n' "--- output ---" "$2" "--------------" >&2; fi
	exit 1
}

# expect QEMU_CMD BIN "ARGS" WANT_STATUS PATTERN...: runs the binary and
# checks its exit status and that stdout+stderr contain every pattern
# (fixed strings).
checks=0
expect() {
	local qemu=$1 bin=$2 args=$3 want=$4
	shift 4
	local got=0 text
	# shellcheck disable=SC2086 # args is a word list on purpose
	text=$($qemu "$out/$bin" $args 2>&1) || got=$?
	[[ $got == "$want" ]] || fail "$bin $args under '$qemu': exit status $got, want $want" "$text"
	local p
	for p in "$@"; do
		grep -qF -- "$p" <<<"$text" || fail "$bin $args under '$qemu': output lacks '$p'" "$text"
	done
	checks=$((checks + 1))
}

a72="qemu-aarch64-static -cpu cortex-a72"
a76="qemu-aarch64-static -cpu cortex-a76"
a53="qemu-aarch64-static -cpu cortex-a53"
a7="qemu-arm-static -cpu cortex-a7"

# Every fixture is identified as itself by both binaries, trusted, using the
# fixture's own cpuinfo (the default for --root other than /).
for dir in "$fixtures"/*/; do
	board=$(basename "$dir")
	for run in "$a72 edgeinfer-arm64" "$a7 edgeinfer-armv7"; do
		read -r q1 q2 q3 bin <<<"$run"
		expect "$q1 $q2 $q3" "$bin" "boards detect --root $dir" 0 \
			"board     $board (" "trusted   yes" "from proc/cpuinfo" "telemetry:" "budget: "
	done
done

# Telemetry values read through the emulated binaries.
expect "$a72" edgeinfer-arm64 "boards detect --root $fixtures/rpi-4b" 0 \
	"cpu-thermal" "52.1°C" "1800 of 1800 MHz, ondemand" "get_throttled" "0x0: ok" "budget: 15 fps × 4 threads × 1 tokens (nominal)"
expect "$a7" edgeinfer-armv7 "boards detect --root $fixtures/rpi-3b-plus" 0 \
	"arm neon+vfpv4+idiva" "0x50005: under-voltage, throttled" "budget: paused (critical)"
expect "$a72" edgeinfer-arm64 "boards detect --root $fixtures/jetson-orin-nano" 0 \
	"VDD_IN" "5056 mV, 1240 mA, 6269 mW" "R36.4.3 board generic"
expect "$a7" edgeinfer-armv7 "boards detect --root $fixtures/jetson-nano --json" 0 \
	'"board": "jetson-nano"' '"trusted": true' '"name": "POM_5V_IN"' '"mw": 3962'

# The host CPU checked against a profile: a Pi 5 tree on an emulated
# Cortex-A72 lacks SDOT and must not be trusted; on a Cortex-A76 it is.
expect "$a72" edgeinfer-arm64 "boards detect --root $fixtures/rpi-5 --cpu host" 0 \
	"trusted   NO" "MISSING dotprod" "problem: CPU lacks dotprod"
expect "$a76" edgeinfer-arm64 "boards detect --root $fixtures/rpi-5 --cpu host" 0 \
	"trusted   yes" "arm64 asimd+dotprod+fp16 from host"
expect "$a53" edgeinfer-arm64 "boards detect --root $fixtures/rpi-zero-2-w --cpu host" 0 \
	"trusted   yes" "arm64 asimd from host" "part 0xd03"
expect "$a7" edgeinfer-armv7 "boards detect --root $fixtures/rpi-4b --cpu host" 0 \
	"trusted   yes" "arm neon+vfpv4+idiva from host"
expect "$a7" edgeinfer-armv7 "boards detect --root $fixtures/jetson-nano --cpu host" 0 \
	"trusted   NO" "CPU architecture arm is not one jetson-nano runs"

# list, and the exit statuses of bad invocations.
expect "$a72" edgeinfer-arm64 "boards list" 0 "rpi-5 " "jetson-orin-nx " "asimd+dotprod / neon+vfpv4"
expect "$a7" edgeinfer-armv7 "boards detect --frobnicate" 2 "frobnicate"
expect "$a7" edgeinfer-armv7 "boards detect --root /no/such/board" 1 "--root: stat /no/such/board"
expect "$a72" edgeinfer-arm64 "boards detect --root $fixtures --cpu cpuinfo" 1 "proc/cpuinfo"

echo "boards-qemu: $checks binary checks passed"

if [[ "${BOARDS_QEMU_SKIP_TESTS:-}" != 1 ]]; then
	# The package tests on the cores the boards have. The HostCPU test
	# fails if the emulated core's features are not what the lane says.
	echo "boards-qemu: go test ./boards/... on cortex-a72, cortex-a76, cortex-a7"
	GOARCH=arm64 EDGEINFER_EXPECT_FEATURES=asimd EDGEINFER_EXPECT_ABSENT=dotprod,i8mm \
		go test -count=1 -exec "qemu-aarch64-static -cpu cortex-a72" ./boards/...
	GOARCH=arm64 EDGEINFER_EXPECT_FEATURES=asimd,dotprod EDGEINFER_EXPECT_ABSENT=i8mm \
		go test -count=1 -exec "qemu-aarch64-static -cpu cortex-a76" ./boards/...
	GOARCH=arm GOARM=7 EDGEINFER_EXPECT_FEATURES=neon,vfpv4,idiva \
		go test -count=1 -exec "qemu-arm-static -cpu cortex-a7" ./boards/...
fi
echo "boards-qemu: ok"
