# Session 25 call 8: the probe after the second review (wg_mma.cuh's fence,
# commit, wait and descriptor instead of copies; accumulators as [32][4]):
# checks and times again.
set -x
b() { nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda "$@" bench/gemm_probe.cu -lcublasLt -lcuda; }
b -DGW_EPI=0 -o gp0 && b -DGW_EPI=1 -o gp1 || exit 1
timeout 60 ./gp0 16384 16 > $OUT/gp0.log 2>&1; echo "rc $?" >> $OUT/gp0.log
timeout 60 ./gp1 16384 16 > $OUT/gp1.log 2>&1; echo "rc $?" >> $OUT/gp1.log
cat $OUT/gp0.log $OUT/gp1.log
