# Session 16 call 3: as call 2 (s16c2.sh), with xc4w (the conv weights and bias as constants:
# no loads) and xc4e (the conv replaced by a copy of each row: its shared-memory traffic only)
O=$OUT; T=/tmp/s16c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
V="xc0 xc4n xc4e xc4w xc4"
for k in $V; do
  nvcc -I. -I.prebuilt/p16 -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC="\"$k.cu\"" -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/$k 2>&1 | grep -v Wno &
done; wait
for r in 1 2; do for a in "8 2048" "1 16384 18"; do for k in $V; do $T/$k $a; done; done; done 2>&1 | tee $O/kern.txt
