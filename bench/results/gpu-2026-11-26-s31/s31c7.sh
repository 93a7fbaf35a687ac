# Session 31, call 7 (measurement only, variants not committed): how much of the fast strip's
# cost is its SiLU.  Three builds of test_ops_gpu --bench-gw from 9ef751d's tree:
#  - test_ops_gpu: as committed (SiLU = __fdividef(v, 1 + __expf(-v)): two MUFU an output);
#  - test_ops_gpu-tanh: gw_gemm.cuh's SiLU as v * (0.5 tanh.approx(v / 2) + 0.5): one MUFU;
#  - test_ops_gpu-copy: gw_gemm.cuh without the SiLU (the taps kept: o = x + 0 * acc), and the
#    bench run although t_gw_conv then fails (test_ops_gpu.c: `--bench-gw` without `!fails`).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
for v in "" -tanh -copy ""; do
  timeout 100 .prebuilt/test_ops_gpu$v --bench-gw > $T/ops$v.log 2>&1; echo "ops$v rc $?"
  grep -E "gemm \+ conv 3|bench in_proj" $T/ops$v.log | grep -vE "4 x 4096|no state|epilogue  " | head -7
done
