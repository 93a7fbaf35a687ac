# Session 33, call 2 (call 1 skipped past the prefills): where the 2.7b prefill's time goes between kernels.  ncu reads each kernel's
# duration (gpu__time_duration, clocks and caches left alone) over the first 2600 launches (the
# warm-up and timed forwards) at 8x2K and 1x16K; the same shapes timed without ncu in the same call.  The sum of
# one forward's kernel durations against its timed wall says how much is launch gaps and tails.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 2"
for sh in 8x2048 1x16384; do
  timeout 120 .prebuilt/ssdc bench $M --prefill $sh --out $T/b-$sh.json > $T/bench-$sh.log 2>&1; echo "bench $sh rc $?"
  grep prefill $T/bench-$sh.log
  timeout 240 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
    --launch-skip 0 --launch-count 2600 .prebuilt/ssdc bench $M --prefill $sh > $T/ncu-$sh.csv 2> $T/ncu-$sh.err; echo "ncu $sh rc $?"
  tail -2 $T/ncu-$sh.err; wc -l $T/ncu-$sh.csv
done
cd $T && tar czf ncu.tgz ncu-*.csv ncu-*.err bench-*.log b-*.json && rm -f ncu-*.csv ncu-*.err b-*.json
exit 0
