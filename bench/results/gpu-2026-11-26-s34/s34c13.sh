# Session 34, call 13: call 12 again for v5 alone, with the fix for a block holding two tickets of one tile (call 12 hung at 8 segments).
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
V="v5:-DCG_V5=1"
for v in $V; do
  n=${v%%:*}; f=${v#*:}; f=${f//,/ }
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda $f bench/corr_gnorm_probe.cu -lcuda -o /tmp/cgp-$n > $T/build-$n.log 2>&1 &
done
wait
for v in $V; do
  n=${v%%:*}
  for sl in 2048 16384; do
    echo "== $n, segments of $sl"; timeout 60 /tmp/cgp-$n 16384 $sl; echo "rc $?"
  done
done 2>&1 | tee $T/probe.log
exit 0
