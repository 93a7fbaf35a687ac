# Session 34, call 10: corr_gnorm_probe v4 with y and z by 2-D tensor copies (128-byte swizzle; call 9's
# bulk copy a row was TMA-issue-bound), 3 and 2 stages, and v2 with 32-token tiles again beside it.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
V="v4t3:-DCG_V4=1 v4t2:-DCG_V4=1,-DCG4_NB=2 v2t32:-DCG_T=32"
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
