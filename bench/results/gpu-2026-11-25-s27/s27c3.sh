# Session 27, call 3: the whole GPU suite on the committed code (d8f7900: the gated norm in the SSD
# kernel's tail by default) through bench/gpu.sh GPU_ONLY_TESTS=1.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 540 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|ok|passed|rc " $T/suite.out | tail -25
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
