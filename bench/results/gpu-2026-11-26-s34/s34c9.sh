# Session 34, call 9: corr_gnorm_probe v4 (warp-specialized: warp 0 bulk-copies y, z rows and S_in[h]
# into stages on mbarriers; a consumer warpgroup runs C . S_in^T by wgmma and gates), 3 or 2 stages.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
V="v4nb3:-DCG_V4=1 v4nb2:-DCG_V4=1,-DCG4_NB=2"
for v in $V; do
  n=${v%%:*}; f=${v#*:}; f=${f//,/ }
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda $f bench/corr_gnorm_probe.cu -o /tmp/cgp-$n > $T/build-$n.log 2>&1 &
done
wait
for v in $V; do
  n=${v%%:*}
  for sl in 2048 16384; do
    echo "== $n, segments of $sl"; timeout 60 /tmp/cgp-$n 16384 $sl; echo "rc $?"
  done
done 2>&1 | tee $T/probe.log
exit 0
