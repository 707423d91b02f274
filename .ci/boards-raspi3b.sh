#!/usr/bin/env bash
# boards-raspi3b.sh: optional smoke test of board detection on a real kernel.
#
# Boots Debian's arm64 kernel on QEMU's Raspberry Pi 3 model
# (qemu-system-aarch64 -M raspi3b, mainline bcm2837-rpi-3-b.dtb), with an
# initramfs whose /init is a tiny static Go program that mounts proc, sys
# and devtmpfs and runs "edgeinfer boards detect --root / --cpu host". The
# live /proc/device-tree must identify an rpi-3b, trusted, on the emulated
# Cortex-A53. This exercises what the fixtures cannot: real procfs/sysfs
# files read through os.DirFS("/"), the /proc/device-tree link, and the
# host CPU source on a kernel with the board's device tree.
#
# What this machine lacks (see shared/research/camera-and-boards.md §5): no
# linux,revision, thermal zones, cpufreq or firmware throttling under QEMU,
# so only identity and CPU are checked. QEMU's raspi3b does not power off,
# so the run is bounded by a timeout and judged by the console output.
#
# Needs: go, qemu-system-aarch64 (qemu-system-arm), cpio, dpkg-deb, and apt
# with the arm64 architecture added (dpkg --add-architecture arm64; apt-get
# update) to fetch the kernel package once (about 60 MB) into $CACHE.
#
# Usage: .ci/boards-raspi3b.sh   (CACHE=/path keeps the kernel between runs;
# about 40 s with the kernel cached, on a 2-core machine without KVM)
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
cache=${CACHE:-/tmp/edgeinfer-raspi3b-cache}
work=$(mktemp -d /tmp/edgeinfer-raspi3b.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"

# 0. Tools, and the arm64 package lists for the kernel (a fresh machine has neither).
missing=""
command -v qemu-system-aarch64 >/dev/null || missing="$missing qemu-system-arm"
command -v cpio >/dev/null || missing="$missing cpio"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
	apt-get update -qq
fi
if [[ -n "$missing" ]]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 1. Kernel and device tree from Debian's arm64 kernel package.
if ! ls "$cache"/boot/vmlinuz-* >/dev/null 2>&1; then
	pkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-/ {print $2; exit}')
	[[ -n "$pkg" ]] || { echo "boards-raspi3b: cannot resolve the arm64 kernel package (dpkg --add-architecture arm64 && apt-get update)" >&2; exit 1; }
	(cd "$work" && apt-get download "$pkg")
	dpkg-deb -x "$work"/linux-image-*.deb "$cache"
fi
kernel=$(ls "$cache"/boot/vmlinuz-* | head -1)
dtb=$(ls "$cache"/usr/lib/linux-image-*/broadcom/bcm2837-rpi-3-b.dtb | head -1)

# 2. Static arm64 binaries: edgeinfer and the init that runs it.
mkdir -p "$work/root" "$work/init-src"
GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -o "$work/root/edgeinfer" ./cmd/edgeinfer
cat >"$work/init-src/main.go" <<'EOF'
// init for the raspi3b smoke test: mount the pseudo file systems, run
// edgeinfer, print a verdict line, power off.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	for _, m := range []struct{ src, dir, typ string }{{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"}} {
		os.MkdirAll(m.dir, 0o755)
		if err := syscall.Mount(m.src, m.dir, m.typ, 0, ""); err != nil {
			fmt.Println("SMOKE mount", m.dir, err)
		}
	}
	if c, err := os.OpenFile("/dev/console", os.O_WRONLY, 0); err == nil {
		syscall.Dup3(int(c.Fd()), 1, 0)
		syscall.Dup3(int(c.Fd()), 2, 0)
	}
	status := 0
	for _, args := range [][]string{{"boards", "detect", "--root", "/", "--cpu", "host"}, {"boards", "detect", "--root", "/", "--cpu", "host", "--json"}} {
		cmd := exec.Command("/edgeinfer", args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		if err := cmd.Run(); err != nil {
			fmt.Println("SMOKE edgeinfer", args, "failed:", err)
			status = 1
		}
	}
	fmt.Printf("SMOKE-DONE status=%d\n", status)
	syscall.Sync()
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}
EOF
(cd "$work/init-src" && cat >go.mod <<'EOF'
module smokeinit

go 1.22
EOF
GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -o "$work/root/init" .)
(cd "$work/root" && find . | cpio -o -H newc --quiet | gzip >"$work/initrd.gz")

# 3. Boot. raspi3b ignores poweroff, so stop QEMU once the verdict line
# is on the console, or after 180 s.
log="$work/console.log"
qemu-system-aarch64 -M raspi3b -m 1024 -kernel "$kernel" -dtb "$dtb" -initrd "$work/initrd.gz" \
	-append "console=ttyAMA0 rdinit=/init panic=-1" -nographic -no-reboot </dev/null >"$log" 2>&1 &
qemu=$!
for _ in $(seq 360); do
	grep -q "SMOKE-DONE" "$log" && break
	kill -0 "$qemu" 2>/dev/null || break
	sleep 0.5
done
kill "$qemu" 2>/dev/null || true
wait "$qemu" 2>/dev/null || true

fail() {
	echo "boards-raspi3b: FAIL: $1" >&2
	tail -60 "$log" >&2
	exit 1
}
grep -q "SMOKE-DONE status=0" "$log" || fail "init did not finish cleanly"
for want in "board     rpi-3b (Raspberry Pi 3 Model B), matched by compatible" "trusted   yes" \
	"proc/device-tree/compatible" "raspberrypi,3-model-b brcm,bcm2837" "arm64 asimd" '"board": "rpi-3b"'; do
	grep -qF -- "$want" "$log" || fail "console lacks '$want'"
done
sed -n '/^board /,/^budget:/p' "$log" | tr -d '\r'
echo "boards-raspi3b: ok (kernel $(basename "$kernel"), $(basename "$dtb"))"
