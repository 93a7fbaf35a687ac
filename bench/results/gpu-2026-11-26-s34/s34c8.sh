# Session 34, call 8: corr_gnorm_probe v2 as the fold would use it (CG_FOLD=1: gy unnormalized and the
# rows' partial sums out, no wait for the tile's siblings, no scaling; its check fails by design),
# 32- and 64-token tiles; and the separate correction's floor for comparison is the gated norm's.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
V="f32:-DCG_FOLD=1,-DCG_T=32 f64:-DCG_FOLD=1 f64nb3:-DCG_FOLD=1,-DCG_NB=3"
for v in $V; do
  n=${v%%:*}; f=${v#*:}; f=${f//,/ }
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda $f bench/corr_gnorm_probe.cu -o /tmp/cgp-$n > $T/build-$n.log 2>&1 &
done
wait
for v in $V; do
  n=${v%%:*}
  for sl in 2048 16384; do
    echo "== $n, segments of $sl"; timeout 120 /tmp/cgp-$n 16384 $sl; echo "rc $?"
  done
done 2>&1 | tee $T/probe.log
exit 0
