# Session 34, call 14: corr_gnorm_probe after its clean-up (v2 and v4 sharing the gate, the row scale
# and the store; v3, v5 and v4's bulk copy a row removed): the kept variants re-checked and re-timed.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
V="v2:-DCG_NB=2 v2t32:-DCG_T=32 v2t32fold:-DCG_T=32,-DCG_FOLD=1 v4:-DCG_V4=1"
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
