# Session 16 call 4: the whole GPU test suite (bench/gpu.sh GPU_ONLY_TESTS=1: SSD kernels both
# ways, ops, decode kernels, goldens, graphs, fused paths, CLI) on the working tree: the state
# handled in place by the chunked SSD kernel, the x-conv fold opt-in (SSDC_XCONV=1)
O=$OUT; T=/tmp/s16c4; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 560 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
tail -15 $T/gpu.txt; grep -E "FAIL|x conv" $T/t/tests.log | head -20
cp $T/gpu.txt $T/t/tests.log $O/ 2>/dev/null
