# Session 28, call 7: after the review (ba30f1b: chain_check and wg_check through one
# launch_var_check; a comment in ssd_chunked.cuh), test_gpu_graph --fused (both halves) and
# test_ssd_gpu on the H100.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
timeout 300 .prebuilt/test_gpu_graph --fused > $T/fused.log 2>&1; echo "fused rc $?"
grep -E "vs not|FAIL|passed" $T/fused.log | tail -24
timeout 150 .prebuilt/test_ssd_gpu > $T/ssd.log 2>&1; echo "test_ssd_gpu rc $?"; grep -E "chained|FAIL|passed" $T/ssd.log | tail -8
