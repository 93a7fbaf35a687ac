# Session 15 call 11: test_ssd_gpu (both chunked kernels) after the review's tidy of ssd_link's init load
O=$OUT; T=/tmp/s15c11; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
export SSDC_CACHE_DIR=/tmp/c11
for w in 0 1; do SSDC_SSD_WG=$w timeout 120 $B/test_ssd_gpu > $T/test-wg$w.log 2>&1; echo "wg=$w rc $?"; grep -E "FAIL|passed|wgmma kernel" $T/test-wg$w.log; done
cp $T/*.log $O/
