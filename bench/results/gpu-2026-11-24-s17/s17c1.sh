# Session 17 call 1: the warp-specialised wgmma SSD kernel (ssd_wg.cuh: producer warp + mbarriers).
# test_ssd_gpu on both kernels (float64 reference), bench_ssd_gpu default vs SSDC_SSD_WG=1,
# the kernels alone at the model's strides (ssd_phase_prof.cu; wg with its phase profile),
# then the 2.7b prefill with each kernel (same binary, 1 round).
O=$OUT; T=/tmp/s17c1; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c17
B=$T/b; mkdir -p $B
cmake -DOUT=$B/emb.c "-DIN=$(ls codegen/cuda/*.cuh | tr '\n' '|')" -P codegen/cg_embed.cmake > /dev/null
for p in bench/bench_ssd_gpu tests/cuda/test_ssd_gpu; do
  gcc -std=c17 -O2 -Iir -Icodegen -Iruntime $p.c runtime/rt_cuda.c runtime/rt_cuda_emu.c runtime/rt_cuda_ssd.c runtime/rt_ssm_ref.c ir/ssd_base.c codegen/cg_cache.c codegen/cg_cuda.c codegen/cg_nvrtc.c codegen/cg_emu.c $B/emb.c -ldl -lpthread -lm -o $B/$(basename $p) &
done
nvcc -I. -I.prebuilt -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC='"wg.cu"' -DSMEM_T=wg_smem bench/ssd_phase_prof.cu -o $T/wg 2>&1 | grep -v Wno &
nvcc -I. -I.prebuilt -gencode arch=compute_90a,code=sm_90a -std=c++17 -DSSD_PHASE_PROF=1 -DKSRC='"wg.cu"' -DSMEM_T=wg_smem bench/ssd_phase_prof.cu -o $T/wgp 2>&1 | grep -v Wno &
nvcc -I. -I.prebuilt -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC='"mma.cu"' -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/mma 2>&1 | grep -v Wno &
wait
for w in 1 0; do SSDC_SSD_WG=$w timeout 150 $B/test_ssd_gpu > $T/test-wg$w.log 2>&1; echo "test wg=$w rc $?"; grep -E "FAIL|passed|cases" $T/test-wg$w.log | tail -5; done
for a in "8 2048" "8 8192" "32 2048" "1 16384 18" "1 16384 26"; do for k in mma wg; do timeout 30 $T/$k $a; done; done 2>&1 | tee $T/kern.txt
timeout 30 $T/wgp 8 8192 | tee $T/prof.txt
for w in 0 1; do SSDC_SSD_WG=$w timeout 120 $B/bench_ssd_gpu $T/bench-wg$w.json > $T/bench-wg$w.log 2>&1; echo "bench wg=$w rc $?"; done
paste <(grep -E "^ *[0-9]+x" $T/bench-wg0.log | cut -c1-40) <(grep -E "^ *[0-9]+x" $T/bench-wg1.log | cut -c1-40) | head -14
A=.prebuilt/ssdc B=.prebuilt/ssdc-wg ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 200 bash bench/ab_gpu.sh 1 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -12 $T/ab.txt
cp $T/*.log $T/kern.txt $T/prof.txt $T/ab.txt $O/ 2>/dev/null
