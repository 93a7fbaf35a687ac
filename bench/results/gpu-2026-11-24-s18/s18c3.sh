# Session 18 call 3: what the split costs and what the overlap gains.  The
# in_proj GEMM at 8x2K whole and as its two column blocks (test_ops_gpu
# --bench-gemm), then 2.7b prefill: no side GEMM (A) vs side GEMM with stream
# priorities (B, the default), 3 rounds on one machine.
O=$OUT; T=/tmp/s18c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c18
timeout 150 .prebuilt/test_ops_gpu --bench-gemm > $T/ops.log 2>&1; echo "ops rc $?"; grep -E "bench|FAIL|passed" $T/ops.log | head -16
A=.prebuilt/ssdc-noside B=.prebuilt/ssdc ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 400 bash bench/ab_gpu.sh 3 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -6 $T/ab.txt
cp $T/ops.log $T/ab.txt $O/ 2>/dev/null
