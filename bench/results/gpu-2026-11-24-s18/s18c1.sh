# Session 18 call 1: in_proj's gate columns on the side stream (plan_zside).
# test_ops_gpu (the column-block GEMM with its middle block on the side
# stream), test_gpu_graph --fused (zside_check: logits with and without it,
# every layer took it), then 2.7b prefill SSDC_SIDE_GEMM=0 (A) vs default (B),
# one binary, 1 round.
O=$OUT; T=/tmp/s18c1; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c18
timeout 150 .prebuilt/test_ops_gpu > $T/ops.log 2>&1; echo "ops rc $?"; grep -E "side|FAIL|passed" $T/ops.log | head
timeout 200 .prebuilt/test_gpu_graph --fused > $T/fused.log 2>&1; echo "fused rc $?"; grep -E "side|FAIL|passed" $T/fused.log | head -12
A=.prebuilt/ssdc-noside B=.prebuilt/ssdc ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 260 bash bench/ab_gpu.sh 1 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -8 $T/ab.txt
cp $T/ops.log $T/fused.log $T/ab.txt $O/ 2>/dev/null; cp -r $T/ab/ab $O/ab-json 2>/dev/null
