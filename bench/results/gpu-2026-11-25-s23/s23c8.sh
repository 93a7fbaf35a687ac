# Session 23, call 8: the whole GPU suite (bench/gpu.sh GPU_ONLY_TESTS=1) on the source with
# ssd_state_update_at (27429fa): ops, SSD kernels, goldens, graphs, CLI.
set -uo pipefail
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$OUT bash bench/gpu.sh > $OUT/gpu-sh.log 2>&1
echo "gpu.sh rc $?"
grep -cE "^ok |^  ok " $OUT/tests.log; grep -E "FAILED|MISMATCH" $OUT/tests.log | head
tail -5 $OUT/gpu-sh.log
