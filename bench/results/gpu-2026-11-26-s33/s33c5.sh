# Session 33, call 5: call 4's B was 2.6-3.7% slower than A.  Separate its two parts: b = the edge
# kernel with 16-byte tap loads (call 4's loaded a tap at a time: 22-24 us under ncu against the old
# kernel's 14) and PDL launches for the own GEMM, the edge kernel and the SSD kernel, but the norm
# launched plainly again (after cuBLASLt's out_proj); c = the edge kernel alone, every launch as
# before.  old = fdfe89c.  2 rounds interleaved; the edge kernel's duration under ncu.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 120 .prebuilt/test_ops_gpu > $T/ops.log 2>&1; echo "ops rc $?"; grep -E "FAIL|passed" $T/ops.log | head -5
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64"
timeout 120 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv -k regex:conv_edge --launch-count 20 \
  .prebuilt/ssdc-c bench $M --prefill 8x2048 --decode-batch 1 --decode-tokens 2 > $T/ncu-edge.csv 2>&1; echo "ncu rc $?"; grep conv_edge $T/ncu-edge.csv | tail -3 | cut -c1-60,150-
mkdir -p $T/v
for r in 1 2; do
  for v in old b c; do
    timeout 150 .prebuilt/ssdc-$v bench $M --prefill 1x2048,8x2048,1x16384 --decode-batch 1 --decode-tokens 8 --out $T/v/$v-$r.json > $T/v/$v-$r.log 2>&1; echo "$v r$r rc $?"
  done
done
for v in old b c; do
  printf "%-4s" $v; for r in 1 2; do grep -h "^prefill" $T/v/$v-$r.log | awk '{printf " %s", $3}'; printf " |"; done; echo
done
tar czf $T/v.tgz -C $T v && rm -rf $T/v
exit 0
