# Session 13 call 6: the remaining GPU tests on the committed build (fb96ee4): op kernels, fused decode, Mamba-1 graph, the CLI; the conv kernel alone
O=$OUT; T=/tmp/s13c6; rm -rf $T; mkdir -p $T; nvidia-smi -L; date -u
export SSDC_CACHE_DIR=/tmp/c6
timeout 120 .prebuilt/test_ops_gpu > $T/ops.log 2>&1; echo "test_ops_gpu rc $?"; grep -E "FAIL|passed" $T/ops.log | tail -3
timeout 60 .prebuilt/test_gpu_graph tests/golden/mamba1 > $T/g1.log 2>&1; echo "graph mamba1 rc $?"
timeout 90 .prebuilt/test_gpu_graph --fused > $T/gf.log 2>&1; echo "graph fused rc $?"; tail -1 $T/gf.log
SSDC=.prebuilt/ssdc timeout 120 bash bench/cli_gpu_check.sh > $T/cli.log 2>&1; echo "cli check rc $?"; tail -2 $T/cli.log
cp $T/ops.log $O/ops.log
