# Session 24, call 3: mamba_ssm in configuration B (causal_conv1d carried from session 23's build)
# and B1 (B's prefill with num_last_tokens=1: the last position's logits only, as ssdc's prefill
# and mamba_ssm's generate compute them), then ssdc's 2.7b prefill (HEAD f08b96a; the 2.7b takes
# cp.async tiles at 64 channels per block) 2 rounds, in the same call; bench/ab_gpu.sh's table.
set -uo pipefail
T=$OUT; export SSDC_CACHE_DIR=/tmp/ssdc-cache
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv > $T/gpu.txt
P=$T/ab/peer; mkdir -p $P
PY=.peers:.peers/causal-conv1d:.peers/cc_build
python3 bench/peer_cconv_build.py --check > $P/peer-cc.log 2>&1 || { echo "causal_conv1d does not import"; tail -3 $P/peer-cc.log; }
SECTIONS=lm_mamba2 PEER_CC=1 OUT=$P PYTHONUNBUFFERED=1 PYTHONPATH=$PY timeout 230 python3 bench/peer_anchors.py > $P/peer-B.log 2>&1; echo "peer B rc $?"
SECTIONS=lm_mamba2 PEER_CC=1 PEER_LAST=1 OUT=$P PYTHONUNBUFFERED=1 PYTHONPATH=$PY timeout 150 python3 bench/peer_anchors.py > $P/peer-B1.log 2>&1; echo "peer B1 rc $?"
python3 bench/peer_best.py $P | grep 2.7b
python3 - $P <<'PY'
import json, sys
d = sys.argv[1]
for f, k in (("anchors-cc.json", "mamba_ssm_lm_causal_conv1d"), ("anchors-cc-last.json", "mamba_ssm_lm_causal_conv1d_last")):
    try: rows = json.load(open(f"{d}/{f}"))[k]
    except Exception as e: print(f, e); continue
    for r in rows: print(k, r["model"], {a: round(b, 3) for a, b in r.items() if a.startswith("prefill")})
PY
A=.prebuilt/ssdc B=.prebuilt/ssdc ONLY='^2.7b-pre$' OUT=$T/ab bash bench/ab_gpu.sh 2 > $T/ab.out 2>&1
echo "ab rc $?"; tail -8 $T/ab.out
cp $P/anchors*.json $T/ 2>/dev/null
tar -czf $T/ab.tgz -C $T ab && rm -rf $T/ab
