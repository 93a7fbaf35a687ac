# Session 13 call 2: every GPU test on the new build, the decode-kernel bench (GEMV variants), a prefill profile
O=$OUT; T=/tmp/s13c2; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
GPU_ONLY_TESTS=1 DEC_NO_BENCH=0 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 420 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
cp $T/t/tests.log $O/tests.log; cp $T/t/dec/bench.log $O/dec-bench.log 2>/dev/null
grep -E "FAILED|failures|passed" $T/t/tests.log | tail -25; grep -E "^gemv|^mixer|^layer" $T/t/dec/bench.log
export SSDC_CACHE_DIR=/tmp/c2
M="--model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64"
for p in 8x2048 1x16384; do
  SSDC_PROFILE=1 timeout 80 .prebuilt/ssdc bench --device cuda $M --prefill $p --decode-batch 1 --decode-tokens 4 > $T/prof-$p.out 2> $T/prof-$p.log
  echo "== profile $p"; tail -30 $T/prof-$p.log | head -30
done
