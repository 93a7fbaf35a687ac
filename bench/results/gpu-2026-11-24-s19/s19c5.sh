# Session 19 call 5: the whole GPU suite on this session's code (bench/gpu.sh
# GPU_ONLY_TESTS=1 with the prebuilt binaries).
O=$OUT; T=/tmp/s19c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 560 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
grep -cE "^ok" $T/t/tests.log; grep -E "FAIL|passed|failed" $T/t/tests.log | tail -15; tail -3 $T/gpu.txt
cp $T/gpu.txt $T/t/tests.log $O/ 2>/dev/null
