# Session 14 call 6: the final commit's SSD kernels on the GPU (test_ssd_gpu, both kernels),
# goldens and graphs through ssdc
O=$OUT; T=/tmp/s14c6; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Wall -Wextra -Werror -Iir -Icodegen -Iruntime tests/cuda/test_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/test_ssd_gpu
for w in 0 1; do SSDC_SSD_WG=$w timeout 150 $B/test_ssd_gpu > $T/ssd-wg$w.log 2>&1; echo "test_ssd_gpu SSDC_SSD_WG=$w rc $?"; grep -E "FAIL|passed|wgmma kernel" $T/ssd-wg$w.log; cp $T/ssd-wg$w.log $O/; done
export SSDC_CACHE_DIR=/tmp/c6
GM_BIN=$PWD/.prebuilt/test_gpu_golden OUT=$T/gm timeout 120 bash tests/gpu_model/gpu_run.sh > $T/gm.txt 2>&1; echo "goldens rc $?"; grep -E "FAIL|passed|MISMATCH" $T/gm.txt | tail -3
for c in mamba2_g2 bamba; do timeout 60 .prebuilt/test_gpu_graph tests/golden/$c > $T/graph-$c.log 2>&1; echo "graph $c rc $?"; done
