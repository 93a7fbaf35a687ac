# Session 29, call 2: the whole GPU suite on the committed code (31fc8a4: ssd_publishes_early in the
# SSD kernels; SSDC_OWN_GEMM=1 on every linear it fits, test_gpu_graph's gw_check) through
# bench/gpu.sh GPU_ONLY_TESTS=1.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 560 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|ok|passed|rc |own GEMM" $T/suite.out | tail -30
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
