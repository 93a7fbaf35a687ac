# Session 27, call 5: at 1x16K the SSD kernel's last round is what the gated norm can fill, and
# its size follows the segment count (15 segments of 18 chunks: 1200 blocks on 396 slots).  The
# 2.7b 1x16K prefill with the fold (the default at batch 1) against no fold (the norm in the tail)
# at segment lengths 18 (the policy's), 20, 22 and 27 chunks, 2 rounds alternating.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
run() { # name env...
  local n=$1; shift
  env "$@" timeout 60 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 \
    --set d_model=2560 --set n_layer=64 --prefill 1x16384 --decode-batch 1 --decode-tokens 2 \
    --out $T/$n.json > $T/$n.log 2>&1 || echo "$n rc $?"
  printf '%-14s ' $n; python3 -c "import json,sys; print([r['ms'] for r in json.load(open(sys.argv[1]))['results'] if r['kind'] == 'prefill'])" $T/$n.json
}
for r in 1 2; do
  run fold-$r SSDC_GNORM_AFTER=1
  run nofold18-$r SSDC_GNORM_FOLD=0
  run nofold20-$r SSDC_GNORM_FOLD=0 SSDC_SSD_SEG_CHUNKS=20
  run nofold22-$r SSDC_GNORM_FOLD=0 SSDC_SSD_SEG_CHUNKS=22
  run nofold27-$r SSDC_GNORM_FOLD=0 SSDC_SSD_SEG_CHUNKS=27
done
