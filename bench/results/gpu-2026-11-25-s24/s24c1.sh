# Session 24, call 1: B and C by tensor copies (SSD_TMA) in the chunked kernel.  The SSD kernel
# tests with the copies (default on sm_90) and without (SSDC_SSD_TMA=0); the kernel alone at the
# anchor shapes both ways (bench_ssd_gpu, 2 rounds alternating); the 2.7b prefill A/B in one
# binary (A = SSDC_SSD_TMA=0, B = default), 2 rounds.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
for t in 1 0; do
  SSDC_SSD_TMA=$t timeout 120 .prebuilt/test_ssd_gpu > $T/test_ssd_gpu-tma$t.log 2>&1
  echo "test_ssd_gpu SSDC_SSD_TMA=$t: rc $?"; grep -E "FAIL|mma.sync kernel|all passed" $T/test_ssd_gpu-tma$t.log | head -8
done
for r in 1 2; do for t in 0 1; do
  SSDC_SSD_TMA=$t timeout 100 .prebuilt/bench_ssd_gpu $T/k-tma$t-$r.json > $T/k-tma$t-$r.log 2>&1 || echo "bench tma$t: rc $?"
done; done
python3 - $T <<'PY'
import json, sys, glob
d = sys.argv[1]
def load(t):
    best = {}
    for f in sorted(glob.glob(f"{d}/k-tma{t}-*.json")):
        try: rows = json.load(open(f))["ssd_chunked_h80_p64_n128_g1_bf16"]
        except (OSError, ValueError, KeyError): continue
        for r in rows:
            k = (r["batch"], r["L"], r["ps"])
            best[k] = min(best.get(k, 1e9), r["ms"])
    return best
a, b = load(0), load(1)
for k in sorted(a):
    if k in b: print(f"SSD alone {k[0]}x{k[1]} ps {k[2]}: cp.async {a[k]:.4f} ms, TMA {b[k]:.4f} ms, {b[k]/a[k]:.3f}")
PY
printf '#!/bin/sh\nSSDC_SSD_TMA=0 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-cpa && chmod +x .prebuilt/ssdc-cpa
A=.prebuilt/ssdc-cpa B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -12 $T/ab.out
tar -czf $T/k.tgz -C $T $(cd $T && ls k-tma*) ab && rm -rf $T/ab $T/k-tma*
