# Session 34, call 12: corr_gnorm_probe v5 (v4 persistent: a tile's end runs beside the block's next
# tile's copies; 5 heads a block, two gy buffers), against v2 with 32-token tiles.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
V="v5:-DCG_V5=1 v2t32:-DCG_T=32"
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
