# Session 15 call 10: SM clock during a 2.7b bf16 8x2K prefill (nvidia-smi every 20 ms) against the
# standalone SSD kernel's run (bench/ssd_phase_prof.cu): is the model's SSD node slower for clocks?
O=$OUT; T=/tmp/s15c10; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
nvcc -I. -I.prebuilt/prof -gencode arch=compute_90a,code=sm_90a -std=c++17 -DKSRC='"strided.cu"' -DSMEM_T=ssd_smem bench/ssd_phase_prof.cu -o $T/ssd
export SSDC_CACHE_DIR=/tmp/c10
.prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048 --decode-batch 1 --decode-tokens 2 --out $T/warm.json > /dev/null 2>&1
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw --format=csv,noheader -lms 20 > $T/clk-model.csv & P=$!
.prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048 --decode-batch 1 --decode-tokens 2 --out $T/m.json > $T/m.log 2>&1
kill $P; sleep 0.5
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw --format=csv,noheader -lms 20 > $T/clk-ssd.csv & P=$!
for i in 1 2 3 4 5 6 7 8; do $T/ssd 8 2048; done > $T/ssd.log 2>&1
kill $P; sleep 0.5
for f in clk-model clk-ssd; do echo "== $f"; awk -F', ' '{gsub(/ MHz/,"",$2); gsub(/ W/,"",$3); if ($2+0 > 0) {n++; s+=$2; p+=$3; if ($2<mn||mn==0) mn=$2; if ($2>mx) mx=$2}} END {printf "samples %d  SM MHz mean %.0f min %d max %d  power mean %.0f W\n", n, s/n, mn, mx, p/n}' $T/$f.csv; done
tail -2 $T/ssd.log; grep -E "prefill" $T/m.log | head -3
cp $T/clk-*.csv $T/ssd.log $T/m.log $O/
