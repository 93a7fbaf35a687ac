# Session 26, call 6: bench/gemm_probe.cu on the codegen kernel (codegen/cuda/gw_gemm.cuh, the row
# scale now from sums of squares) beside cuBLASLt, as in session 25: checks and times.
set -x
b() { nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda "$@" bench/gemm_probe.cu -lcublasLt -lcuda; }
b -DGW_EPI=0 -o gp0 && b -DGW_EPI=1 -o gp1 || exit 1
timeout 60 ./gp0 16384 16 > $OUT/gp0.log 2>&1; echo "rc $?" >> $OUT/gp0.log
timeout 60 ./gp1 16384 16 > $OUT/gp1.log 2>&1; echo "rc $?" >> $OUT/gp1.log
timeout 60 ./gp1 2048 16 4 > $OUT/gp1-2k.log 2>&1; echo "rc $?" >> $OUT/gp1-2k.log
cat $OUT/gp0.log $OUT/gp1.log $OUT/gp1-2k.log
