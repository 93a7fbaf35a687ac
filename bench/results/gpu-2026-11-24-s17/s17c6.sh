# Session 17 call 6: the mask's factors exp(cs_t - cs_s) dt_s computed by the producer warp
# (wg_decay_tiles, bf16 pairs in shared memory) instead of by the consumers: the kernels alone
# at the model's strides (wg with its phase profile), then bench_ssd_gpu default vs SSDC_SSD_WG=1.
O=$OUT; T=/tmp/s17c6; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c17
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
gcc -std=c17 -O2 -Iir -Icodegen -Iruntime bench/bench_ssd_gpu.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/bench_ssd_gpu &
for k in wg mma; do
  nvcc -I. -I.prebuilt -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC="\"$k.cu\"" -DSMEM_T=$([ $k = wg ] && echo wg_smem || echo ssd_smem) bench/ssd_phase_prof.cu -o $T/$k 2>&1 | grep -v Wno &
done
nvcc -I. -I.prebuilt -gencode arch=compute_90a,code=sm_90a -std=c++17 -DSSD_PHASE_PROF=1 -DKSRC='"wg.cu"' -DSMEM_T=wg_smem bench/ssd_phase_prof.cu -o $T/wgp 2>&1 | grep -v Wno &
wait
for r in 1 2; do for a in "8 2048" "8 8192" "32 2048" "1 16384 18"; do for k in mma wg; do timeout 30 $T/$k $a; done; done; done 2>&1 | tee $T/kern.txt
timeout 30 $T/wgp 8 8192 | tee $T/prof.txt
for w in 0 1; do SSDC_SSD_WG=$w timeout 120 $B/bench_ssd_gpu $T/bench-wg$w.json > $T/bench-wg$w.log 2>&1; echo "bench wg=$w rc $?"; done
paste <(grep -E "^ *[0-9]+x" $T/bench-wg0.log | cut -c1-40) <(grep -E "^ *[0-9]+x" $T/bench-wg1.log | cut -c1-40) | head -14
cp $T/kern.txt $T/prof.txt $T/bench-wg*.log $O/
