# Session 28, call 1: chained segments (SSDC_SSD_CHAIN).  test_ssd_gpu (every case, the four
# chained ones included), the join sweep (bench_ssd_gpu sweep-join: batched shapes, each segment
# length looked back and chained, and the policy's pick), then the 2.7b prefill at 8x2K in one
# binary, 2 rounds alternating: A = SSDC_SSD_CHAIN=0 (session 27's segmentation), B = the
# policy (chained where its simulation says so), C = 16-chunk segments chained.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 120 .prebuilt/test_ssd_gpu > $T/test_ssd_gpu.log 2>&1; echo "test_ssd_gpu rc $?"
grep -E "chained|FAIL|passed" $T/test_ssd_gpu.log | tail -12
timeout 200 .prebuilt/bench_ssd_gpu $T/join.json sweep-join > $T/join.log 2>&1; echo "sweep rc $?"
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048 --decode-batch 1 --decode-tokens 8"
for r in 1 2; do
  for v in A B C; do
    case $v in A) E="SSDC_SSD_CHAIN=0";; B) E="SSDC_SSD_CHAIN_UNSET=1";; C) E="SSDC_SSD_CHAIN=1 SSDC_SSD_SEG_CHUNKS=16";; esac
    env $E timeout 80 .prebuilt/ssdc bench $M --out $T/pre-$v-$r.json > $T/pre-$v-$r.log 2>&1 || echo "$v $r exit $?"
  done
done
python3 - $T <<'PY'
import json,glob,os,sys
for f in sorted(glob.glob(sys.argv[1]+"/pre-*.json")):
    for r in json.load(open(f))["results"]:
        if r["kind"]=="prefill": print(os.path.basename(f), r["batch"], r.get("L"), r["ms"])
PY
