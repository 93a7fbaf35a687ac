# Session 25 call 2: the GEMM probe with the fp32 epilogue as L2 reductions
# (red.global.add.v2.f32), a mainloop-only timing, and 3 stages against 4.
set -x
b() { nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda "$@" bench/gemm_probe.cu -lcublasLt -lcuda; }
b -DGW_EPI=0 -o gp0 && b -DGW_EPI=1 -o gp1 && b -DGW_EPI=0 -DGW_STAGES=3 -o gp0s3 || exit 1
timeout 100 ./gp0 16384 16 8 > $OUT/gp0.log 2>&1; echo "gp0 rc $?" >> $OUT/gp0.log
timeout 100 ./gp1 16384 16 8 > $OUT/gp1.log 2>&1; echo "gp1 rc $?" >> $OUT/gp1.log
timeout 100 ./gp0s3 16384 16 > $OUT/gp0s3.log 2>&1; echo "gp0s3 rc $?" >> $OUT/gp0s3.log
cat $OUT/gp0.log $OUT/gp1.log $OUT/gp0s3.log
