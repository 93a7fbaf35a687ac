# Session 34, call 2: the own GEMM with blocks in pairs sharing the W box by multicast copies
# (GW_MC=2: a third less L2->SM traffic for in_proj's 128 x 256 tiles), and with a fourth stage
# (GW_STAGES=4 beside one staging half, GW_HALVES=1).  (1) bench/gemm_probe.cu, in_proj's shape,
# against cuBLASLt and checked against it; (2) the 2.7b prefill with the same builds in the model
# (SSDC_GW_MC / SSDC_GW_ST / SSDC_GW_HV), 2 rounds interleaved, with clocks sampled.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
mkdir -p $T/v
P="base: mc:-DGW_MC=2 st4:-DGW_STAGES=4_-DGW_HALVES=1 mc4:-DGW_MC=2_-DGW_STAGES=4_-DGW_HALVES=1"
for p in $P; do
  n=${p%%:*}; f=${p#*:}; f=${f//_/ }
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Icodegen/cuda -DGW_EPI=0 $f bench/gemm_probe.cu -lcublasLt -lcuda -o /tmp/gp-$n > $T/v/build-$n.log 2>&1 &
done
wait
for p in $P; do
  n=${p%%:*}; echo "== probe $n"; timeout 60 /tmp/gp-$n 16384 > $T/v/probe-$n.log 2>&1; echo "rc $?"; cat $T/v/probe-$n.log | grep -v "^in_proj"
done
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,clocks_event_reasons.active --format=csv -lms 100 > $T/v/smi.csv 2>&1 &
SMI=$!
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 2"
V="0:3:2 1:3:2 0:4:1 1:4:1"
for r in 1 2; do
  for v in $V; do
    IFS=: read mc st hv <<< "$v"
    echo "$(date +%T.%N) start $v r$r" >> $T/v/marks.txt
    SSDC_GW_MC=$mc SSDC_GW_ST=$st SSDC_GW_HV=$hv timeout 90 .prebuilt/ssdc-x bench $M --out $T/v/m$mc$st$hv-$r.json > $T/v/m$mc$st$hv-$r.log 2>&1; echo "$v r$r rc $?"
  done
done
kill $SMI
for v in $V; do
  IFS=: read mc st hv <<< "$v"
  printf "%-7s" $v; for r in 1 2; do grep -h "^prefill" $T/v/m$mc$st$hv-$r.log | awk '{printf " %s", $3}'; printf " |"; done; echo
done
tar czf $T/v.tgz -C $T v && rm -rf $T/v
exit 0
