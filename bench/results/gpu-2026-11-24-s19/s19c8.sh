# Session 19 call 8: the review commit (ssd_env_int for SSDC_GEMM_CANDIDATES
# and SSDC_ARGMAX_CHUNK; gemm_cols' row stride) on the GPU: test_ops_gpu (GEMM
# plans and tuning, conv), test_gpu_graph --fused (the side-stream GEMM's
# column blocks), and a bad SSDC_GEMM_CANDIDATES refused with its name.
O=$OUT; T=/tmp/s19c8; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c19
timeout 200 .prebuilt/test_ops_gpu > $T/ops.log 2>&1; echo "ops rc $?"; grep -E "FAIL|passed" $T/ops.log | tail -3
timeout 250 .prebuilt/test_gpu_graph --fused > $T/fused.log 2>&1; echo "fused rc $?"; grep -E "FAIL|passed|side" $T/fused.log | tail -5
SSDC_GEMM_CANDIDATES=0 timeout 60 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --prefill 1x64 --decode-batch 1 --decode-tokens 2 > $T/bad.log 2>&1; echo "bad candidates rc $?"; grep -m2 "GEMM_CANDIDATES" $T/bad.log
cp $T/*.log $O/ 2>/dev/null
