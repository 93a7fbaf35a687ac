# Session 23, call 3: the committed harness end to end: bench/ab_gpu.sh (A = B = HEAD's ssdc, so
# B/A is the run-to-run spread) with PEER=1, which now measures mamba_ssm in configurations A and
# B (causal_conv1d carried from call 1) through bench/peer_lm.sh; then the 2.7b 1x16K prefill at
# forced segment lengths 18 (the policy's pick), 27 and 32, alternating.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
A=.prebuilt/ssdc B=.prebuilt/ssdc ONLY='^(2.7b-pre|130m-bf16)$' PEER=1 OUT=$T/ab bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; cat $T/ab.out | tail -30
cp $T/ab/peer/anchors*.json $T/ 2>/dev/null
for r in 1 2; do for sc in 18 27 32; do
  SSDC_SSD_SEG_CHUNKS=$sc timeout 60 .prebuilt/ssdc bench --device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x16384 --decode-batch "" --out $T/seg-$sc-$r.json > /dev/null 2>&1
  echo "seg $sc round $r: $(grep -o '"ms": [0-9.]*' $T/seg-$sc-$r.json)"
done; done | tee $T/seg.txt
tar -czf $T/ab.tgz -C $T ab $(cd $T && ls seg-*.json) && rm -rf $T/ab $T/seg-*.json
