set -o pipefail
t0=$(date +%s)
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$OUT bash bench/gpu.sh > $OUT/gpu-sh.log 2>&1; echo "gpu.sh rc=$? ($(( $(date +%s) - t0 )) s)"
grep -E "FAILED|FAIL |failures|graph logits|kernels/step" $OUT/gpu-sh.log $OUT/tests.log $OUT/dec/tests.log 2>/dev/null | sort | uniq -c | head -40
grep -E "prescaled|emitted|gated norm" $OUT/dec/tests.log | head -20
export SSDC_CACHE_DIR=/tmp/abc
for round in 1 2; do
for v in prev new nopdl; do
  b=.prebuilt; [ $v = prev ] && b=.prebuilt-prev
  pdl=1; [ $v = nopdl ] && pdl=0
  SSDC_PDL=$pdl timeout 60 $b/ssdc bench --device cuda --dtype bf16 --prefill 1x8 --decode-batch 1,4,16 --out $OUT/130m-$v-$round.json 2>&1 | grep -E "decode|rror" | sed "s/^/130m $v $round: /"
  SSDC_PDL=$pdl timeout 90 $b/ssdc bench --device cuda --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x8 --decode-batch 1,4,16 --out $OUT/27b-$v-$round.json 2>&1 | grep -E "decode|rror" | sed "s/^/2.7b $v $round: /"
done; done
echo "total $(( $(date +%s) - t0 )) s"
