# Session 26, call 7: call 6's out_proj check failed because the probe's sums of squares were drawn
# from [-0.25, 0.75) (hash01 is centred), so a quarter of the rows had a NaN scale on both sides;
# now [0.5, 1.5).  out_proj again at 16K and 2K tokens.
set -x
nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda -DGW_EPI=1 bench/gemm_probe.cu -lcublasLt -lcuda -o gp1 || exit 1
timeout 60 ./gp1 16384 16 > $OUT/gp1.log 2>&1; echo "rc $?" >> $OUT/gp1.log
timeout 60 ./gp1 2048 16 4 > $OUT/gp1-2k.log 2>&1; echo "rc $?" >> $OUT/gp1-2k.log
cat $OUT/gp1.log $OUT/gp1-2k.log
