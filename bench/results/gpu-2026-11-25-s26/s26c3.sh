# Session 26, call 3: after calls 1-2 (the own GEMM's out_proj 1.11-1.44x cuBLASLt's in the model,
# the SSD kernel +13-21% with the fold), the fold without the own GEMM by default at batch 1
# (gfold_want): A = SSDC_GNORM_FOLD=0 (session 24's default), B = the new default; 2.7b prefill
# and the 130m, 2 rounds alternating.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
printf '#!/bin/sh\nSSDC_GNORM_FOLD=0 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-old && chmod +x .prebuilt/ssdc-old
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^(2.7b-pre|130m-bf16)$' OUT=$T/ab timeout 500 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -22 $T/ab.out
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
