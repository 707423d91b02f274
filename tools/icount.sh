#!/usr/bin/env bash
# Instruction counts of edgeinfer's arm64 int8 kernels under qemu-aarch64
# with the qemu-icount plugin (../shared/tools/qemu-icount beside the repo): the
# M=197 K=192 N=768 GEMM (one DeiT-tiny MLP layer) with int32 and int8
# output, and one whole DeiT-tiny Invoke with a per-op-type breakdown,
# single-threaded, on cortex-a72 (v80 path) and cortex-a76 (dotprod path).
# The DeiT outputs of every path are checked to be identical.
#
#   bash tools/icount.sh            # everything (DeiT needs a few minutes)
#   bash tools/icount.sh gemm       # the GEMM rows only
#   bash tools/icount.sh seed       # the zoo's seed variants, per op type
#   bash tools/icount.sh float      # float32 DeiT-tiny, per op type
#   bash tools/icount.sh threads    # DeiT-tiny int8 work at 1 and 4 worker threads
#   bash tools/icount.sh tflite     # the shared TFLite MobileNets, person_detect, MoveNet, DeepLab v3, per op type
#                                   # (ICOUNT_TFLITE="NAME …" picks models under ../shared/models)
#
# Needs root once for the plugin build (apt); caches in $ICOUNT_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
cache=${ICOUNT_CACHE:-$HOME/.cache/qemu-icount}
mkdir -p "$cache"
plugin=${ICOUNT_PLUGIN:-$(bash "${ICOUNT_BUILD:-../shared/tools/qemu-icount/build.sh}" | tail -1)}
bin="$cache/icount-arm64"
GOARCH=arm64 go build -o "$bin" ./tools/icount

# count CPU ARGS...: runs the tool under the plugin, prints the plugin's lines and the tool's.
count() {
  local cpu=$1; shift
  GOGC=off GODEBUG=asyncpreemptoff=1 qemu-aarch64 -cpu "$cpu" -plugin "$plugin" -d plugin "$bin" "$@" 2>&1
}
insns() { awk '/^region 1:/ {print $3}'; }
macs() { awk '/^macs/ {print $2}'; }

# perop FILE: instructions per op type (millions, share of the Invoke).
perop() {
  awk '/^region [0-9]+:/ { id = $2; sub(":", "", id); n[id] = $3 }
       /^op / { code[$5] = $3; mac[$5] = $4 }
       END {
         for (id in code) { t[code[id]] += n[id]; mm[code[id]] += mac[id]; all += n[id] }
         for (c in t) printf "  %-20s %9.2f M  %5.1f%%  %s\n", c, t[c]/1e6, 100*t[c]/all, (mm[c] ? sprintf("%.2f", mm[c]/t[c]) : "")
       }' "$1" | sort -k2 -nr
}

if [ "$what" = float ]; then
  # One float32 DeiT-tiny Invoke (the zoo's float graph, seed 7) with the
  # arm64 sets' float kernels (FMLA; the same in v80 and dotprod) and with
  # kernels/ref. The two CPUs' outputs must be identical; ref's differ
  # within the float tolerance (runtime's TestFloatKernelSetsAgree).
  eim="$cache/deit-tiny-float.eim"
  [ -s "$eim" ] || go run ./tools/icount -write "$eim" -float
  echo "| DeiT-tiny float32 Invoke (1 thread) | CPU | path | instructions | MACs/instruction | output |"
  echo "|---|---|---|---|---|---|"
  hashes=()
  for row in "cortex-a72 v80" "cortex-a76 dotprod" "cortex-a76 ref"; do
    set -- $row
    r=$(count "$1" -model "$eim" -kernels "$2" -ops)
    n=$(insns <<<"$r"); m=$(macs <<<"$r"); h=$(awk '/^output/ {print $2}' <<<"$r")
    [ "$2" = ref ] || hashes+=("$h")
    awk -v c="$1" -v p="$2" -v n="$n" -v m="$m" -v h="$h" \
      'BEGIN { printf "| %s | %s | %.1f M | %.2f | %s |\n", c, p, n/1e6, m/n, h }'
    echo "$r" > "$cache/float-$1-$2.txt"
  done
  [ "${hashes[0]}" = "${hashes[1]}" ] || { echo "float DeiT-tiny outputs differ between a72 and a76: ${hashes[*]}" >&2; exit 1; }
  for row in "cortex-a72 v80" "cortex-a76 dotprod" "cortex-a76 ref"; do
    set -- $row
    echo; echo "$1 $2:"; perop "$cache/float-$1-$2.txt"
  done
  exit 0
