# Session 30, call 2: the whole GPU suite on the committed code (cd7ce40: the conv in in_proj's
# epilogue, opt-in, test_gpu_graph --fused gemm, test_ops_gpu t_gw_conv) through
# bench/gpu.sh GPU_ONLY_TESTS=1.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 560 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|ok|passed|rc |own GEMM|epilogue|gemm \+ conv" $T/suite.out | tail -30
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
