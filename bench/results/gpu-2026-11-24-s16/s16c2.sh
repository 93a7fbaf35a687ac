# Session 16 call 2: the chunked SSD kernel alone (bench/ssd_phase_prof.cu), x/B/C/dt rows 10576
# apart: xc0 no folded conv; xc4 the folded conv (K=4); xc4s its SiLU removed; xc4n the folded
# conv's halo layout and loads without the conv; xc4t the SiLU as 0.5x(1+tanh.approx(x/2))
O=$OUT; T=/tmp/s16c2; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
V="xc0 xc4 xc4s xc4n xc4t"
for k in $V; do
  nvcc -I. -I.prebuilt/p16 -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC="\"$k.cu\"" -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/$k 2>&1 | grep -v Wno &
done; wait
for r in 1 2; do for a in "8 2048" "1 16384 18" "32 2048"; do for k in $V; do $T/$k $a; done; done; done 2>&1 | tee $O/kern.txt
