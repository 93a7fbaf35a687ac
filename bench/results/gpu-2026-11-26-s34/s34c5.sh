# Session 34, call 5: bench/corr_gnorm_probe.cu, the plan's riskiest piece timed before it is built:
# the gated norm's pass with each segment's entering-state correction (mma.sync) against ssdc's gated
# norm on the same bytes; 2 or 3 heads in flight (CG_NB); 8 segments of 2048 and 1 (no correction).
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
for nb in 2 3; do
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda -DCG_NB=$nb bench/corr_gnorm_probe.cu -o /tmp/cgp$nb > $T/build$nb.log 2>&1 &
done
wait
for nb in 2 3; do
  for sl in 2048 16384; do
    echo "== CG_NB $nb, segments of $sl"; timeout 120 /tmp/cgp$nb 16384 $sl; echo "rc $?"
  done
done 2>&1 | tee $T/probe.log
exit 0
