# Session 16 call 6 (review): ssm_state no longer clears a fresh scratch state that the chunked
# kernel does not read (op_ssm clears it for the recurrent kernels): whole-model GPU tests
# (graph decode of the five goldens, the fused paths with the folds, goldens f32/bf16, CLI)
O=$OUT; T=/tmp/s16c6; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_MODELS=$PWD/models SSDC_CACHE_DIR=/tmp/c16; P=.prebuilt; fail=0
for c in mamba2_g1 mamba2_g2 mamba2_variants mamba1 bamba; do
  $P/test_gpu_graph tests/golden/$c >> $T/tests.log 2>&1 || { echo "FAILED: graph $c"; fail=1; }
done
$P/test_gpu_graph --fused >> $T/tests.log 2>&1 || { echo "FAILED: fused"; fail=1; }
GM_BIN=$P/test_gpu_golden OUT=$T/gm tests/gpu_model/gpu_run.sh >> $T/tests.log 2>&1 || { echo "FAILED: goldens"; fail=1; }
SSDC=$P/ssdc bench/cli_gpu_check.sh >> $T/tests.log 2>&1 || { echo "FAILED: cli"; fail=1; }
echo "fail=$fail"; grep -E "^(FAILED|MISMATCH)|x conv|passed" $T/tests.log | head -20
cp $T/tests.log $O/
