# Session 26, call 2: where call 1's time went.  $SSDC_PROFILE=1 (device time per model line) on
# the 2.7b prefills for A (no fold), B (fold, out_proj through the own GEMM) and C (fold, scale
# applied by the add after cuBLASLt's out_proj: SSDC_OWN_GEMM=0 SSDC_GNORM_FOLD=1).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
run() { # name env...
  local n=$1; shift
  env "$@" SSDC_PROFILE=1 timeout 120 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 \
    --set d_model=2560 --set n_layer=64 --prefill 1x2048,8x2048,1x16384 --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/prof-$n.log 2>&1; echo "$n rc $?"
}
run A SSDC_OWN_GEMM=0 SSDC_GNORM_FOLD=0
run B SSDC_OWN_GEMM=1
run C SSDC_OWN_GEMM=0 SSDC_GNORM_FOLD=1
grep -h "^ssdc profile" $T/prof-*.log | sort | uniq -c | head
