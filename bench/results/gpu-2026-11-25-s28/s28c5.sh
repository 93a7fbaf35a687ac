# Session 28, call 5: where the 2.7b prefill's time goes with chained segments.  $SSDC_PROFILE=1
# (device time per model line; the profile launches the gated norm after the SSD kernel, not in
# its tail) at 8x2K and 1x16K, A = SSDC_SSD_CHAIN=0, B = the default (901897f); the fold off in
# both (SSDC_GNORM_FOLD=0) so that the rows compare with session 26's profile A.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
run() { # name env...
  local n=$1; shift
  env "$@" SSDC_GNORM_FOLD=0 SSDC_PROFILE=1 timeout 120 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/prof-$n.log 2>&1; echo "$n rc $?"
}
run A SSDC_SSD_CHAIN=0
run B SSDC_SSD_CHAIN_UNSET=1
for n in A B; do echo "== $n"; grep -E "^ssdc profile|^  (ssm|gated|rmsnorm|linear|conv1d|add) " $T/prof-$n.log | head -30; done
