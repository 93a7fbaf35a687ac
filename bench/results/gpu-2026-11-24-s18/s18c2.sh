# Session 18 call 2: call 1 gave 1x16K -4.5% but 8x2K +0.9% with the gate GEMM on
# the side stream.  Now the main stream has the greatest priority and the side
# the least (SSDC_STREAM_PRIO=0: equal, as in call 1).  The in_proj GEMM whole
# and as split (test_ops_gpu --bench), then 2.7b prefill: no side GEMM (A) vs
# side + priorities (B), 2 rounds; no side GEMM (A) vs side, equal priorities (B).
O=$OUT; T=/tmp/s18c2; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c18
timeout 200 .prebuilt/test_ops_gpu --bench > $T/ops.log 2>&1; echo "ops rc $?"; grep -E "in_proj|FAIL|passed" $T/ops.log | head
A=.prebuilt/ssdc-noside B=.prebuilt/ssdc ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab1 timeout 280 bash bench/ab_gpu.sh 2 > $T/ab1.txt 2>&1; echo "ab1 rc $?"; tail -6 $T/ab1.txt
A=.prebuilt/ssdc-noside B=.prebuilt/ssdc-noprio ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab2 timeout 150 bash bench/ab_gpu.sh 1 > $T/ab2.txt 2>&1; echo "ab2 rc $?"; tail -6 $T/ab2.txt
cp $T/ops.log $T/ab1.txt $T/ab2.txt $O/ 2>/dev/null
