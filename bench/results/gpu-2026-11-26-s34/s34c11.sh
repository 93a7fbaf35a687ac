# Session 34, call 11: corr_gnorm_probe v4 with more y/z stages than S_in stages (warp 1 copies S_in on
# barriers of its own): NB:NS = 5:2 and 4:2 (more bytes of y and z in flight), against 3:3.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
V="v4b5s2:-DCG_V4=1,-DCG4_NB=5,-DCG4_NS=2 v4b4s2:-DCG_V4=1,-DCG4_NB=4,-DCG4_NS=2 v4b3:-DCG_V4=1"
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
