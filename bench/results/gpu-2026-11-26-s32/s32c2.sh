# Session 32, call 2: the conv fold on by default (SSDC_CONV_FOLD=0 turns it off).
# (1) in the background, causal-conv1d's module for mamba_ssm's configuration B, built here
#     (bench/peer_cconv_build.py, ~8 minutes) and sent back to be carried in .peers/cc_build;
# (2) meanwhile the whole GPU suite (bench/gpu.sh GPU_ONLY_TESTS=1): correctness only, so the
#     build's CPU load does not matter.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
(MAX_JOBS=10 PYTHONUNBUFFERED=1 timeout 580 python3 bench/peer_cconv_build.py > $T/cc-build.log 2>&1; echo "cc rc $?" >> $T/cc-build.log) &
GPU_ONLY_TESTS=1 SSDC_PREBUILT=$PWD/.prebuilt OUT=$T/suite timeout 560 bash bench/gpu.sh > $T/suite.out 2>&1
echo "gpu.sh rc $?"; grep -E "FAIL|ok|passed|rc |own GEMM|epilogue|gemm \+ conv" $T/suite.out | tail -30
wait
tail -3 $T/cc-build.log
[ -f .peers/cc_build/causal_conv1d_cuda.so ] && cp .peers/cc_build/causal_conv1d_cuda.so $T/
tar -czf $T/suite.tgz -C $T suite && rm -rf $T/suite
exit 0
