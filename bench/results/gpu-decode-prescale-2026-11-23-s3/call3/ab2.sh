set -o pipefail
t0=$(date +%s)
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=/tmp/g bash bench/gpu.sh > /tmp/gpu-sh.log 2>&1; echo "gpu.sh rc=$? ($(( $(date +%s) - t0 )) s)"
cp /tmp/gpu-sh.log $OUT/; cp /tmp/g/tests.log $OUT/tests.log
grep -E "FAILED|FAIL |failures|graph logits|kernels/step|passed" /tmp/g/tests.log | sort | uniq -c | head -40
export SSDC_CACHE_DIR=/tmp/abc
for round in 1 2; do
for v in prev new nopdl; do
  b=.prebuilt; [ $v = prev ] && b=.prebuilt-prev
  pdl=1; [ $v = nopdl ] && pdl=0
  SSDC_PDL=$pdl timeout 60 $b/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --prefill 1x8 --decode-batch 1,4,16 --out $OUT/130m-$v-$round.json 2>&1 | grep -E "decode|rror" | sed "s/^/130m $v $round: /"
  SSDC_PDL=$pdl timeout 90 $b/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x8 --decode-batch 1,4,16 --out $OUT/27b-$v-$round.json 2>&1 | grep -E "decode|rror" | sed "s/^/2.7b $v $round: /"
done; done
echo "total $(( $(date +%s) - t0 )) s"
