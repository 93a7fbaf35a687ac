# Session 31, call 4: mamba_ssm in configuration B1 (causal_conv1d carried; prefill with
# num_last_tokens=1, the same work as ssdc's prefill) and, in the same call, ssdc's 2.7b prefill
# A/B (A = the default, the conv kernel; B = SSDC_CONV_FOLD=1, the conv in in_proj's epilogue), 2 rounds;
# bench/ab_gpu.sh's table.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
P=$T/ab/peer; mkdir -p $P
PY=.peers:.peers/causal-conv1d:.peers/cc_build
python3 bench/peer_cconv_build.py --check > $P/peer-cc.log 2>&1 || { echo "causal_conv1d does not import"; tail -3 $P/peer-cc.log; }
SECTIONS=lm_mamba2 PEER_CC=1 PEER_LAST=1 OUT=$P PYTHONUNBUFFERED=1 PYTHONPATH=$PY timeout 170 python3 bench/peer_anchors.py > $P/peer-B1.log 2>&1; echo "peer B1 rc $?"
python3 bench/peer_best.py $P | grep 2.7b
printf '#!/bin/sh\nSSDC_CONV_FOLD=1 exec "$(dirname "$0")/ssdc" "$@"\n' > .prebuilt/ssdc-on && chmod +x .prebuilt/ssdc-on
A=.prebuilt/ssdc B=.prebuilt/ssdc-on ONLY='^2.7b-pre$' OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -8 $T/ab.out
cp $P/anchors*.json $T/ 2>/dev/null
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
