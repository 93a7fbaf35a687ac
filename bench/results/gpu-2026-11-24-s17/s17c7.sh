# Session 17 call 7: how much of z's in_proj GEMM (2.7b: tokens x 2560 x 5120) hides under the
# SSD kernel when the two run on two streams (bench/overlap_probe.cu), at 8x2K, 4x2K, 16x2K (one segment: batch-1 shapes would need the look-back).
O=$OUT; T=/tmp/s17c7; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
nvcc -I. -I.prebuilt -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC='"mma.cu"' -DSMEM_T=ssd_smem bench/overlap_probe.cu -lcublas -o $T/probe 2>&1 | grep -v Wno
for r in 1 2; do for a in "8 2048" "4 2048" "16 2048"; do timeout 60 $T/probe $a; done; done 2>&1 | tee $O/probe.txt
