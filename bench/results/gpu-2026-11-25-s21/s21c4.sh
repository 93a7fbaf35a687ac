# Session 21 call 4: the committed form of phase 1 two chunks an iteration
# (ssd_chunked.cuh): ptxas-clean probe `new` beside k0 and k0_p1x2 (hashes
# must match), test_ssd_gpu on the new code (both kernels), then the 2.7b
# prefill A = HEAD (.prebuilt/ssdc-old) against B = the change, 3 rounds.
O=$OUT; T=/tmp/s21c4; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c21
for a in "1 16384 18" "8 2048 32"; do for k in k0 k0_p1x2 new; do
  echo -n "$k "; timeout 30 .prebuilt/probes/$k $a; done; done 2>&1 | tee $T/probes.txt
for w in 0 1; do s=$(date +%s); SSDC_SSD_WG=$w timeout 200 .prebuilt/test_ssd_gpu > $T/test-wg$w.log 2>&1; echo "test_ssd_gpu wg=$w rc $? $(( $(date +%s) - s )) s"; grep -E "FAIL|passed|failed" $T/test-wg$w.log | tail -3; done
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 420 bash bench/ab_gpu.sh 3 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -8 $T/ab.txt
cp $T/*.txt $T/*.log $O/ 2>/dev/null
