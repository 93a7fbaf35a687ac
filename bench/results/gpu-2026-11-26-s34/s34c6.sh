# Session 34, call 6: corr_gnorm_probe with 32-token tiles (two blocks a SM, CG_T=32) against 64
# (one a SM), both with two heads in flight; 8 segments of 2048 and 1 (no correction).
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
for t in 64 32; do
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda -DCG_T=$t bench/corr_gnorm_probe.cu -o /tmp/cgpt$t > $T/build$t.log 2>&1 &
done
wait
for t in 64 32; do
  for sl in 2048 16384; do
    echo "== CG_T $t, segments of $sl"; timeout 120 /tmp/cgpt$t 16384 $sl; echo "rc $?"
  done
done 2>&1 | tee $T/probe.log
exit 0
