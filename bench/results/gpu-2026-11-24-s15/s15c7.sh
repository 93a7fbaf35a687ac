# Session 15 call 7: the chunked SSD kernel standalone (bench/ssd_phase_prof.cu), dense operands
# (as bench_ssd_gpu) vs the model's strided ones (x, B, C slices of the conv output, ld 5376; dt a
# column of in_proj's output, ld 10576), same kernel otherwise
O=$OUT; T=/tmp/s15c7; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
for k in dense strided; do
  nvcc -I. -I.prebuilt/prof -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC="\"$k.cu\"" -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/$k 2>&1 | grep -v Wno &
done; wait
for r in 1 2; do for k in dense strided; do for a in "8 2048" "1 16384 18" "32 2048" "8 8192"; do $T/$k $a; done; done; done 2>&1 | tee $O/strided.txt
