# Session 27, call 1: the gated norm launched into the SSD kernel's tail (PDL, row flags).
# test_ops_gpu (its new t_gnorm_after at the 2.7b's 8x2K and 1x16K layer shapes: the norm in the
# tail bitwise equal to the norm after the kernel, flags up and counts re-armed, 3 runs each), then
# the 2.7b prefill A/B in one binary (A = SSDC_GNORM_AFTER=0, B = the default), 2 rounds.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
timeout 170 .prebuilt/test_ops_gpu > $T/test_ops_gpu.log 2>&1; echo "test_ops_gpu rc $?"
grep -E "SSD tail|FAIL|passed" $T/test_ops_gpu.log
printf '#!/bin/sh\nSSDC_GNORM_AFTER=0 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-old && chmod +x .prebuilt/ssdc-old
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -8 $T/ab.out
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
