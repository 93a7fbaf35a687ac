# Session 19 call 7: GEMM candidates timed under sustained load.  ssdc-tl is
# this session's code with SSDC_GEMM_TUNE_RUNS (runs per candidate, default 3)
# and a throwaway SSDC_GEMM_TUNE_LOG (each candidate's time to stderr).  The
# 2.7b 8x2K prefill's candidates at 3 and at 60 runs, then the prefill A/B
# (A: 3 runs, B: 60), 2 rounds.
O=$OUT; T=/tmp/s19c7; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c19
A="--dtype bf16 --set d_model=2560 --set n_layer=64 --decode-batch 1 --decode-tokens 8 --prefill 8x2048"
for r in 3 60; do
  SSDC_GEMM_TUNE_LOG=1 SSDC_GEMM_TUNE_RUNS=$r timeout 120 .prebuilt/ssdc-tl bench --device cuda --model-file models/mamba2.ssd $A --out $T/tl-$r.json > $T/tl-$r.log 2>&1; echo "tune runs $r rc $?"
  grep -E "^TUNE" $T/tl-$r.log | grep -v "^TUNE [0-9]*x[0-9]*x[0-9]* acc . cand . ms" | head -2
  grep -E "^TUNE 16384" $T/tl-$r.log; grep prefill $T/tl-$r.log
done
A=.prebuilt/ssdc-tl B=.prebuilt/ssdc-tr60 ONLY='^2.7b-pre$' PEER=0 OUT=$T/ab timeout 420 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"; tail -7 $T/ab.txt
cp $T/*.log $T/ab.txt $O/ 2>/dev/null