fi

if [ "$what" = threads ]; then
  # The work of one DeiT-tiny int8 Invoke at 1 and at 4 worker threads,
  # as `edgeinfer bench` runs it: every thread's instructions (the
  # plugin's all=on), the difference between 2 and 6 timed runs cancelling
  # start-up, after 6 warm-up Invokes (the runtime times its steps in the
  # first 4 to choose which to split). Workers block, they never spin, so
  # 4 threads should cost at most a few percent more.
  eim="$cache/deit-tiny.eim"
  [ -s "$eim" ] || go run ./tools/icount -write "$eim"
  ei="$cache/edgeinfer-arm64"
  GOARCH=arm64 go build -o "$ei" ./cmd/edgeinfer
  total() {
    GOGC=off GODEBUG=asyncpreemptoff=1 qemu-aarch64 -cpu "$1" -plugin "$plugin",all=on -d plugin \
      "$ei" bench --model "$eim" --threads "$2" --runs "$3" --warmup 6 2>&1 | awk '/^all:/ {print $2}'
  }
  echo "| DeiT-tiny int8, instructions per Invoke, all threads | CPU | 1 thread | 4 threads | ratio |"
  echo "|---|---|---|---|---|"
  for cpu in cortex-a72 cortex-a76; do
    one=$(( ($(total "$cpu" 1 6) - $(total "$cpu" 1 2)) / 4 ))
    four=$(( ($(total "$cpu" 4 6) - $(total "$cpu" 4 2)) / 4 ))
    awk -v c="$cpu" -v a="$one" -v b="$four" 'BEGIN { printf "| | %s | %.1f M | %.1f M | %.3f |\n", c, a/1e6, b/1e6, b/a }'
  done
  exit 0
fi

