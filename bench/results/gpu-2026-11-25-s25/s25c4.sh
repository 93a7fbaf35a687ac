# Session 25 call 4: the GEMM probe in block pairs (GW_CLUSTER=2: the W box
# shared by multicast copies) against single blocks, both epilogues.
set -x
b() { nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda "$@" bench/gemm_probe.cu -lcublasLt -lcuda; }
for e in 0 1; do for cl in 1 2; do b -DGW_EPI=$e -DGW_CLUSTER=$cl -o gp$e$cl || exit 1; done; done
timeout 60 ./gp01 16384 16 > $OUT/gp01.log 2>&1; echo "rc $?" >> $OUT/gp01.log
timeout 60 ./gp02 16384 8 16 4 > $OUT/gp02.log 2>&1; echo "rc $?" >> $OUT/gp02.log
timeout 60 ./gp11 16384 8 > $OUT/gp11.log 2>&1; echo "rc $?" >> $OUT/gp11.log
timeout 60 ./gp12 16384 4 8 16 > $OUT/gp12.log 2>&1; echo "rc $?" >> $OUT/gp12.log
cat $OUT/gp01.log $OUT/gp02.log $OUT/gp11.log $OUT/gp12.log
