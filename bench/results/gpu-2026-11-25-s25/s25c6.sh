# Session 25 call 6: the probe after the review (one tile-walk function for
# producer and consumers, shared probe_util.cuh): correctness and times again,
# the sustained pairs in both orders.
set -x
b() { nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda "$@" bench/gemm_probe.cu -lcublasLt -lcuda; }
b -DGW_EPI=0 -o gp0 && b -DGW_EPI=1 -o gp1 || exit 1
nvcc -std=c++17 -O2 bench/alpha_vec_probe.cu -lcublasLt -o avp || exit 1
timeout 100 ./gp0 16384 16 > $OUT/gp0.log 2>&1; echo "rc $?" >> $OUT/gp0.log
timeout 100 ./gp1 16384 16 > $OUT/gp1.log 2>&1; echo "rc $?" >> $OUT/gp1.log
cat $OUT/gp0.log $OUT/gp1.log
