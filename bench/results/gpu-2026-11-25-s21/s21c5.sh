# Session 21 call 5: the whole GPU suite on 49eeab2 (phase 1 two chunks an
# iteration): bench/gpu.sh's tests with the prebuilt binaries.
O=$OUT; T=/tmp/s21c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
s=$(date +%s); GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 580 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $? $(( $(date +%s) - s )) s"
grep -c "^ok\|ok " $T/t/tests.log; grep -E "FAIL" $T/t/tests.log | head; tail -5 $T/gpu.txt
cp $T/gpu.txt $T/t/tests.log $O/ 2>/dev/null
