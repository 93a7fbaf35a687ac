# Session 31, call 1: the conv epilogue with branch-free strips (gw_conv_strip<false>) against
# session 30's (test_ops_gpu-old, the same bench code):
# (1) test_ops_gpu --bench-gw, new and old: the float64 checks (t_gw_conv), then in_proj at
# 16K tokens: cuBLASLt + conv kernel, own GEMM, own GEMM + conv epilogue + edge (8x2K, 1x16K);
# (2) test_gpu_graph --fused gemm (cfold_check: bit-equal logits with the conv kernel);
# (3) the 2.7b prefill's device time per line ($SSDC_PROFILE=1), SSDC_CONV_FOLD=0 / 1, 1x16K first.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 150 .prebuilt/test_ops_gpu --bench-gw > $T/ops.log 2>&1; echo "ops rc $?"
grep -E "own gemm \+ conv|FAIL|passed|bench in_proj" $T/ops.log | tail -12
timeout 150 .prebuilt/test_ops_gpu-old --bench-gw > $T/ops-old.log 2>&1; echo "ops-old rc $?"
grep -E "FAIL|passed|bench in_proj" $T/ops-old.log | tail -6
timeout 200 .prebuilt/test_gpu_graph --fused gemm > $T/gemm.log 2>&1; echo "gemm rc $?"
grep -E "epilogue|FAIL|passed" $T/gemm.log | tail -7
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
for n in off16 on16 off8 on8; do echo "== $n"; grep -E "^ssdc profile|^  (linear|ssm|conv1d|gated_rmsnorm|add|rmsnorm) " $T/prof-$n.log | head -14; done
cd $T && tar czf logs.tgz *.log *.json && rm -f prof-*.log b-*.json
