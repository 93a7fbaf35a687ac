O=$OUT
export SSDC_CACHE_DIR=/tmp/c5
M="--model-file models/mamba2.ssd --dtype bf16"
SSDC_DEC_TRACE=1 timeout 90 .prebuilt/ssdc bench --device cuda $M --decode-batch 1,16 --decode-tokens 32 --out $O/trace130.json > $O/trace130.out 2> $O/trace130.log; echo "trace130 rc $?"
SSDC_DEC_TRACE=1 timeout 120 .prebuilt/ssdc bench --device cuda $M --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 16 --out $O/trace27.json > $O/trace27.out 2> $O/trace27.log; echo "trace27 rc $?"
grep -A8 "summary by kind" $O/trace130.log $O/trace27.log
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='130m-dec' OUT=$O/ab bash bench/ab_gpu.sh 2 > $O/ab.txt 2>&1; grep decode $O/ab.txt
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$O/t timeout 400 bash bench/gpu.sh > $O/gpu-tests.txt 2>&1; echo "gpu tests rc $?"; tail -25 $O/gpu-tests.txt; grep -h "traced step" $O/t/tests.log
