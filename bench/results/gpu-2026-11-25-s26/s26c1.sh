# Session 26, call 1: ssdc's own GEMM in the model (out_proj of a folded gated norm applies the
# norm's row scale, codegen/cuda/gw_gemm.cuh through rt_cuda_gemm).  Its kernel tests on the GPU
# (test_ops_gpu: against float64, bf16 out / fp32 accumulate / row-scaled), the 2.7b prefill A/B
# in one binary (A = SSDC_OWN_GEMM=0 SSDC_GNORM_FOLD=0, session 24's default; B = the new default:
# fold on, out_proj through the own GEMM), 2 rounds; then the fused-plan checks (test_gpu_graph
# --fused: fold with and without the own GEMM against no fold).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 150 .prebuilt/test_ops_gpu > $T/test_ops_gpu.log 2>&1; echo "test_ops_gpu rc $?"
grep -E "own gemm|FAIL|passed" $T/test_ops_gpu.log
printf '#!/bin/sh\nSSDC_OWN_GEMM=0 SSDC_GNORM_FOLD=0 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-old && chmod +x .prebuilt/ssdc-old
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -12 $T/ab.out
timeout 100 .prebuilt/test_gpu_graph --fused > $T/graph_fused.log 2>&1; echo "graph fused rc $?"
grep -E "gated norm|FAIL|passed" $T/graph_fused.log
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
