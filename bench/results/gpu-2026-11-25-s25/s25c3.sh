# Session 25 call 3: the GEMM probe with the epilogue staged in shared memory and
# sent by tensor stores (fp32: tensor reduce-add), 3 stages.
set -x
b() { nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda "$@" bench/gemm_probe.cu -lcublasLt -lcuda; }
b -DGW_EPI=0 -o gp0 && b -DGW_EPI=1 -o gp1 || exit 1
timeout 100 ./gp0 16384 16 8 > $OUT/gp0.log 2>&1; echo "gp0 rc $?" >> $OUT/gp0.log
timeout 100 ./gp1 16384 16 8 > $OUT/gp1.log 2>&1; echo "gp1 rc $?" >> $OUT/gp1.log
cat $OUT/gp0.log $OUT/gp1.log
