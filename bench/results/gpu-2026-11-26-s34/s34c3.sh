# Session 34, call 3: (1) call 2's probe builds again (its script's `_` -> ` ` also split GW_MC):
# the own GEMM alone, base / pairs with multicast (GW_MC=2) / a fourth stage with one staging half,
# in_proj's shape, against cuBLASLt; (2) the 2.7b prefill with the own GEMM's band (SSDC_GW_BAND,
# row tiles that walk a W column tile together: 8, 16 = the default, 32, 64) and call 1's grid of
# 128 again (its 165.2 ms at 8x2K in one of two rounds), 2 rounds interleaved.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
mkdir -p $T/v
P="base: mc:-DGW_MC=2 mc4:-DGW_MC=2,-DGW_STAGES=4,-DGW_HALVES=1"
for p in $P; do
  n=${p%%:*}; f=${p#*:}; f=${f//,/ }
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda -DGW_EPI=0 $f bench/gemm_probe.cu -lcublasLt -lcuda -o /tmp/gp-$n > $T/v/build-$n.log 2>&1 &
done
wait
for p in $P; do
  n=${p%%:*}; echo "== probe $n"; timeout 60 /tmp/gp-$n 16384 > $T/v/probe-$n.log 2>&1; echo "rc $?"; cat $T/v/probe-$n.log | grep -v "^in_proj"
done
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 2"
V="16:0 8:0 32:0 64:0 16:128"
for r in 1 2; do
  for v in $V; do
    IFS=: read bd gr <<< "$v"
    SSDC_GW_BAND=$bd SSDC_GW_GRID=$gr timeout 90 .prebuilt/ssdc-x bench $M --out $T/v/b$bd-$gr-$r.json > $T/v/b$bd-$gr-$r.log 2>&1; echo "$v r$r rc $?"
  done
done
for v in $V; do
  IFS=: read bd gr <<< "$v"
  printf "%-7s" $v; for r in 1 2; do grep -h "^prefill" $T/v/b$bd-$gr-$r.log | awk '{printf " %s", $3}'; printf " |"; done; echo
done
tar czf $T/v.tgz -C $T v && rm -rf $T/v
exit 0
