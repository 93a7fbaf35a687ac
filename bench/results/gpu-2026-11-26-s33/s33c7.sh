# Session 33, call 7: the whole GPU suite on d12b814 (bench/gpu.sh GPU_ONLY_TESTS=1).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 450 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|passed|rc " $T/suite.out | tail -14
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
exit 0
