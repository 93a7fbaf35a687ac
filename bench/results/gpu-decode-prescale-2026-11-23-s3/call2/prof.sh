set -o pipefail
t0=$(date +%s)
which nsys ncu compute-sanitizer 2>&1 | head; ls /usr/local/cuda*/bin 2>/dev/null | grep -E "nsys|ncu" | head
DEC_NO_BENCH=1 OUT=/tmp/dec bash tests/cuda_dec/dec_gpu.sh > /tmp/dec.log 2>&1; echo "dec rc=$? ($(( $(date +%s) - t0 )) s)"
grep -E "FAIL|failures|prescaled|emitted|gated norm" /tmp/dec/tests.log | head -20
export SSDC_CACHE_DIR=/tmp/abc
for c in mamba2_g2 bamba; do .prebuilt/test_gpu_graph tests/golden/$c > /tmp/g-$c.log 2>&1; echo "graph $c rc=$?"; grep -iE "fail|differ" /tmp/g-$c.log | head -3; done
for v in new nopdl; do
  pdl=1; [ $v = nopdl ] && pdl=0
  SSDC_PDL=$pdl timeout 60 .prebuilt/ssdc bench --device cuda --dtype bf16 --prefill 1x8 --decode-batch 1,4 --out $OUT/130m-$v.json 2>&1 | grep -E "decode|rror" | sed "s/^/130m $v: /"
  SSDC_PDL=$pdl timeout 90 .prebuilt/ssdc bench --device cuda --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x8 --decode-batch 1,4 --out $OUT/27b-$v.json 2>&1 | grep -E "decode|rror" | sed "s/^/2.7b $v: /"
done
NSYS=$(which nsys || ls /usr/local/cuda*/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
if [ -n "$NSYS" ]; then
  timeout 120 $NSYS profile --cuda-graph-trace=node -t cuda -o /tmp/p130 .prebuilt/ssdc bench --device cuda --dtype bf16 --prefill 1x8 --decode-batch 1 --decode-tokens 32 --out /tmp/x.json > /tmp/nsys.log 2>&1; echo "nsys rc=$?"
  $NSYS stats --report cuda_gpu_kern_sum --format csv /tmp/p130.nsys-rep 2>/dev/null | head -30 > $OUT/kern130.csv
  $NSYS stats --report cuda_gpu_trace --format csv /tmp/p130.nsys-rep 2>/dev/null | tail -400 > $OUT/trace130.csv
  head -20 $OUT/kern130.csv
fi
echo "total $(( $(date +%s) - t0 )) s"
