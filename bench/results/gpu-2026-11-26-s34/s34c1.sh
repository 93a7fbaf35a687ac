# Session 34, call 1: where the GEMM's blocks land, as a lever.  (1) the probe: how many clusters
# of 2/4/8/16 fit and which SMs they take; (2) the 2.7b prefill with the own GEMM's grid capped
# (SSDC_GW_GRID) and launched in clusters (SSDC_GW_CLUSTER; a cluster stays on one GPC, so with a
# grid of 128 = 8 x 16 each W column tile's 16 row tiles run on one GPC), 2 rounds interleaved;
# (3) SM clock and power sampled every 100 ms through all of it (is the prefill at the power cap?).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu,clocks_event_reasons.active --format=csv -lms 100 > $T/smi.csv 2>&1 &
SMI=$!
nvcc -arch=sm_90a -o /tmp/smp bench/sm_map_probe.cu && /tmp/smp > $T/smmap.txt 2>&1; echo "probe rc $?"; grep -v "^  cluster" $T/smmap.txt
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048,1x16384 --decode-batch 1 --decode-tokens 2"
mkdir -p $T/v
V="0:0 128:0 128:8 128:16 112:16 128:4"
for r in 1 2; do
  for v in $V; do
    echo "$(date +%T.%N) start $v r$r" >> $T/marks.txt
    SSDC_GW_GRID=${v%%:*} SSDC_GW_CLUSTER=${v##*:} timeout 120 .prebuilt/ssdc-x bench $M --out $T/v/$v-$r.json > $T/v/$v-$r.log 2>&1; echo "$v r$r rc $?"
  done
done
kill $SMI
for v in $V; do
  printf "%-7s" $v; for r in 1 2; do grep -h "^prefill" $T/v/$v-$r.log | awk '{printf " %s", $3}'; printf " |"; done; echo
done
tail -3 $T/v/0:0-1.log
tar czf $T/v.tgz -C $T v smi.csv marks.txt && rm -rf $T/v $T/smi.csv
exit 0
