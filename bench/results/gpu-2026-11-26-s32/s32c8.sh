# Session 32, call 8: where the conv fold starts to pay, by in_proj's K (= d_model): 2.7b-shaped
# models (mamba2.ssd, bf16, random weights) of d_model 1024, 1536, 2048 and 2560, 16 layers, the
# timed prefill at 1x2K, 8x2K and 1x16K with SSDC_CONV_FOLD=0 and =1 alternating, 2 rounds.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
for r in 1 2; do
  for d in 1024 1536 2048 2560; do
    for f in 0 1; do
      SSDC_CONV_FOLD=$f timeout 60 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
        --dtype bf16 --set d_model=$d --set n_layer=16 --prefill 1x2048,8x2048,1x16384 --decode-batch 1 \
        --decode-tokens 2 --out $T/k$d-f$f-r$r.json > $T/k$d-f$f-r$r.log 2>&1 || echo "k$d f$f r$r rc $?"
    done
  done
done
python3 - "$T" <<'PY'
import json, sys, glob, os
T = sys.argv[1]
best = {}
for p in glob.glob(os.path.join(T, "k*-f*-r*.json")):
    k, f, _ = os.path.basename(p)[:-5].split("-")
    j = json.load(open(p))
    for row in j.get("results", []):
        if row.get("kind") != "prefill": continue
        key = (int(k[1:]), row["batch"], row["L"], f)
        ms = row.get("ms")
        if ms is not None: best[key] = min(best.get(key, 1e9), ms)
for (k, b, L, f) in sorted(best):
    if f == "f0":
        on = best.get((k, b, L, "f1"))
        print(f"K {k:5d} {b}x{L}: fold off {best[(k,b,L,f)]:.3f} ms, on {on:.3f} ms, on/off {on/best[(k,b,L,f)]:.3f}")
PY
cd $T && tar czf k.tgz k*.json k*.log && rm -f k*.json k*.log
