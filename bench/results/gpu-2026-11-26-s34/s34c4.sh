# Session 34, call 4: where issue 4 stands on this session's machine: ssdc (main: the production
# code of d12b814) beside mamba_ssm B1 in one call: ssdc, the peer, ssdc again.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
M="--device cuda --model-file models/mamba2.ssd --dtype bf16 --set d_model=2560 --set n_layer=64 --prefill 1x2048,8x2048,1x16384 --decode-batch 1 --decode-tokens 8"
mkdir -p $T/m
timeout 120 .prebuilt/ssdc bench $M --out $T/m/ssdc-1.json > $T/m/ssdc-1.log 2>&1; echo "ssdc 1 rc $?"
P=$T/m/peer; mkdir -p $P
PY=.peers:.peers/causal-conv1d:.peers/cc_build
python3 bench/peer_cconv_build.py --check > $P/peer-cc.log 2>&1 || { echo "causal_conv1d does not import"; tail -3 $P/peer-cc.log; }
SECTIONS=lm_mamba2 PEER_CC=1 PEER_LAST=1 OUT=$P PYTHONUNBUFFERED=1 PYTHONPATH=$PY timeout 170 python3 bench/peer_anchors.py > $P/peer-B1.log 2>&1; echo "peer B1 rc $?"
python3 bench/peer_best.py $P | grep 2.7b
timeout 120 .prebuilt/ssdc bench $M --out $T/m/ssdc-2.json > $T/m/ssdc-2.log 2>&1; echo "ssdc 2 rc $?"
for r in 1 2; do grep -h "^prefill\|^decode" $T/m/ssdc-$r.log; done
cp $P/anchors*.json $T/ 2>/dev/null
tar czf $T/m.tgz -C $T m && rm -rf $T/m
exit 0
