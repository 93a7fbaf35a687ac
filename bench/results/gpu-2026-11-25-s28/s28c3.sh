# Session 28, call 3: the whole GPU suite on the committed code (901897f: chained segments in the
# policy; test_ssd_gpu's chained cases, test_gpu_graph --fused's chain_check) through bench/gpu.sh
# GPU_ONLY_TESTS=1.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 560 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|ok|passed|rc |chain" $T/suite.out | tail -30
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
