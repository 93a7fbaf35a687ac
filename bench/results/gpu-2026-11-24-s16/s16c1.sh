# Session 16 call 1: the x conv folded into the SSD kernel (cg_ssd_spec.xconv_k, plan_xconv).
# test_ssd_gpu (float64 reference, folded-conv cases), test_gpu_graph --fused (folded vs not:
# bitwise logits), then A/B whole models: A = HEAD d2a78f1, B = working tree, 2 rounds.
O=$OUT; T=/tmp/s16c1; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
export SSDC_CACHE_DIR=/tmp/c16
timeout 100 $B/test_ssd_gpu > $T/test_ssd.log 2>&1; echo "test_ssd rc $?"; grep -E "FAIL|passed" $T/test_ssd.log | head
timeout 150 .prebuilt/test_gpu_graph --fused > $T/fused.log 2>&1; echo "fused rc $?"; grep -E "x conv|FAIL|passed" $T/fused.log | head -20
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='^(2.7b-pre|130m-bf16)$' PEER=0 OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -25 $T/ab.txt
cp $T/*.log $T/ab.txt $O/ 2>/dev/null
