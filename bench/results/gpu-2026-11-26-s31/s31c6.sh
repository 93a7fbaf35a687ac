# Session 31, call 6: the whole GPU suite on the committed code (1342132: the conv epilogue's
# branch-free strips, opt-in; test_ops_gpu --bench-gw) through
# bench/gpu.sh GPU_ONLY_TESTS=1.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 560 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|ok|passed|rc |own GEMM|epilogue|gemm \+ conv" $T/suite.out | tail -30
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
