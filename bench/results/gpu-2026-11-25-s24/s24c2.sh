# Session 24, call 2: the whole GPU suite on the committed code (f08b96a: tensor copies below 64
# channels per block), through bench/gpu.sh GPU_ONLY_TESTS=1; then test_ssd_gpu with the copies
# forced wherever they fit (SSDC_SSD_TMA=1).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 480 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|ok|passed|rc " $T/suite.out | tail -25
SSDC_SSD_TMA=1 timeout 90 build-gpu/test_ssd_gpu > $T/test_ssd_gpu-tma1.log 2>&1
echo "test_ssd_gpu SSDC_SSD_TMA=1: rc $?"; grep -E "FAIL|mma.sync kernel|all passed" $T/test_ssd_gpu-tma1.log | head -5
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
