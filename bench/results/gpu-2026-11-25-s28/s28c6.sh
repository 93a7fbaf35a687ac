# Session 28, call 6: do chained segments and the gated norm in the SSD kernel's tail add up?  The
# 2.7b prefill at 8x2K in one binary (901897f), 2 rounds alternating over four settings:
# LA = looked back + norm in the tail (session 27's default), CA = chained + tail (the default),
# LN = looked back, norm after (SSDC_GNORM_AFTER=0), CN = chained, norm after.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048 --decode-batch 1 --decode-tokens 8"
for r in 1 2; do
  for v in LA CA LN CN; do
    case $v in LA) E="SSDC_SSD_CHAIN=0";; CA) E="SSDC_SSD_CHAIN_UNSET=1";;
                LN) E="SSDC_SSD_CHAIN=0 SSDC_GNORM_AFTER=0";; CN) E="SSDC_GNORM_AFTER=0";; esac
    env $E timeout 80 .prebuilt/ssdc bench $M --out $T/pre-$v-$r.json > /dev/null 2>&1 || echo "$v $r exit $?"
  done
done
python3 - $T <<'PY'
import json,glob,os,sys
for f in sorted(glob.glob(sys.argv[1]+"/pre-*.json")):
    for r in json.load(open(f))["results"]:
        if r["kind"]=="prefill": print(os.path.basename(f), r["batch"], r.get("L"), r["ms"])
PY
