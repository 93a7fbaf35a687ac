# Session 29, call 4: after the review (fa76f3a: run_gw and run_gw_fold through one gw_gemm; the side
# stream's split before the own GEMM), test_gpu_graph --fused (both halves: gfold_check with the own
# GEMM, gw_check, zside_check) on the H100.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
timeout 300 .prebuilt/test_gpu_graph --fused > $T/fused.log 2>&1; echo "fused rc $?"
grep -E "own GEMM|side stream|FAIL|passed" $T/fused.log | tail -16
