# Session 25 call 1: ssdc's own Hopper GEMM (bench/gemm_wg.cuh) against cuBLASLt
# on the 2.7b's in_proj and out_proj shapes (bench/gemm_probe.cu).
set -x
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $OUT/gpu.txt 2>&1
for e in 0 1; do
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda -DGW_EPI=$e bench/gemm_probe.cu \
    -lcublasLt -lcuda -o gp$e > $OUT/build$e.log 2>&1 || { cat $OUT/build$e.log; exit 1; }
done
timeout 120 ./gp0 16384 16 8 32 4 > $OUT/gp0.log 2>&1; echo "gp0 rc $?" >> $OUT/gp0.log
timeout 120 ./gp1 16384 16 8 32 4 > $OUT/gp1.log 2>&1; echo "gp1 rc $?" >> $OUT/gp1.log
cat $OUT/gpu.txt $OUT/gp0.log $OUT/gp1.log
