#!/usr/bin/env bash
# x86bench.sh times DeiT-tiny, int8 and float32, with `edgeinfer bench`
# (zoo deit-tiny, seeded weights) and with ONNX Runtime (onnxruntime-node,
# CPU) on an ONNX DeiT-tiny of the same shape (tools/x86bench/deit_onnx.py:
# torchvision's VisionTransformer, float32 and a QDQ int8 version), at 1 and
# 2 threads, in one run on one machine.
#
#   bash tools/x86bench.sh [ROUNDS] [RUNS]     (default 5 rounds of 20 runs)
#
# Each round runs edgeinfer and ONNX Runtime back to back for every
# (dtype, threads) pair, so both see the same background load; a round's
# figure is the median of its RUNS inferences, and the table reports the
# median over rounds, with the spread of the round medians (min–max) as
# the noise. Needs go, node/npm, /usr/bin/python3 with torch and onnx.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
runs=${2:-20}
work=${X86BENCH_DIR:-/tmp/x86bench}
mkdir -p "$work"

go build -o "$work/edgeinfer" ./cmd/edgeinfer
ei="$work/edgeinfer"
[ -f "$work/deit.eim" ] || "$ei" zoo deit-tiny -o "$work/deit.eim" --float "$work/deit_f32.eim" >/dev/null
[ -f "$work/deit_int8.onnx" ] || /usr/bin/python3 tools/x86bench/deit_onnx.py "$work" 2>/dev/null
[ -d tools/x86bench/node_modules/onnxruntime-node ] || (cd tools/x86bench && npm install --ignore-scripts --no-audit --no-fund >/dev/null)

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "edgeinfer kernels: $("$ei" info --model "$work/deit.eim" | sed -n 's/^kernels *//p')"
res="$work/results.txt"
: >"$res"
for r in $(seq "$rounds"); do
  for t in 1 2; do
    for d in int8 f32; do
      eim="$work/deit.eim"; [ $d = f32 ] && eim="$work/deit_f32.eim"
      e=$("$ei" bench --model "$eim" --threads "$t" --runs "$runs" --json | sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p')
      o=$(node tools/x86bench/ortbench.js "$work/deit_$d.onnx" "$t" "$runs" | sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p')
      echo "$d $t $e $o" >>"$res"
    done
  done
done

awk '
function med(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
  return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{ k = $1 " " $2; n[k]++; e[k, n[k]] = $3; o[k, n[k]] = $4; q[k, n[k]] = $3 / $4 }
END {
  printf "%-6s %-8s %-26s %-26s %s\n", "dtype", "threads", "edgeinfer ms (min-max)", "onnxruntime ms (min-max)", "ratio (median of rounds)"
  split("int8 1,int8 2,f32 1,f32 2", keys, ",")
  for (i = 1; i <= 4; i++) {
    k = keys[i]; c = n[k]
    for (j = 1; j <= c; j++) { ee[j] = e[k, j]; oo[j] = o[k, j]; qq[j] = q[k, j] }
    me = med(ee, c); mo = med(oo, c); mq = med(qq, c)
    split(k, kk, " ")
    printf "%-6s %-8s %6.1f (%5.1f-%5.1f)       %6.1f (%5.1f-%5.1f)       %.2fx\n", kk[1], kk[2], me, ee[1], ee[c], mo, oo[1], oo[c], mq
    E[k] = me; O[k] = mo
  }
  printf "2 threads over 1: edgeinfer int8 %.2fx, float32 %.2fx; onnxruntime int8 %.2fx, float32 %.2fx\n", \
    E["int8 1"] / E["int8 2"], E["f32 1"] / E["f32 2"], O["int8 1"] / O["int8 2"], O["f32 1"] / O["f32 2"]
}' "$res"
