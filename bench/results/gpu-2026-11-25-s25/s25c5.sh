# Session 25 call 5: where the probe GEMM's mainloop waits (ncu, in_proj shape,
# one launch of gw_gemm; and cuBLASLt's kernel of the same shape beside it).
set -x
nvcc -std=c++17 -O3 -lineinfo -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda -DGW_EPI=0 bench/gemm_probe.cu \
  -lcublasLt -lcuda -o gp0 || exit 1
timeout 240 ncu --kernel-name gw_gemm --launch-skip 1 --launch-count 1 --section SpeedOfLight --section WarpStateStats \
  --section SchedulerStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis ./gp0 16384 16 > $OUT/ncu_gw.txt 2>&1
echo "rc $?" >> $OUT/ncu_gw.txt
timeout 200 ncu --kernel-name regex:'sm90|gemm|cutlass' --launch-skip 12 --launch-count 1 --section SpeedOfLight \
  --section WarpStateStats --section MemoryWorkloadAnalysis ./gp0 16384 16 > $OUT/ncu_lt.txt 2>&1
echo "rc $?" >> $OUT/ncu_lt.txt
grep -E "Duration|Throughput|Busy|Issued|Stall|Eligible|Active Warps|Hit Rate|Bandwidth|pipe|rc |==PROF==|Kernel|gw_gemm|sm90" $OUT/ncu_gw.txt | head -60
grep -E "Duration|Throughput|Busy|Hit Rate|Bandwidth|rc |sm90|gemm" $OUT/ncu_lt.txt | head -30
