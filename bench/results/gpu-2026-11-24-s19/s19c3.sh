# Session 19 call 3: phase 1 of the chunked SSD kernel double-buffered.
# test_ssd_gpu (float64 reference) with it, bench_ssd_gpu before (-old, HEAD's
# templates) and after, then the segment-length sweep after.
O=$OUT; T=/tmp/s19c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c19
s=$(date +%s); timeout 200 .prebuilt/test_ssd_gpu > $T/test.log 2>&1; echo "test rc $? $(( $(date +%s) - s )) s"; grep -E "FAIL|passed|failed" $T/test.log | tail -4
for v in -old "" -old ""; do timeout 120 .prebuilt/bench_ssd_gpu$v $T/bench$v.json > $T/bench$v.log 2>&1; echo "bench$v rc $?"; done
paste <(grep -E "^ *[0-9]+x" $T/bench-old.log | cut -c1-48) <(grep -E "^ *[0-9]+x" $T/bench.log | cut -c1-48) | head -16
s=$(date +%s); timeout 200 .prebuilt/bench_ssd_gpu $T/sweep.json sweep > $T/sweep.log 2>&1; echo "sweep rc $? $(( $(date +%s) - s )) s"
cp $T/* $O/ 2>/dev/null
