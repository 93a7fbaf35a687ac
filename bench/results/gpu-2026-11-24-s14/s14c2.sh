# Session 14 call 2: where the wgmma SSD kernel's chunk loop spends its time
# (bench/ssd_phase_prof.cu on generated sources in .prebuilt/prof), and the
# wgmma rate on the no-swizzle layout (bench/wgmma_probe.cu)
O=$OUT; T=/tmp/s14c2; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
nvcc -gencode arch=compute_90a,code=sm_90a -std=c++17 -I codegen/cuda -o $T/probe bench/wgmma_probe.cu && $T/probe
cd .prebuilt/prof
sed 's/fence.proxy.async.shared::cta;//' wg.cu > wg_nofence.cu
NV="nvcc -I. -gencode arch=compute_90a,code=sm_90a -std=c++17"
$NV -DSSD_PHASE_PROF=1 -DKSRC='"wg.cu"' -DSMEM_T=wg_smem ../../bench/ssd_phase_prof.cu -o $T/prof_wg &
$NV -DKSRC='"wg.cu"' -DSMEM_T=wg_smem ../../bench/ssd_phase_prof.cu -o $T/t_wg &
$NV -DKSRC='"wg_nofence.cu"' -DSMEM_T=wg_smem ../../bench/ssd_phase_prof.cu -o $T/t_wgnf &
$NV -DKSRC='"mma.cu"' -DSMEM_T=ssd_smem ../../bench/ssd_phase_prof.cu -o $T/t_mma &
wait
for b in prof_wg t_wg t_wgnf t_mma; do $T/$b 3 8192; $T/$b 1 2048; done
