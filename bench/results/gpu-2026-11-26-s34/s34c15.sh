# Session 34, call 15: corr_gnorm_probe after its inputs moved to probe_util's hash01 (review): the
# kept variants still pass their float64 check, timings as before.
set -uo pipefail
T=$OUT
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
for v in "v2t32:-DCG_T=32" "v4:-DCG_V4=1"; do
  n=${v%%:*}; f=${v#*:}
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda $f bench/corr_gnorm_probe.cu -lcuda -o /tmp/cgp-$n > $T/build-$n.log 2>&1 &
done
wait
for n in v2t32 v4; do echo "== $n"; timeout 60 /tmp/cgp-$n 16384 2048; echo "rc $?"; done 2>&1 | tee $T/probe.log
exit 0
