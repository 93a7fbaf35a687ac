# Session 20 call 5: the whole GPU suite on this session's code (bench/gpu.sh
# GPU_ONLY_TESTS=1 with the prebuilt binaries), then a bad $SSDC_SSD_SEG_CHUNKS
# refused by name and the folded norm's forward checks (test_gpu_graph --fused).
O=$OUT; T=/tmp/s20c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/t timeout 500 bash bench/gpu.sh > $T/gpu.txt 2>&1; echo "gpu.sh rc $?"
grep -cE "^ok" $T/t/tests.log; grep -E "FAIL|passed|failed|tile:" $T/t/tests.log | tail -15; tail -3 $T/gpu.txt
SSDC_SSD_SEG_CHUNKS=abc timeout 60 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --prefill 1x4096 --decode-batch 1 --decode-tokens 2 --out $T/bad.json > $T/bad.log 2>&1; echo "bad seg rc $?"; grep -E "prefill|SEG" $T/bad.log | head -3
cp $T/gpu.txt $T/t/tests.log $T/bad.log $O/ 2>/dev/null
