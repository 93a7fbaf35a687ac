# Session 29, call 3: is the own GEMM's slower in_proj at 1x16K (call 1: 79 ms against 74 at 8x2K,
# the same 16384 x 10576 x 2560 GEMM) the order of the runs?  The profile with SSDC_OWN_GEMM=1,
# 1x16K first, then 8x2K; then cuBLASLt in the same order.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
prof() { # name env...
  local n=$1; shift
  env "$@" SSDC_GNORM_FOLD=0 SSDC_PROFILE=1 timeout 120 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x16384,8x2048 --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/prof-$n.log 2>&1; echo "$n rc $?"
}
prof gw SSDC_OWN_GEMM=1
prof lt SSDC_OWN_GEMM=0
for n in gw lt; do echo "== $n"; grep -E "^ssdc profile|^  linear +mamba2.ssd:(46|53) " $T/prof-$n.log | head -24; done
