# Session 33, call 6: d12b814 (the faster edge kernel) beside mamba_ssm B1 in one
# call, 2 rounds: A = fdfe89c (the session's start), B = d12b814.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
P=$T/ab/peer; mkdir -p $P
PY=.peers:.peers/causal-conv1d:.peers/cc_build
python3 bench/peer_cconv_build.py --check > $P/peer-cc.log 2>&1 || { echo "causal_conv1d does not import"; tail -3 $P/peer-cc.log; }
SECTIONS=lm_mamba2 PEER_CC=1 PEER_LAST=1 OUT=$P PYTHONUNBUFFERED=1 PYTHONPATH=$PY timeout 170 python3 bench/peer_anchors.py > $P/peer-B1.log 2>&1; echo "peer B1 rc $?"
python3 bench/peer_best.py $P | grep 2.7b
A=.prebuilt/ssdc-old B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab timeout 330 bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -7 $T/ab.out
cp $P/anchors*.json $T/ 2>/dev/null
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