if [ "$what" = tflite ]; then
  # One Invoke of each TFLite model in ../shared/models (converted to .eim
  # by edgeinfer convert, natively, once) on both paths, with the per-op
  # table; the two paths' outputs must be identical.
  echo "| TFLite model (1 thread) | cortex-a72 v80 | cortex-a76 dotprod | MACs | output |"
  echo "|---|---|---|---|---|"
  models=(${ICOUNT_TFLITE:-mobilenet_v1_0.25_128_quant mobilenet_v1_0.5_160_quant mobilenet_v1_0.75_192_quant mobilenet_v2_1.0_224_quant person_detect
    coral-more/movenet_single_pose_lightning_ptq coral-more/deeplabv3_mnv2_pascal_quant})
  for path in "${models[@]}"; do
    m=${path##*/}
    eim="$cache/$m.eim"
    [ -s "$eim" ] || go run ./cmd/edgeinfer convert "../shared/models/$path.tflite" "$eim" >/dev/null
    count cortex-a72 -model "$eim" -kernels v80 -ops > "$cache/tflite-$m-v80.txt"
    count cortex-a76 -model "$eim" -kernels dotprod -ops > "$cache/tflite-$m-dotprod.txt"
    h72=$(awk '/^output/ {print $2}' "$cache/tflite-$m-v80.txt")
    h76=$(awk '/^output/ {print $2}' "$cache/tflite-$m-dotprod.txt")
    [ "$h72" = "$h76" ] || { echo "$m: v80 output $h72, dotprod $h76" >&2; exit 1; }
    awk -v m="$m" -v h="$h72" -v a="$(insns < "$cache/tflite-$m-v80.txt")" -v b="$(insns < "$cache/tflite-$m-dotprod.txt")" \
      -v mac="$(macs < "$cache/tflite-$m-v80.txt")" \
      'BEGIN { printf "| %s | %.2f M | %.2f M | %.1f M | %s |\n", m, a/1e6, b/1e6, mac/1e6, h }'
  done
  for path in "${models[@]}"; do
    m=${path##*/}
    for p in v80 dotprod; do
      echo; echo "$m $p:"; perop "$cache/tflite-$m-$p.txt"
    done
  done
  exit 0
fi

if [ "$what" = seed ]; then
  # One Invoke of each int8 seed variant (zoo.Build, Seed 7) on both
  # paths; the paths' outputs must be identical (and ref's, for the small
  # model; runtime's TestTokenOpKernelSetsAgree compares every op).
  echo "| seed variant (1 thread) | cortex-a72 v80 | cortex-a76 dotprod | output |"
  echo "|---|---|---|---|"
  for m in vit-micro-seed deit-tiny-tap deit-tiny-zoo deit-tiny-zoo-lowrank deit-tiny-seed; do
    eim="$cache/$m.eim"
    [ -s "$eim" ] || go run ./tools/icount -write "$eim" -zoo "$m"
    count cortex-a72 -model "$eim" -kernels v80 -ops > "$cache/seed-$m-v80.txt"
    count cortex-a76 -model "$eim" -kernels dotprod -ops > "$cache/seed-$m-dotprod.txt"
    h72=$(awk '/^output/ {print $2}' "$cache/seed-$m-v80.txt")
    h76=$(awk '/^output/ {print $2}' "$cache/seed-$m-dotprod.txt")
    if [ "$m" = vit-micro-seed ]; then
      href=$(count cortex-a72 -model "$eim" -kernels ref | awk '/^output/ {print $2}')
      [ "$href" = "$h72" ] || { echo "$m: v80 output $h72, ref $href" >&2; exit 1; }
    fi
    [ "$h72" = "$h76" ] || { echo "$m: v80 output $h72, dotprod $h76" >&2; exit 1; }
    awk -v m="$m" -v h="$h72" -v a="$(insns < "$cache/seed-$m-v80.txt")" -v b="$(insns < "$cache/seed-$m-dotprod.txt")" \
      'BEGIN { printf "| %s | %.2f M | %.2f M | %s |\n", m, a/1e6, b/1e6, h }'
  done
  for m in vit-micro-seed deit-tiny-seed; do
    for p in v80 dotprod; do
      echo; echo "$m $p:"; perop "$cache/seed-$m-$p.txt"
    done
  done
  exit 0
fi

echo "| GEMM 197×192×768 | CPU | path | instructions | MACs/instruction |"
echo "|---|---|---|---|---|"
for row in "cortex-a72 v80" "cortex-a76 dotprod" "cortex-a76 v80"; do
  set -- $row
  for out in int32 int8; do
    r=$(count "$1" -gemm "$out" -kernels "$2")
    n=$(insns <<<"$r"); m=$(macs <<<"$r")
    awk -v o="$out" -v c="$1" -v p="$2" -v n="$n" -v m="$m" \
      'BEGIN { printf "| %s out | %s | %s | %.2f M | %.2f |\n", o, c, p, n/1e6, m/n }'
  done
done
[ "$what" = gemm ] && exit 0

eim="$cache/deit-tiny.eim"
if [ ! -s "$eim" ]; then
  echo "building zoo deit-tiny into $eim (native, once)" >&2
  go run ./tools/icount -write "$eim"
fi
echo
echo "| DeiT-tiny Invoke (1 thread) | CPU | path | instructions | MACs/instruction | output |"
echo "|---|---|---|---|---|---|"
hashes=()
for row in "cortex-a72 v80" "cortex-a76 dotprod" "cortex-a72 ref"; do
  set -- $row
  r=$(count "$1" -model "$eim" -kernels "$2" -ops)
  n=$(insns <<<"$r"); m=$(macs <<<"$r"); h=$(awk '/^output/ {print $2}' <<<"$r")
  hashes+=("$h")
  awk -v c="$1" -v p="$2" -v n="$n" -v m="$m" -v h="$h" \
    'BEGIN { printf "| %s | %s | %.1f M | %.2f | %s |\n", c, p, n/1e6, m/n, h }'
  echo "$r" > "$cache/deit-$1-$2.txt"
done
for h in "${hashes[@]}"; do
  if [ "$h" != "${hashes[0]}" ]; then echo "DeiT-tiny outputs differ between paths: ${hashes[*]}" >&2; exit 1; fi
done
echo
echo "Per op type (instructions, share of the Invoke, MACs/instruction):"
for row in "cortex-a72 v80" "cortex-a76 dotprod" "cortex-a72 ref"; do
  set -- $row
  echo
  echo "$1 $2:"
  awk '/^region [0-9]+:/ { id = $2; sub(":", "", id); n[id] = $3 }
       /^op / { code[$5] = $3; mac[$5] = $4 }
       END {
         for (id in code) { t[code[id]] += n[id]; mm[code[id]] += mac[id]; all += n[id] }
         for (c in t) printf "  %-18s %8.2f M  %5.1f%%  %s\n", c, t[c]/1e6, 100*t[c]/all, (mm[c] ? sprintf("%.2f", mm[c]/t[c]) : "")
       }' "$cache/deit-$1-$2.txt" | sort -k2 -nr
done
