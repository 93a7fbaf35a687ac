# Session 14 call 3: the raw dt kept unconverted (no load stall in warp 0's scan), both
# kernels, standalone (bench/ssd_phase_prof.cu), with the wgmma loop's finer step profile
T=/tmp/s14c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
cd .prebuilt/prof
NV="nvcc -I. -gencode arch=compute_90a,code=sm_90a -std=c++17"
$NV -DSSD_PHASE_PROF=1 -DKSRC='"wg.cu"' -DSMEM_T=wg_smem ../../bench/ssd_phase_prof.cu -o $T/prof_wg 2>/dev/null &
$NV -DKSRC='"wg.cu"' -DSMEM_T=wg_smem ../../bench/ssd_phase_prof.cu -o $T/t_wg 2>/dev/null &
$NV -DKSRC='"mma.cu"' -DSMEM_T=ssd_smem ../../bench/ssd_phase_prof.cu -o $T/t_mma 2>/dev/null &
wait
for b in prof_wg t_wg t_mma; do $T/$b 3 8192; $T/$b 1 2048; $T/$b 8 8192; done
