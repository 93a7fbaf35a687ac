# Session 18 call 4: the final code (side GEMM off by default, stream priorities
# on): the whole GPU test suite from the prebuilt binaries; the fused test's
# zside_check turns the side GEMM on for its comparison.
O=$OUT; T=/tmp/s18c4; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 560 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
tail -5 $T/gpu.txt; grep -E "FAIL|side stream vs" $T/t/tests.log | head -12; grep -cE "^ok" $T/t/tests.log
cp $T/gpu.txt $T/t/tests.log $O/ 2>/dev/null
