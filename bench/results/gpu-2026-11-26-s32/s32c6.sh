# Session 32, call 6 (branch s32-compact, not merged): the storers send the conv's xBC boxes to a
# buffer of their own (dense [M, 5376], SSDC_CONV_COMPACT=1) instead of back into in_proj's rows,
# so the SSD kernel reads x, B, C as it does after the conv kernel: is the SSD node's +2.2..2.7 ms
# under the fold the wide rows' layout?  (1) test_ops_gpu's checks (an "apart" case);
# (2) cfold_check with SSDC_CONV_COMPACT=1 (bit-equal with the conv kernel); (3) profiles,
# default vs compact; (4) ab_gpu.sh 2.7b-pre, A = default, B = compact, 1 round.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 150 .prebuilt/test_ops_gpu > $T/ops.log 2>&1; echo "ops rc $?"; grep -E "apart|FAIL|passed" $T/ops.log | tail -4
SSDC_CONV_COMPACT=1 timeout 150 .prebuilt/test_gpu_graph --fused gemm > $T/gemm.log 2>&1; echo "gemm rc $?"
grep -E "epilogue|FAIL|passed" $T/gemm.log | tail -7
prof() { # name shapes env...
  local n=$1 sh=$2; shift 2
  env "$@" SSDC_PROFILE=1 timeout 100 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd \
    --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill $sh --decode-batch 1 --decode-tokens 2 \
    --out $T/b-$n.json > $T/prof-$n.log 2>&1; echo "$n rc $?"
}
prof def8 8x2048
prof cmp8 8x2048 SSDC_CONV_COMPACT=1
prof def16 1x16384
prof cmp16 1x16384 SSDC_CONV_COMPACT=1
for n in def8 cmp8 def16 cmp16; do echo "== $n"; awk '/forward/{c++} c==2' $T/prof-$n.log | grep -E "^ssdc profile|^  (linear|ssm|conv1d|gated_rmsnorm|add|rmsnorm) " | head -6; done
printf '#!/bin/sh\nSSDC_CONV_COMPACT=1 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-cmp && chmod +x .prebuilt/ssdc-cmp
A=.prebuilt/ssdc B=.prebuilt/ssdc-cmp ONLY='^2.7b-pre$' OUT=$T/ab timeout 200 bash bench/ab_gpu.sh 1 > $T/ab.out 2>&1
echo "ab rc $?"; tail -4 $T/ab.out
cd $T && tar czf logs.tgz prof-*.log b-*.json ab 2>/dev/null; rm -rf prof-*.log b-*.json ab
