# Session 33, call 4: the conv fold's edge fix-up a thread per 8 channels with every load issued
# first, and PDL launches (wait first, trigger early) for the norm, the own GEMM, the edge kernel
# and the SSD kernel.  Checks on the H100 (test_ops_gpu's float64 conv checks with the new
# state-reading case; test_gpu_graph --fused gemm's bit-equal cfold_check), the edge kernel's
# duration (ncu), then A = the session's start (fdfe89c) against B, 2 rounds.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 120 .prebuilt/test_ops_gpu > $T/ops.log 2>&1; echo "ops rc $?"; grep -E "FAIL|gemm \+ conv|passed" $T/ops.log | head -12
timeout 200 .prebuilt/test_gpu_graph --fused gemm > $T/gemm.log 2>&1; echo "gemm rc $?"; grep -E "FAIL|cfold|passed" $T/gemm.log | head -12
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 8x2048 --decode-batch 1 --decode-tokens 2"
timeout 120 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv -k regex:conv_edge --launch-count 20 \
  .prebuilt/ssdc bench $M > $T/ncu-edge.csv 2>&1; echo "ncu rc $?"; grep conv_edge $T/ncu-edge.csv | tail -3 | cut -c1-60,150-
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab timeout 400 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -7 $T/ab.out
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
exit 0
