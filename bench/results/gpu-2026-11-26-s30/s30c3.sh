# Session 30, call 3 (branch s30-overlap): the conv epilogue run by an epilogue group (the producer
# warpgroup's warps 1-2) overlapping the next tile's mainloop; same checks and profiles as call 1:
# (1) test_ops_gpu (the own GEMM + conv + edge fix-up against float64) and test_gpu_graph
# --fused plans (cfold_check: bit-equal logits with the conv kernel after the same GEMM);
# (2) the 2.7b prefill's device time per line ($SSDC_PROFILE=1) with SSDC_CONV_FOLD=0 and =1
# at 8x2K and 1x16K (1x16K first, the order session 29 found fair).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 120 .prebuilt/test_ops_gpu > $T/ops.log 2>&1; echo "ops rc $?"
grep -E "own gemm|FAIL|passed" $T/ops.log | tail -12
timeout 200 .prebuilt/test_gpu_graph --fused gemm > $T/plans.log 2>&1; echo "plans rc $?"
grep -E "epilogue|FAIL|passed" $T/plans.log | tail -9
prof() { # name shapes env...
  local n=$1 sh=$2; shift 2
  env "$@" SSDC_PROFILE=1 timeout 120 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill $sh --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/prof-$n.log 2>&1; echo "$n rc $?"
}
prof off16 1x16384 SSDC_CONV_FOLD=0
prof on16 1x16384 SSDC_CONV_FOLD=1
prof off8 8x2048 SSDC_CONV_FOLD=0
prof on8 8x2048 SSDC_CONV_FOLD=1
for n in off16 on16 off8 on8; do echo "== $n"; grep -E "^ssdc profile|^  (linear|ssm|conv1d|silu) " $T/prof-$n.log | head -10; done
