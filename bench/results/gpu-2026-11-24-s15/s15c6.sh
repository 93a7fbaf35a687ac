# Session 15 call 6: per-line device-time profile of 2.7b bf16 1x16K and 8x2K prefill, A = HEAD, B = working
# tree ($SSDC_PROFILE), then the whole GPU test suite of the working tree (bench/gpu.sh, tests only)
O=$OUT; T=/tmp/s15c6; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c6
for v in head new; do bin=.prebuilt/ssdc; [ $v = head ] && bin=.prebuilt/ssdc-head
  for p in 1x16384 8x2048; do
    SSDC_PROFILE=1 timeout 90 $bin bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill $p --decode-batch 1 --decode-tokens 2 --out $T/p-$v-$p.json > $T/prof-$v-$p.txt 2>&1; echo "$v $p rc $?"
  done
done
for p in 1x16384 8x2048; do for v in head new; do echo "== $v $p"; grep -E "ssm|conv|linear|norm|total|profile" $T/prof-$v-$p.txt | head -14; done; done
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 420 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
grep -E "FAIL|passed|rc " $T/gpu.txt | tail -20; tail -5 $T/t/tests.log
cp $T/prof-*.txt $T/t/tests.log $O/
