# Session 32, call 1: the own GEMM's epilogue handed to storer warps (the consumers stage a tile
# and go on to the next mainloop; warps 1-3 of the producer's warpgroup run the conv and the stores):
# (1) test_ops_gpu --bench-gw: the float64 checks (a new 20 x 13 case), then in_proj at 16K tokens;
# (2) test_gpu_graph --fused gemm (cfold_check: bit-equal logits with the conv kernel);
# (3) the 2.7b prefill's device time per line ($SSDC_PROFILE=1), SSDC_CONV_FOLD=0 / 1;
# (4) ab_gpu.sh, A = default (cuBLASLt + conv kernel), B = SSDC_CONV_FOLD=1, 1 round.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 200 .prebuilt/test_ops_gpu --bench-gw > $T/ops.log 2>&1; echo "ops rc $?"
grep -E "own gemm|FAIL|passed|bench|in_proj" $T/ops.log | tail -16
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
for n in off16 on16 off8 on8; do echo "== $n"; awk '/forward/{c++} c==2' $T/prof-$n.log | grep -E "^ssdc profile|^  (linear|ssm|conv1d|gated_rmsnorm|add|rmsnorm) "; done
printf '#!/bin/sh\nSSDC_CONV_FOLD=1 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-on && chmod +x .prebuilt/ssdc-on
A=.prebuilt/ssdc B=.prebuilt/ssdc-on ONLY='^2.7b-pre$' OUT=$T/ab timeout 250 bash bench/ab_gpu.sh 1 > $T/ab.out 2>&1
echo "ab rc $?"; tail -8 $T/ab.out
cd $T && tar czf logs.tgz *.log *.json ab 2>/dev/null; rm -rf prof-*.log b-*.json ab
