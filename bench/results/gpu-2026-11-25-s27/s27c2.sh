# Session 27, call 2: at batch 1 the gated norm is folded into the SSD kernel by default (session 26),
# so call 1's tail overlap did not run there.  A = the default (fold at batch 1), B = SSDC_GNORM_FOLD=0
# (no fold: the norm's pass, launched into the SSD kernel's tail), 2 rounds; then the executor's
# plan checks on the GPU (test_gpu_graph --fused, with the new after_check).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
printf '#!/bin/sh\nSSDC_GNORM_FOLD=0 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-nofold && chmod +x .prebuilt/ssdc-nofold
A=.prebuilt/ssdc B=.prebuilt/ssdc-nofold ONLY='^2.7b-pre$' OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -8 $T/ab.out
timeout 120 .prebuilt/test_gpu_graph --fused > $T/graph_fused.log 2>&1; echo "graph fused rc $?"
grep -E "SSD tail|FAIL|passed" $T/graph_fused.log
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
