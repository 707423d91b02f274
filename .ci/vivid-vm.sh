#!/bin/sh
# vivid-vm.sh: run the camera package's V4L2 tests against a real kernel
# driver. Boots Debian's arm64 kernel in qemu-system-aarch64 (-M virt, no
# KVM needed) with a busybox initramfs holding arm64 and 32-bit arm
# "go test -c" binaries, loads the vivid virtual camera (one single-plane
# and one multi-planar capture device) and runs TestVivid (YUYV, NV12 and
# RG10 capture) plus the fake-kernel V4L2 tests in both binaries.
#
# Installs what it needs with apt-get when missing (Debian, as root).
# Exits non-zero when a tool is missing, the VM does not finish, or a test
# fails. Work files go to $VIVID_WORK (default /tmp/edgeinfer-vivid);
# downloaded packages are kept there between runs.
#
# Usage: .ci/vivid-vm.sh            (from anywhere in the repository)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${VIVID_WORK:-/tmp/edgeinfer-vivid}
KPKG=${VIVID_KERNEL_PKG:-linux-image-6.1.0-56-arm64}
TIMEOUT=${VIVID_TIMEOUT:-300}
start=$(date +%s)

log() { echo "vivid-vm: $*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# --- tools -----------------------------------------------------------------
missing=""
command -v qemu-system-aarch64 >/dev/null || missing="$missing qemu-system-arm"
command -v cpio >/dev/null || missing="$missing cpio"
command -v depmod >/dev/null || [ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || missing="$missing kmod"
command -v go >/dev/null || die "go is not on PATH"
updated=""
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	log "adding the arm64 architecture to dpkg"
	dpkg --add-architecture arm64
	apt-get update -q >&2
	updated=1
fi
if [ -n "$missing" ]; then
	log "installing$missing"
	[ -n "$updated" ] || { apt-get update -q >&2; updated=1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
fi
DEPMOD=$(command -v depmod || echo /usr/sbin/depmod)

# --- kernel and busybox packages ---------------------------------------------
mkdir -p "$WORK/debs"
cd "$WORK/debs"
if ! ls ${KPKG}_*_arm64.deb >/dev/null 2>&1; then
	log "downloading $KPKG:arm64"
	apt-get download "$KPKG:arm64" >&2 || {
		[ -n "$updated" ] || { apt-get update -q >&2; updated=1; }
		apt-get download "$KPKG:arm64" >&2
	} || die "cannot download $KPKG:arm64 (set VIVID_KERNEL_PKG to an available linux-image-*-arm64)"
fi
if ! ls busybox-static_*_arm64.deb >/dev/null 2>&1; then
	log "downloading busybox-static:arm64"
	apt-get download busybox-static:arm64 >&2 || die "cannot download busybox-static:arm64"
fi

rm -rf "$WORK/kernel" "$WORK/bb" "$WORK/root"
mkdir -p "$WORK/kernel" "$WORK/bb" "$WORK/root"
dpkg-deb -x ${KPKG}_*_arm64.deb "$WORK/kernel"
dpkg-deb -x busybox-static_*_arm64.deb "$WORK/bb"
KVER=$(ls "$WORK/kernel/lib/modules" | head -n1)
VMLINUZ="$WORK/kernel/boot/vmlinuz-$KVER"
[ -f "$VMLINUZ" ] || die "no kernel image in $KPKG"
"$DEPMOD" -b "$WORK/kernel" "$KVER"

# Load order for vivid: its dependencies from modules.dep, last first
# (the order modprobe uses), then vivid itself.
MODDIR="$WORK/kernel/lib/modules/$KVER"
depline=$(grep -E '^kernel/drivers/media/test-drivers/vivid/vivid\.ko(\.[a-z]+)?:' "$MODDIR/modules.dep") ||
	die "vivid is not built as a module in $KVER"
vivid=${depline%%:*}
deps=${depline#*:}
order=""
for d in $deps; do order="$d $order"; done
order="$order $vivid"

# --- initramfs ---------------------------------------------------------------
R="$WORK/root"
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/modules"
cp "$WORK/bb/bin/busybox" "$R/bin/busybox"
n=0
insmods=""
for m in $order; do
	n=$((n + 1))
	f=$(printf '%02d-%s' "$n" "$(basename "$m")")
	cp "$MODDIR/$m" "$R/modules/$f"
	case "$m" in
	*/vivid.ko*) insmods="$insmods
insmod /modules/$f n_devs=2 multiplanar=1,2 node_types=0x1,0x1 || echo 'VIVID-INIT-FAILED'" ;;
	*) insmods="$insmods
insmod /modules/$f || echo 'VIVID-INIT-FAILED $f'" ;;
	esac
done

log "building test binaries"
cd "$ROOT"
CGO_ENABLED=0 GOARCH=arm64 go test -c -o "$R/camera.test.arm64" ./camera
CGO_ENABLED=0 GOARCH=arm GOARM=7 go test -c -o "$R/camera.test.arm" ./camera

cat >"$R/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
$insmods
ls /dev/video* || echo 'VIVID-INIT-FAILED no /dev/video*'
cd /tmp
for arch in arm64 arm; do
	EDGEINFER_VIVID=1 /camera.test.\$arch -test.run 'Vivid|V4L2' -test.v -test.timeout 120s
	echo "VIVID-RESULT \$arch rc=\$?"
done
poweroff -f
EOF
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.gz"

# --- boot ----------------------------------------------------------------------
log "booting $KVER in qemu-system-aarch64"
boot=$(date +%s)
set +e
timeout "$TIMEOUT" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
	-kernel "$VMLINUZ" -initrd "$WORK/initrd.gz" \
	-append "console=ttyAMA0 rdinit=/init quiet panic=-1" \
	-nographic -no-reboot -nic none -monitor none -serial stdio </dev/null >"$WORK/console.log" 2>&1
qrc=$?
set -e
end=$(date +%s)
sed -n '/=== RUN\|--- \|vivid_test.go\|VIVID-\|^ok\|^FAIL\|^PASS\|panic/p' "$WORK/console.log"
log "VM ran $((end - boot)) s (exit $qrc), whole script $((end - start)) s; console log: $WORK/console.log"

[ "$qrc" -eq 124 ] && die "VM did not finish within $TIMEOUT s"
grep -q 'VIVID-INIT-FAILED' "$WORK/console.log" && die "loading vivid failed"
for arch in arm64 arm; do
	grep -q "VIVID-RESULT $arch rc=0" "$WORK/console.log" || die "$arch tests failed"
	grep -q -- '--- PASS: TestVivid ' "$WORK/console.log" || die "TestVivid did not pass"
done
[ "$(grep -c -- '--- PASS: TestVivid ' "$WORK/console.log")" -eq 2 ] || die "TestVivid did not pass in both binaries"
grep -q -- '--- SKIP: TestVivid' "$WORK/console.log" && die "TestVivid skipped"
log "PASS"
