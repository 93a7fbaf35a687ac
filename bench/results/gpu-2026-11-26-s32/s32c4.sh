# Session 32, call 4: mamba_ssm in configuration B1 (call 3's copy of mamba_ssm needed the Mamba-1
# CUDA module; this one, state-spaces/mamba e9594ce, imports without it) and ssdc's 2.7b prefill
# A/B in the same call (A = SSDC_CONV_FOLD=0, B = the default), 1 round; then the 130m A/B
# (1 round) and test_gpu_graph --fused plans (the zside and xconv checks now pin the conv fold off).
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
P=$T/ab/peer; mkdir -p $P
PY=.peers:.peers/causal-conv1d:.peers/cc_build
python3 bench/peer_cconv_build.py --check > $P/peer-cc.log 2>&1 || { echo "causal_conv1d does not import"; tail -3 $P/peer-cc.log; }
SECTIONS=lm_mamba2 PEER_CC=1 PEER_LAST=1 OUT=$P PYTHONUNBUFFERED=1 PYTHONPATH=$PY timeout 170 python3 bench/peer_anchors.py > $P/peer-B1.log 2>&1; echo "peer B1 rc $?"
grep -h '^\[' $P/peer-B1.log; python3 bench/peer_best.py $P | grep 2.7b
printf '#!/bin/sh\nSSDC_CONV_FOLD=0 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-off && chmod +x .prebuilt/ssdc-off
A=.prebuilt/ssdc-off B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab timeout 200 bash bench/ab_gpu.sh 1 > $T/ab.out 2>&1
echo "ab rc $?"; tail -7 $T/ab.out
A=.prebuilt/ssdc-off B=.prebuilt/ssdc ONLY='^130m-bf16$' OUT=$T/ab130 timeout 120 bash bench/ab_gpu.sh 1 > $T/ab130.out 2>&1
echo "ab130 rc $?"; tail -9 $T/ab130.out
timeout 150 .prebuilt/test_gpu_graph --fused plans > $T/plans.log 2>&1; echo "plans rc $?"; grep -E "FAIL|passed|side|x conv" $T/plans.log | tail -12
cp $P/anchors*.json $T/ 2>/dev/null
tar -czf $T/ab.tgz -C $T ab ab130 && rm -rf $T/ab $T/ab130
