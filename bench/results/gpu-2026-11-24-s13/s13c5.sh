# Session 13 call 5: the register-lean 16-byte prefill conv (A = head, B = new)
O=$OUT; T=/tmp/s13c5; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c5
for v in test_ops_gpu-head test_ops_gpu; do timeout 150 .prebuilt/$v --bench > $T/$v.log 2>&1; echo "$v rc $?"; grep -E "FAIL|passed|bench conv|bench gated" $T/$v.log; done
cp $T/test_ops_gpu.log $O/ops-new.log
GM_BIN=$PWD/.prebuilt/test_gpu_golden OUT=$T/gm timeout 120 bash tests/gpu_model/gpu_run.sh > $T/gm.txt 2>&1; echo "goldens rc $?"; grep -E "FAIL|passed|MISMATCH" $T/gm.txt | tail -6
for c in mamba2_g1 mamba2_g2 mamba2_variants bamba; do timeout 60 .prebuilt/test_gpu_graph tests/golden/$c > $T/graph-$c.log 2>&1; echo "graph $c rc $?"; done
A=.prebuilt/ssdc-head B=.prebuilt/ssdc ONLY='2.7b-pre' OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.txt 2>&1; echo "ab rc $?"; cp $T/ab.txt $O/ab.txt; grep prefill $T/ab.txt
