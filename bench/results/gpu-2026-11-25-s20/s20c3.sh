# Session 20 call 3: the folded norm's weight read from a shared copy (g2)
# beside call 2's probes (k0 no gate, g the tile with the weight from global
# memory, g_nogw no weight), test_ssd_gpu with the new gate-tile case, then
# the 2.7b prefill A = fold off, B = fold on (same binary), 3 rounds.
O=$OUT; T=/tmp/s20c3; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c20
for r in 1 2; do for a in "8 2048" "1 16384 18"; do for k in k0 g g2 g_nogw; do
  echo -n "r$r $k "; timeout 30 .prebuilt/probes/$k $a; done; done; done 2>&1 | tee $T/probes.txt
s=$(date +%s); timeout 200 .prebuilt/test_ssd_gpu > $T/test.log 2>&1; echo "test_ssd_gpu rc $? $(( $(date +%s) - s )) s"; grep -E "FAIL|tile:|passed|failed" $T/test.log | tail -4
A=.prebuilt/ssdc B=.prebuilt/ssdc-fold ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 400 bash bench/ab_gpu.sh 3 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -8 $T/ab.txt
cp $T/*.txt $T/*.log $O/ 2>/dev/null
