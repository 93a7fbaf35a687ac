# Session 19 call 1: the GEMMs as tuned before (test_ops_gpu-old: candidates
# timed with beta = 0), with beta as the call's (8 candidates) and with 32
# candidates; the conv at 8, 16, 32 time steps per thread.
O=$OUT; T=/tmp/s19c1; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c19
s=$(date +%s); timeout 150 .prebuilt/test_ops_gpu-old --bench-gemm > $T/ops-old.log 2>&1; echo "old rc $? $(( $(date +%s) - s )) s"
timeout 150 .prebuilt/test_ops_gpu --bench-gemm > $T/ops-c8.log 2>&1; echo "c8 rc $?"
SSDC_GEMM_CANDIDATES=32 timeout 150 .prebuilt/test_ops_gpu --bench-gemm > $T/ops-c32.log 2>&1; echo "c32 rc $?"
timeout 150 .prebuilt/test_ops_gpu --bench-prefill > $T/ops-pre.log 2>&1; echo "pre rc $?"
for f in old c8 c32 pre; do echo "== $f"; grep -E "^bench|FAIL|passed|failed" $T/ops-$f.log; done
cp $T/*.log $O/ 2>/dev/null
