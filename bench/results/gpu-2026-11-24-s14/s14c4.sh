# Session 14 call 4: every GPU test (bench/gpu.sh, now also test_ssd_gpu on the wgmma
# kernel), then the standalone timing of both chunked kernels (copies by pointer step)
O=$OUT; T=/tmp/s14c4; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 420 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
grep -E "FAILED|passed|wgmma kernel" $T/gpu.txt $T/t/tests.log | tail -25; cp $T/t/tests.log $O/tests.log
cd .prebuilt/prof
NV="nvcc -I. -gencode arch=compute_90a,code=sm_90a -std=c++17"
$NV -DSSD_PHASE_PROF=1 -DKSRC='"wg.cu"' -DSMEM_T=wg_smem ../../bench/ssd_phase_prof.cu -o $T/prof_wg 2>/dev/null &
$NV -DKSRC='"wg.cu"' -DSMEM_T=wg_smem ../../bench/ssd_phase_prof.cu -o $T/t_wg 2>/dev/null &
$NV -DKSRC='"mma.cu"' -DSMEM_T=ssd_smem ../../bench/ssd_phase_prof.cu -o $T/t_mma 2>/dev/null &
wait
for b in prof_wg t_wg t_mma; do $T/$b 8 8192; $T/$b 1 2048; done 2>&1 | tee $O/phase-prof.txt
