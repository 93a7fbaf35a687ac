# Session 15 call 3: where a look-back link's time goes (mma.sync kernel, %globaltimer per block step,
# bench/ssd_phase_prof.cu with SSD_LINK_PROF), and the same with a tight spin instead of __nanosleep(100)
O=$OUT; T=/tmp/s15c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
for k in mma mma_spin; do
  nvcc -I. -I.prebuilt/prof -gencode arch=compute_90a,code=sm_90a -std=c++17 -DSSD_LINK_PROF=1 -DKSRC="\"$k.cu\"" -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/$k 2>&1 | grep -v Wno &
done; wait
for k in mma mma_spin; do
  for a in "1 1024 16" "1 1024 4" "1 1024 2" "1 1024 1" "1 16384 18" "1 2048 8"; do echo "== $k $a"; $T/$k $a; done
done 2>&1 | tee $O/linkprof.txt
